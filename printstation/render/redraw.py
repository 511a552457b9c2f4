"""Redraw barcodes on whole printer dots.

A Code128 with 0.2 mm modules is 1.6 dots a module at 203 dpi: thresholded, bars come out 1 or
2 dots wide at random and the bar/space ratios break. Rescaling smarter cannot fix that; drawing
the same symbol again with an integer number of dots per module can. For every barcode found on
the source (:func:`printstation.render.barcodes.detect`):

1. linear symbols: read the module pattern off the source at its native resolution (so code sets,
   FNC1/GS1 and check characters stay exactly as the marketplace drew them), falling back to a
   fresh encoding of the same content by zxing-cpp; 2-D symbols: encode the same bytes again
   (same error-correction level);
2. prove the pattern decodes to the same format and bytes before using it;
3. on the printer raster, blank the symbol's area and draw the pattern with the largest whole
   number of dots per module that fits the original box, allowed to grow into blank quiet zone
   (never over other ink or the label edge, keeping the required quiet zone), same centre, same
   bar height, same rotation.

A symbol that cannot be redrawn identically is left as rendered; the final raster is verified by
:func:`printstation.render.barcodes.finish` either way.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterator

import numpy as np

from ..spec import PrinterSpec
from .pattern import frozen, linear_box as _linear_box, quantize as _quantize
from .regions import corner_span
from .raster import Page, Placement

log = logging.getLogger(__name__)

LINEAR = {"Code128", "Code39", "Code93", "EAN13", "EAN8", "UPCA", "UPCE", "ITF", "Codabar"}
MATRIX = {"QRCode", "DataMatrix", "PDF417", "Aztec", "MicroQRCode"}
#: Quiet zone each side, in modules, that a redraw must keep (or what the original had, if less).
QUIET = {"Code128": 10, "Code39": 10, "Code93": 10, "EAN13": 7, "EAN8": 7, "UPCA": 9, "UPCE": 7,
         "ITF": 10, "Codabar": 10, "QRCode": 4, "MicroQRCode": 2, "DataMatrix": 1, "PDF417": 2,
         "Aztec": 0}


def _rot_pt(x: float, y: float, w: float, h: float, k: int) -> tuple[float, float]:
    """A point of a w×h image after rotating the image clockwise by ``k`` quarter turns."""
    for _ in range(k % 4):
        x, y, w, h = h - y, x, h, w
    return x, y


def _rot_img(a: np.ndarray, k: int) -> np.ndarray:
    """Rotate an array clockwise by ``k`` quarter turns."""
    return np.rot90(a, -(k % 4)) if k % 4 else a


#: Module counts a linear symbol must have (None: any).
def _plausible(fmt: str, n: int) -> bool:
    if fmt == "Code128":
        return n >= 35 and (n - 2) % 11 == 0
    fixed = {"EAN13": 95, "UPCA": 95, "EAN8": 67, "UPCE": 51}
    return fixed.get(fmt, n) == n


def _decodes_to(modules: np.ndarray, fmt: str, content: bytes, linear: bool,
                symbology: str | None = None) -> bool:
    """Draw a module matrix cleanly and check it decodes to ``fmt``/``content`` (and, when given,
    the ``symbology`` identifier: GS1 ``]d2`` is not plain ``]d1``), remembered for a reprint or a
    batch of the same value: the answer depends on nothing else."""
    cells = modules[:1] if linear else modules
    return _decodes_cached(fmt, content, linear, cells.shape, cells.tobytes(), symbology)


@functools.lru_cache(maxsize=128)
def _decodes_cached(fmt: str, content: bytes, linear: bool, shape: tuple[int, ...], cells: bytes,
                    symbology: str | None = None) -> bool:
    from .barcodes import read

    gray = _proof_image(np.frombuffer(cells, dtype=bool).reshape(shape), linear)
    return any(r.valid and r.format.name == fmt and bytes(r.bytes) == content
               and (symbology is None or r.symbology_identifier == symbology)
               for r in read(gray, formats=(fmt,), binary=True, pure=True))


def _proof_image(modules: np.ndarray, linear: bool) -> np.ndarray:
    """A module matrix drawn 3 px a module (a linear symbol 30 px high) in 36 px of white: one
    white image with the symbol written in (what np.kron, np.where and a padded copy made)."""
    scale, pad = 3, 36
    img = np.repeat(modules[:1] if linear else modules, scale, axis=1)
    if not linear:
        img = np.repeat(img, scale, axis=0)
    h, w = (30, img.shape[1]) if linear else img.shape
    gray = np.full((h + 2 * pad, w + 2 * pad), 255, np.uint8)
    # ink 0, white 255 (np.where(img, np.uint8(0), np.uint8(255)) took 25 µs on a 25×25 QR code)
    gray[pad : pad + h, pad : pad + w] = np.invert(img).view(np.uint8) * np.uint8(255)
    return gray


def _encode(fmt: str, content: bytes, text: str, ec_level: str | None) -> np.ndarray | None:
    """A fresh zxing-cpp encoding of a symbol: its module matrix (one row for a linear symbol;
    read-only: remembered for a reprint or a batch of the same value)."""
    if ec_level and fmt not in ("QRCode", "MicroQRCode"):
        ec_level = None
    return _encode_cached(fmt, content, text, ec_level)


@functools.lru_cache(maxsize=128)
def _encode_cached(fmt: str, content: bytes | str, text: str, ec_level: str | None, gs1: bool = False,
                   version: int | None = None) -> np.ndarray | None:
    import zxingcpp

    f = getattr(zxingcpp.BarcodeFormat, fmt, None)
    if f is None:
        return None
    kwargs: dict[str, object] = {}
    if ec_level:
        kwargs["ec_level"] = ec_level
    if gs1:
        kwargs["gs1"] = True
    if version is not None:
        kwargs["version"] = int(version)  # an int only: a string zint cannot parse aborts the process
    for payload in (content, text) if fmt in MATRIX else (text, content):
        if not payload:
            continue
        try:
            b = zxingcpp.create_barcode(payload, f, **kwargs)
        except Exception:  # zxing refuses content it cannot encode in that format
            continue
        mods = np.asarray(b.to_image(scale=1, add_quiet_zones=False, add_hrt=False)) < 128
        if fmt in LINEAR:
            mods = mods[:1]
        return frozen(mods)
    return None


#: zxing-cpp's writer (zint) numbers DataMatrix sizes: squares 1-24, rectangles 25-30.
_DM_SIZES = {f"{n}x{n}": i + 1 for i, n in enumerate(
    (10, 12, 14, 16, 18, 20, 22, 24, 26, 32, 36, 40, 44, 48, 52, 64, 72, 80, 88, 96, 104, 120, 132, 144))}
_DM_SIZES.update({s: 25 + i for i, s in enumerate(("8x18", "8x32", "12x26", "12x36", "16x36", "16x48"))})
#: Symbology identifiers of GS1 symbols (FNC1 in first position): encoded again in GS1 mode.
GS1_IDS = frozenset({"]d2", "]Q3", "]z1"})


def _matrix_size(fmt: str, version: str) -> tuple[int, tuple[int, int]] | None:
    """The writer's version number and the module size (rows, columns) of a 2-D symbol of
    zxing's ``version``, for the symbols whose size the writer can be told (QR, DataMatrix)."""
    if fmt == "QRCode" and version.isdigit() and 1 <= int(version) <= 40:
        n = 17 + 4 * int(version)
        return int(version), (n, n)
    if fmt == "DataMatrix" and version in _DM_SIZES:
        rows, cols = version.split("x")
        return _DM_SIZES[version], (int(rows), int(cols))
    return None


def _matrix_encodings(b) -> "Iterator[np.ndarray]":  # noqa: ANN001 - a barcodes.Barcode
    """Encodings of a 2-D symbol again, the most faithful first: its text (zxing-cpp encodes
    bytes in binary mode: more codewords, a bigger symbol) in GS1 mode for a GS1 symbol, at the
    source's size (QR version, DataMatrix rows×columns — a rectangular DataMatrix stays
    rectangular) and error-correction level; then at any size; then the bytes as binary. Each is
    still proven by :func:`_decodes_to` before it is used."""
    fmt, content, text = b.format, b.content, b.text
    ec = b.ec_level if fmt in ("QRCode", "MicroQRCode") and b.ec_level in ("L", "M", "Q", "H") else None
    size = _matrix_size(fmt, b.version)
    gs1 = b.symbology in GS1_IDS
    payloads: list[str | bytes] = []
    if gs1 or text.encode("utf-8") == content:
        payloads.append(text)
    payloads.append(content)
    for payload in payloads:
        for version in ((size[0], None) if size else (None,)):
            mods = _encode_cached(fmt, payload, "", ec, gs1 and payload is text, version)
            if mods is not None and (version is None or mods.shape == size[1]):  # type: ignore[index]
                yield mods


#: Ink/paper contrast (gray levels) under which a symbol's colours are not told apart.
MIN_CONTRAST = 32


def _levelled(img: np.ndarray, corners: list[tuple[float, float]]) -> np.ndarray:
    """``img`` as its module pattern is read (ink below 128), for a symbol whose own ink and paper
    128 does not separate: a Code128 in orange (gray 151), light gray or teal on white, or black on
    a dark background. Such an image is thresholded halfway between the darkest and lightest gray
    of the symbol's middle rows (a copy); any other comes back as it is (no copy, same bytes)."""
    span = corner_span(img, corners)
    if span is None:
        return img
    xl, xh, _, _, ym = span
    band = img[max(0, ym - 2) : ym + 3, xl : xh + 1]
    lo, hi = int(band.min()), int(band.max())
    if lo < 128 <= hi or hi - lo < MIN_CONTRAST:
        return img
    lut = np.where(np.arange(256) * 2 < lo + hi, 0, 255).astype(np.uint8)
    return lut[img]


class _Frame:
    """Coordinates of one barcode between source units, the source image and the canvas."""

    def __init__(self, src_img: np.ndarray, scale: float, p: Placement, src_turns: int) -> None:
        self.src_h, self.src_w = src_img.shape
        self.scale = scale
        self.p = p
        self.ks = src_turns % 4
        self.kc = (src_turns + p.rotation // 90) % 4

    def src_to_reading(self, x: float, y: float) -> tuple[float, float]:
        """Source units → source image px rotated so the symbol reads left to right."""
        return _rot_pt(x * self.scale, y * self.scale, self.src_w, self.src_h, -self.ks)

    def reading_to_canvas_reading(self, x: float, y: float) -> tuple[float, float]:
        """Rotated source px → canvas dots rotated so the symbol reads left to right."""
        rw, rh = (self.src_h, self.src_w) if self.ks % 2 else (self.src_w, self.src_h)
        sx, sy = _rot_pt(x, y, rw, rh, self.ks)
        cx, cy = self.p.to_canvas(sx / self.scale, sy / self.scale)
        return _rot_pt(cx, cy, self.p.canvas_w, self.p.canvas_h, -self.kc)


def _free_run(r: np.ndarray, rows: slice, start: int, step: int) -> int:
    """White columns from ``start`` going ``step`` (±1) until ink or the edge.

    Looked at in growing chunks outward: ink is usually a few columns away, the edge far (a
    label's whole width of rows was 0.02 ms on a 100×150 page, the first chunk 0.004)."""
    w = r.shape[1]
    if not 0 <= start < w:
        return 0
    seg = r[rows, start::step] if step > 0 else r[rows, start::-1]
    n, at, size = seg.shape[1], 0, 16
    while at < n:
        ink = np.asarray(seg[:, at : at + size].any(axis=0))
        first = int(ink.argmax())
        if ink[first]:
            return at + first
        at, size = at + size, size * 4
    return n


def _quiet_fits(start: int, size: int, lo: int, hi: int, orig_lo: float, orig_hi: float, want: int) -> bool:
    """Whether ``size`` dots at ``start``, within the free run ``[lo, hi)`` of one axis, keep the quiet
    zone on both sides: ``want`` dots, or what the original symbol had if less (half a dot of slack)."""
    need_lo = min(want, max(0.0, orig_lo))
    need_hi = min(want, max(0.0, orig_hi))
    return not (start - lo < need_lo - 0.5 or hi - (start + size) < need_hi - 0.5)


def _place(r: np.ndarray, mods: np.ndarray, box: tuple[float, float, float, float],
           quiet: int, linear: bool, drawn: list | None = None) -> int:
    """Blank ``box`` (x0, x1, y0, y1 continuous, canvas reading frame) and draw ``mods``.

    Returns the dots per module used, or 0 when the symbol does not fit (raster untouched).
    ``drawn`` receives the drawn block (x0, y0, x1, y1) when one is drawn.
    """
    h, w = r.shape
    x0, x1, y0, y1 = box
    n_rows, n_cols = mods.shape
    bx0, bx1 = max(0, math.floor(x0) - 1), min(w, math.ceil(x1) + 1)
    by0, by1 = max(0, math.floor(y0) - (0 if linear else 1)), min(h, math.ceil(y1) + (0 if linear else 1))
    if bx1 - bx0 < 2 or by1 - by0 < 1:
        return 0
    # The free runs start outside the box, so they are the same with the box blanked: ``r`` is
    # read as it is and written only once the symbol fits (no copy of the raster: 0.07 → 0.02 ms
    # on a 58×40 sticker, and no turned copy of the raster for a turned symbol).
    rows = slice(by0, by1)
    left = bx0 - _free_run(r, rows, bx0 - 1, -1)  # first free column on the left
    right = bx1 + _free_run(r, rows, bx1, 1)  # one past the last free column on the right
    if not linear:
        cols = slice(bx0, bx1)
        top = by0 - _free_run(r.T, cols, by0 - 1, -1)
        bottom = by1 + _free_run(r.T, cols, by1, 1)
    orig_ql, orig_qr = x0 - left, right - x1
    cx = (x0 + x1) / 2
    span = x1 - x0
    if linear:
        kmax = max(1, math.ceil(span / n_cols - 0.05))
    else:
        kmax = max(1, math.ceil(min(span / n_cols, (y1 - y0) / n_rows) - 0.05))
        cy = (y0 + y1) / 2
        orig_qt, orig_qb = y0 - top, bottom - y1
    for k in range(kmax, 0, -1):
        ww = n_cols * k
        sx = int(round(cx - ww / 2))
        if not _quiet_fits(sx, ww, left, right, orig_ql, orig_qr, quiet * k):
            continue
        if linear:
            ty, hh = int(round(y0)), max(1, int(round(y1)) - int(round(y0)))
        else:
            hh = n_rows * k
            ty = int(round(cy - hh / 2))
            if not _quiet_fits(ty, hh, top, bottom, orig_qt, orig_qb, quiet * k):
                continue
        if sx < 0 or ty < 0 or sx + ww > w or ty + hh > h:
            continue
        # one module row, k dots a module, on every row (linear); each module k×k dots (2-D)
        block = np.repeat(mods[0] if linear else np.repeat(mods, k, axis=0), k, axis=-1)
        r[by0:by1, bx0:bx1] = False
        r[ty : ty + hh, sx : sx + ww] = block
        if drawn is not None:
            drawn[:] = [sx, ty, sx + ww, ty + hh]
        return k
    return 0


def _redraw_one(page: Page, raster: np.ndarray, b, src_img: np.ndarray, scale: float,
                box_out: list | None = None) -> int:
    """Redraw one barcode in place; returns dots per module, 0 when left as rendered.

    ``box_out`` receives the drawn symbol's box on the canvas (x0, y0, x1, y1)."""
    fmt = b.format
    linear = fmt in LINEAR
    if not linear and fmt not in MATRIX:
        return 0
    turns = int(round(b.orientation / 90.0))
    if abs(b.orientation - 90 * turns) > 3:
        return 0  # skewed symbol: only quarter turns can be redrawn exactly
    fr = _Frame(src_img, scale, page.placement, turns)
    corners_r = [fr.src_to_reading(x, y) for x, y in b.corners]
    src_r = _rot_img(src_img, -fr.ks)  # a view: only the symbol's strips get thresholded
    if linear:
        found = _linear_box(_levelled(src_r, corners_r), corners_r)
        if found is None:
            return 0
        (x0, x1, y0, y1), prof = found
        mods = _quantize(prof)
        if (mods is None or not _plausible(fmt, mods.size)
                or not _decodes_to(mods[None, :], fmt, b.content, True)):
            mods = _encode(fmt, b.content, b.text, None)
            if mods is None or not _decodes_to(mods, fmt, b.content, True):
                return 0
        mods = mods.reshape(1, -1)
        pts = [fr.reading_to_canvas_reading(x0, y0), fr.reading_to_canvas_reading(x1 + 1, y1 + 1)]
    else:
        for mods in _matrix_encodings(b):
            if _decodes_to(mods, fmt, b.content, False, b.symbology):
                break
        else:
            return 0
        xs = [c[0] for c in corners_r]
        ys = [c[1] for c in corners_r]
        pts = [fr.reading_to_canvas_reading(min(xs), min(ys)),
               fr.reading_to_canvas_reading(max(xs) + 1, max(ys) + 1)]
    cx0, cx1 = sorted((pts[0][0], pts[1][0]))
    cy0, cy1 = sorted((pts[0][1], pts[1][1]))
    rr = _rot_img(raster, -fr.kc)  # a view: _place draws through it (no copy either way)
    drawn: list = []
    k = _place(rr, mods, (cx0, cx1, cy0, cy1), QUIET.get(fmt, 4), linear, drawn)
    if k:
        if box_out is not None:
            rh, rw = rr.shape
            a = _rot_pt(drawn[0], drawn[1], rw, rh, fr.kc)
            c = _rot_pt(drawn[2], drawn[3], rw, rh, fr.kc)
            box_out[:] = [min(a[0], c[0]), min(a[1], c[1]), max(a[0], c[0]), max(a[1], c[1])]
    return k


def redraw(page: Page, raster: np.ndarray, found: list, spec: PrinterSpec,
           src_img: np.ndarray | None = None, scale: float | None = None, *,
           boxes: dict | None = None) -> tuple[np.ndarray, dict[int, int]]:
    """Redraw every barcode of ``found`` on ``raster`` (a copy); {index: dots per module}.

    ``boxes`` receives {index: drawn box on the canvas (x0, y0, x1, y1)} for the verification."""
    if src_img is None or scale is None:
        from .barcodes import detect

        _, src_img, scale = detect(page)
    out = raster.copy()
    done: dict[int, int] = {}
    for i, b in enumerate(found):
        drawn: list = []
        try:
            k = _redraw_one(page, out, b, src_img, scale, drawn)
        except Exception as exc:  # a redraw must never cost the label: keep the plain render
            log.warning("barcode redraw skipped for %s: %s", b.format, exc)
            k = 0
        if k:
            done[i] = k
            if boxes is not None and drawn:
                boxes[i] = tuple(drawn)
    return out, done
