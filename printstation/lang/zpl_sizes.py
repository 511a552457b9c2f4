"""How far one ZPL field reaches in its own frame: text cells, boxes, graphics and barcodes.

:func:`field_size` gives ``(kind, orientation, [(box, core), …])``: ``box`` covers the ink the
field can print, ``core`` the ink it surely prints (see :mod:`printstation.lang.zpl_layout`).
Field frame: ``u`` along the reading direction, ``v`` downwards; for ``^FO`` the frame's
origin is the top-left corner, for ``^FT`` the baseline (bottom-left).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from .zpl_geometry import (BITMAP_FONTS, ORIENT, Box, Field, Graphic, State, either, graphic_ink,
                           graphic_parts, narrowest, typeset_2d)
from .zpl_symbols import (code39_width, code93_chars, code128_symbols, datamatrix_codewords,
                          datamatrix_size, i2of5_width, pdf417_codewords, qr_version, round_half_up)
from .zpl_tokens import num, param, store_key

Parts = list[tuple[Box, Box]]
Sized = tuple[str, str, Parts]


@dataclass
class Sizing:
    """What sizing needs from the check: the printer's dpi, the graphics downloaded so far,
    and the stream's work budget (``spend`` raises once it is spent)."""

    dpi: int
    graphics: dict[str, Graphic]
    spend: Callable[[int], None]


def field_size(f: Field, st: State, text: str, ctx: Sizing) -> Sized | None:
    """(kind, orientation, [(box, core) in the field frame]) or None when nothing prints."""
    cmd, p = f.cmd, f.params
    if cmd == "" or cmd == "FD":
        return text_size(f, st, text)
    if cmd == "GB":
        bw, bh, t = num(param(p, 0), 1), num(param(p, 1), 1), num(param(p, 2), 1)
        bw, bh = max(bw, t, 1), max(bh, t, 1)
        return "box", "N", [either((0.0, 0.0, bw, bh), f.typeset)]
    if cmd in ("GC", "GE", "GD"):
        d = num(param(p, 0), 3)
        e = num(param(p, 1), d) if cmd != "GC" else d
        return "shape", "N", [either((0.0, 0.0, d, e), f.typeset, pad=3)]
    if cmd == "GF":
        return _graphic_field(f, ctx)
    if cmd in ("XG", "IM"):
        return _recalled_graphic(f, ctx)
    if not cmd.startswith("B"):
        return None
    size = _BARCODES.get(cmd[1:])
    return size(_Bar(f, st, text, ctx)) if size else None  # others: not estimated (never refused)


def text_size(f: Field, st: State, text: str) -> Sized | None:
    """A text field: its cell (or ``^FB`` block) as the cover, its narrowest glyphs as the core."""
    if not text.strip():
        return None
    fnt, o, h, fw = f.font or (st.cf[0], st.fw, st.cf[1], st.cf[2])
    if f.font is None and fnt in BITMAP_FONTS:
        bh, bw = BITMAP_FONTS[fnt]
        mh = max(1, round(h / bh))
        h, fw = bh * mh, bw * max(1, round(fw / bw) if fw else mh)
    n = len(text)
    if fnt in BITMAP_FONTS:  # fixed pitch: ``fw`` is the advance
        width, core_w = n * fw * 1.05, (n - 0.5) * fw * 0.8
    else:  # proportional: the widest glyphs for the cover, the narrowest for the core
        width, core_w = n * fw * 0.95, narrowest(text) * fw
    height = h
    if f.block:
        block_w, lines, spacing, just = f.block
        width = block_w or width
        core_w = min(core_w, block_w / 2 if block_w else core_w)  # word wrap: lines may end short
        height = lines * max(h + spacing, h)
        shift = {"C": (width - core_w) / 2, "R": width - core_w}.get(just, 0.0)
    else:
        shift = 0.0
    if f.typeset:
        top = -height if not f.block else -height - h * 0.25
        box: Box = (0.0, top, width, h * 0.3)
        core: Box = (shift, -h * 0.5, shift + core_w, 0.0)
        if f.block:  # the first line's caps, however the block is anchored on its origin
            core = (shift, -height + h * 0.3, shift + core_w, -height + h * 0.6)
    else:
        box = (0.0, 0.0, width, height + h * 0.1)
        core = (shift, h * 0.2, shift + core_w, h * 0.6)
    return "text", o, [(box, core)]


def _graphic_field(f: Field, ctx: Sizing) -> Sized | None:
    """``^GFa,b,c,d,data``: the graphic's box, its decoded ink as the core."""
    p = f.params
    total, bpr = int(num(param(p, 2), 0, 0, 10**9)), int(num(param(p, 3), 0, 0, 10**6))
    if bpr <= 0 or total <= 0:
        return None
    kind = (param(p, 0) or "A").strip()[:1].upper()
    body = (f.data or b"").split(b",", 4)[4] if (f.data or b"").count(b",") >= 4 else b""
    ctx.spend(len(body) // 4)
    g = Graphic(bpr * 8, total // bpr, graphic_ink(kind, body, total, bpr))
    return "graphic", "N", [graphic_parts(g, 1, 1, f.typeset)]


def _recalled_graphic(f: Field, ctx: Sizing) -> Sized | None:
    """``^XG``/``^IM``: a graphic downloaded earlier in the stream (else unknown: None)."""
    p = f.params
    g = ctx.graphics.get(store_key((param(p, 0) or "").strip().upper()))
    if g is None:
        return None  # stored on the printer earlier: size unknown here
    mx = num(param(p, 1), 1, 1, 10) if f.cmd == "XG" else 1
    my = num(param(p, 2), 1, 1, 10) if f.cmd == "XG" else 1
    return "graphic", "N", [graphic_parts(g, mx, my, f.typeset)]


class _Bar:
    """A barcode field's parameters with the ``^BY`` defaults and ``^FW`` orientation."""

    def __init__(self, f: Field, st: State, text: str, ctx: Sizing) -> None:
        self.f, self.st, self.text, self.ctx, self.p = f, st, text, ctx, f.params
        self.w, ratio, self.by_h = st.by
        self.wide = round_half_up(self.w * ratio)
        self.wide_hi = math.ceil(self.w * ratio)

    def orient(self, i: int = 0) -> str:
        o = (param(self.p, i) or "").strip()[:1].upper()
        return o if o and o in ORIENT else self.st.fw

    def yes(self, i: int, default: bool) -> bool:
        v = (param(self.p, i) or "").strip()[:1].upper()
        return default if v not in ("Y", "N") else v == "Y"

    def linear(self, kind: str, width_hi: float, width_lo: float, h_at: int, guard: bool = False) -> Sized:
        """A 1-D symbol: bar height at parameter ``h_at``, then the interpretation line's
        print and above flags; bars plus the line's cell (EAN/UPC guard digits stick out)."""
        w, f = self.w, self.f
        bar_h = num(param(self.p, h_at), self.by_h)
        line, above = self.yes(h_at + 1, True), self.yes(h_at + 2, False)
        parts: Parts = []
        lead = 11 * w if guard and line else 0.0
        if f.typeset:  # Zebrash lifts EAN/UPC guard bars above the baseline: allow 6 modules
            bars: Box = (0.0, -bar_h - 6 * w, width_hi, 0.0)
            core: Box = (0.0, -bar_h, width_lo, 0.0)
        else:
            bars, core = (0.0, 0.0, width_hi, bar_h), (0.0, 0.0, width_lo, bar_h)
        parts.append((bars, core))
        if line:
            th = 13 * w
            top = bars[1] - th if above else bars[3]
            tb: Box = (-lead, top, width_hi + lead, top + th)
            parts.append((tb, core))
        return kind, self.orient(), parts


def _code128(b: _Bar) -> Sized:  # ^BCo,h,f,g,e,m
    n, n_min = code128_symbols(b.text, (param(b.p, 5) or "N").strip())
    return b.linear("code128", b.w * (11 * (n + 2) + 13), b.w * (11 * (n_min + 2) + 13), 1)


def _code39(b: _Bar) -> Sized:  # ^B3o,e,h,f,g
    chars = len(b.text) + 2
    check = 1 if b.yes(1, False) else 0
    return b.linear("code39", code39_width(chars + check, b.w, b.wide_hi), code39_width(chars, b.w, b.wide), 2)


def _code93(b: _Bar) -> Sized:  # ^BAo,h,f,g,e
    m = 9 * (code93_chars(b.text) + 4) + 1
    return b.linear("code93", b.w * m, b.w * m, 1)


def _i2of5(b: _Bar) -> Sized:  # ^B2o,h,f,g,e
    digits = len(re.sub(r"\D", "", b.text))
    check = 1 if b.yes(4, False) else 0
    return b.linear("i2of5", i2of5_width(digits + check, b.w, b.wide_hi), i2of5_width(digits, b.w, b.wide), 1)


def _ean_upc(b: _Bar) -> Sized:  # EAN-13, UPC-A, EAN-8, UPC-E: ^Bxo,h,f,g
    code = b.f.cmd[1:]
    m = {"E": 95, "U": 95, "8": 67, "9": 51}[code]
    kind = {"E": "ean13", "U": "upca", "8": "ean8", "9": "upce"}[code]
    return b.linear(kind, b.w * m, b.w * m, 1, guard=code in "EU9")


def _pdf417(b: _Bar) -> Sized:  # ^B7o,h,s,c,r,t
    p, w = b.p, b.w
    rh = num(param(p, 1), b.by_h, 1)
    sec = int(num(param(p, 2), 0, 0, 8))
    cols = int(num(param(p, 3), 0, 0, 30))
    rows = int(num(param(p, 4), 0, 0, 90))
    extra = 35 if b.yes(5, False) else 69
    hi_cw, lo_cw = pdf417_codewords(b.text.encode("utf-8"), sec)
    if cols:
        r_hi = min(90, max(3, math.ceil(hi_cw / cols), rows))
        r_lo = min(90, max(3, math.ceil(lo_cw / cols)))
        box = (0.0, 0.0, w * (17 * cols + extra), rh * r_hi)
        core = (0.0, 0.0, w * (17 * cols + extra), rh * r_lo)
    else:
        c_lo = max(1, math.ceil(lo_cw / rows)) if rows else 1
        box = (0.0, 0.0, w * (17 * 30 + extra), rh * max(rows, 90))
        core = (0.0, 0.0, w * (17 * c_lo + extra), rh * max(3, rows))
    return "pdf417", b.orient(), [typeset_2d(box, core, b.f.typeset)]


def _datamatrix(b: _Bar) -> Sized | None:  # ^BXo,h,s,c,r
    p, w = b.p, b.w
    if param(p, 2) is not None and (param(p, 2) or "").strip() not in ("", "200"):
        return None  # ECC 000-140: other sizes
    mh = num(param(p, 1), 0, 0, 1000)
    cols, rows = int(num(param(p, 3), 0, 0, 144)), int(num(param(p, 4), 0, 0, 144))
    if cols and rows:
        hi = lo = (cols, rows)
    else:
        a, c = datamatrix_codewords(b.text.encode("utf-8" if b.st.utf8 else "latin-1", "replace"))
        sa, sc = datamatrix_size(a), datamatrix_size(c)
        if sc is None:
            return None
        hi, lo = (sa or 144, sa or 144), (sc, sc)
    m_hi, m_lo = (mh, mh) if mh else (max(10.0, w), min(10.0, w))
    box = (0.0, 0.0, hi[0] * m_hi, hi[1] * m_hi)
    core = (0.0, 0.0, lo[0] * m_lo, lo[1] * m_lo)
    return "datamatrix", b.orient(), [typeset_2d(box, core, b.f.typeset)]


def _qr(b: _Bar) -> Sized | None:  # ^BQo,model,magnification,ecc,mask; data "<ecc><input>,<data>"
    text = b.text
    mag = num(param(b.p, 2), 0, 1, 100) or {True: 3.0, False: 2.0}[b.ctx.dpi >= 280]
    head, _, payload = text.partition(",")
    ecc = (head[:1] or "M").upper()
    if ecc not in "HQML":
        ecc = "M"
    if (head[1:2] or "A").upper() == "M" and payload:
        payload = payload[5:] if payload[:1].upper() == "B" else payload[1:]
    b.ctx.spend(20 * len(payload or text))
    v = qr_version(payload or text, ecc)
    if v is None:
        return None
    size = (17 + 4 * v) * mag
    if b.f.typeset:
        # ^FT: the bottom-left in theory; Zebra's firmware (and Zebrash) draw it 28 dots up.
        # ^FT: the bottom-left in theory; Zebrash draws it 7 modules higher.
        lift = 7 * mag
        return "qr", "N", [((0.0, -size - lift - 2, size, 0.0), (0.0, -size, size, -lift))]
    return "qr", "N", [((0.0, 0.0, size, size + 10), (0.0, 10.0, size, size + 10))]


def _maxicode(b: _Bar) -> Sized:  # a fixed 1.11 × 1.054 inch symbol
    dpi = b.ctx.dpi / b.st.scale
    mw, mh = 1.11 * dpi, 1.054 * dpi
    if b.f.typeset:  # the bottom-left corner at the origin (Zebrash: 13 dots higher)
        return "maxicode", "N", [((0.0, -mh - 2, mw, 2.0), (0.1 * mw, -0.9 * mh, 0.9 * mw, -0.1 * mh))]
    return "maxicode", "N", [((0.0, -2.0, mw, mh), (0.1 * mw, 0.1 * mh, 0.9 * mw, 0.9 * mh))]


#: Barcode command letter (after ``^B``) to its sizing; other symbologies are not estimated.
_BARCODES: dict[str, Callable[[_Bar], Sized | None]] = {
    "C": _code128, "3": _code39, "A": _code93, "2": _i2of5,
    "E": _ean_upc, "U": _ean_upc, "8": _ean_upc, "9": _ean_upc,
    "7": _pdf417, "X": _datamatrix, "Q": _qr, "D": _maxicode,
}
