"""Printer languages, one module each, all pure (raster / label bytes → printer bytes).

Every language module offers the same small surface (LPrint's driver model):

- ``NAME`` and ``EXT`` (file extension for ``dir://`` printers and ``-o`` names);
- ``emit(raster, spec) -> bytes``: one 1-bit label (numpy bool, True = black) → printer bytes;
- optionally ``passthrough(data, spec) -> list[bytes]`` for native input (ZPL → ZPL).
"""

from __future__ import annotations

from types import ModuleType

from ..errors import UsageError
from . import epl2, escpos, png, tspl, zpl

LANGUAGES: dict[str, ModuleType] = {m.NAME: m for m in (zpl, tspl, escpos, epl2, png)}


def get(name: str) -> ModuleType:
    try:
        return LANGUAGES[name]
    except KeyError:
        raise UsageError(f"unknown printer language {name!r} (one of {', '.join(LANGUAGES)})") from None


def extension(name: str) -> str:
    return get(name).EXT


__all__ = ["LANGUAGES", "get", "extension"]
