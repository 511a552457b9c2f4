"""How far a native ZPL format really reaches: the *extent* of every field, not just its origin.

ZPL cannot be rescaled like a raster, so a 58×40 layout sent to 40×30 media prints cut off
without a word. :class:`LayoutCheck` reads each ``^XA…^XZ`` format of a stream (keeping what
a stream defines for later formats: ``~DG`` graphics, ``^DF`` stored formats, prefix changes)
and estimates, per field, two boxes in printer dots on the media:

- ``box``: covers the ink the field can print (the real symbology widths, the interpretation
  line, a text line's full cell). Tests hold it against the ink the Zebrash renderer draws.
- ``core``: ink the field surely prints, whatever the firmware's choices (the shortest Code 128
  encodation, a text's narrowest glyphs, a ``^FT`` graphic's bottom-left reading, …).

A format is refused only when the ``core`` extent passes the media by more than
:data:`TOLERANCE_MM` (so a label that fits is never refused for an estimate), after ``^LH``,
``^LS``/``^LT``, ``^MU`` (dots, and a resolution change ``^MUd,a,b``), and clipped by the
format's own ``^PW``/``^LL``. A format that cannot be judged (``^POI`` inversion, ``^MU`` in
inches/mm, a changed command prefix, a stored format never seen) is let through.

Parsing never raises: truncated commands, missing or giant numbers and unknown commands are
read as far as they make sense, numbers are clamped, data sizes are capped.

Symbologies (module ``w`` from ``^BY``, wide bars ``W = round(w × ratio)``):
Code 128 ``11 × (symbols + 2) + 13`` modules; Code 39 ``(6w + 3W)`` per character plus a
narrow gap, start/stop ``*``; Code 93 ``9 × (chars + 4) + 1``; I2of5 ``4w + pairs × 2(3w + 2W)
+ W + 2w``; EAN-13/UPC-A 95, EAN-8 67, UPC-E 51 modules; PDF417 ``17 × columns + 69``
(truncated ``+ 35``) wide, rows × row height tall; DataMatrix ECC 200 sizes from the codeword
count; QR the version (segno) × magnification; MaxiCode 1.11 × 1.054 in.

Parts: :mod:`.zpl_tokens` (the tokenizer), :mod:`.zpl_commands` (what each command sets),
:mod:`.zpl_sizes` and :mod:`.zpl_symbols` (a field's size), :mod:`.zpl_geometry` (placement);
this module walks a format's commands, keeps the stream's work budget and judges the result.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field

from ..spec import MM_PER_INCH, PrinterSpec, mm_to_dots
from .zpl_commands import set_field, set_state
from .zpl_geometry import FLAT, Box, Field, Graphic, State, graphic_ink, mu_scale, place, shift
from .zpl_sizes import Sizing, field_size
from .zpl_symbols import code93_chars, code128_symbols
from .zpl_tokens import MAX_GRAPHIC_BYTES, MAX_NUM, num, store_key, tokenize

log = logging.getLogger(__name__)

Token = tuple[str, str, bytes]

#: A layout may pass the media by this much (mm) before it is refused: estimates are ±1–2 dots.
TOLERANCE_MM = 1.0
#: Work one stream's check may spend (about a command read, or a QR character sized, each):
#: a stream built to be slow to estimate (stored formats recalled thousands of times, thousands
#: of long QR fields) is let through unjudged after it, never holding a printer or the folder.
WORK_BUDGET = 300_000
#: Common label sizes (mm) a layout's size is named by when it is close to one.
COMMON_SIZES: tuple[tuple[int, int], ...] = (
    (30, 20), (40, 25), (40, 30), (43, 25), (58, 30), (58, 40), (58, 60), (75, 50), (75, 120),
    (100, 50), (100, 70), (100, 100), (100, 150), (100, 200), (102, 152), (104, 159), (178, 152),
)


@dataclass(frozen=True)
class Item:
    """One printed field: what it is and where its ink goes (printer dots on the media)."""

    kind: str
    box: Box
    core: Box


@dataclass
class Layout:
    """The estimated layout of one format. ``judged`` is False when it cannot be estimated."""

    items: list[Item] = field(default_factory=list)
    judged: bool = True
    prints: bool = True
    width: float | None = None  # ^PW, printer dots
    length: float | None = None  # ^LL

    def _far(self, which: str) -> tuple[float, float]:
        xs = [getattr(i, which)[2] for i in self.items]
        ys = [getattr(i, which)[3] for i in self.items]
        x, y = max(xs, default=0.0), max(ys, default=0.0)
        if self.width:
            x = min(x, self.width)
        if self.length:
            y = min(y, self.length)
        return x, y

    @property
    def extent(self) -> tuple[float, float]:
        """How far the ink surely reaches (x, y), clipped by the format's ``^PW``/``^LL``."""
        return self._far("core")

    @property
    def reach(self) -> tuple[float, float]:
        """How far the ink can reach (x, y), clipped by ``^PW``/``^LL``."""
        return self._far("box")



class _OverBudget(Exception):
    """The stream's :data:`WORK_BUDGET` is spent."""


class LayoutCheck:
    """Estimate and check the formats of one ZPL stream, in order (state carries over)."""

    def __init__(self, spec: PrinterSpec, design_dpi: int = 203) -> None:
        self.spec = spec
        self.design_dpi = design_dpi
        self.graphics: dict[str, Graphic] = {}
        self.stored: dict[str, list[Token]] = {}
        self.caret, self.tilde, self.delim = "^", "~", ","
        self.work = 0

    def _spend(self, units: int) -> None:
        self.work += units
        if self.work > WORK_BUDGET:
            raise _OverBudget

    # -- public ------------------------------------------------------------------------------
    def check(self, fmt: bytes, index: int) -> None:
        """Raise :class:`~printstation.errors.BadInput` when format ``index`` overflows the media."""
        from ..errors import BadInput

        layout = self.layout(fmt)
        if not layout.prints or not layout.judged or not layout.items:
            return
        spec = self.spec
        tol = mm_to_dots(TOLERANCE_MM, spec.dpi)
        x, y = layout.extent
        if x <= spec.width_dots + tol and y <= spec.height_dots + tol:
            return
        # Named by how far it surely reaches across and how far its fields' cells reach down
        # (text widths vary with the glyphs, heights do not).
        named = max((i.core if i.kind == "text" else i.box)[2] for i in layout.items)
        if layout.width:
            named = min(named, layout.width)
        lw, lh = self.layout_size(max(x, named, layout.width or 0), max(y, layout.reach[1], layout.length or 0))
        media = f"{spec.media.width_mm:g}×{spec.media.height_mm:g}"
        log.debug("ZPL format %d reaches %.0f×%.0f dots (surely inked), media %d×%d dots",
                 index + 1, x, y, spec.width_dots, spec.height_dots)
        raise BadInput(f"label layout is {lw}×{lh} mm, media is {media} mm: fetch the sticker in {media}")

    def layout_size(self, x: float, y: float) -> tuple[str, str]:
        """A layout's size in mm for messages: the common label size it fits, else rounded up."""
        w = x * MM_PER_INCH / self.spec.dpi
        h = y * MM_PER_INCH / self.spec.dpi
        fits = [s for s in COMMON_SIZES if s[0] + 0.5 >= w and s[1] + 0.5 >= h and s[0] * s[1] <= w * h * 1.8]
        if fits:
            sw, sh = min(fits, key=lambda s: s[0] * s[1])
            return str(sw), str(sh)
        return f"{math.ceil(w - 0.05):d}", f"{math.ceil(h - 0.05):d}"

    def layout(self, fmt: bytes) -> Layout:
        """The estimated layout of one ``^XA…^XZ`` format (with what stands before it)."""
        if self.work > WORK_BUDGET:
            return Layout(judged=False)
        try:
            return self._layout(fmt)
        except _OverBudget:
            log.warning("ZPL layout check stopped: this stream is too costly to estimate; "
                        "the rest of its formats are not judged")
            return Layout(judged=False)
        except Exception as exc:  # never let an estimate stop a label: it is let through
            log.debug("ZPL layout not judged: %s", exc)
            return Layout(judged=False)

    # -- parsing -----------------------------------------------------------------------------
    def _layout(self, fmt: bytes) -> Layout:
        st = State(caret=self.caret, tilde=self.tilde, delim=self.delim)
        if abs(self.spec.dpi - self.design_dpi) > 20:
            st.scale = mu_scale(self.design_dpi, self.spec.dpi)
        st.lh = self._home(st)
        tokens = tokenize(fmt, self.caret, self.tilde)
        out = Layout()
        self._spend(len(tokens))
        tokens = self._expand(tokens, out)
        self._spend(len(tokens))
        f = Field()
        for prefix, name, raw in tokens:
            arg = raw.decode("latin-1")
            p = arg.split(st.delim) if name not in ("FD", "FV", "FX") else [arg]
            if name == "XA":
                st.lh = self._home(st)
            elif name == "DG":
                if prefix == st.tilde:
                    self._download(p, raw)
            elif name == "FS":
                self._finish(f, st, out)
                f = Field()
            elif name == "DF":
                out.prints = False
            elif not set_state(name, arg, p, st):
                set_field(name, arg, p, raw, f, st)
        self.caret, self.tilde, self.delim = st.caret, st.tilde, st.delim
        out.judged = out.judged and st.judged and st.caret == "^" and st.tilde == "~"
        out.width = st.width * st.scale if st.width else None
        out.length = st.length * st.scale if st.length else None
        return out

    def _home(self, st: State) -> tuple[float, float]:
        """The label home at ``^XA``: the printer's offset, in the format's dots."""
        return (float(self.spec.offset[0]) / st.scale, float(self.spec.offset[1]) / st.scale)

    def _expand(self, tokens: list[Token], out: Layout) -> list[Token]:
        """Store ``^DF`` formats; replace ``^XF`` by the stored fields with the recalled data."""
        names = [t[1] for t in tokens]
        if "DF" in names:
            i = names.index("DF")
            key = tokens[i][2].decode("latin-1").strip().upper()
            self.stored[store_key(key)] = tokens[i + 1 :]
            return tokens
        if "XF" not in names:
            return tokens
        i = names.index("XF")
        stored = self.stored.get(store_key(tokens[i][2].decode("latin-1").strip().upper()))
        if stored is None:
            out.judged = False
            return tokens
        values = _recalled(tokens[i + 1 :])
        merged: list[Token] = list(tokens[:i])
        number = None
        for tok in stored:
            if tok[1] == "XZ":
                break
            if tok[1] in ("FD", "FV") and number in values:
                continue  # the recalled data replaces the stored default
            merged.append(tok)
            if tok[1] == "FN":
                number = int(num(tok[2].decode("latin-1"), 0))
                if number in values:
                    merged.append((tok[0], "FD", values[number]))
            elif tok[1] == "FS":
                number = None
        others = [t for t in tokens[i + 1 :] if t[1] not in ("FN", "FD", "FV", "FS")]
        return merged + others

    def _download(self, p: list[str], raw: bytes) -> None:
        """``~DGd:name,total,bytes_per_row,data``: remember the graphic's size and ink."""
        if len(p) < 4:
            return
        name = store_key(p[0].strip().upper())
        total, bpr = int(num(p[1], 0)), int(num(p[2], 0))
        if bpr <= 0 or total <= 0:
            return
        body = raw.split(b",", 3)[3]
        self._spend(len(body) // 4)
        self.graphics[name] = Graphic(bpr * 8, total // bpr, graphic_ink("A", body, total, bpr))

    # -- fields ------------------------------------------------------------------------------
    def _finish(self, f: Field, st: State, out: Layout) -> None:
        if f.origin is None:
            return
        text = self._text(f, st)
        got = field_size(f, st, text, Sizing(self.spec.dpi, self.graphics, self._spend))
        if got is None:
            if f.cmd:  # a symbol or graphic not estimated here: it starts at its origin at least
                x, y = f.origin
                pt = shift((x, y, x, y), st.lh[0], st.lh[1], st, st.scale)
                out.items.append(Item("field", pt, pt))
            return
        kind, orient, parts = got
        x, y = f.origin
        s = st.scale
        hx, hy = st.lh
        main = parts[0][0]
        flat = kind in FLAT and not f.typeset and orient != "N"
        for box, core in parts:
            b = place(box, main, orient, x, y, f)
            c = place(core, main, orient, x, y, f)
            if flat:  # ^FO: the rotated field's top-left corner at the origin (text, 2-D codes)
                b = (x, y, x + b[2] - b[0], y + b[3] - b[1])
                c = (x, y, x + c[2] - c[0], y + c[3] - c[1])
            out.items.append(Item(kind, shift(b, hx, hy, st, s), shift(c, hx, hy, st, s)))

    def _text(self, f: Field, st: State) -> str:
        raw = f.data or b""
        if f.hex_escape:
            esc = re.escape(f.hex_escape.encode("latin-1"))
            raw = re.sub(esc + rb"([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        return raw.decode("utf-8", "replace") if st.utf8 else raw.decode("latin-1")


def _recalled(tokens: list[Token]) -> dict[int, bytes]:
    """The data an ``^XF`` recall gives each ``^FN`` field number."""
    values: dict[int, bytes] = {}
    number = None
    for _, name, raw in tokens:
        if name == "FN":
            number = int(num(raw.decode("latin-1"), 0))
        elif name in ("FD", "FV") and number is not None:
            values[number] = raw
        elif name == "FS":
            number = None
    return values


__all__ = ["LayoutCheck", "Layout", "Item", "tokenize", "TOLERANCE_MM", "code128_symbols",
           "code93_chars", "Box", "MAX_NUM", "MAX_GRAPHIC_BYTES", "WORK_BUDGET"]
