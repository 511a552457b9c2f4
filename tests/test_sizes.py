"""Size rules of the package (issue 14): no module over 400 lines, no function over 60 lines.

A module counts its lines; a function (or method, nested ones on their own) counts from its
``def`` line to its last line, docstring included, decorators not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import printstation

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
PACKAGE = Path(printstation.__file__).resolve().parent


def findings(root: Path) -> list[tuple[str, str]]:
    """``(module path relative to root, finding)`` for every module and function over the limits."""
    out: list[tuple[str, str]] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            out.append((rel, f"{rel}: module has {lines} lines (limit {MAX_MODULE_LINES})"))
        for name, node in _functions(ast.parse(source, filename=str(path))):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                out.append((rel, f"{rel}:{node.lineno} {name}: function has {length} lines "
                                 f"(limit {MAX_FUNCTION_LINES})"))
    return out


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function in ``tree`` with its qualified name (``Class.method``, ``outer.inner``)."""
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((prefix + node.name, node))
            found += _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            found += _functions(node, f"{prefix}{node.name}.")
        else:
            found += _functions(node, prefix)
    return found


def test_no_module_over_400_lines_and_no_function_over_60() -> None:
    over = [what for _, what in findings(PACKAGE)]
    assert not over, "over the size limits (split them):\n" + "\n".join(over)


def _assignments(n: int, indent: str) -> str:
    return "".join(f"{indent}x{i} = {i}\n" for i in range(n))


def test_the_rules_catch_a_long_module_and_a_long_method(tmp_path: Path) -> None:
    """The measure itself: a 401-line module, a 61-line method and a 61-line nested function
    (and the function around it) are found; a 400-line module with a 60-line function is not."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "ok.py").write_text("def fits():\n" + _assignments(59, "    ") + "\n" * 340)
    (pkg / "sub" / "long.py").write_text(
        "class K:\n    @staticmethod\n    def method():\n" + _assignments(60, " " * 8) + "\n"
        "def outer():\n    def inner():\n" + _assignments(60, " " * 8) + "    return inner\n")
    (pkg / "big.py").write_text("\n" * 401)
    assert len((pkg / "ok.py").read_text().splitlines()) == 400
    got = [what for _, what in findings(pkg)]
    assert got == [
        "big.py: module has 401 lines (limit 400)",
        "sub/long.py:3 K.method: function has 61 lines (limit 60)",
        "sub/long.py:65 outer: function has 63 lines (limit 60)",
        "sub/long.py:66 outer.inner: function has 61 lines (limit 60)",
    ], got
