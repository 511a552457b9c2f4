"""Where a label sits on the media: ``[[printers]] offset = [x, y]`` (dots, + right / down).

A printer language gives the offset as a command (ZPL ``^LH``, TSPL ``REFERENCE``, EPL2 ``R``)
only for values ≥ 0 — the printers take no negative home position — so a negative component (the
image sits too far right or low: move it left / up) is applied to the raster itself, cut at the
media edge, and the command keeps the rest. A language without an offset command (ESC/POS:
``Language.offset_command`` False) gets the whole offset in the raster. Preview-only languages
(PNG) show the label as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .registry import LANGUAGES

if TYPE_CHECKING:
    import numpy as np

    from ..spec import PrinterSpec


def place(raster: np.ndarray, spec: PrinterSpec) -> tuple[np.ndarray, PrinterSpec]:
    """``(raster, spec)`` for the emitter: the part of ``spec.offset`` its command cannot give
    moved into the raster, the rest left in ``spec.offset``."""
    import numpy as np

    lang = LANGUAGES.get(spec.lang)
    dx, dy = spec.offset
    if lang is None or not lang.printer or (dx, dy) == (0, 0):
        return raster, spec
    whole = not lang.offset_command
    sx = dx if whole or dx < 0 else 0
    sy = dy if whole or dy < 0 else 0
    if (sx, sy) == (0, 0):
        return raster, spec
    h, w = raster.shape
    out = np.zeros_like(raster)
    src = raster[max(0, -sy): max(0, h - max(0, sy)), max(0, -sx): max(0, w - max(0, sx))]
    out[max(0, sy): max(0, sy) + src.shape[0], max(0, sx): max(0, sx) + src.shape[1]] = src
    return out, spec.replace(offset=(dx - sx, dy - sy))


def native_zpl_offset(spec: PrinterSpec) -> bytes:
    """What native ZPL gets after ``^XA`` for ``spec.offset``: ``^LH`` for the part ≥ 0, ``^LS``
    (label shift, + = left) and ``^LT`` (label top, − = up, at most 120 dots) for a negative part."""
    dx, dy = spec.offset
    out = ""
    if dx > 0 or dy > 0:
        out += f"^LH{max(0, dx)},{max(0, dy)}"
    if dx < 0:
        out += f"^LS{-dx}"
    if dy < 0:
        out += f"^LT{max(-120, dy)}"
    return out.encode()
