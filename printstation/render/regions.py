"""Where to look: the bar area of a found linear symbol, and the ink regions of a detection image.

Both narrow the 2-D pass of :func:`printstation.render.barcodes.scan` without finding less.
"""

from __future__ import annotations

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
    xl, xh = max(0, int(min(xs))), min(w - 1, int(np.ceil(max(xs))))
    yl, yh = max(0, int(min(ys))), min(h - 1, int(np.ceil(max(ys))))
    return None if xh - xl < 10 or yh < yl else (xl, xh, yl, yh, (yl + yh) // 2)


def _bar_area(img: np.ndarray, corners: list[tuple[float, float]]) -> tuple[int, int, int, int] | None:
    """The rows (y0..y1) and columns (x0..x1), inclusive, of a horizontal linear symbol's bars in
    ``img`` that repeat its middle row's pattern to :data:`STRIPE_TOLERANCE` pixels, when they
    form a block of at least 9 rows with white all around it (else ``None``)."""
    span = corner_span(img, corners)
    if span is None:
        return None
    xl, xh, _, _, ym = span
    h = img.shape[0]
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
    whole = [(0, h, 0, w)]
    if -(-h // TILE) < 4 or -(-w // TILE) < 4:
        return whole
    rows, cols = _tile_ink(img)
    inked = rows > 0
    if inked.mean() > REGION_SHARE:
        return whole
    grown = _widen(inked & ~_rules(inked, rows, cols), REGION_MARGIN // TILE)
    boxes = [(a * TILE, min(h, b * TILE), c * TILE, min(w, d * TILE)) for a, b, c, d in _cut(grown)]
    if sum((b[1] - b[0]) * (b[3] - b[2]) for b in boxes) > REGION_SHARE * h * w:
        return whole
    return boxes


def _tile_ink(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per :data:`TILE` × TILE tile: how many of its pixel rows and of its pixel columns hold ink.

    One bit per pixel, 16 pixels (one tile's width) per word: the rows are the tile's non-zero
    words, the columns the bits of the OR of its rows' words."""
    h, w = img.shape
    th, tw = -(-h // TILE), -(-w // TILE)
    packed = np.packbits(img < 255, axis=1)
    bits = np.zeros((th * TILE, 2 * tw), np.uint8)
    bits[:h, : packed.shape[1]] = packed
    words = bits.view(np.uint16).reshape(th, TILE, tw)
    rows = (words != 0).sum(axis=1)
    colbits = np.bitwise_or.reduce(words, axis=1)
    cols = np.unpackbits(colbits.view(np.uint8), axis=1).reshape(th, tw, TILE).sum(axis=2)
    return rows, cols


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-D array."""
    e = np.flatnonzero(np.diff(np.concatenate(([0], line.astype(np.int8), [0]))))
    return list(zip(e[::2].tolist(), e[1::2].tolist()))


def _rules(inked: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Tiles of long thin rules: runs of at least :data:`RULE_TILES` tiles along a row (column) of
    the grid whose ink is at most :data:`RULE_PX` pixel rows (columns) thick."""
    rule = np.zeros_like(inked)
    for thin, axis in ((inked & (rows <= RULE_PX), 1), (inked & (cols <= RULE_PX), 0)):
        t = thin if axis == 1 else thin.T
        r = rule if axis == 1 else rule.T
        for i in np.flatnonzero(t.sum(axis=1) >= RULE_TILES):
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
