"""``gray_array`` gives exactly what ``np.asarray`` gives for a Pillow image (it only skips
Pillow's slow export): same shape, dtype and pixels, read-only, for gray images of any size and
for the modes it hands on to numpy."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from printstation.render.pixels import gray_array


@pytest.mark.parametrize("size", [(1, 1), (3, 7), (1, 4099), (4099, 1), (580, 400), (1601, 1203)])
def test_a_gray_image_comes_out_as_numpy_reads_it(size) -> None:
    rng = np.random.default_rng(size[0] * 7 + size[1])
    im = Image.fromarray(rng.integers(0, 256, (size[1], size[0]), dtype=np.uint8), "L")
    a = gray_array(im)
    b = np.asarray(im)
    assert a.shape == b.shape == (size[1], size[0]) and a.dtype == b.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not a.flags.writeable
    im.paste(0, (0, 0, size[0], size[1]))  # the array is its own copy, not a view of the image
    assert np.array_equal(a, b)


@pytest.mark.parametrize("mode", ["RGB", "1", "I;16"])
def test_other_modes_are_left_to_numpy(mode) -> None:
    im = Image.new(mode, (5, 3), 1)
    assert np.array_equal(gray_array(im), np.asarray(im))
