"""The test helpers have one import root: ``tests/support`` imported as ``support.*``.

``tests/conftest.py`` puts ``tests/`` on ``sys.path``; ``python -m pytest`` also puts the repository
root there, so ``tests.support.x`` would import too -- as a second copy of the module (its own
globals, its own classes: ``isinstance`` across the two copies fails). Refuse that spelling, and
refuse our own package being imported through ``pytest.importorskip`` (a broken import must fail,
not skip).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _sources() -> list[Path]:
    files = sorted(TESTS.rglob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
    return [f for f in files if "__pycache__" not in f.parts]


def _bad_imports(tree: ast.AST) -> list[tuple[int, str]]:
    bad = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        bad += [(node.lineno, n) for n in names if n == "tests" or n.startswith("tests.")]
    return bad


def _own_importorskips(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "importorskip" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            name = node.args[0].value
            if name.split(".")[0] in ("printstation", "support"):
                found.append((node.lineno, name))
    return found


def test_helpers_are_imported_as_support_only():
    offenders = []
    for f in _sources():
        tree = ast.parse(f.read_text(encoding="utf-8"), str(f))
        offenders += [f"{f.relative_to(ROOT)}:{line}: {name}" for line, name in _bad_imports(tree)]
    assert _sources(), "no sources found"
    assert offenders == [], "import test helpers as support.*, not tests.*"


def test_no_importorskip_of_our_own_modules():
    offenders = []
    for f in _sources():
        tree = ast.parse(f.read_text(encoding="utf-8"), str(f))
        offenders += [f"{f.relative_to(ROOT)}:{line}: {name}" for line, name in _own_importorskips(tree)]
    assert offenders == []


def test_the_checks_see_what_they_refuse():
    """The two scanners above do find the spellings they refuse (so the tests can fail)."""
    tree = ast.parse("import tests.support.x\nfrom tests.fakes import F\nfrom support import ok\n"
                     "pytest.importorskip('printstation.face.cli')\npytest.importorskip('psycopg')\n")
    assert [n for _, n in _bad_imports(tree)] == ["tests.support.x", "tests.fakes"]
    assert [n for _, n in _own_importorskips(tree)] == ["printstation.face.cli"]


def test_a_missing_program_skips_on_a_dev_box_and_fails_in_ci(monkeypatch):
    from support import optional

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="cupsd"):
        optional.missing("cupsd is not installed")
    assert optional.needs(False, "x").kwargs["reason"] == "x"
    assert optional.needs(False, "x").args == (True,)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        optional.missing("cupsd is not installed")
    assert optional.needs(False, "x").args == (False,)  # the test runs (and fails) in CI
    monkeypatch.setenv("CI", "0")
    assert not optional.strict()


def _own_waiters(tree: ast.AST) -> list[tuple[int, str]]:
    """Module-level definitions of a condition waiter (``wait_until``/``wait_for``): the one lives
    in ``support.daemon_harness``."""
    return [(n.lineno, n.name) for n in getattr(tree, "body", [])
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in ("wait_until", "wait_for")]


def test_one_condition_waiter_for_every_test():
    offenders = []
    for f in _sources():
        if f.is_relative_to(TESTS / "support"):
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"), str(f))
        offenders += [f"{f.relative_to(ROOT)}:{line}: {name}" for line, name in _own_waiters(tree)]
    assert offenders == [], "use support.daemon_harness.wait_until"
    assert _own_waiters(ast.parse("def wait_for(c):\n    pass\ndef other():\n    pass\n")) == [(1, "wait_for")]


def test_no_symlink_or_installed_tree_is_tracked():
    """What ``make setup`` / ``make zplrender`` install (``.venv``, ``node_modules``) is never part
    of the repository, nor is any symlink (a committed one pointing at a dev box path replaced an
    installed ``node_modules`` on merge)."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    links = [line.split("\t", 1)[1] for line in out.splitlines() if line.startswith("120000 ")]
    assert links == []
    paths = [line.split("\t", 1)[1] for line in out.splitlines()]
    assert [p for p in paths if {"node_modules", ".venv"} & set(p.split("/"))] == []
