"""The public API (``printstation.__all__``) and the one exception tree (``printstation.errors``)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import printstation
from printstation import errors

PACKAGE = Path(printstation.__file__).resolve().parent

#: The public API. Changing it is a decision: update this list, README and the version together.
PUBLIC = [
    "Label", "Media", "PrinterSpec", "__version__", "convert", "convert_labels", "iter_labels",
    "AnswerTooLarge", "ApiAuthError", "ApiError", "ApiRefused", "AuthError", "BadInput", "BadLabel",
    "BarcodeVerifyError", "ConfigError", "Conflict", "ConversionAborted", "CupsQueueError", "HttpError",
    "MarketplaceError", "NotFound", "PrintstationError", "ProtocolError", "QueueDamaged", "RateLimited",
    "RenderTimeout", "ScanFailed", "StorageFull", "StoreLocked", "StoreUnavailable", "SupplyNotClosed",
    "TransportError", "Unavailable", "UnsupportedConversion", "UsageError",
]

#: Private exception classes allowed outside errors.py, with why. Each still derives from the tree
#: unless listed in NOT_IN_TREE.
NOT_IN_TREE = {
    # caught inside the one ZPL layout walk that raises it; never leaves zpl_layout.py
    ("printstation.lang.zpl_layout", "_OverBudget"),
}


def test_all_is_pinned_and_every_name_imports():
    assert sorted(printstation.__all__) == sorted(PUBLIC)
    assert len(set(printstation.__all__)) == len(printstation.__all__)
    ns: dict[str, object] = {}
    exec("from printstation import *", ns)  # noqa: S102 - the star import a user may write
    assert set(PUBLIC) <= set(ns)
    for name in PUBLIC:
        assert getattr(printstation, name) is not None


def test_every_error_of_the_tree_is_public():
    assert set(errors.__all__) <= set(printstation.__all__)
    for name in errors.__all__:
        cls = getattr(printstation, name)
        assert cls is getattr(errors, name)
        assert issubclass(cls, errors.PrintstationError) and cls.__module__ == "printstation.errors"


def test_convert_is_the_function_and_pipeline_the_module():
    assert callable(printstation.convert) and not isinstance(printstation.convert, types.ModuleType)
    pipeline = importlib.import_module("printstation.pipeline")
    assert printstation.convert is pipeline.convert
    assert printstation.iter_labels is pipeline.iter_labels
    assert not (PACKAGE / "convert.py").exists()


def test_importing_the_package_stays_light():
    # the public API must not pull the renderers, the daemon or a marketplace client
    code = ("import sys, printstation; heavy = {'numpy', 'PIL', 'httpx', 'printstation.face', "
            "'printstation.markets', 'printstation.queue'}; print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_is_the_packaged_one():
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert f'version = "{printstation.__version__}"' in text


def _exception_classes() -> list[tuple[str, str, int]]:
    """``(module, class, line)`` of every class in the package that derives from an exception
    (read with ast: nothing is imported, optional dependencies do not matter)."""
    known = {"Exception", "BaseException"} | set(errors.__all__) | {"ValueError", "RuntimeError", "OSError"}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mod = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases}
                if bases & known or node.name.endswith(("Error", "Exception")):
                    found.append((mod, node.name, node.lineno))
    return found


def test_every_exception_class_lives_in_errors_py():
    outside = [(m, c) for m, c, _ in _exception_classes() if m != "printstation.errors"]
    public = [(m, c) for m, c in outside if not c.startswith("_")]
    assert public == [], "define exception classes in printstation/errors.py"
    for mod, name in outside:
        if (mod, name) in NOT_IN_TREE:
            continue
        cls = getattr(importlib.import_module(mod), name)
        assert issubclass(cls, errors.PrintstationError), f"{mod}.{name} must derive from the tree"


def test_errors_py_defines_exactly_its_all():
    defined = {c for m, c, _ in _exception_classes() if m == "printstation.errors"}
    assert defined == set(errors.__all__)
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, BaseException) and cls.__module__ == "printstation.errors":
            assert name in errors.__all__


@pytest.mark.parametrize("name, code", [
    ("PrintstationError", 1), ("UsageError", 2), ("ConfigError", 2), ("NotFound", 2), ("Conflict", 2),
    ("BadInput", 3), ("RenderTimeout", 3), ("AuthError", 4), ("ApiAuthError", 4), ("ApiRefused", 4),
    ("ApiError", 1), ("TransportError", 1), ("StorageFull", 1), ("HttpError", 1),
])
def test_exit_codes(name, code):
    assert getattr(errors, name).exit_code == code


def test_http_errors_keep_status_and_message():
    e = errors.HttpError(404, "no endpoint /x")
    assert (e.status, str(e)) == (404, "no endpoint /x")
    p = errors.ProtocolError(431, "too many header fields (at most 100)")
    assert isinstance(p, errors.HttpError) and isinstance(p, errors.PrintstationError)
    assert (p.status, str(p)) == (431, "too many header fields (at most 100)")


def test_old_import_paths_still_work():
    from printstation.face.api import HttpError
    from printstation.httpd import ProtocolError
    from printstation.markets import ApiError, SupplyNotClosed
    from printstation.queue.base import Conflict, NotFound, QueueDamaged, StoreLocked
    from printstation.queue.store import NotFound as StoreNotFound
    from printstation.storage import StorageFull
    from printstation.transport.cups import CupsQueueError

    assert (HttpError, ProtocolError, ApiError, SupplyNotClosed, Conflict, NotFound, QueueDamaged, StoreLocked,
            StoreNotFound, StorageFull, CupsQueueError) == (
        errors.HttpError, errors.ProtocolError, errors.ApiError, errors.SupplyNotClosed, errors.Conflict,
        errors.NotFound, errors.QueueDamaged, errors.StoreLocked, errors.NotFound, errors.StorageFull,
        errors.CupsQueueError)
