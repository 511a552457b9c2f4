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
"""

from __future__ import annotations

import functools
import logging
import math
import re
from dataclasses import dataclass, field

from ..spec import MM_PER_INCH, PrinterSpec, mm_to_dots

log = logging.getLogger(__name__)

#: A layout may pass the media by this much (mm) before it is refused: estimates are ±1–2 dots.
TOLERANCE_MM = 1.0
#: Largest number read from a command (positions, sizes): giant numbers are clamped, not trusted.
MAX_NUM = 32000
#: Largest graphic decoded to find its ink (bytes); larger ones count as their full box.
MAX_GRAPHIC_BYTES = 1024 * 1024
#: Work one stream's check may spend (about a command read, or a QR character sized, each):
#: a stream built to be slow to estimate (stored formats recalled thousands of times, thousands
#: of long QR fields) is let through unjudged after it, never holding a printer or the folder.
WORK_BUDGET = 300_000
#: Common label sizes (mm) a layout's size is named by when it is close to one.
COMMON_SIZES: tuple[tuple[int, int], ...] = (
    (30, 20), (40, 25), (40, 30), (43, 25), (58, 30), (58, 40), (58, 60), (75, 50), (75, 120),
    (100, 50), (100, 70), (100, 100), (100, 150), (100, 200), (102, 152), (104, 159), (178, 152),
)

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in dots

# Bitmap fonts at 203 dpi: (cell height, character advance) in dots.
_BITMAP_FONTS = {"A": (9, 6), "B": (11, 9), "C": (18, 12), "D": (18, 12), "E": (28, 20), "F": (26, 16),
                 "G": (60, 48), "H": (21, 19)}
# ECC 200 square DataMatrix: (size, data codewords).
_DM_SIZES = ((10, 3), (12, 5), (14, 8), (16, 12), (18, 18), (20, 22), (22, 30), (24, 36), (26, 44),
             (32, 62), (36, 86), (40, 114), (44, 144), (48, 174), (52, 204), (64, 280), (72, 368),
             (80, 456), (88, 576), (96, 696), (104, 816), (120, 1050), (132, 1304), (144, 1558))


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


def _num(s: str | None, default: float, lo: float = 0, hi: float = MAX_NUM) -> float:
    """A number from a command parameter; ``default`` when missing or not a number; clamped."""
    if s is None:
        return default
    m = re.match(r"\s*([+-]?\d{1,12}(?:\.\d{0,6})?)", s)
    if not m:
        return default
    return min(hi, max(lo, float(m.group(1))))


def _round_half_up(v: float) -> int:
    return int(math.floor(v + 0.5))


# ----------------------------------------------------------------------------- symbologies

def code128_symbols(data: str, mode: str = "N") -> tuple[int, int]:
    """(as encoded, shortest possible) number of data symbols of a ``^BC`` field (check and
    start/stop symbols not counted)."""
    mode = (mode or "N").upper()[:1]
    if mode == "U":
        return 11, 11  # FNC1 + 19 digits and a check digit in subset C
    if mode == "D":
        digits = re.sub(r"[()]", "", data)
        best = 1 + _code128_shortest(digits)
        return best, best
    if mode == "A":
        best = _code128_shortest(data)
        return best, best
    n = 0
    subset = "B"
    i = 0
    while i < len(data):
        ch = data[i]
        if ch == ">" and i + 1 < len(data):
            code = data[i + 1]
            i += 2
            if code in "9:;" and n == 0 and i == 2:
                subset = {"9": "A", ":": "B", ";": "C"}[code]
            elif code in "567":
                subset = {"5": "C", "6": "B", "7": "A"}[code]
                n += 1
            else:
                n += 1  # >0 >< >= literal characters, >1-4 >8 FNC codes
            continue
        if subset == "C":
            if ch.isdigit() and i + 1 < len(data) and data[i + 1].isdigit():
                i += 2
            else:
                i += 1
            n += 1
            continue
        n += 1
        i += 1
    # Mode N is encoded as written (start B unless told, switches only where invocation codes
    # say): the firmware does not shorten it, so both bounds are the same.
    return n, n


def _code128_shortest(data: str) -> int:
    """The fewest Code 128 data symbols (subset C for digit runs of 4 or more)."""
    n = 0
    for i, run in enumerate(re.findall(r"\d+|\D+", data)):
        if run[0].isdigit() and len(run) >= 4:  # a switch to C unless the symbol starts in C
            n += len(run) // 2 + (len(run) % 2) + (1 if i else 0)
        else:
            n += len(run)
    return max(n, 1)


def code39_width(chars: int, w: int, wide: int) -> int:
    return chars * (6 * w + 3 * wide) + (chars - 1) * w


def i2of5_width(digits: int, w: int, wide: int) -> int:
    pairs = (digits + 1) // 2
    return 4 * w + pairs * 2 * (3 * w + 2 * wide) + wide + 2 * w


def code93_chars(data: str) -> int:
    """Code 93 characters (full-ASCII ones take a shift character each)."""
    plain = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%")
    return sum(1 if c in plain else 2 for c in data)


def datamatrix_size(n_codewords: int) -> int | None:
    for size, cap in _DM_SIZES:
        if cap >= n_codewords:
            return size
    return None


def datamatrix_codewords(data: bytes) -> tuple[int, int]:
    """(ASCII encodation, lower bound by C40/text) data codewords."""
    n = 0
    i = 0
    while i < len(data):
        if chr(data[i]).isdigit() and i + 1 < len(data) and chr(data[i + 1]).isdigit():
            n += 1  # two digits to a codeword
            i += 2
        else:
            n += 2 if data[i] > 127 else 1
            i += 1
    return n, min(n, math.ceil(len(data) * 2 / 3))


@functools.lru_cache(maxsize=256)
def qr_version(data: str, ecc: str) -> int | None:
    """The QR version a printer picks for ``data`` at error level ``ecc`` (segno's choice)."""
    if len(data) > 7089:
        return None
    try:
        import segno

        return int(segno.make_qr(data, error=ecc.lower(), boost_error=False).version)
    except Exception:  # too long for any version, unencodable: not judged
        return None


def pdf417_codewords(data: bytes, security: int) -> tuple[int, int]:
    """(upper, lower) bounds of the total PDF417 codewords (length, data, error correction)."""
    ecc = 2 ** (security + 1)
    upper = math.ceil(len(data) * 6 / 5) + 2
    lower = math.ceil(len(data) / 2.93)
    return 1 + upper + ecc, 1 + lower + ecc


# ----------------------------------------------------------------------------- graphics

def _graphic_ink(kind: str, data: bytes, total: int, bpr: int) -> Box | None:
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


class _OverBudget(Exception):
    """The stream's :data:`WORK_BUDGET` is spent."""


@dataclass
class _Graphic:
    width: int  # dots
    rows: int
    ink: Box | None


# ----------------------------------------------------------------------------- the parser

@dataclass
class _Field:
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
class _State:
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


_ORIENT = "NRIB"
_FLAT = frozenset({"text", "pdf417", "datamatrix"})


def tokenize(data: bytes, caret: str = "^", tilde: str = "~") -> list[tuple[str, str, bytes]]:
    """(prefix, command, argument bytes) of each command; text outside commands is skipped.

    ``^FD``/``^FV``/``^FX`` data runs to the next caret, other arguments to the next prefix;
    ``^GFB`` binary data is taken by its byte count. Prefix changes (``^CC``/``~CC``,
    ``^CT``/``~CT``) take effect at once.
    """
    out: list[tuple[str, str, bytes]] = []
    n = len(data)
    c, t = caret.encode("latin-1"), tilde.encode("latin-1")
    i = 0
    while i < n:
        ch = data[i : i + 1]
        if ch not in (c, t):
            i += 1
            continue
        if data[i + 1 : i + 2] in (c, t):
            i += 1  # an empty command ("~~CD," in ZebraDesigner's prefix)
            continue
        name = data[i + 1 : i + 3].decode("latin-1").upper()
        start = i + 3
        if name[:1] == "A" and name != "A@":
            name, start = "A", i + 2
        if len(name) < 1:
            break
        if name in ("CC", "CT", "CD"):
            arg = data[start : start + 1]
            out.append((ch.decode("latin-1"), name, arg))
            if name == "CC" and arg:
                c = arg
            elif name == "CT" and arg:
                t = arg
            i = start + 1
            continue
        if name in ("FD", "FV", "FX"):
            end = data.find(c, start)
        else:
            end = _next_prefix(data, start, c, t)
            if name == "GF":
                head = data[start:end].split(b",", 4)
                if len(head) == 5 and head[0].strip().upper() == b"B":
                    count = int(_num(head[1].decode("latin-1"), 0, 0, MAX_GRAPHIC_BYTES))
                    body = start + sum(len(h) + 1 for h in head[:4])
                    end = min(n, body + count)
                    end = end if data[end : end + 1] in (c, t, b"") else _next_prefix(data, end, c, t)
        end = n if end < 0 else end
        out.append((ch.decode("latin-1"), name, data[start:end]))
        i = end
    return out


def _next_prefix(data: bytes, start: int, c: bytes, t: bytes) -> int:
    a, b = data.find(c, start), data.find(t, start)
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)


class LayoutCheck:
    """Estimate and check the formats of one ZPL stream, in order (state carries over)."""

    def __init__(self, spec: PrinterSpec, design_dpi: int = 203) -> None:
        self.spec = spec
        self.design_dpi = design_dpi
        self.graphics: dict[str, _Graphic] = {}
        self.stored: dict[str, list[tuple[str, str, bytes]]] = {}
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
        st = _State(caret=self.caret, tilde=self.tilde, delim=self.delim)
        if abs(self.spec.dpi - self.design_dpi) > 20:
            st.scale = _mu_scale(self.design_dpi, self.spec.dpi)
        st.lh = (float(self.spec.offset[0]) / st.scale, float(self.spec.offset[1]) / st.scale)
        tokens = tokenize(fmt, self.caret, self.tilde)
        out = Layout()
        self._spend(len(tokens))
        tokens = self._expand(tokens, out)
        self._spend(len(tokens))
        f = _Field()
        for prefix, name, raw in tokens:
            arg = raw.decode("latin-1")
            p = arg.split(st.delim) if name not in ("FD", "FV", "FX") else [arg]
            if name == "CC":
                st.caret = arg[:1] or st.caret
            elif name == "CT":
                st.tilde = arg[:1] or st.tilde
            elif name == "CD":
                st.delim = arg[:1] or st.delim
            elif name == "XA":
                st.lh = (float(self.spec.offset[0]) / st.scale, float(self.spec.offset[1]) / st.scale)
            elif name == "DG" and prefix == st.tilde:
                self._download(p, raw)
            elif name in ("FO", "FT"):
                f.origin = (_num(_get(p, 0), 0), _num(_get(p, 1), 0))
                f.typeset = name == "FT"
                f.just = int(_num(_get(p, 2), 0, 0, 2))
            elif name == "FS":
                self._finish(f, st, out)
                f = _Field()
            elif name in ("FD", "FV"):
                f.data = raw
            elif name == "FH":
                f.hex_escape = (arg[:1] or "_")
            elif name == "FB":
                f.block = (_num(_get(p, 0), 0), int(_num(_get(p, 1), 1, 1, 9999)), _num(_get(p, 2), 0, -9999),
                           (_get(p, 3) or "L").strip()[:1].upper())
            elif name == "TB":  # ^TBo,width,height: a text block, measured like one ^FB line
                f.block = (_num(_get(p, 1), 0), 1, 0.0, "L")
            elif name == "FN":
                f.number = int(_num(_get(p, 0), 0))
            elif name == "A" or name == "A@":
                self._font(name, arg, st, f)
            elif name == "CF":
                fnt = (arg[:1] or "A").upper()
                h = _num(_get(p, 1), st.cf[1])
                st.cf = (fnt, h, _num(_get(p, 2), h if fnt == "0" else st.cf[2]))
            elif name == "BY":
                st.by = (_num(_get(p, 0), st.by[0], 1, 100), _num(_get(p, 1), st.by[1], 2, 3),
                         _num(_get(p, 2), st.by[2], 1))
            elif name == "FW":
                o = (arg[:1] or "N").upper()
                st.fw = o if o and o in _ORIENT else st.fw
            elif name == "LH":
                st.lh = (_num(_get(p, 0), 0), _num(_get(p, 1), 0))
            elif name == "LS":
                st.ls = _num(_get(p, 0), 0, -9999, 9999)
            elif name == "LT":
                st.lt = _num(_get(p, 0), 0, -120, 120)
            elif name == "PW":
                st.width = _num(_get(p, 0), 0) or None
            elif name == "LL":
                st.length = _num(_get(p, 0), 0) or None
            elif name == "MU":
                u = (arg[:1] or "D").upper()
                if u != "D":
                    st.judged = False
                elif len(p) >= 3:
                    a, b = _num(_get(p, 1), 0), _num(_get(p, 2), 0)
                    if a > 0 and b > 0:
                        st.scale = b / a
            elif name == "PO":
                if (arg[:1] or "N").upper() == "I":
                    st.judged = False
            elif name == "CI":
                st.utf8 = int(_num(_get(p, 0), 0)) in (28, 29, 30)
            elif name == "DF":
                out.prints = False
            elif name in ("GB", "GC", "GD", "GE", "GF", "XG", "IM", "GS") or name.startswith("B"):
                f.cmd, f.params = name, p
                if name == "GF":
                    f.data = raw
        self.caret, self.tilde, self.delim = st.caret, st.tilde, st.delim
        out.judged = out.judged and st.judged and st.caret == "^" and st.tilde == "~"
        out.width = st.width * st.scale if st.width else None
        out.length = st.length * st.scale if st.length else None
        return out

    def _expand(self, tokens: list[tuple[str, str, bytes]], out: Layout) -> list[tuple[str, str, bytes]]:
        """Store ``^DF`` formats; replace ``^XF`` by the stored fields with the recalled data."""
        names = [t[1] for t in tokens]
        if "DF" in names:
            i = names.index("DF")
            key = tokens[i][2].decode("latin-1").strip().upper()
            self.stored[_store_key(key)] = tokens[i + 1 :]
            return tokens
        if "XF" not in names:
            return tokens
        i = names.index("XF")
        stored = self.stored.get(_store_key(tokens[i][2].decode("latin-1").strip().upper()))
        if stored is None:
            out.judged = False
            return tokens
        values: dict[int, bytes] = {}
        number = None
        for _, name, raw in tokens[i + 1 :]:
            if name == "FN":
                number = int(_num(raw.decode("latin-1"), 0))
            elif name in ("FD", "FV") and number is not None:
                values[number] = raw
            elif name == "FS":
                number = None
        merged: list[tuple[str, str, bytes]] = list(tokens[:i])
        number = None
        for tok in stored:
            if tok[1] == "XZ":
                break
            if tok[1] in ("FD", "FV") and number in values:
                continue  # the recalled data replaces the stored default
            merged.append(tok)
            if tok[1] == "FN":
                number = int(_num(tok[2].decode("latin-1"), 0))
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
        name = _store_key(p[0].strip().upper())
        total, bpr = int(_num(p[1], 0)), int(_num(p[2], 0))
        if bpr <= 0 or total <= 0:
            return
        body = raw.split(b",", 3)[3]
        self._spend(len(body) // 4)
        self.graphics[name] = _Graphic(bpr * 8, total // bpr, _graphic_ink("A", body, total, bpr))

    def _font(self, name: str, arg: str, st: _State, f: _Field) -> None:
        if name == "A@":
            rest = arg
            fnt = "0"
        else:
            fnt, rest = (arg[:1] or "0").upper(), arg[1:]
        p = rest.split(st.delim)
        o = (_get(p, 0) or "").strip()[:1].upper()
        o = o if o and o in _ORIENT else st.fw
        h = _num(_get(p, 1), 0)
        w = _num(_get(p, 2), 0)
        if fnt in _BITMAP_FONTS:
            bh, bw = _BITMAP_FONTS[fnt]
            mh = max(1, round(h / bh)) if h else 1
            mw = max(1, round(w / bw)) if w else mh
            h, w = bh * mh, bw * mw * 1.0
        else:
            h = h or w or st.cf[1]
            w = w or h
        f.font = (fnt, o, h, w)

    # -- fields ------------------------------------------------------------------------------
    def _finish(self, f: _Field, st: _State, out: Layout) -> None:
        if f.origin is None:
            return
        text = self._text(f, st)
        got = self._size(f, st, text)
        if got is None:
            if f.cmd:  # a symbol or graphic not estimated here: it starts at its origin at least
                x, y = f.origin
                pt = _shift((x, y, x, y), st.lh[0], st.lh[1], st, st.scale)
                out.items.append(Item("field", pt, pt))
            return
        kind, orient, parts = got
        x, y = f.origin
        s = st.scale
        hx, hy = st.lh
        main = parts[0][0]
        flat = kind in _FLAT and not f.typeset and orient != "N"
        for box, core in parts:
            b = _place(box, main, orient, x, y, f)
            c = _place(core, main, orient, x, y, f)
            if flat:  # ^FO: the rotated field's top-left corner at the origin (text, 2-D codes)
                b = (x, y, x + b[2] - b[0], y + b[3] - b[1])
                c = (x, y, x + c[2] - c[0], y + c[3] - c[1])
            out.items.append(Item(kind, _shift(b, hx, hy, st, s), _shift(c, hx, hy, st, s)))

    def _text(self, f: _Field, st: _State) -> str:
        raw = f.data or b""
        if f.hex_escape:
            esc = re.escape(f.hex_escape.encode("latin-1"))
            raw = re.sub(esc + rb"([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
        return raw.decode("utf-8", "replace") if st.utf8 else raw.decode("latin-1")

    def _size(self, f: _Field, st: _State, text: str):
        """(kind, orientation, [(box, core) in the field frame]) or None when nothing prints.

        Field frame: ``u`` along the reading direction, ``v`` downwards; for ``^FO`` the frame's
        origin is the top-left corner, for ``^FT`` the baseline (bottom-left).
        """
        cmd, p = f.cmd, f.params
        w, ratio, by_h = st.by
        wide = _round_half_up(w * ratio)
        wide_hi = math.ceil(w * ratio)

        def orient(i: int = 0) -> str:
            o = (_get(p, i) or "").strip()[:1].upper()
            return o if o and o in _ORIENT else st.fw

        def yes(i: int, default: bool) -> bool:
            v = (_get(p, i) or "").strip()[:1].upper()
            return default if v not in ("Y", "N") else v == "Y"

        if cmd == "" or cmd == "FD":
            if not text.strip():
                return None
            fnt, o, h, fw = f.font or (st.cf[0], st.fw, st.cf[1], st.cf[2])
            if f.font is None and fnt in _BITMAP_FONTS:
                bh, bw = _BITMAP_FONTS[fnt]
                mh = max(1, round(h / bh))
                h, fw = bh * mh, bw * max(1, round(fw / bw) if fw else mh)
            n = len(text)
            if fnt in _BITMAP_FONTS:  # fixed pitch: ``fw`` is the advance
                width, core_w = n * fw * 1.05, (n - 0.5) * fw * 0.8
            else:  # proportional: the widest glyphs for the cover, the narrowest for the core
                width, core_w = n * fw * 0.95, _narrowest(text) * fw
            height = h
            if f.block:
                bw, lines, spacing, just = f.block
                width = bw or width
                core_w = min(core_w, bw / 2 if bw else core_w)  # word wrap: lines may end short
                height = lines * max(h + spacing, h)
                shift = {"C": (width - core_w) / 2, "R": width - core_w}.get(just, 0.0)
            else:
                shift = 0.0
            if f.typeset:
                top = -height if not f.block else -height - h * 0.25
                box = (0.0, top, width, h * 0.3)
                core = (shift, -h * 0.5, shift + core_w, 0.0)
                if f.block:  # the first line's caps, however the block is anchored on its origin
                    core = (shift, -height + h * 0.3, shift + core_w, -height + h * 0.6)
            else:
                box = (0.0, 0.0, width, height + h * 0.1)
                core = (shift, h * 0.2, shift + core_w, h * 0.6)
            return "text", o, [(box, core)]
        if cmd == "GB":
            bw, bh, t = _num(_get(p, 0), 1), _num(_get(p, 1), 1), _num(_get(p, 2), 1)
            bw, bh = max(bw, t, 1), max(bh, t, 1)
            return "box", "N", [_either((0.0, 0.0, bw, bh), f.typeset)]
        if cmd in ("GC", "GE", "GD"):
            d = _num(_get(p, 0), 3)
            e = _num(_get(p, 1), d) if cmd != "GC" else d
            return "shape", "N", [_either((0.0, 0.0, d, e), f.typeset, pad=3)]
        if cmd == "GF":
            total, bpr = int(_num(_get(p, 2), 0, 0, 10**9)), int(_num(_get(p, 3), 0, 0, 10**6))
            if bpr <= 0 or total <= 0:
                return None
            kind = (_get(p, 0) or "A").strip()[:1].upper()
            body = (f.data or b"").split(b",", 4)[4] if (f.data or b"").count(b",") >= 4 else b""
            self._spend(len(body) // 4)
            g = _Graphic(bpr * 8, total // bpr, _graphic_ink(kind, body, total, bpr))
            return "graphic", "N", [_graphic_parts(g, 1, 1, f.typeset)]
        if cmd in ("XG", "IM"):
            name = _store_key((_get(p, 0) or "").strip().upper())
            g = self.graphics.get(name)
            if g is None:
                return None  # stored on the printer earlier: size unknown here
            mx = _num(_get(p, 1), 1, 1, 10) if cmd == "XG" else 1
            my = _num(_get(p, 2), 1, 1, 10) if cmd == "XG" else 1
            return "graphic", "N", [_graphic_parts(g, mx, my, f.typeset)]
        if not cmd.startswith("B"):
            return None
        code = cmd[1:]
        if code == "C":  # Code 128: ^BCo,h,f,g,e,m
            n, n_min = code128_symbols(text, (_get(p, 5) or "N").strip())
            return self._linear("code128", orient(), w * (11 * (n + 2) + 13), w * (11 * (n_min + 2) + 13),
                                _num(_get(p, 1), by_h), yes(2, True), yes(3, False), w, f)
        if code == "3":  # Code 39: ^B3o,e,h,f,g
            chars = len(text) + 2
            check = 1 if yes(1, False) else 0
            return self._linear("code39", orient(), code39_width(chars + check, w, wide_hi),
                                code39_width(chars, w, wide), _num(_get(p, 2), by_h), yes(3, True), yes(4, False), w, f)
        if code == "A":  # Code 93: ^BAo,h,f,g,e
            m = 9 * (code93_chars(text) + 4) + 1
            return self._linear("code93", orient(), w * m, w * m, _num(_get(p, 1), by_h), yes(2, True),
                                yes(3, False), w, f)
        if code == "2":  # Interleaved 2 of 5: ^B2o,h,f,g,e
            digits = len(re.sub(r"\D", "", text))
            check = 1 if yes(4, False) else 0
            return self._linear("i2of5", orient(), i2of5_width(digits + check, w, wide_hi),
                                i2of5_width(digits, w, wide), _num(_get(p, 1), by_h), yes(2, True), yes(3, False), w, f)
        if code in ("E", "U", "8", "9"):  # EAN-13, UPC-A, EAN-8, UPC-E: ^Bxo,h,f,g
            m = {"E": 95, "U": 95, "8": 67, "9": 51}[code]
            kind = {"E": "ean13", "U": "upca", "8": "ean8", "9": "upce"}[code]
            return self._linear(kind, orient(), w * m, w * m, _num(_get(p, 1), by_h), yes(2, True), yes(3, False),
                                w, f, guard=code in "EU9")
        if code == "7":  # PDF417: ^B7o,h,s,c,r,t
            rh = _num(_get(p, 1), by_h, 1)
            sec = int(_num(_get(p, 2), 0, 0, 8))
            cols = int(_num(_get(p, 3), 0, 0, 30))
            rows = int(_num(_get(p, 4), 0, 0, 90))
            extra = 35 if yes(5, False) else 69
            hi_cw, lo_cw = pdf417_codewords(text.encode("utf-8"), sec)
            if cols:
                r_hi = min(90, max(3, math.ceil(hi_cw / cols), rows))
                r_lo = min(90, max(3, math.ceil(lo_cw / cols)))
                box = (0.0, 0.0, w * (17 * cols + extra), rh * r_hi)
                core = (0.0, 0.0, w * (17 * cols + extra), rh * r_lo)
            else:
                c_lo = max(1, math.ceil(lo_cw / rows)) if rows else 1
                box = (0.0, 0.0, w * (17 * 30 + extra), rh * max(rows, 90))
                core = (0.0, 0.0, w * (17 * c_lo + extra), rh * max(3, rows))
            return "pdf417", orient(), [_typeset_2d(box, core, f.typeset)]
        if code == "X":  # DataMatrix: ^BXo,h,s,c,r
            if _get(p, 2) is not None and (_get(p, 2) or "").strip() not in ("", "200"):
                return None  # ECC 000-140: other sizes
            mh = _num(_get(p, 1), 0, 0, 1000)
            cols, rows = int(_num(_get(p, 3), 0, 0, 144)), int(_num(_get(p, 4), 0, 0, 144))
            if cols and rows:
                hi = lo = (cols, rows)
            else:
                a, b = datamatrix_codewords(text.encode("utf-8" if st.utf8 else "latin-1", "replace"))
                sa, sb = datamatrix_size(a), datamatrix_size(b)
                if sb is None:
                    return None
                hi, lo = (sa or 144, sa or 144), (sb, sb)
            m_hi, m_lo = (mh, mh) if mh else (max(10.0, w), min(10.0, w))
            box = (0.0, 0.0, hi[0] * m_hi, hi[1] * m_hi)
            core = (0.0, 0.0, lo[0] * m_lo, lo[1] * m_lo)
            return "datamatrix", orient(), [_typeset_2d(box, core, f.typeset)]
        if code == "Q":  # QR: ^BQo,model,magnification,ecc,mask; data "<ecc><input>,<data>"
            mag = _num(_get(p, 2), 0, 1, 100) or {True: 3.0, False: 2.0}[self.spec.dpi >= 280]
            head, _, payload = text.partition(",")
            ecc = (head[:1] or "M").upper()
            if ecc not in "HQML":
                ecc = "M"
            if (head[1:2] or "A").upper() == "M" and payload:
                payload = payload[5:] if payload[:1].upper() == "B" else payload[1:]
            self._spend(20 * len(payload or text))
            v = qr_version(payload or text, ecc)
            if v is None:
                return None
            size = (17 + 4 * v) * mag
            if f.typeset:
                # ^FT: the bottom-left in theory; Zebra's firmware (and Zebrash) draw it 28 dots up.
                # ^FT: the bottom-left in theory; Zebrash draws it 7 modules higher.
                lift = 7 * mag
                return "qr", "N", [((0.0, -size - lift - 2, size, 0.0), (0.0, -size, size, -lift))]
            return "qr", "N", [((0.0, 0.0, size, size + 10), (0.0, 10.0, size, size + 10))]
        if code == "D":  # MaxiCode: a fixed 1.11 × 1.054 inch symbol
            dpi = self.spec.dpi / st.scale
            mw, mh = 1.11 * dpi, 1.054 * dpi
            if f.typeset:  # the bottom-left corner at the origin (Zebrash: 13 dots higher)
                return "maxicode", "N", [((0.0, -mh - 2, mw, 2.0), (0.1 * mw, -0.9 * mh, 0.9 * mw, -0.1 * mh))]
            return "maxicode", "N", [((0.0, -2.0, mw, mh), (0.1 * mw, 0.1 * mh, 0.9 * mw, 0.9 * mh))]
        return None  # other symbologies: not estimated (never refused for them)

    def _linear(self, kind: str, o: str, width_hi: float, width_lo: float, bar_h: float, line: bool,
                above: bool, w: float, f: _Field, guard: bool = False):
        parts: list[tuple[Box, Box]] = []
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
        return kind, o, parts


_NARROW = frozenset("ijlft.,:;'!|()[]-")


def _narrowest(text: str) -> float:
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


def _get(p: list[str], i: int) -> str | None:
    if i >= len(p):
        return None
    v = p[i]
    return v if v.strip() else None


def _store_key(name: str) -> str:
    """``R:LOGO.GRF`` and ``LOGO.GRF`` and ``LOGO`` name the same stored object."""
    name = name.split(":", 1)[-1]
    return name.split(".", 1)[0]


def _mu_scale(design: int, dpi: int) -> float:
    """The scale passthrough's ``^MUd,base,target`` gives a layout made at ``design`` dpi."""
    base = min((150, 200, 300), key=lambda d: abs(d - design))
    target = min((300, 600), key=lambda d: abs(d - dpi))
    return target / base if target > base else 1.0


def _either(box: Box, typeset: bool, pad: float = 0.0) -> tuple[Box, Box]:
    """A field whose ``^FT`` origin firmware reads either as top-left or as bottom-left."""
    x0, y0, x1, y1 = box
    if not typeset:
        return (x0 - pad, y0 - pad, x1 + pad, y1 + pad), box
    h = y1 - y0
    return (x0 - pad, y0 - h - pad, x1 + pad, y1 + pad), (x0, y0, x1, y0)


def _graphic_parts(g: _Graphic, mx: float, my: float, typeset: bool) -> tuple[Box, Box]:
    box, core = _either((0.0, 0.0, g.width * mx, g.rows * my), typeset)
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


def _typeset_2d(box: Box, core: Box, typeset: bool) -> tuple[Box, Box]:
    """A 2-D symbol (or PDF417): ``^FT`` puts its bottom-left corner at the origin."""
    if not typeset:
        return box, core
    return (box[0], box[1] - box[3], box[2], box[1]), (core[0], core[1] - core[3], core[2], core[1])


def _place(b: Box, main: Box, o: str, x: float, y: float, f: _Field) -> Box:
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


def _shift(b: Box, hx: float, hy: float, st: _State, s: float) -> Box:
    x0, y0, x1, y1 = b
    dx, dy = hx - st.ls, hy + st.lt
    return ((x0 + dx) * s, (y0 + dy) * s, (x1 + dx) * s, (y1 + dy) * s)


__all__ = ["LayoutCheck", "Layout", "Item", "tokenize", "TOLERANCE_MM", "code128_symbols"]
