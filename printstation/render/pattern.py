"""The module pattern of a linear symbol, read off the source image it was found on.

:func:`linear_box` finds the symbol's exact bar box and bar profile (the columns inked on most of
its rows); :func:`quantize` turns the profile into whole modules. Both are the hot path of
:mod:`printstation.render.redraw` and hand-optimised: each answers exactly what the plain numpy
version did (tests/render/test_redraw_fast.py keeps that version and compares on random input).
"""

from __future__ import annotations

import functools

import numpy as np


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


def _fit(runs: np.ndarray, bars: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Module counts and relative error of a profile's runs for each module width of ``m`` (a
    column): the reference arithmetic of :func:`quantize`, whose every float decides ``best``."""
    n = np.maximum(1, np.rint(runs[None, :] / m))
    excess = runs[None, :] - n * m
    delta = (np.where(bars, excess, 0).sum(1) / max(1, bars.sum())
             - np.where(~bars, excess, 0).sum(1) / max(1, (~bars).sum())) / 2
    resid = excess - np.where(bars, delta[:, None], -delta[:, None])
    n = np.maximum(1, np.rint((runs[None, :] - np.where(bars, delta[:, None], -delta[:, None])) / m))
    return n, np.abs(resid).max(axis=1) / m[:, 0]


#: How far :func:`quantize`'s shortcut error may be from :func:`_fit`'s (the same sums in another
#: order: about 1e-12 here), so that no candidate :func:`_fit` accepts is ever passed over.
_FIT_SLACK = 1e-6


@functools.lru_cache(maxsize=64)
def _widths(m0: int) -> np.ndarray:
    """The 96 candidate module widths for a shortest run of ``m0`` (a column; read-only)."""
    m = np.linspace(m0 * 0.7, m0 * 2.6, 96)[:, None]
    m.flags.writeable = False
    return m


@functools.lru_cache(maxsize=64)
def _kinds(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Run length and sign (+1 bar, -1 space) of the ``n`` (even) cells of a colour histogram."""
    length, sign = np.arange(n) // 2 * 1.0, np.tile([1.0, -1.0], n // 2)
    length.flags.writeable = sign.flags.writeable = False
    return length, sign


def quantize(profile: np.ndarray) -> np.ndarray | None:
    """Module pattern of a bar profile (True = bar), from its run lengths.

    Bars come out wider and spaces narrower by the same amount (ink, antialiasing, threshold),
    so each candidate module width is scored after removing that bias; the *largest* module
    width whose runs all sit near whole modules wins (half a module would fit too, but doubles
    every run).

    The 96 candidates are scored on a histogram of (run length, colour) — a few cells, not every
    run; only the candidates that pass within :data:`_FIT_SLACK`, largest first, are scored again
    by :func:`_fit` on every run, which decides: the answer of scoring all 96 with :func:`_fit`
    (compared on 20,000 random profiles in tests/render/test_redraw_fast.py), 0.12 → 0.03 ms on
    a 58×40 sticker.
    """
    if not profile[0] or not profile[-1]:
        return None
    lengths, bars = _runs(profile)
    if lengths.size < 5:
        return None
    m0 = int(lengths.min())
    m = _widths(m0)
    keys = lengths * 2
    keys[1::2] += 1  # bar of length l: cell 2l; space: 2l + 1
    count = np.bincount(keys, minlength=2 * (m0 + 1))
    count = count if count.size % 2 == 0 else np.append(count, 0)
    length, sign = _kinds(count.size)
    nb = lengths.size // 2 + 1  # bars (the first and the last run are bars)
    weight = count * (sign / np.where(sign > 0, 2 * nb, 2 * (nb - 1)))
    excess = length - np.maximum(1, np.rint(length / m)) * m
    resid = np.abs(excess - (excess @ weight)[:, None] * sign) * (count > 0)
    err = resid.max(axis=1) / m[:, 0]
    runs = lengths.astype(np.float64)
    for i in np.flatnonzero(err < 0.3 + _FIT_SLACK)[::-1].tolist():
        n, exact = _fit(runs, bars, m[i : i + 1])
        if exact[0] < 0.3:
            return np.repeat(bars, n[0].astype(int))
    return None


def _count(a: np.ndarray, axis: int) -> np.ndarray:
    """True cells of a bool array along ``axis`` (a uint16 sum: 3× numpy's default ``sum``)."""
    return np.add.reduce(a, axis=axis, dtype=np.uint16 if a.shape[axis] < 65536 else np.uint32)


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
    from .regions import corner_span

    span = corner_span(img, corners)
    if span is None:
        return None
    xl, xh, yl, yh, ym = span
    h, w = img.shape
    slack = int(0.03 * (xh - xl)) + 3
    lo = max(0, xl - slack)
    band = img[max(yl, ym - 2) : ym + 3, lo : min(w, xh + slack + 1)] < 128
    dark = np.flatnonzero(_count(band, 0) > band.shape[0] // 2)  # inked on most of the band
    if dark.size < 2:
        return None
    x0, x1 = lo + int(dark[0]), lo + int(dark[-1])
    ref = img[ym, x0 : x1 + 1] < 128
    # zxing's corners come from rows it sampled (every 4th): the bars end within a few rows
    a, b = max(0, min(ym, yl - _ROWS_PAST_CORNERS)), min(h, max(ym + 1, yh + _ROWS_PAST_CORNERS + 1))
    cells = img[a:b, x0 : x1 + 1] < 128
    bad = np.flatnonzero(~_bar_rows(cells, ref)) + a
    up, down = bad[bad < ym], bad[bad > ym]
    above = int(up[-1]) if up.size else _nearest_break(img, x0, ref, a, 0)
    below = int(down[0]) if down.size else _nearest_break(img, x0, ref, b, h)
    y0 = 0 if above is None else above + 1
    y1 = h - 1 if below is None else below - 1
    if a <= y0 and y1 < b:
        cells = cells[y0 - a : y1 - a + 1]
    else:
        cells = img[y0 : y1 + 1, x0 : x1 + 1] < 128
    return (x0, x1, y0, y1), _count(cells, 0) > cells.shape[0] // 2


def _bar_rows(cells: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Rows of thresholded ``cells`` that repeat the middle row's bar pattern ``ref`` (≥ 90 %
    agreement, the very float test of ``mean(axis=1) >= 0.9``): bar rows."""
    return _count(cells == ref, 1) / ref.size >= 0.9


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
