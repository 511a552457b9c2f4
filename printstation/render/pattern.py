"""The module pattern of a linear symbol, read off the source image it was found on.

:func:`linear_box` finds the symbol's exact bar box and bar profile (the columns inked on most of
its rows); :func:`quantize` turns the profile into whole modules. Both are the hot path of
:mod:`printstation.render.redraw` and hand-optimised: each answers exactly what the plain numpy
version did (tests/render/test_redraw_fast.py keeps that version and compares on random input).
"""

from __future__ import annotations

import functools

import numpy as np

from .regions import corner_span, count_true


def _runs(row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run lengths (int) and colours (bool) of a 1-D bool array: runs alternate colour."""
    bounds = np.flatnonzero(row[1:] != row[:-1]) + 1
    lengths = np.empty(bounds.size + 1, dtype=np.intp)
    lengths[0] = bounds[0] if bounds.size else len(row)
    lengths[1:-1] = bounds[1:] - bounds[:-1]
    lengths[-1] = len(row) - bounds[-1] if bounds.size else len(row)
    colours = np.zeros(lengths.size, dtype=bool)
    colours[0 if row[0] else 1 :: 2] = True
    return lengths, colours


def _fit(runs: np.ndarray, bars: np.ndarray, m: float, nb: int) -> tuple[np.ndarray, float]:
    """Module counts and relative error of a profile's runs (float) for a module width ``m``: the
    reference arithmetic, float for float (the 96-row original did the same per row; its row
    sums are the same pairwise sums), whose answer :func:`quantize` returns. ``nb``: bars."""
    n = np.maximum(1, np.rint(runs / m))
    excess = runs - n * m
    delta = (np.where(bars, excess, 0).sum() / max(1, nb)
             - np.where(bars, 0, excess).sum() / max(1, bars.size - nb)) / 2
    shift = np.where(bars, delta, -delta)
    n = np.maximum(1, np.rint((runs - shift) / m))
    return n, float(np.abs(excess - shift).max() / m)


#: How far :func:`quantize`'s shortcut error may be from :func:`_fit`'s (the same sums in another
#: order: about 1e-12 here), so that no candidate :func:`_fit` accepts is ever passed over.
_FIT_SLACK = 1e-6


@functools.lru_cache(maxsize=64)
def _widths(m0: int) -> np.ndarray:
    """The 96 candidate module widths for a shortest run of ``m0`` (a column; read-only)."""
    return frozen(np.linspace(m0 * 0.7, m0 * 2.6, 96)[:, None])


@functools.lru_cache(maxsize=64)
def _cells(m0: int, cells: bytes) -> tuple[np.ndarray, ...]:
    """For the (run length, colour) cells of a histogram (2 × length, + 1 for a space) and each
    candidate width (rows): the excess of each cell's length over whole modules (the same floats
    as :func:`_fit`'s), the middle and half-range of the excesses of the bar cells and of the
    space cells, and the pass mark (0.3 modules and the slack). Remembered: stickers of one
    layout have the same cells."""
    key = np.frombuffer(cells, dtype=np.intp)
    length, space = (key // 2).astype(np.float64), key % 2 == 1
    m = _widths(m0)
    excess = length - np.maximum(1, np.rint(length / m)) * m
    out = [excess]
    for part in (excess[:, ~space], excess[:, space]):
        hi, lo = part.max(axis=1), part.min(axis=1)
        out += [(hi + lo) / 2, (hi - lo) / 2]
    out.append(m[:, 0] * (0.3 + _FIT_SLACK))
    return tuple(frozen(a) for a in out)


def frozen(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` over immutable bytes: a cached array no caller can make writable again."""
    return np.frombuffer(a.tobytes(), dtype=a.dtype).reshape(a.shape)


def quantize(profile: np.ndarray) -> np.ndarray | None:
    """Module pattern of a bar profile (True = bar), from its run lengths.

    Bars come out wider and spaces narrower by the same amount (ink, antialiasing, threshold),
    so each candidate module width is scored after removing that bias; the *largest* module
    width whose runs all sit near whole modules wins (half a module would fit too, but doubles
    every run).

    The 96 candidates are scored on a histogram of (run length, colour) — a few cells, not every
    run: a bias ``delta`` off the bars' excesses is ``|delta - middle| + half-range`` at worst.
    Only the candidates that pass within :data:`_FIT_SLACK`, largest first, are scored again by
    :func:`_fit` on every run, which decides: the answer of scoring all 96 with :func:`_fit`
    (compared on 20,000 random profiles in tests/render/test_redraw_fast.py). 0.12 → 0.035 ms on
    a 58×40 sticker.
    """
    if not profile[0] or not profile[-1]:
        return None
    lengths, bars = _runs(profile)
    if lengths.size < 5:
        return None
    m0 = int(lengths.min())
    keys = lengths * 2
    keys[1::2] += 1  # bar of length l: cell 2l; space: 2l + 1
    count = np.bincount(keys)
    cells = np.flatnonzero(count)
    excess, mid_b, half_b, mid_s, half_s, mark = _cells(m0, cells.tobytes())
    nb = lengths.size // 2 + 1  # bars (the first and the last run are bars)
    weight = count[cells] / np.where(cells % 2, -2 * (nb - 1), 2 * nb)
    delta = excess @ weight
    resid = np.maximum(np.abs(delta - mid_b) + half_b, np.abs(delta + mid_s) + half_s)
    runs = lengths.astype(np.float64)
    m = _widths(m0)
    for i in np.flatnonzero(resid < mark)[::-1].tolist():
        n, err = _fit(runs, bars, m[i, 0], nb)
        if err < 0.3:
            return np.repeat(bars, n.astype(int))
    return None


#: Rows thresholded past a linear symbol's corners at once (the bar-row search goes on beyond
#: them, in chunks, only when the bars do).
_ROWS_PAST_CORNERS = 8


def linear_box(img: np.ndarray, corners: list[tuple[float, float]]
                ) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """Exact bar box (x0, x1, y0, y1; inclusive) of a horizontal linear symbol in a grayscale
    image (ink = below 128; only the strips looked at are thresholded), and its bar profile: the
    columns inked on more than half of the box's rows.

    The rows of the corners' span (and a few more) are thresholded once and serve both
    the bar-row search and the profile; rows beyond them only when the bars run on (0.14 → 0.05
    ms on a 58×40 sticker)."""
    span = corner_span(img, corners)
    if span is None:
        return None
    xl, xh, yl, yh, ym = span
    h, w = img.shape
    slack = int(0.03 * (xh - xl)) + 3
    lo = max(0, xl - slack)
    band, _, flip = _ink(img[max(yl, ym - 2) : ym + 3, lo : min(w, xh + slack + 1)])
    dark = count_true(band, 0) > band.shape[0] // 2  # inked on most of the band
    dark = np.flatnonzero(dark[::-1] if flip else dark)
    if dark.size < 2:
        return None
    x0, x1 = lo + int(dark[0]), lo + int(dark[-1])
    ref = img[ym, x0 : x1 + 1] < 128
    # zxing's corners come from rows it sampled (every 4th): the bars end within a few rows
    a, b = max(0, min(ym, yl - _ROWS_PAST_CORNERS)), min(h, max(ym + 1, yh + _ROWS_PAST_CORNERS + 1))
    cells, flip_rows, flip = _ink(img[a:b, x0 : x1 + 1])
    ok = _bar_rows(cells, ref[::-1] if flip else ref)
    bad = np.flatnonzero(~(ok[::-1] if flip_rows else ok)) + a
    up, down = bad[bad < ym], bad[bad > ym]
    above = int(up[-1]) if up.size else _nearest_break(img, x0, ref, a, 0)
    below = int(down[0]) if down.size else _nearest_break(img, x0, ref, b, h)
    y0 = 0 if above is None else above + 1
    y1 = h - 1 if below is None else below - 1
    if a <= y0 and y1 < b:
        cells = cells[b - 1 - y1 : b - y0] if flip_rows else cells[y0 - a : y1 - a + 1]
    else:
        cells, _, flip = _ink(img[y0 : y1 + 1, x0 : x1 + 1])
    prof = count_true(cells, 0) > cells.shape[0] // 2
    return (x0, x1, y0, y1), prof[::-1] if flip else prof


def _ink(block: np.ndarray) -> tuple[np.ndarray, bool, bool]:
    """``block < 128`` walked along memory, and whether its rows and its columns come out
    reversed: a source turned for reading is a view with a negative stride, which numpy walks —
    and every count after it — 3-6× slower (a vertical sticker's box: 0.12 → 0.085 ms)."""
    rows, cols = block.strides[0] < 0, block.strides[1] < 0
    return block[::-1 if rows else 1, ::-1 if cols else 1] < 128, rows, cols


def _bar_rows(cells: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Rows of thresholded ``cells`` that repeat the middle row's bar pattern ``ref`` (≥ 90 %
    agreement, the very float test of ``mean(axis=1) >= 0.9``): bar rows."""
    return count_true(cells == ref, 1) / ref.size >= 0.9


def _nearest_break(img: np.ndarray, x0: int, ref: np.ndarray, start: int, stop: int) -> int | None:
    """The row nearest ``start`` (going towards ``stop``, ``start`` itself included going down)
    that is not a bar row, looked for in growing chunks outward."""
    step, n, x1 = (1 if stop > start else -1), 32, x0 + ref.size
    while start != stop:
        a, b = (start, min(stop, start + n)) if step > 0 else (max(stop, start - n), start)
        bad = np.flatnonzero(~_bar_rows(img[a:b, x0:x1] < 128, ref))
        if bad.size:
            return a + int(bad[0] if step > 0 else bad[-1])
        start, n = (b if step > 0 else a), 2 * n
    return None
