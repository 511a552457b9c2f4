"""The calibration label's left ruler on tall media: numbers past 99 mm are drawn whole (smaller
when they must be), never cut — "100" cut to "10" put a second "10" at 100 mm on every 100×150
label, and the ruler is how the operator reads how many mm are missing."""

from __future__ import annotations

import numpy as np
import pytest

from printstation.render.calibration import calibration_raster
from printstation.spec import Media, PrinterSpec


def _dots(mm: float, dpi: int) -> int:
    return max(1, int(round(mm * dpi / 25.4)))


@pytest.mark.parametrize("dpi", [203, 300])
def test_left_ruler_number_at_100_mm_is_not_the_one_at_10_mm(dpi):
    raster, _ = calibration_raster("p", PrinterSpec(media=Media(100, 150), dpi=dpi), "http://127.0.0.1:8631/")

    def number_at(mm: int) -> np.ndarray:
        top = int(round(mm * dpi / 25.4)) + 2
        return raster[top : top + _dots(2.4, dpi), _dots(1.1, dpi) : _dots(3.5, dpi)]

    ten, hundred, h140 = number_at(10), number_at(100), number_at(140)
    assert ten.any() and hundred.any() and h140.any()
    assert not np.array_equal(ten, hundred)
