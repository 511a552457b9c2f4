"""Where to look: the bar area of a found linear symbol, and the ink regions of a detection image.

Both narrow the 2-D pass of :func:`printstation.render.barcodes.scan` without finding less.
"""

from __future__ import annotations

import math

import numpy as np


#: A row belongs to a linear symbol's bar area (and is blanked before the 2-D pass) when its
#: thresholded pixels between the first and last bar differ from the symbol's middle row in at most
#: this many pixels: vertical stripes, which no 2-D symbol of 2 px modules fits in.
STRIPE_TOLERANCE = 2


def corner_span(img: np.ndarray, corners: list[tuple[float, float]]) -> tuple[int, int, int, int, int] | None:
    """Columns xl..xh and rows yl..yh (inclusive, inside ``img``) spanned by a linear symbol's
    corners, and its middle row; None when it is under 10 px wide."""
    h, w = img.shape
    xs = [c[0] for c in corners]
    ys = [c[1] for c in corners]
    xl, xh = max(0, int(min(xs))), min(w - 1, math.ceil(max(xs)))
    yl, yh = max(0, int(min(ys))), min(h - 1, math.ceil(max(ys)))
    return None if xh - xl < 10 or yh < yl else (xl, xh, yl, yh, (yl + yh) // 2)


def count_true(a: np.ndarray, axis: int) -> np.ndarray:
    """True cells of a bool array along ``axis``, summed in the narrowest integer that holds the
    count (uint16: 3× faster than numpy's default ``sum``; uint8, no cast: 2× faster again)."""
    n = a.shape[axis]
    if n < 256:
        return np.add.reduce(a.view(np.uint8), axis=axis, dtype=np.uint8)
    return np.add.reduce(a, axis=axis, dtype=np.uint16 if n < 65536 else np.uint32)


def _bar_area(img: np.ndarray, corners: list[tuple[float, float]]) -> tuple[int, int, int, int] | None:
    """The rows (y0..y1) and columns (x0..x1), inclusive, of a horizontal linear symbol's bars in
    ``img`` that repeat its middle row's pattern to :data:`STRIPE_TOLERANCE` pixels, when they
    form a block of at least 9 rows with white all around it (else ``None``)."""
    span = corner_span(img, corners)
    if span is None:
        return None
    xl, xh, yl, yh, ym = span
    h, w = img.shape
    dark = (img[ym, xl : xh + 1] < 128).nonzero()[0]
    if dark.size < 2:
        return None
    x0, x1 = xl + int(dark[0]), xl + int(dark[-1])
    # One threshold of the block around the corners' rows (and 3 columns either side), grown
    # only when the bars or the rows checked around them run past it: 0.082 → 0.041 ms on a WB
    # PNG sticker, 0.18 → 0.07 ms on a 100×150 mm PDF page (the chunked search thresholded each
    # chunk and summed bools row by row).
    ca, cb = max(0, x0 - 3), min(w, x1 + 4)
    lo, hi = max(0, yl - 16), min(h, yh + 17)
    while True:
        ink = img[lo:hi, ca:cb] < 128
        bars = ink[:, x0 - ca : x1 + 1 - ca]
        ref = bars[ym - lo]
        off = (count_true(bars != ref, 1) > STRIPE_TOLERANCE).nonzero()[0]
        i = int(off.searchsorted(ym - lo))
        y0 = lo + int(off[i - 1]) + 1 if i else (0 if lo == 0 else -1)
        y1 = lo + int(off[i]) - 1 if i < off.size else (h - 1 if hi == h else -1)
        if y0 >= 0 and y1 >= 0 and y1 - y0 < 8:
            return None
        if y0 >= 0 and y1 >= 0 and (lo == 0 or y0 - 3 >= lo) and (hi == h or y1 + 3 < hi):
            break
        lo, hi = max(0, 2 * lo - hi), min(h, 2 * hi - lo)
    # Only a block of bars with white all around is blanked: within 3 rows above and below it a
    # row with no ink across its columns (the rows before that may only be its bars' antialiased
    # ends: ink where the bars are), and 3 white columns on its left and right. Bars that run into
    # anything else (a symbol printed over them, a box) are left alone: a thin band of identical
    # rows can be one module row of a 2-D symbol, and zxing's detectors answer differently when
    # ink next to a symbol goes.
    for step, start in ((-1, y0 - 1), (1, y1 + 1)):
        for y in range(start, start + 3 * step, step):
            if not 0 <= y < h:
                break
            row = bars[y - lo]
            if not row.any():
                break
            if (row & ~ref).any():
                return None
        else:
            return None
    if ink[y0 - lo : y1 + 1 - lo, : x0 - ca].any() or ink[y0 - lo : y1 + 1 - lo, x1 + 1 - ca :].any():
        return None
    return x0, x1, y0, y1


#: :func:`ink_regions` works on tiles of this many pixels …
TILE = 16  # (the 64-bit words of _tile_ink assume 16)
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
    whole = [(0, h, 0, w)]
    if -(-h // TILE) < 4 or -(-w // TILE) < 4:
        return whole
    rows, cols = _tile_ink(img)
    inked = rows > 0
    if np.count_nonzero(inked) / inked.size > REGION_SHARE:  # (inked.mean(), without its overhead)
        return whole
    grown = _widen(inked & ~_rules(inked, rows, cols), REGION_MARGIN // TILE)
    boxes = [(a * TILE, min(h, b * TILE), c * TILE, min(w, d * TILE)) for a, b, c, d in _cut(grown)]
    if sum((b[1] - b[0]) * (b[3] - b[2]) for b in boxes) > REGION_SHARE * h * w:
        return whole
    return boxes


def _tile_ink(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per :data:`TILE` × TILE tile: how many of its pixel rows and of its pixel columns hold ink.

    Read in place when the rows are whole tiles wide (a padded copy of the last tile row only),
    else from a copy padded white to whole tiles: 0.067 → 0.045 ms on a WB PNG sticker, 0.59 →
    0.33 ms on a 100×150 mm page at 12 px/mm (a bit packing, a 2-D bool sum and an unpacking)."""
    h, w = img.shape
    if img.dtype != np.uint8:
        img = np.where(img < 255, 0, 255).astype(np.uint8)
    whole = h // TILE * TILE
    if img.flags.c_contiguous and w % TILE == 0:
        parts = [img[:whole]] if whole else []
        if whole < h:
            tail = np.full((TILE, w), 255, np.uint8)
            tail[: h - whole] = img[whole:]
            parts.append(tail)
    else:
        full = np.empty((-(-h // TILE) * TILE, -(-w // TILE) * TILE), np.uint8)
        full[:h, :w] = img
        full[h:] = 255
        full[:h, w:] = 255
        parts = [full]
    if len(parts) == 1:
        return _tile_counts(parts[0])
    counts = [_tile_counts(p) for p in parts]
    return np.concatenate([c[0] for c in counts]), np.concatenate([c[1] for c in counts])


_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_BYTE_SUM = np.uint64(0x0101_0101_0101_0101)  # x * this >> 56: the sum of x's bytes (under 256)


def _tile_counts(full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_tile_ink` of a C-contiguous uint8 image whose sides are whole tiles. Eight pixels
    per 64-bit word, two words per tile row: a pixel row of a tile holds ink when either word is
    not all ones, a pixel column when its byte of the AND of the tile's 16 rows' words is not 255
    (the 16 bytes of 0/1 of a tile summed by one multiply)."""
    th, tw = full.shape[0] // TILE, full.shape[1] // TILE
    words = full.view(np.uint64)
    rows = ((words != _ONES).view(np.uint16) != 0).reshape(th, TILE, tw).sum(axis=1)
    colbytes = np.bitwise_and.reduce(words.reshape(th, TILE, 2 * tw), axis=1).view(np.uint8) != 255
    pairs = colbytes.view(np.uint64)
    cols = ((pairs[:, 0::2] + pairs[:, 1::2]) * _BYTE_SUM) >> np.uint64(56)
    return rows, cols


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-D array (5.4 → 2.0 µs for a row of 37 tiles
    without np.diff and np.concatenate)."""
    p = np.zeros(line.size + 2, bool)
    p[1:-1] = line
    e = (p[1:] != p[:-1]).nonzero()[0].tolist()
    return list(zip(e[::2], e[1::2]))


def _rules(inked: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Tiles of long thin rules: runs of at least :data:`RULE_TILES` tiles along a row (column) of
    the grid whose ink is at most :data:`RULE_PX` pixel rows (columns) thick."""
    rule = np.zeros_like(inked)
    for thin, axis in ((inked & (rows <= RULE_PX), 1), (inked & (cols <= RULE_PX), 0)):
        t = thin if axis == 1 else thin.T
        r = rule if axis == 1 else rule.T
        for i in (t.sum(axis=1) >= RULE_TILES).nonzero()[0]:
            for a, b in _runs(t[i]):
                if b - a >= RULE_TILES:
                    r[i, a:b] = True
    return rule


def _widen(keep: np.ndarray, k: int) -> np.ndarray:
    """``keep`` dilated by ``k`` tiles each way (a square dilation of the tile grid)."""
    grown = keep.copy()
    for d in range(1, k + 1):
        grown[:, d:] |= keep[:, :-d]
        grown[:, :-d] |= keep[:, d:]
    wide = grown.copy()
    for d in range(1, k + 1):
        grown[d:] |= wide[:-d]
        grown[:-d] |= wide[d:]
    return grown


def _cut(grown: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (tile rows a..b, columns c..d) of ``grown`` cut apart along rows and columns with no
    tile (alternately, until no box splits further): a cut never crosses a connected group, so
    each group stays whole in one box."""
    th, tw = grown.shape
    todo = [(0, th, 0, tw, 0)]
    done: list[tuple[int, int, int, int]] = []
    while todo:
        y0, y1, x0, x1, axis = todo.pop()
        parts = _runs(np.asarray(grown[y0:y1, x0:x1].any(axis=1 - axis)))
        if axis == 0:
            pieces = [(y0 + a, y0 + b, x0, x1) for a, b in parts]
        else:
            pieces = [(y0, y1, x0 + a, x0 + b) for a, b in parts]
        if len(pieces) == 1 and pieces[0] == (y0, y1, x0, x1) and axis == 1:
            done.append(pieces[0])  # no cut along either axis (rows were tried just before)
            continue
        for piece in pieces:
            todo.append((*piece, 1 - axis))
    return done
