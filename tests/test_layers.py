"""The layer boundaries (README "Development"), read from the source with ``ast``.

Every import of every module under ``printstation/`` counts: top-level ones, those under
``if TYPE_CHECKING:``, those inside functions, relative ones (resolved against the module's
package), ``from pkg import submodule`` (the submodule is the target), and
``importlib.import_module("printstation.…")`` with a literal name, and a string that is exactly the
name of one of the package's modules (``"printstation.transport.tcp:TcpTransport"`` in a table
imported lazily, a ``SERVICE_MODULES`` entry). The test fails listing every forbidden edge as
``module -> module (file:line)``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "printstation"

#: The layer packages (``printstation/<name>/``); every other module of the package root is a
#: shared root module (errors, spec, logs, metrics, fsutil, httpd, storage, isolate, …).
LAYERS = ("lang", "render", "transport", "markets", "queue", "triggers", "discover", "pg", "face")

#: Root modules that belong to a layer although they still sit in the package root (the layer
#: they are moving to). ``__main__`` is the ``python -m printstation`` entry point of the CLI.
PLACED = {
    "printstation.__main__": "face",
}

#: layer -> the layers it must not import ("root": the shared root modules).
FORBIDDEN: dict[str, set[str]] = {
    "lang": {"render", "transport", "queue", "markets", "triggers", "face", "discover"},
    "render": {"queue", "markets", "transport", "triggers", "face", "discover"},
    "transport": {"lang", "render", "queue", "markets", "triggers", "face", "discover"},
    "markets": {"queue", "transport", "triggers", "face", "discover"},
    "queue": {"markets", "triggers", "face", "discover"},
    "triggers": {"face", "discover"},
    "discover": {"face", "queue", "markets", "triggers"},
    "pg": {"render", "lang", "transport", "markets", "queue", "triggers", "face", "discover"},
    "root": {"triggers", "markets", "queue", "face", "discover", "pg"},
    "face": set(),
}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str

    @property
    def key(self) -> str:
        return f"{self.source} -> {self.target}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _exists(name: str, root: Path) -> bool:
    p = root.joinpath(*name.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _literal_import(node: ast.Call) -> str | None:
    """``importlib.import_module("printstation.x")`` / ``__import__("printstation.x")``."""
    fn = node.func
    name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
    if name in ("import_module", "__import__") and node.args:
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


#: ``printstation.a.b`` or ``printstation.a.b:Name``: a module named by a string.
_MODULE_STRING = re.compile(r"(printstation(?:\.\w+)+)(?::\w+)?")


def _named_module(node: ast.Constant, root: Path) -> str | None:
    """The module a string constant names exactly (a lazy-import table entry), if it exists."""
    m = _MODULE_STRING.fullmatch(node.value) if isinstance(node.value, str) else None
    return m.group(1) if m and _exists(m.group(1), root) else None


def imports(path: Path, root: Path = ROOT) -> list[Edge]:
    """Every ``printstation`` module ``path`` imports, wherever the import statement is."""
    module = module_name(path, root)
    is_package = path.name == "__init__.py"
    out: list[Edge] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node)
            for a in node.names:
                sub = f"{base}.{a.name}"
                targets.append(sub if a.name != "*" and _exists(sub, root) else base)
        elif isinstance(node, ast.Call):
            name = _literal_import(node)
            targets = [name] if name else []
        elif isinstance(node, ast.Constant):
            named = _named_module(node, root)
            targets = [named] if named else []
        out += [Edge(module, t, where) for t in targets if t == "printstation" or t.startswith("printstation.")]
    return out


def layer(module: str) -> str:
    for name, placed in PLACED.items():
        if module == name or module.startswith(name + "."):
            return placed
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "root"


def forbidden(edge: Edge) -> bool:
    src, dst = layer(edge.source), layer(edge.target)
    if dst == "face" and src != "face":  # no module outside face/ imports face/
        return True
    return src != dst and dst in FORBIDDEN[src]


def all_edges() -> list[Edge]:
    return [e for path in sorted(PKG.rglob("*.py")) for e in imports(path)]


def test_no_forbidden_import() -> None:
    bad = sorted(f"{e.key} ({e.where})" for e in all_edges() if forbidden(e))
    assert not bad, "forbidden imports (README Development, issue 14):\n" + "\n".join(bad)


# -- the checker itself ------------------------------------------------------------------------


def _edges_of(tmp_path: Path, rel: str, source: str) -> list[Edge]:
    """The edges of a module written at ``printstation/<rel>`` in a package tree under ``tmp_path``
    (which also has ``face/daemon.py``, ``queue/store.py`` and ``lang/zpl.py``)."""
    for name in ("face/daemon.py", "queue/store.py", "lang/zpl.py", rel):
        path = tmp_path / "printstation" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        (tmp_path / "printstation" / "__init__.py").touch()
        path.touch()
    path.write_text(source, encoding="utf-8")
    return imports(path, tmp_path)


@pytest.mark.parametrize("source", [
    "from ..face.daemon import Daemon\n",
    "from ..face import daemon\n",
    "import printstation.face.daemon\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..face.daemon import Daemon\n",
    "def f():\n    from .. import face\n",
    "import importlib\nM = importlib.import_module('printstation.face.daemon')\n",
    "PLUGINS = {'x': 'printstation.face.daemon:Daemon'}\n",
    "SERVICES = ('printstation.face.daemon',)\n",
])
def test_checker_sees_every_kind_of_import(tmp_path: Path, source: str) -> None:
    edges = _edges_of(tmp_path, "queue/worker.py", source)
    assert edges and all(forbidden(e) for e in edges), edges
    assert {layer(e.target) for e in edges} == {"face"}


def test_checker_resolves_relative_imports(tmp_path: Path) -> None:
    (edge,) = _edges_of(tmp_path, "triggers/station.py", "from ..face import daemon\n")
    assert edge.target == "printstation.face.daemon" and forbidden(edge)
    (edge,) = _edges_of(tmp_path, "face/api.py", "from ..queue import store\n")
    assert edge.target == "printstation.queue.store" and not forbidden(edge)
    (edge,) = _edges_of(tmp_path, "lang/__init__.py", "from .zpl import x\n")
    assert edge.target == "printstation.lang.zpl" and not forbidden(edge)


def test_layer_rules() -> None:
    def edge(a: str, b: str) -> Edge:
        return Edge(a, b, "-")

    assert forbidden(edge("printstation.storage", "printstation.queue.base"))  # root -> queue
    assert forbidden(edge("printstation.discover.blocks", "printstation.face.config"))
    assert forbidden(edge("printstation.lang.zpl", "printstation.transport.tcp"))
    assert forbidden(edge("printstation.pg", "printstation.queue.base"))
    assert not forbidden(edge("printstation.queue.worker", "printstation.transport"))
    assert not forbidden(edge("printstation.triggers.station", "printstation.markets.settings"))
    assert not forbidden(edge("printstation.face.daemon", "printstation.triggers.service"))
    assert not forbidden(edge("printstation.__main__", "printstation.face.cli"))
