"""Printer languages, one module each, all pure (raster / label bytes → printer bytes).

Every language module offers the same small surface (LPrint's driver model):

- ``NAME`` and ``EXT`` (file extension for ``dir://`` printers and ``-o`` names);
- ``emit(raster, spec) -> bytes``: one 1-bit label (numpy bool, True = black) → printer bytes;
- optionally ``passthrough(data, spec) -> list[bytes]`` for native input (ZPL → ZPL).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import UsageError

#: Language names (= module names), imported on first use: ZPL passthrough needs no numpy/Pillow.
NAMES = ("zpl", "tspl", "escpos", "epl2", "png")


def get(name: str) -> ModuleType:
    if name not in NAMES:
        raise UsageError(f"unknown printer language {name!r} (one of {', '.join(NAMES)})")
    return importlib.import_module(f"{__name__}.{name}")


def __getattr__(attr: str) -> object:
    if attr == "LANGUAGES":  # every module, imported (kept for callers that list them)
        return {n: get(n) for n in NAMES}
    raise AttributeError(attr)


def extension(name: str) -> str:
    return get(name).EXT


__all__ = ["LANGUAGES", "get", "extension"]
