"""The fast redraw (issue 19) answers exactly what the straightforward code answered.

The reference functions below are the redraw stage as it was before it was optimised (verbatim but
for names): module patterns, bar boxes and drawn rasters must come out identical, on random input
built to sit on the decision edges (module widths, 90 % rows, quiet zones), not only on stickers.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from printstation import Media, PrinterSpec
from printstation import pipeline as conv
from printstation.render import barcodes, redraw
from support import labelgen as lg


def ref_quantize(profile: np.ndarray) -> np.ndarray | None:
    row = profile
    idx = np.flatnonzero(np.diff(row.astype(np.int8))) + 1
    bounds = np.concatenate(([0], idx, [len(row)]))
    lengths = np.diff(bounds).tolist()
    colours = [bool(row[b]) for b in bounds[:-1]]
    if len(lengths) < 5 or not colours[0] or not colours[-1]:
        return None
    runs = np.asarray(lengths, dtype=np.float64)
    bars = np.asarray(colours, dtype=bool)
    m0 = float(np.min(runs))
    m = np.linspace(m0 * 0.7, m0 * 2.6, 96)[:, None]
    n = np.maximum(1, np.rint(runs[None, :] / m))
    excess = runs[None, :] - n * m
    delta = (np.where(bars, excess, 0).sum(1) / max(1, bars.sum())
             - np.where(~bars, excess, 0).sum(1) / max(1, (~bars).sum())) / 2
    resid = excess - np.where(bars, delta[:, None], -delta[:, None])
    n = np.maximum(1, np.rint((runs[None, :] - np.where(bars, delta[:, None], -delta[:, None])) / m))
    err = np.abs(resid).max(axis=1) / m[:, 0]
    good = np.flatnonzero(err < 0.3)
    if good.size == 0:
        return None
    best = int(good[-1])
    return np.repeat(bars, n[best].astype(int))


def ref_linear_box(img: np.ndarray, corners: list[tuple[float, float]]):
    from printstation.render.regions import corner_span

    span = corner_span(img, corners)
    if span is None:
        return None
    xl, xh, yl, yh, ym = span
    h, w = img.shape
    band = img[max(yl, ym - 2) : ym + 3] < 128
    slack = int(0.03 * (xh - xl)) + 3
    lo, hi = max(0, xl - slack), min(w, xh + slack + 1)
    prof = band[:, lo:hi].mean(axis=0) > 0.5
    dark = np.flatnonzero(prof)
    if dark.size < 2:
        return None
    x0, x1 = lo + int(dark[0]), lo + int(dark[-1])
    ref = img[ym, x0 : x1 + 1] < 128

    def same(a: int, b: int) -> np.ndarray:
        return ((img[a:b, x0 : x1 + 1] < 128) == ref).mean(axis=1) >= 0.9

    def nearest_break(start: int, stop: int) -> int | None:
        step, n = (1 if stop > start else -1), 32
        while start != stop:
            a, b = (start, min(stop, start + n)) if step > 0 else (max(stop, start - n), start)
            bad = np.flatnonzero(~same(a, b))
            if bad.size:
                return a + int(bad[0] if step > 0 else bad[-1])
            start, n = (b if step > 0 else a), 2 * n
        return None

    up, down = nearest_break(ym, 0), nearest_break(ym, h)
    y0 = up + 1 if up is not None else 0
    y1 = down - 1 if down is not None else h - 1
    prof = (img[y0 : y1 + 1, x0 : x1 + 1] < 128).mean(axis=0) > 0.5
    return (x0, x1, y0, y1), prof


def ref_free_run(r: np.ndarray, rows: slice, start: int, step: int) -> int:
    w = r.shape[1]
    if not 0 <= start < w:
        return 0
    seg = r[rows, start::step] if step > 0 else r[rows, start::-1]
    ink = np.flatnonzero(seg.any(axis=0))
    return int(ink[0]) if ink.size else seg.shape[1]


def ref_place(r: np.ndarray, mods: np.ndarray, box, quiet: int, linear: bool) -> tuple[int, list]:
    h, w = r.shape
    x0, x1, y0, y1 = box
    n_rows, n_cols = mods.shape
    bx0, bx1 = max(0, math.floor(x0) - 1), min(w, math.ceil(x1) + 1)
    by0, by1 = max(0, math.floor(y0) - (0 if linear else 1)), min(h, math.ceil(y1) + (0 if linear else 1))
    if bx1 - bx0 < 2 or by1 - by0 < 1:
        return 0, []
    work = r.copy()
    work[by0:by1, bx0:bx1] = False
    rows = slice(by0, by1)
    free = ref_free_run
    left = bx0 - free(work, rows, bx0 - 1, -1)
    right = bx1 + free(work, rows, bx1, 1)
    if not linear:
        cols = slice(bx0, bx1)
        top = by0 - free(work.T, cols, by0 - 1, -1)
        bottom = by1 + free(work.T, cols, by1, 1)
    orig_ql, orig_qr = x0 - left, right - x1
    cx = (x0 + x1) / 2
    if linear:
        kmax = max(1, math.ceil((x1 - x0) / n_cols - 0.05))
    else:
        kmax = max(1, math.ceil(min((x1 - x0) / n_cols, (y1 - y0) / n_rows) - 0.05))
        cy = (y0 + y1) / 2
        orig_qt, orig_qb = y0 - top, bottom - y1
    for k in range(kmax, 0, -1):
        ww = n_cols * k
        sx = int(round(cx - ww / 2))
        if not redraw._quiet_fits(sx, ww, left, right, orig_ql, orig_qr, quiet * k):
            continue
        if linear:
            ty, hh = int(round(y0)), max(1, int(round(y1)) - int(round(y0)))
            block = np.repeat(np.repeat(mods[:1], hh, axis=0), k, axis=1)
        else:
            hh = n_rows * k
            ty = int(round(cy - hh / 2))
            if not redraw._quiet_fits(ty, hh, top, bottom, orig_qt, orig_qb, quiet * k):
                continue
            block = np.kron(mods, np.ones((k, k), dtype=bool))
        if sx < 0 or ty < 0 or sx + ww > w or ty + block.shape[0] > h:
            continue
        work[ty : ty + block.shape[0], sx : sx + ww] = block
        r[...] = work
        return k, [sx, ty, sx + ww, ty + block.shape[0]]
    return 0, []


def _profile(rng: random.Random) -> np.ndarray:
    """A bar profile as a scan of a random symbol: a random module width (often near the ratios
    where two candidate widths both fit), ink spread, noise; or plain random runs."""
    if rng.random() < 0.2:
        runs = [rng.randint(1, 14) for _ in range(rng.choice((3, 5, 9, 21, 61)))]
    else:
        m = rng.choice((rng.uniform(0.8, 9.0), rng.choice((1.5, 2, 2.5, 3, 4)) + rng.uniform(-0.02, 0.02)))
        spread, noise = rng.uniform(-0.45, 0.45) * m, rng.uniform(0, 0.35) * m
        runs = []
        for i in range(rng.choice((5, 11, 33, 67, 95, 151)) // 2 * 2 + 1):
            width = rng.randint(1, 4) * m + (spread if i % 2 == 0 else -spread) + rng.gauss(0, noise)
            runs.append(max(1, int(round(width))))
    out = np.repeat(np.arange(len(runs)) % 2 == 0, runs)
    return out if rng.random() < 0.9 else ~out


def test_quantize_answers_what_scoring_every_run_answers() -> None:
    rng = random.Random(1907)
    found = 0
    for _ in range(20_000):
        prof = _profile(rng)
        want, got = ref_quantize(prof), redraw._quantize(prof)
        assert (want is None) == (got is None), prof.astype(int).tolist()
        if want is not None:
            found += 1
            assert np.array_equal(want, got), prof.astype(int).tolist()
    assert 2_000 < found < 19_000  # both answers are exercised


def _symbol_image(rng: random.Random) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """A grayscale image with a bar pattern (ragged rows, noise, a box or text nearby) and corners
    a few rows off, as zxing reports them."""
    h, w = rng.randint(60, 400), rng.randint(80, 500)
    img = np.full((h, w), 255, np.uint8)
    x0, x1 = rng.randint(0, w // 4), rng.randint(w // 2, w - 1)
    y0, y1 = rng.randint(0, h // 3), rng.randint(h // 2, h - 1)
    cols = np.repeat(np.arange(400) % 2 == 0, [rng.randint(1, 6) for _ in range(400)])[: x1 - x0 + 1]
    if rng.random() < 0.95:  # else no bars at all
        img[y0 : y1 + 1, x0 : x0 + cols.size][:, cols] = rng.randint(0, 120)
    if rng.random() < 0.05:  # corners under 10 px apart
        x1 = x0 + rng.randint(0, 9)
    for _ in range(rng.randint(0, 30)):  # rows that agree 85-95 %: the 90 % edge
        y = rng.randint(0, h - 1)
        flip = np.random.default_rng(rng.randint(0, 1 << 30)).random(w) < rng.uniform(0.0, 0.2)
        img[y, flip] = 255 - img[y, flip]
    if rng.random() < 0.5:  # a text line or a frame touching the bars
        yy = rng.choice((max(0, y0 - rng.randint(0, 3)), min(h - 1, y1 + rng.randint(0, 3))))
        img[yy, rng.randint(0, w // 2) : rng.randint(w // 2, w)] = 0
    img = np.clip(img.astype(int) + np.random.default_rng(rng.randint(0, 1 << 30)).integers(-60, 60, img.shape),
                  0, 255).astype(np.uint8)
    d = [rng.uniform(-9, 9) for _ in range(2)]
    corners = [(x0 + d[0], y0 + d[1]), (x1 + d[0], y0 + d[1]), (x1, y1 - d[1]), (x0, y1 - d[1])]
    return img, corners


def test_linear_box_finds_the_same_box_and_profile() -> None:
    rng = random.Random(1908)
    boxes = 0
    for _ in range(1_500):
        img, corners = _symbol_image(rng)
        turn = rng.choice((0, 0, 1, 2, 3))  # the same image as a view of a turned one
        view = np.rot90(np.ascontiguousarray(np.rot90(img, -turn)), turn)
        want, got = ref_linear_box(view, corners), redraw._linear_box(view, corners)
        assert (want is None) == (got is None)
        if want is not None:
            boxes += 1
            assert want[0] == got[0]
            assert np.array_equal(want[1], got[1])
    assert 1_000 < boxes < 1_500


@pytest.mark.parametrize("turn", [0, 1, 2, 3])
def test_place_draws_the_same_dots_through_a_rotated_view(turn: int) -> None:
    rng = random.Random(1909 + turn)
    for _ in range(300):
        h, w = rng.randint(40, 200), rng.randint(40, 200)
        raster = np.random.default_rng(rng.randint(0, 1 << 30)).random((h, w)) < rng.choice((0.0, 0.002, 0.05))
        linear = rng.random() < 0.5
        shape = (1, rng.randint(10, 60)) if linear else (rng.randint(5, 25),) * 2
        mods = np.random.default_rng(rng.randint(0, 1 << 30)).random(shape) < 0.5
        view_h, view_w = (w, h) if turn % 2 else (h, w)
        x0, y0 = rng.uniform(-3, view_w / 2), rng.uniform(-3, view_h / 2)
        box = (x0, x0 + rng.uniform(5, view_w), y0, y0 + rng.uniform(3, view_h))
        quiet = rng.choice((0, 1, 4, 10))
        want = np.rot90(raster, -turn).copy()
        k_ref, drawn_ref = ref_place(want, mods, box, quiet, linear)
        got = raster.copy()
        drawn: list = []
        k = redraw._place(np.rot90(got, -turn), mods, box, quiet, linear, drawn)
        assert (k, drawn) == (k_ref, drawn_ref)
        assert np.array_equal(np.rot90(want, turn), got)


def ref_proof_image(modules: np.ndarray, linear: bool) -> np.ndarray:
    scale = 3
    if linear:
        img = np.repeat(np.repeat(modules[:1], 30, axis=0), scale, axis=1)
    else:
        img = np.kron(modules, np.ones((scale, scale), dtype=bool))
    return barcodes.padded(np.where(img, 0, 255).astype(np.uint8), 12 * scale)


def test_the_proof_reads_the_image_it_read_before() -> None:
    rng = np.random.default_rng(1910)
    for shape, linear in [((1, 1), True), ((1, 95), True), ((3, 67), True), ((21, 21), False),
                          ((16, 48), False), ((1, 1), False)]:
        mods = rng.random(shape) < 0.5
        want, got = ref_proof_image(mods, linear), redraw._proof_image(mods, linear)
        assert got.dtype == want.dtype and np.array_equal(got, want)


SPEC = PrinterSpec(media=Media(58, 40), dpi=203)


@pytest.mark.parametrize("make", [
    lambda: lg.wb_sticker_png("!Fast0001"), lambda: lg.wb_sticker_svg_vertical("!Fast0002", turn=270),
    lambda: lg.qr_png("WB-GI-77", module_px=6), lambda: lg.two_barcode_svg("!Fast0003", "WB-GI-3"),
], ids=["png", "vertical", "qr", "two"])
def test_a_repeated_label_is_redrawn_alike_from_the_caches(make) -> None:
    """A reprint proves its patterns from the caches: same raster, same boxes, the input untouched."""
    page = conv.rasterize(conv.sources(conv.sniff(make()), SPEC)[0], SPEC)
    raster = page.binarize(SPEC)
    before = raster.copy()
    found, img, scale = barcodes.detect(page)
    redraw._decodes_cached.cache_clear()
    redraw._encode_cached.cache_clear()
    runs = [redraw.redraw(page, raster, found, SPEC, img, scale, boxes=(boxes := {})) + (boxes,)
            for _ in range(2)]
    assert redraw._decodes_cached.cache_info().hits >= len(found)
    (a, done_a, boxes_a), (b, done_b, boxes_b) = runs
    assert np.array_equal(a, b) and done_a == done_b and boxes_a == boxes_b
    assert len(done_a) == len(found) and not np.array_equal(a, raster)
    assert np.array_equal(raster, before)
