"""Barcodes: find them on the source, verify them on the printer raster.

Redraw on whole printer dots lives in :mod:`printstation.render.redraw`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..errors import BarcodeVerifyError
from ..spec import PrinterSpec
from .raster import Page
from .layouts import LAYOUTS_KEPT, _LAYOUTS, _layout_hit, _layout_keep  # noqa: F401 (tests reach them here)
from .regions import _bar_area, ink_regions  # noqa: F401 (tests reach them here)
from .second_look import copies, finer_look, light_ink, whole_label_reads

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
    #: 2-D symbols: error-correction level and size as zxing reads them (QR "H", "2"; DataMatrix "8x32")
    ec_level: str = ""
    version: str = ""


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
    fmts = _FORMATS.get(formats)
    if fmts is None:
        fmts = _FORMATS[formats] = tuple(getattr(zx.BarcodeFormat, f) for f in formats)
    if binary:
        return list(zx.read_barcodes(pad, formats=fmts, try_rotate=rotate, try_downscale=False,
                                     try_invert=False, text_mode=zx.TextMode.HRI, is_pure=pure,
                                     binarizer=zx.Binarizer.FixedThreshold))
    big = pad.size > 1_500_000 if downscale is None else downscale
    return list(zx.read_barcodes(pad, formats=fmts, try_rotate=rotate, try_downscale=big,
                                 try_invert=False, text_mode=zx.TextMode.HRI, is_pure=pure))


#: zxing-cpp format values by tuple of names (the few tuples in use: looked up once).
_FORMATS: dict[tuple[str, ...], tuple] = {}


def padded(gray: np.ndarray, n: int) -> np.ndarray:
    """``gray`` (any view: strided rows, a transpose, a crop) in a white margin of ``n`` px, as one
    new contiguous array (a third of ``np.pad``'s time on a sticker, and no copy before it). A bool
    ``gray`` is a 1-bit raster (True = ink): written as 0 and 255 in the same one copy (0.095 →
    0.004 ms for ``np.where(raster, 0, 255).astype(np.uint8)`` of a 58×40 mm label)."""
    h, w = gray.shape
    out = np.full((h + 2 * n, w + 2 * n), 255, np.uint8)
    inner = out[n : n + h, n : n + w]
    if gray.dtype == np.bool_:
        np.subtract(gray.view(np.uint8), np.uint8(1), out=inner)  # 1 - 1 = 0, 0 - 1 wraps to 255
    elif h * w >= 1 << 18 and abs(gray.strides[0]) < abs(gray.strides[1]):
        # A big transpose, copied in bands of 128 source rows that stay in cache: 0.28 → 0.2 ms
        # for the column pass of a 100×150 mm page at 12 px/mm.
        for i in range(0, w, 128):
            inner[:, i : i + 128] = gray[:, i : i + 128]
    else:
        inner[...] = gray
    return out


#: zxing-cpp format names by kind. A linear symbol needs resolution across its bars only.
LINEAR_FORMATS = ("Code128", "Code39", "Code93", "EAN13", "EAN8", "UPCA", "UPCE", "ITF", "Codabar")
MATRIX_FORMATS = tuple(f for f in SUPPORTED if f not in LINEAR_FORMATS)
#: Linear symbols are looked for on every SQUEEZE-th row (horizontal bars) and column (vertical).
SQUEEZE = 4
PAD = 16  # the white margin :func:`read` adds


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
    rows = linear_pass(img, scale, False)
    cols = linear_pass(img, scale, True)
    rows, cols = light_ink(img, scale, rows, cols)  # orange, teal, light gray bars: a second read
    mimg = blanked(img, rows[1] + cols[1])
    return rows[0] + cols[0] + matrix_pass(img, mimg, scale, bitmap)


#: A linear symbol's corners in the image its pass read (transposed for the column pass).
Stripe = tuple[bool, list[tuple[float, float]]]


def linear_pass(img: np.ndarray, scale: float, transposed: bool) -> tuple[list[Barcode], list[Stripe]]:
    """Linear symbols on every :data:`SQUEEZE`-th row (``transposed``: column) of ``img``, and
    their stripes for :func:`blanked`."""
    k = SQUEEZE if min(img.shape) >= 16 * SQUEEZE else 1
    view = img[:, ::k].T if transposed else img[::k]
    out: list[Barcode] = []
    stripes: list[Stripe] = []
    for r, pts in copies(view, read(view, formats=LINEAR_FORMATS, rotate=False, downscale=False)):
        stripes.append((transposed, [(x, y * k) for x, y in pts]))
        # (in the transposed image's own coordinates: its rows are the source's columns)
        src = [(y * k / scale, x / scale) if transposed else (x / scale, y * k / scale) for x, y in pts]
        # A transposed image mirrors the reading direction: 0° there is 90° here.
        out.append(_barcode(r, src, (90 - int(r.orientation)) % 360 if transposed else int(r.orientation)))
    return out, stripes


def _corners(r) -> list[tuple[float, float]]:
    p = r.position
    return [(pt.x - PAD, pt.y - PAD) for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)]


def _barcode(r, corners: list[tuple[float, float]], orientation: int) -> Barcode:
    fmt = r.format.name if hasattr(r.format, "name") else str(r.format)
    two_d = fmt not in LINEAR_FORMATS
    return Barcode(fmt, bytes(r.bytes), r.text, tuple(corners), orientation, r.symbology_identifier,
                   str(r.ec_level or "") if two_d else "", str(r.extra.get("Version", "")) if two_d else "")


def blanked(img: np.ndarray, stripes: list[Stripe]) -> np.ndarray:
    """``img`` with the bar areas of the stripes whitened, in order (``img`` itself if none)."""
    mimg = img
    for transposed, pts in stripes:
        area = _bar_area(mimg.T if transposed else mimg, pts)
        if area is not None:
            if mimg is img:
                mimg = img.copy()
            view = mimg.T if transposed else mimg
            x0, x1, y0, y1 = area
            view[y0 : y1 + 1, x0 : x1 + 1] = 255
    return mimg


def matrix_pass(img: np.ndarray, mimg: np.ndarray, scale: float, bitmap: bool) -> list[Barcode]:
    """2-D symbols of ``mimg`` (``img`` with the linear symbols' bars blanked), on its ink
    regions, unless the last few layouts hold this very input (see :data:`_LAYOUTS`)."""
    big = bitmap and (img.shape[0] + 2 * PAD) * (img.shape[1] + 2 * PAD) > 1_500_000
    layout = (mimg.shape, scale, big)
    same = _layout_hit(layout, mimg)
    if same is not None:
        return same
    out: list[Barcode] = []
    for y0, y1, x0, x1 in ink_regions(mimg):
        for r in read(mimg[y0:y1, x0:x1], formats=MATRIX_FORMATS, rotate=True, downscale=big):
            if r.valid:
                out.append(_barcode(r, [((x + x0) / scale, (y + y0) / scale) for x, y in _corners(r)],
                                    int(r.orientation)))
    _layout_keep(layout, mimg if mimg is not img else img.copy(), out)
    return out


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
#: Detections remembered (a reprint for another printer, the upright turn then the redraw) …
DETECTIONS_KEPT = 64
#: … and the most bytes their images may hold together (a renderer child stays small).
DETECTION_BYTES = 48 * 1024 * 1024
_DETECT_LOCK = threading.Lock()


def detect(page: Page, key: str | None = None) -> tuple[list[Barcode], np.ndarray, float]:
    """Barcodes on the page's source (cached by content key): (barcodes, source image, scale)."""
    scale = detect_scale(page)
    hit = cached_detection(key, scale)
    if hit is not None:
        return hit
    # Every symbol is looked for on the detection image, 2-D symbols too, never on the print render
    # (at 203 dpi it loses DataMatrix/Aztec modules under 0.25 mm; at 300 dpi, 11.8 px/mm instead of
    # 12 loses 0.18 mm Aztec modules): a symbol not found is neither redrawn nor verified.
    img = page.source.render(scale)
    found = scan(img, scale, bitmap=page.source.native_scale is not None)
    return keep_detection(key, scale, *finer_look(page, scale, found, img))  # (fine symbols: a second read)


def cached_detection(key: str | None, scale: float) -> tuple[list[Barcode], np.ndarray, float] | None:
    if key is None:
        return None
    # The scale is part of the key: a small media may draw a big page too coarsely to find
    # what a larger one finds.
    with _DETECT_LOCK:
        hit = _DETECTED.get(f"{key}@{scale:.4f}")
    return (hit[0], hit[1], hit[2]) if hit is not None and hit[1] is not None else None


def keep_detection(key: str | None, scale: float, found: list[Barcode], img: np.ndarray,
                   img_scale: float | None = None) -> tuple[list[Barcode], np.ndarray, float]:
    """Remember a page's detection under ``scale`` (``img`` drawn at ``img_scale``, default ``scale``): the
    last :data:`DETECTIONS_KEPT`, images together at most :data:`DETECTION_BYTES` (100×150 mm: ~2.2 MB)."""
    scale_key, scale = scale, img_scale or scale
    if key is not None:
        with _DETECT_LOCK:
            _DETECTED[f"{key}@{scale_key:.4f}"] = (found, img, scale)
            size = sum(v[1].nbytes for v in _DETECTED.values() if v[1] is not None)
            while len(_DETECTED) > DETECTIONS_KEPT or (size > DETECTION_BYTES and len(_DETECTED) > 1):
                gone = _DETECTED.popitem(last=False)[1][1]
                size -= gone.nbytes if gone is not None else 0
    return found, img, scale


def forget_detection(key: str) -> None:
    """Drop every remembered detection of the page ``key`` (``{digest}:{page}``), at any scale."""
    prefix = f"{key}@"
    with _DETECT_LOCK:
        for k in [k for k in _DETECTED if k.startswith(prefix)]:
            del _DETECTED[k]


def decoded_set(raster: np.ndarray, formats: tuple[str, ...] = SUPPORTED) -> list[tuple[str, bytes]]:
    """(format, content) of every barcode that decodes from a 1-bit raster."""
    return [(r.format.name, bytes(r.bytes)) for r in read(_one_bit(raster), formats=formats, binary=True)
            if r.valid]


def _one_bit(raster: np.ndarray) -> np.ndarray:
    """A 1-bit raster as :func:`read` takes it: a bool one as it is (read's one padded copy writes
    ink as 0 and paper as 255), any other as 0/255 gray."""
    return raster if raster.dtype == np.bool_ else np.where(raster, 0, 255).astype(np.uint8)


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

    if drawn and module_dots < 2 and b.format not in LINEAR_FORMATS:
        return False  # a 2-D symbol one dot a module may read on its tight crop only: the label decides
    h, w = raster.shape
    m = QUIET.get(b.format, 4) * max(module_dots, 1.0) + CROP_SLACK_DOTS
    x0, y0 = max(0, int(box[0] - m)), max(0, int(box[1] - m))
    x1, y1 = min(w, math.ceil(box[2] + m)), min(h, math.ceil(box[3] + m))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return False
    gray = _one_bit(raster[y0:y1, x0:x1])
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
        # Whole-label reads (only the formats in question) before anything is refused.
        got = whole_label_reads(raster, tuple(sorted({found[i].format for i in unproven})))
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
