"""A second look for symbols zxing misses at first: light ink, copies of one symbol stacked, thin
modules. Each runs only when the first look leaves room for it, so an ordinary label pays nothing.

- :func:`light_ink`: a Code128 in orange (gray 151), teal or light gray is read again with its ink
  darkened when no linear symbol was found (zxing misses some at their own contrast);
- :func:`copies`: the same linear symbol printed twice, one above the other, comes back from zxing
  as one result spanning both: it is cut into its copies;
- :func:`finer_look`: a vector page on which nothing was found is read again at twice the scale
  (Code128 modules under ~0.16 mm are under 2 px at 12 px/mm; small 2-D modules of a big page
  shrunk onto small media).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .barcodes import Barcode
    from .raster import Page

#: Gray levels of light ink: a bar in orange (151), teal (131) or light gray (176) on white paper.
LIGHT_INK = (128, 230)
#: The gamma-2 curve (gray 151 → 89, 176 → 121): light ink comes out dark, white stays white.
_DARKEN = (255 * (np.arange(256) / 255.0) ** 2).astype(np.uint8)


def light_ink(img: np.ndarray, scale: float, rows: tuple, cols: tuple) -> tuple[tuple, tuple]:
    """The row and column linear passes (:func:`~.barcodes.linear_pass`) of ``img``, read again
    with light ink darkened when they found nothing and most of the image's ink is light (zxing
    misses some low-contrast symbols that it reads once darkened). Black ink has only its
    antialiased edges light: its labels never pay for the second read."""
    if rows[0] or cols[0]:
        return rows, cols
    counts = np.bincount(img.ravel(), minlength=256)
    ink = int(counts[: LIGHT_INK[1]].sum())
    light = int(counts[LIGHT_INK[0] : LIGHT_INK[1]].sum())
    if not ink or light * 2 <= ink:
        return rows, cols
    from .barcodes import linear_pass

    dark = _DARKEN[img]
    return (linear_pass(dark, scale, False)[0], []), (linear_pass(dark, scale, True)[0], [])


def copies(view: np.ndarray, results: list) -> list:
    """Each valid zxing result of a linear pass on ``view`` with its corners — a result that is
    copies of one symbol printed one above the other (zxing reports them as one symbol whose box
    spans both and the gap between) as each copy with its own corners: the box's rows are cut at
    rows without ink, and every part that reads as the same symbol on its own is one copy."""
    out = []
    for r in results:
        if r.valid:
            out += _copies(view, r)
    return out


def _copies(view: np.ndarray, r) -> list:  # noqa: ANN001 - a zxing-cpp Barcode
    from .barcodes import _corners, read
    from .regions import _runs

    pts = _corners(r)
    h, w = view.shape
    xl, xh = max(0, int(min(p[0] for p in pts))), min(w, math.ceil(max(p[0] for p in pts)) + 1)
    yl, yh = max(0, int(min(p[1] for p in pts))), min(h, math.ceil(max(p[1] for p in pts)) + 1)
    if yh - yl < 3 or xh - xl < 10:
        return [(r, pts)]
    parts = _runs(np.asarray((view[yl:yh, xl:xh] < 128).any(axis=1)))
    if len(parts) <= 1:  # one run of inked rows: one symbol (every label but a repeated code)
        return [(r, pts)]
    found = []
    for a, b in parts:
        for c in read(view[yl + a : yl + b], formats=(r.format.name,), rotate=False, downscale=False):
            if c.valid and bytes(c.bytes) == bytes(r.bytes):
                found.append((c, [(x, y + yl + a) for x, y in _corners(c)]))
    return found if len(found) >= 2 else [(r, pts)]


#: A vector page with no symbol found is read again at this many times the scale.
FINER = 2.0


def finer_look(page: Page, scale: float, found: list[Barcode], img: np.ndarray
               ) -> tuple[list[Barcode], np.ndarray, float | None]:
    """``found`` on ``img`` — or, on a vector page where nothing was found, the symbols found at
    :data:`FINER` × the scale, on that image, and its scale: symbols too fine for the detection
    scale (Code128 modules under ~0.16 mm are under 2 px at 12 px/mm; a big page shrunk onto
    small media is read at 200 dpi of its own size, where a 0.19 mm QR module is 1.5 px) would
    print neither redrawn nor verified."""
    from .barcodes import MAX_DETECT_PIXELS, linear_pass, matrix_pass

    src = page.source
    if found or src.native_scale is not None:
        return found, img, None
    fine = scale * FINER
    whole = getattr(src, "src", src)  # a cropped PDF page draws its whole page, then crops
    area = whole.width * whole.height
    if area * fine * fine > MAX_DETECT_PIXELS:
        fine = (MAX_DETECT_PIXELS / area) ** 0.5
        if fine <= scale * 1.25:
            return found, img, None
    fine_img = src.render(fine)
    more = linear_pass(fine_img, fine, False)[0] + linear_pass(fine_img, fine, True)[0]
    # A page shrunk onto smaller media is read at under 12 px per mm of its own size (its
    # min_detect_scale is 200 dpi of it): small 2-D modules are looked for again too.
    if scale < getattr(src, "min_detect_scale", 0.0) * 12 * 25.4 / 200:
        more += matrix_pass(fine_img, fine_img, fine, False)
    return (more, fine_img, fine) if more else (found, img, None)


def whole_label_reads(raster: np.ndarray, formats: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """(format, content) of every barcode that decodes from a 1-bit raster, read as it is
    (:func:`~.barcodes.decoded_set`) and with zxing's downscaled passes — as a scanner sees a print,
    coarser than its dots: a DataMatrix turned 45° on a 300-dpi raster reads only so — each symbol
    as often as the read that found it most often. The last look before a label is refused."""
    from collections import Counter

    from . import barcodes

    sharp = barcodes.decoded_set(raster, formats)
    coarse = [(r.format.name, bytes(r.bytes)) for r in
              barcodes.read(barcodes._one_bit(raster), formats=formats, downscale=True) if r.valid]
    most = Counter(sharp)
    for key, n in Counter(coarse).items():
        most[key] = max(most[key], n)
    return list(most.elements())
