"""The hand-optimised detection helpers compute exactly what their plain definitions compute
(issue 19: detection got cheaper, not different).

Each helper is checked against a direct, slow reference on many random images: bar-like blocks,
noise, antialiased grey, views (crops, transposes, strided rows) and sizes that are and are not
whole tiles.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from printstation.render import barcodes, regions
from support import labelgen as lg


def _random_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """White paper with a block of vertical bars, a few grey boxes and some speckle."""
    img = np.full((h, w), 255, np.uint8)
    y0, y1 = sorted(rng.integers(0, h, 2))
    x0, x1 = sorted(rng.integers(0, w, 2))
    img[y0:y1, x0:x1] = np.where(rng.random(w) < 0.5, 0, 255).astype(np.uint8)[x0:x1]
    for _ in range(int(rng.integers(0, 5))):
        a, b = sorted(rng.integers(0, h, 2))
        c, d = sorted(rng.integers(0, w, 2))
        img[a:b, c:d] = rng.integers(0, 256)
    if rng.random() < 0.5:
        speckle = rng.random((h, w)) < rng.random() * 0.05
        img[speckle] = rng.integers(0, 256, int(speckle.sum()))
    return img


def _view(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """The image itself or the same pixels seen through a transposed or strided view."""
    pick = rng.random()
    if pick < 0.25:
        return np.ascontiguousarray(img.T).T
    if pick < 0.4:
        return np.repeat(img, 2, axis=0)[::2]
    return img


def _bar_area_reference(img: np.ndarray, corners: list[tuple[float, float]]):
    """:func:`regions._bar_area` by its definition: every row thresholded, walked row by row."""
    span = regions.corner_span(img, corners)
    if span is None:
        return None
    xl, xh, _, _, ym = span
    h = img.shape[0]
    ink = img < 128
    dark = np.flatnonzero(ink[ym, xl : xh + 1])
    if dark.size < 2:
        return None
    x0, x1 = xl + int(dark[0]), xl + int(dark[-1])
    ref = ink[ym, x0 : x1 + 1]

    def same(y: int) -> bool:
        return int((ink[y, x0 : x1 + 1] != ref).sum()) <= regions.STRIPE_TOLERANCE

    y0 = ym
    while y0 > 0 and same(y0 - 1):
        y0 -= 1
    y1 = ym
    while y1 < h - 1 and same(y1 + 1):
        y1 += 1
    if y1 - y0 < 8:
        return None
    for ys in (range(y0 - 1, y0 - 4, -1), range(y1 + 1, y1 + 4)):
        for y in ys:
            if not 0 <= y < h or not ink[y, x0 : x1 + 1].any():
                break
            if (ink[y, x0 : x1 + 1] & ~ref).any():
                return None
        else:
            return None
    if ink[y0 : y1 + 1, max(0, x0 - 3) : x0].any() or ink[y0 : y1 + 1, x1 + 1 : x1 + 4].any():
        return None
    return x0, x1, y0, y1


def test_bar_area_matches_its_definition() -> None:
    rng = np.random.default_rng(19)
    found = 0
    for _ in range(3000):
        h, w = int(rng.integers(20, 260)), int(rng.integers(20, 260))
        img = _view(rng, _random_image(rng, h, w))
        cy0, cy1 = sorted(rng.uniform(-5, h + 5, 2))
        cx0, cx1 = sorted(rng.uniform(-5, w + 5, 2))
        corners = [(cx0, cy0), (cx1, cy0), (cx1, cy1), (cx0, cy1)]
        want = _bar_area_reference(img, corners)
        assert regions._bar_area(img, corners) == want
        found += want is not None
    assert found > 50  # the random blocks do make bar areas, not only refusals


def _tile_ink_reference(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = regions.TILE
    th, tw = -(-img.shape[0] // t), -(-img.shape[1] // t)
    rows, cols = np.zeros((th, tw), int), np.zeros((th, tw), int)
    ink = img < 255
    for i in range(th):
        for j in range(tw):
            tile = ink[i * t : (i + 1) * t, j * t : (j + 1) * t]
            rows[i, j], cols[i, j] = tile.any(axis=1).sum(), tile.any(axis=0).sum()
    return rows, cols


@pytest.mark.parametrize("whole_tiles", [False, True])
def test_tile_ink_matches_its_definition(whole_tiles: bool) -> None:
    rng = np.random.default_rng(7)
    for _ in range(150):
        h = int(rng.integers(1, 120))
        w = int(rng.integers(1, 8)) * regions.TILE if whole_tiles else int(rng.integers(1, 120))
        img = _view(rng, _random_image(rng, h, w))
        rows, cols = regions._tile_ink(img)
        want_rows, want_cols = _tile_ink_reference(img)
        assert np.array_equal(rows, want_rows) and np.array_equal(cols, want_cols)


def _runs_reference(line: np.ndarray) -> list[tuple[int, int]]:
    out, start = [], None
    for i, v in enumerate(list(line) + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    return out


def test_runs_match_their_definition() -> None:
    rng = np.random.default_rng(3)
    for _ in range(500):
        line = rng.random(int(rng.integers(0, 50))) < rng.random()
        assert regions._runs(line) == _runs_reference(line)


@pytest.mark.parametrize("shape", [(37, 53), (700, 420)])
def test_padded_bool_raster_reads_as_0_and_255(shape: tuple[int, int]) -> None:
    """A bool raster (True = ink) and its 0/255 image pad to the same pixels, through any view
    (the larger shape takes the banded copy of big transposes)."""
    rng = np.random.default_rng(5)
    raster = rng.random(shape) < 0.3
    gray = np.where(raster, 0, 255).astype(np.uint8)
    for view in (lambda a: a, lambda a: a.T, lambda a: a[3:-2, 5:-4], lambda a: a.T[::4], lambda a: a[::4]):
        want = np.full((view(gray).shape[0] + 32, view(gray).shape[1] + 32), 255, np.uint8)
        want[16:-16, 16:-16] = view(gray)
        assert np.array_equal(barcodes.padded(view(raster), 16), want)
        assert np.array_equal(barcodes.padded(view(gray), 16), want)


def test_read_of_a_bool_raster_is_the_read_of_its_image() -> None:
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(lg.wb_sticker_png("!Exact0042"))).convert("L"))
    raster = img < 128
    as_gray = barcodes.read(np.where(raster, 0, 255).astype(np.uint8), binary=True)
    as_bool = barcodes.read(raster, binary=True)
    got = [(r.format.name, bytes(r.bytes), str(r.position)) for r in as_bool]
    assert got == [(r.format.name, bytes(r.bytes), str(r.position)) for r in as_gray]
    assert ("Code128", b"!Exact0042") in [g[:2] for g in got]
    assert barcodes.decoded_set(raster, ("Code128",)) == [("Code128", b"!Exact0042")]
