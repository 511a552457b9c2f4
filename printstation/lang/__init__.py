"""Printer languages, one module each, all pure (raster / label bytes → printer bytes).

The languages are listed in one place, :mod:`printstation.lang.registry` (name, extension,
default media, printer or preview-only); each module offers the same small surface (LPrint's
driver model):

- ``emit(raster, spec) -> bytes``: one 1-bit label (numpy bool, True = black) → printer bytes;
- optionally ``passthrough(data, spec) -> list[bytes]`` for native input (ZPL → ZPL);
- optionally ``STATUS``: how to ask the printer for its status and parse the answer.
"""

from __future__ import annotations

from types import ModuleType

from . import registry
from .registry import NAMES


def get(name: str) -> ModuleType:
    """The module of language ``name`` (imported on first use: ZPL passthrough needs no numpy)."""
    return registry.get(name).load()


def __getattr__(attr: str) -> object:
    if attr == "LANGUAGES":  # every module, imported (kept for callers that list them)
        return {n: get(n) for n in NAMES}
    raise AttributeError(attr)


def extension(name: str) -> str:
    return registry.extension(name)


__all__ = ["LANGUAGES", "NAMES", "get", "extension", "registry"]
