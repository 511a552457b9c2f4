"""Barcodes: find them on the source, verify them on the printer raster.

Redraw on whole printer dots lives in :mod:`printstation.render.redraw`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..errors import BarcodeVerifyError
from ..spec import PrinterSpec
from .raster import Page

log = logging.getLogger(__name__)

#: Vector sources are drawn for detection at up to this many times the printer's resolution …
DETECT_OVERSAMPLE = 2.0
#: … but no finer than this many px per printed mm (0.2 mm modules are then 2.4 px: enough to
#: read the module pattern exactly, and 3× cheaper to draw and decode than 2× at 300 dpi).
DETECT_PX_PER_MM = 12.0
MAX_DETECT_PIXELS = 12_000_000


@dataclass(frozen=True)
class Barcode:
    """A barcode found on a source: ``corners`` in source units (TL, TR, BR, BL)."""

    format: str
    content: bytes
    text: str
    corners: tuple[tuple[float, float], ...]
    orientation: int
    symbology: str


@dataclass(frozen=True)
class BarcodeResult:
    """What happened to one barcode of a label."""

    barcode: Barcode
    redrawn: bool
    verified: bool
    module_dots: int = 0


def _zx():
    import zxingcpp

    return zxingcpp


#: The symbologies we look for, redraw and verify (zxing-cpp format names).
SUPPORTED = ("Code128", "Code39", "Code93", "EAN13", "EAN8", "UPCA", "UPCE", "ITF", "Codabar",
             "QRCode", "MicroQRCode", "DataMatrix", "PDF417", "Aztec")


def read(gray: np.ndarray, *, pure: bool = False, formats: tuple[str, ...] = SUPPORTED,
         binary: bool = False, rotate: bool = True, downscale: bool | None = None) -> list:
    """Decode every barcode in a grayscale image (a white margin is added for quiet zones).

    Restricting ``formats`` makes zxing-cpp 3× faster than "all formats" on a sticker; a
    ``binary`` image (our 1-bit rasters) skips the local-average binarizer and downscaling.
    ``downscale`` (default: only for images over 1.5 Mpx) adds zxing's downscaled passes: they
    help with huge bitmaps, not at the detection scale we draw vectors at.
    """
    zx = _zx()
    pad = padded(gray, PAD)
    if max(pad.shape) > 65535:  # past zxing-cpp's limit (a 1×65535 image): nothing it can read
        return []
    fmts = tuple(getattr(zx.BarcodeFormat, f) for f in formats)
    if binary:
        return list(zx.read_barcodes(pad, formats=fmts, try_rotate=rotate, try_downscale=False,
                                     try_invert=False, text_mode=zx.TextMode.HRI, is_pure=pure,
                                     binarizer=zx.Binarizer.FixedThreshold))
    big = pad.size > 1_500_000 if downscale is None else downscale
    return list(zx.read_barcodes(pad, formats=fmts, try_rotate=rotate, try_downscale=big,
                                 try_invert=False, text_mode=zx.TextMode.HRI, is_pure=pure))


def padded(gray: np.ndarray, n: int) -> np.ndarray:
    """``gray`` (any view: strided rows, a transpose, a crop) in a white margin of ``n`` px, as one
    new contiguous array (a third of ``np.pad``'s time on a sticker, and no copy before it)."""
    h, w = gray.shape
    out = np.full((h + 2 * n, w + 2 * n), 255, np.uint8)
    out[n : n + h, n : n + w] = gray
    return out


#: zxing-cpp format names by kind. A linear symbol needs resolution across its bars only.
LINEAR_FORMATS = ("Code128", "Code39", "Code93", "EAN13", "EAN8", "UPCA", "UPCE", "ITF", "Codabar")
MATRIX_FORMATS = tuple(f for f in SUPPORTED if f not in LINEAR_FORMATS)
#: Linear symbols are looked for on every SQUEEZE-th row (horizontal bars) and column (vertical).
SQUEEZE = 4
PAD = 16  # the white margin :func:`read` adds


#: A row belongs to a linear symbol's bar area (and is blanked before the 2-D pass) when its
#: thresholded pixels between the first and last bar differ from the symbol's middle row in at most
#: this many pixels: vertical stripes, which no 2-D symbol of 2 px modules fits in.
STRIPE_TOLERANCE = 2


def _bar_area(img: np.ndarray, corners: list[tuple[float, float]]) -> tuple[int, int, int, int] | None:
    """The rows (y0..y1) and columns (x0..x1), inclusive, of a horizontal linear symbol's bars in
    ``img`` that repeat its middle row's pattern to :data:`STRIPE_TOLERANCE` pixels, when they
    form a block of at least 9 rows with white all around it (else ``None``)."""
    h, w = img.shape
    xs = [c[0] for c in corners]
    ys = [c[1] for c in corners]
    xl, xh = max(0, int(min(xs))), min(w - 1, int(np.ceil(max(xs))))
    yl, yh = max(0, int(min(ys))), min(h - 1, int(np.ceil(max(ys))))
    if xh - xl < 10 or yh < yl:
        return None
    ym = (yl + yh) // 2
    dark = np.flatnonzero(img[ym, xl : xh + 1] < 128)
    if dark.size < 2:
        return None
    x0, x1 = xl + int(dark[0]), xl + int(dark[-1])
    ref = img[ym, x0 : x1 + 1] < 128

    def edge(step: int) -> int:
        """The last row from ``ym`` going ``step`` (±1) that repeats its pattern, looked for in
        growing chunks (only about the symbol's own height is thresholded)."""
        at, n = ym, 32
        while True:
            lo, hi = (at, min(h, at + n)) if step > 0 else (max(0, at - n + 1), at + 1)
            same = ((img[lo:hi, x0 : x1 + 1] < 128) != ref).sum(axis=1) <= STRIPE_TOLERANCE
            off = np.flatnonzero(~same)
            if off.size:
                return lo + int(off[0]) - 1 if step > 0 else lo + int(off[-1]) + 1
            if (hi >= h) if step > 0 else (lo <= 0):
                return h - 1 if step > 0 else 0
            at, n = (hi if step > 0 else lo - 1), 2 * n

    y0, y1 = edge(-1), edge(1)
    # Only a block of bars with white all around is blanked: within 3 rows above and below it a
    # row with no ink across its columns (the rows before that may only be its bars' antialiased
    # ends: ink where the bars are), and 3 white columns on its left and right. Bars that run into
    # anything else (a symbol printed over them, a box) are left alone: a thin band of identical
    # rows can be one module row of a 2-D symbol, and zxing's detectors answer differently when
    # ink next to a symbol goes.
    if y1 - y0 < 8:
        return None
    for step, start in ((-1, y0 - 1), (1, y1 + 1)):
        for y in range(start, start + 3 * step, step):
            if not 0 <= y < h:
                break
            row = img[y, x0 : x1 + 1] < 128
            if not row.any():
                break
            if (row & ~ref).any():
                return None
        else:
            return None
    if (img[y0 : y1 + 1, max(0, x0 - 3) : x0] < 128).any() or (img[y0 : y1 + 1, x1 + 1 : x1 + 4] < 128).any():
        return None
    return x0, x1, y0, y1


def scan(img: np.ndarray, scale: float, *, bitmap: bool = False) -> list[Barcode]:
    """Every supported barcode on a source image drawn at ``scale`` px per source unit.

    Three passes instead of one all-format, all-rotation read (same symbols found on every
    label of the test corpus, 1.7× faster): linear formats on every 4th row — bars run the full
    height of a symbol, so the rows between add nothing and the module widths stay exact — and
    on every 4th column, transposed, for symbols printed vertically; 2-D formats on the full
    image in every rotation, with the bar areas of the linear symbols found blanked (rows that
    repeat a symbol's bar pattern cannot hold a 2-D symbol; zxing's DataMatrix and PDF417
    detectors spend most of their time on bars: the pass is 40 % cheaper on a WB sticker).
    zxing's downscaled passes only for big bitmaps (a vector source is drawn at the scale its
    smallest modules need: 0.2 mm modules are found 100 % from 10 px/mm, we draw at 12).
    """
    k = SQUEEZE if min(img.shape) >= 16 * SQUEEZE else 1
    out: list[Barcode] = []
    stripes: list[tuple[bool, list[tuple[float, float]]]] = []

    def add(results, to_src, transposed: bool, to_img=None) -> None:
        for r in results:
            if not r.valid:
                continue
            p = r.position
            pts = [(pt.x - PAD, pt.y - PAD) for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]
            if to_img is not None:
                stripes.append((transposed, [to_img(x, y) for x, y in pts]))
            o = int(r.orientation)
            out.append(Barcode(
                format=r.format.name if hasattr(r.format, "name") else str(r.format),
                content=bytes(r.bytes), text=r.text, corners=tuple(to_src(x, y) for x, y in pts),
                # A transposed image mirrors the reading direction: 0° there is 90° here.
                orientation=(90 - o) % 360 if transposed else o, symbology=r.symbology_identifier,
            ))

    add(read(img[::k], formats=LINEAR_FORMATS, rotate=False, downscale=False),
        lambda x, y: (x / scale, y * k / scale), False, lambda x, y: (x, y * k))
    # (in the transposed image's own coordinates: its rows are the source's columns)
    add(read(img[:, ::k].T, formats=LINEAR_FORMATS, rotate=False, downscale=False),
        lambda x, y: (y * k / scale, x / scale), True, lambda x, y: (x, y * k))
    mimg = img
    if stripes:
        mimg = img.copy()
        for transposed, pts in stripes:
            view = mimg.T if transposed else mimg
            area = _bar_area(view, pts)
            if area is not None:
                x0, x1, y0, y1 = area
                view[y0 : y1 + 1, x0 : x1 + 1] = 255
    big = bitmap and (img.shape[0] + 2 * PAD) * (img.shape[1] + 2 * PAD) > 1_500_000
    for y0, y1, x0, x1 in ink_regions(mimg):
        add(read(mimg[y0:y1, x0:x1], formats=MATRIX_FORMATS, rotate=True, downscale=big),
            lambda x, y, x0=x0, y0=y0: ((x + x0) / scale, (y + y0) / scale), False)
    return out


#: :func:`ink_regions` works on tiles of this many pixels …
TILE = 16  # (the bit packing below assumes 16)
#: … leaves out straight rules (label frames, separators): runs of at least this many tiles whose
#: ink is at most :data:`RULE_PX` pixels thick …
RULE_TILES = 8
RULE_PX = 6
#: … and reads each region with this margin (px, a whole number of tiles) around its tiles.
REGION_MARGIN = 2 * TILE
#: Regions covering more than this share of the image are read as the whole image (one read).
REGION_SHARE = 0.6


def ink_regions(img: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Crops (y0, y1, x0, x1) of ``img`` that hold every 2-D symbol it holds, for the 2-D pass.

    zxing's 2-D detectors cost about the same per pixel on white paper as on ink (a 100×150 mm
    page at 12 px/mm: ~9 ms, blank or not), so the pass reads only where there is ink: tiles of
    :data:`TILE` px holding any non-white pixel, widened by :data:`REGION_MARGIN`, cut into boxes
    along rows and columns of the tile grid that hold no widened tile (recursively, both ways), so
    a connected group of tiles always stays whole in one box. A 2-D symbol cannot be split
    between two groups: every row and column across a QR code, DataMatrix, Aztec or PDF417 symbol
    meets ink within a few modules (finder, timing, L and reference patterns, start/stop bars), so
    it has no white band 2 × margin + 1 tile wide. Long thin rules (a label's frame) are left out
    of the grouping — they would join every group into the whole page — but not out of the crops
    (each keeps its margin of them); a symbol is never that thin. Falls back to the whole image
    when the crops would cover most of it, or when the image has no pure white (a scan's noise)."""
    h, w = img.shape
    th, tw = -(-h // TILE), -(-w // TILE)
    if th < 4 or tw < 4:
        return [(0, h, 0, w)]
    whole = [(0, h, 0, w)]
    # One bit per pixel, 16 pixels (one tile's width) per word: per tile, the pixel rows with ink
    # and (OR of its rows' words, bits counted) the pixel columns with ink.
    packed = np.packbits(img < 255, axis=1)
    bits = np.zeros((th * TILE, 2 * tw), np.uint8)
    bits[:h, : packed.shape[1]] = packed
    words = bits.view(np.uint16).reshape(th, TILE, tw)
    rows = (words != 0).sum(axis=1)
    colbits = np.bitwise_or.reduce(words, axis=1)
    cols = np.unpackbits(colbits.view(np.uint8), axis=1).reshape(th, tw, TILE).sum(axis=2)
    inked = rows > 0
    if inked.mean() > REGION_SHARE:
        return whole
    rule = np.zeros_like(inked)
    for thin, axis in ((inked & (rows <= RULE_PX), 1), (inked & (cols <= RULE_PX), 0)):
        t = thin if axis == 1 else thin.T
        r = rule if axis == 1 else rule.T
        for i in np.flatnonzero(t.sum(axis=1) >= RULE_TILES):
            edges = np.flatnonzero(np.diff(np.concatenate(([0], t[i].astype(np.int8), [0]))))
            for a, b in zip(edges[::2], edges[1::2]):
                if b - a >= RULE_TILES:
                    r[i, a:b] = True
    keep = inked & ~rule
    # Kept tiles widened by the margin (a square dilation of the tile grid), then cut apart along
    # rows and columns with no widened tile (alternately, until no box splits further): a cut
    # never crosses a connected group, so each group stays whole in one box.
    k = REGION_MARGIN // TILE
    grown = keep.copy()
    for d in range(1, k + 1):
        grown[:, d:] |= keep[:, :-d]
        grown[:, :-d] |= keep[:, d:]
    wide = grown.copy()
    for d in range(1, k + 1):
        grown[d:] |= wide[:-d]
        grown[:-d] |= wide[d:]

    def runs(line: np.ndarray) -> list[tuple[int, int]]:
        e = np.flatnonzero(np.diff(np.concatenate(([0], line.astype(np.int8), [0]))))
        return list(zip(e[::2].tolist(), e[1::2].tolist()))

    todo = [(0, th, 0, tw, 0)]
    done: list[tuple[int, int, int, int]] = []
    while todo:
        y0, y1, x0, x1, axis = todo.pop()
        sub = grown[y0:y1, x0:x1]
        parts = runs(sub.any(axis=1 - axis))
        if axis == 0:
            pieces = [(y0 + a, y0 + b, x0, x1) for a, b in parts]
        else:
            pieces = [(y0, y1, x0 + a, x0 + b) for a, b in parts]
        if len(pieces) == 1 and pieces[0] == (y0, y1, x0, x1) and axis == 1:
            # no cut along either axis (rows were tried just before)
            done.append(pieces[0])
            continue
        for piece in pieces:
            todo.append((*piece, 1 - axis))
    boxes = [[a * TILE, min(h, b * TILE), c * TILE, min(w, d * TILE)] for a, b, c, d in done]
    if sum((b[1] - b[0]) * (b[3] - b[2]) for b in boxes) > REGION_SHARE * h * w:
        return whole
    return [tuple(b) for b in boxes]


def detect_scale(page: Page) -> float:
    """Pixels per source unit at which barcodes are looked for on the source."""
    src = page.source
    if src.native_scale is not None:
        return src.native_scale
    sx = max(page.placement.sx, page.placement.sy)  # printer dots per source unit
    dots_per_mm = page.placement.canvas_w / max(page.placement.canvas_w_mm, 1e-9)
    s = max(sx, min(sx * DETECT_OVERSAMPLE, sx * DETECT_PX_PER_MM / dots_per_mm))
    # A big page shrunk onto small media still has its barcodes found at the page's own size.
    s = max(s, getattr(src, "min_detect_scale", 0.0))
    area = src.width * src.height * s * s
    if area > MAX_DETECT_PIXELS:
        s *= (MAX_DETECT_PIXELS / area) ** 0.5
    return s


_DETECTED: "OrderedDict[str, tuple[list[Barcode], np.ndarray | None, float]]" = OrderedDict()
_DETECT_LOCK = threading.Lock()


def detect(page: Page, key: str | None = None) -> tuple[list[Barcode], np.ndarray, float]:
    """Barcodes on the page's source (cached by content key): (barcodes, source image, scale)."""
    scale = detect_scale(page)
    if key is not None:
        # The scale is part of the key: a small media may draw a big page too coarsely to find
        # what a larger one finds.
        key = f"{key}@{scale:.4f}"
        with _DETECT_LOCK:
            hit = _DETECTED.get(key)
        if hit is not None and hit[1] is not None:
            return hit[0], hit[1], hit[2]
    # Every symbol is looked for on the detection image, 2-D symbols too, never on the print render
    # (at 203 dpi it loses DataMatrix/Aztec modules under 0.25 mm; at 300 dpi, 11.8 px/mm instead of
    # 12 loses 0.18 mm Aztec modules): a symbol not found is neither redrawn nor verified.
    img = page.source.render(scale)
    found = scan(img, scale, bitmap=page.source.native_scale is not None)
    if key is not None:
        with _DETECT_LOCK:
            _DETECTED[key] = (found, img, scale)
            while len(_DETECTED) > 64:
                _DETECTED.popitem(last=False)
    return found, img, scale


def decoded_set(raster: np.ndarray, formats: tuple[str, ...] = SUPPORTED) -> list[tuple[str, bytes]]:
    """(format, content) of every barcode that decodes from a 1-bit raster."""
    gray = np.where(raster, 0, 255).astype(np.uint8)
    return [(r.format.name, bytes(r.bytes)) for r in read(gray, formats=formats, binary=True) if r.valid]


#: Extra white (in modules of the printed symbol) around a symbol's box when it is verified on its
#: own crop: its quiet zone must be part of what is proven (see :data:`redraw.QUIET`), plus slack.
CROP_SLACK_DOTS = 4


def _canvas_box(page: Page, b: Barcode) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, x1, y1; canvas dots) of a source barcode placed on the media."""
    pts = [page.placement.to_canvas(x, y) for x, y in b.corners]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def crop_verifies(raster: np.ndarray, b: Barcode, box: tuple[float, float, float, float],
                  module_dots: float, turns: int | None = None, drawn: bool = False) -> bool:
    """Whether ``b`` decodes from its own crop of the 1-bit raster: its box, widened by the
    symbology's quiet zone (``module_dots`` per module) and a few dots, read as a 1-bit image with
    the known format only. Ink intruding into the quiet zone is in the crop, as a scanner sees it.
    ``turns``: quarter turns of a linear symbol on the raster, when known (read in that direction
    only; a miss falls back to the whole-label read in :func:`finish`). ``drawn``: the symbol was
    redrawn in ``box`` (a linear one is then read on every :data:`SQUEEZE`-th row)."""
    from .redraw import QUIET

    h, w = raster.shape
    m = QUIET.get(b.format, 4) * max(module_dots, 1.0) + CROP_SLACK_DOTS
    x0, y0 = max(0, int(box[0] - m)), max(0, int(box[1] - m))
    x1, y1 = min(w, int(np.ceil(box[2] + m))), min(h, int(np.ceil(box[3] + m)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return False
    gray = np.where(raster[y0:y1, x0:x1], 0, 255).astype(np.uint8)
    rotate = turns is None or b.format not in LINEAR_FORMATS
    if not rotate and turns % 2:  # type: ignore[operator]
        gray = gray.T  # bars across the rows, as in a horizontal symbol
    if not rotate and drawn and gray.shape[0] >= 16 * SQUEEZE:
        # A redrawn linear symbol is one module row repeated, on rows whose quiet zones were
        # checked free of ink (redraw._place): every SQUEEZE-th row reads what every row reads.
        gray = gray[::SQUEEZE]
    return any(r.valid and r.format.name == b.format and bytes(r.bytes) == b.content
               for r in read(gray, formats=(b.format,), binary=True, rotate=rotate))


def _module_estimate(b: Barcode, box: tuple[float, float, float, float]) -> float:
    """Dots per module of a symbol left as rendered (a rough figure for its quiet-zone margin)."""
    side = max(box[2] - box[0], box[3] - box[1])
    return side / (100.0 if b.format in ("Code128", "Code39", "Code93", "ITF", "Codabar") else 30.0)


def finish(page: Page, raster: np.ndarray, spec: PrinterSpec, *, key: str | None = None
           ) -> tuple[np.ndarray, list[BarcodeResult]]:
    """Redraw (``spec.barcodes == "redraw"``) and verify the barcodes of one label.

    Verification reads each symbol on its own crop of the final raster (known format, 1-bit
    binarizer): cheap, and it proves *that* symbol scans. Only when a crop does not read is the
    whole label read once (formats found only), so a symbol is refused exactly when it does not
    decode anywhere on the label — the ``verify="fail"`` contract.
    """
    if spec.barcodes == "keep" and spec.verify == "off":
        return raster, []
    found, img, scale = detect(page, key)
    if not found:
        return raster, []
    redrawn: dict[int, int] = {}
    boxes: dict[int, tuple[float, float, float, float]] = {}
    if spec.barcodes == "redraw":
        from .redraw import redraw

        raster, redrawn = redraw(page, raster, found, spec, img, scale, boxes=boxes)
    results: list[BarcodeResult] = []
    if spec.verify == "off":
        return raster, [BarcodeResult(b, i in redrawn, False, redrawn.get(i, 0)) for i, b in enumerate(found)]
    unproven: list[int] = []
    for i, b in enumerate(found):
        turns = int(round(b.orientation / 90.0)) + page.placement.rotation // 90
        if i in boxes:
            ok = crop_verifies(raster, b, boxes[i], redrawn[i], turns, drawn=True)
        else:
            box = _canvas_box(page, b)
            ok = crop_verifies(raster, b, box, _module_estimate(b, box), turns)
        if not ok:
            unproven.append(i)
    if unproven:
        # One whole-label read (only the formats in question) before anything is refused.
        got = decoded_set(raster, tuple(sorted({found[i].format for i in unproven})))
        for i, b in enumerate(found):
            if i not in unproven and (b.format, b.content) in got:
                got.remove((b.format, b.content))  # a crop-proven symbol accounts for its own read
        still = []
        for i in unproven:
            b = found[i]
            if (b.format, b.content) in got:
                got.remove((b.format, b.content))
            else:
                still.append(i)
        unproven = still
    missing = []
    for i, b in enumerate(found):
        ok = i not in unproven
        if not ok:
            missing.append(b)
        results.append(BarcodeResult(b, i in redrawn, ok, redrawn.get(i, 0)))
    if missing:
        what = ", ".join(f"{b.format} {b.text[:40]!r}" for b in missing)
        msg = f"barcode would not scan at {spec.dpi} dpi: {what}"
        if spec.verify == "fail":
            raise BarcodeVerifyError(msg)
        log.warning("%s (printing anyway: verify=warn)", msg)
    return raster, results
