"""The ZPL layout check's field model and geometry: a field being read, the format state,
graphics and their ink, and how a field-frame box lands on the label (orientation, ``^FT``
versus ``^FO``, ``^LH``/``^LS``/``^LT``, ``^MU`` scale)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .zpl_tokens import MAX_GRAPHIC_BYTES

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in dots

# Bitmap fonts at 203 dpi: (cell height, character advance) in dots.
BITMAP_FONTS = {"A": (9, 6), "B": (11, 9), "C": (18, 12), "D": (18, 12), "E": (28, 20), "F": (26, 16),
                "G": (60, 48), "H": (21, 19)}

ORIENT = "NRIB"
FLAT = frozenset({"text", "pdf417", "datamatrix"})


def graphic_ink(kind: str, data: bytes, total: int, bpr: int) -> Box | None:
    """Ink bounding box (dots, relative) of a graphic's data, or None when unknown.

    Decoding is bounded: at most :data:`MAX_GRAPHIC_BYTES` of raster, a ``:Z64:`` field is
    inflated no further than the raster it declares.
    """
    if bpr <= 0 or total <= 0 or total > MAX_GRAPHIC_BYTES:
        return None
    try:
        import base64
        import zlib

        import numpy as np

        from .zpl import acs_decode

        if kind == "B":
            raw = data[:total]
        else:
            text = data.decode("ascii").strip()
            if text.startswith((":Z64:", ":B64:")):
                packed = base64.b64decode(text[5:].split(":", 1)[0])
                raw = zlib.decompressobj().decompress(packed, total) if text[1] == "Z" else packed[:total]
            else:  # hex takes 2 characters a byte (line ends aside): the rest cannot add ink
                raw = acs_decode(text[: 4 * total + 1024], bpr, total)
        raw = raw[:total].ljust(total, b"\0")
        rows = total // bpr
        bits = np.unpackbits(np.frombuffer(raw[: rows * bpr], np.uint8).reshape(rows, bpr), axis=1)
        ys, xs = np.nonzero(bits)
        if not len(xs):
            return (0.0, 0.0, 0.0, 0.0)
        return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    except Exception:  # corrupt data: the poison checks name it; here it is just unknown
        return None


@dataclass
class Graphic:
    """A graphic's size and ink (``None``: unknown, counted as its full box)."""

    width: int  # dots
    rows: int
    ink: Box | None


@dataclass
class Field:
    """One field being read, ``^FO``/``^FT`` to ``^FS``."""

    origin: tuple[float, float] | None = None
    typeset: bool = False  # ^FT (baseline / bottom-left) rather than ^FO (top-left)
    just: int = 0
    cmd: str = ""
    params: list[str] = field(default_factory=list)
    font: tuple[str, str, float, float] | None = None  # name, orientation, h, w
    data: bytes | None = None
    hex_escape: str | None = None
    block: tuple[float, int, float, str] | None = None  # ^FB width, lines, spacing, justification
    number: int | None = None  # ^FN


@dataclass
class State:
    """What a format's commands set for the fields after them."""

    caret: str = "^"
    tilde: str = "~"
    delim: str = ","
    judged: bool = True
    lh: tuple[float, float] = (0.0, 0.0)
    ls: float = 0.0
    lt: float = 0.0
    fw: str = "N"
    by: tuple[float, float, float] = (2.0, 3.0, 10.0)
    cf: tuple[str, float, float] = ("A", 9.0, 5.0)
    utf8: bool = False
    scale: float = 1.0
    width: float | None = None
    length: float | None = None


_NARROW = frozenset("ijlft.,:;'!|()[]-")


def narrowest(text: str) -> float:
    """A lower bound of a proportional text's width in font widths (CG Triumvirate Condensed:
    capitals and digits are at least 0.4 of the width, narrow lowercase 0.18, spaces 0.15)."""
    total = 0.0
    for ch in text:
        if ch.isspace():
            total += 0.15
        elif ch in _NARROW:
            total += 0.18
        elif ch.isupper() or ch.isdigit():
            total += 0.4
        else:
            total += 0.3
    return total


def mu_scale(design: int, dpi: int) -> float:
    """The scale passthrough's ``^MUd,base,target`` gives a layout made at ``design`` dpi."""
    base = min((150, 200, 300), key=lambda d: abs(d - design))
    target = min((300, 600), key=lambda d: abs(d - dpi))
    return target / base if target > base else 1.0


def either(box: Box, typeset: bool, pad: float = 0.0) -> tuple[Box, Box]:
    """A field whose ``^FT`` origin firmware reads either as top-left or as bottom-left."""
    x0, y0, x1, y1 = box
    if not typeset:
        return (x0 - pad, y0 - pad, x1 + pad, y1 + pad), box
    h = y1 - y0
    return (x0 - pad, y0 - h - pad, x1 + pad, y1 + pad), (x0, y0, x1, y0)


def graphic_parts(g: Graphic, mx: float, my: float, typeset: bool) -> tuple[Box, Box]:
    box, core = either((0.0, 0.0, g.width * mx, g.rows * my), typeset)
    if g.ink is None:
        return box, (0.0, 0.0, 0.0, 0.0)
    ix0, iy0, ix1, iy1 = g.ink
    ink = (ix0 * mx, iy0 * my, ix1 * mx, iy1 * my)
    if typeset:
        h = g.rows * my
        up = (ink[0], ink[1] - h, ink[2], ink[3] - h)
        core = (max(ink[0], up[0]), max(ink[1], up[1]), min(ink[2], up[2]), min(ink[3], up[3]))
        if core[3] < core[1]:
            core = (ink[0], up[3], ink[2], up[3])
        return box, core
    return box, ink


def typeset_2d(box: Box, core: Box, typeset: bool) -> tuple[Box, Box]:
    """A 2-D symbol (or PDF417): ``^FT`` puts its bottom-left corner at the origin."""
    if not typeset:
        return box, core
    return (box[0], box[1] - box[3], box[2], box[1]), (core[0], core[1] - core[3], core[2], core[1])


def place(b: Box, main: Box, o: str, x: float, y: float, f: Field) -> Box:
    """Map a field-frame box onto the label for orientation ``o`` at origin ``x, y``.

    ``^FT``: the frame's origin is the origin. ``^FO``: the field's main part (the bars of a
    barcode) has its rotated top-left corner at the origin; an interpretation line goes on the
    side the rotation puts it (as Zebrash draws it).
    """
    u0, v0, u1, v1 = b
    if f.typeset:
        rx, ry = x, y
    elif o == "R":
        rx, ry = x + main[3], y - main[0]
    elif o == "I":
        rx, ry = x + main[2], y + main[3]
    elif o == "B":
        rx, ry = x - main[1], y + main[2]
    else:
        rx, ry = (x - main[2] if f.just == 1 else x - main[0]), y - main[1]
    if o == "R":
        return (rx - v1, ry + u0, rx - v0, ry + u1)
    if o == "I":
        return (rx - u1, ry - v1, rx - u0, ry - v0)
    if o == "B":
        return (rx + v0, ry - u1, rx + v1, ry - u0)
    return (rx + u0, ry + v0, rx + u1, ry + v1)


def shift(b: Box, hx: float, hy: float, st: State, s: float) -> Box:
    x0, y0, x1, y1 = b
    dx, dy = hx - st.ls, hy + st.lt
    return ((x0 + dx) * s, (y0 + dy) * s, (x1 + dx) * s, (y1 + dy) * s)
