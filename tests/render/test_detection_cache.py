"""The detection cache stays bounded in bytes (a renderer child converting big pages), and a
converted PDF page's detection can be dropped by its key (page 1 is not page 10)."""

from __future__ import annotations

import numpy as np
import pytest

from printstation.render import barcodes


@pytest.fixture(autouse=True)
def _empty():
    barcodes._DETECTED.clear()
    yield
    barcodes._DETECTED.clear()


def test_images_kept_stay_under_the_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(barcodes, "DETECTION_BYTES", 10_000_000)
    page = np.zeros((1000, 2200), np.uint8)  # 2.2 MB, a 100×150 mm page at 12 px/mm is about that
    for i in range(20):
        barcodes.keep_detection(f"d:{i}", 1.0, [], page.copy())
    kept = list(barcodes._DETECTED)
    assert sum(v[1].nbytes for v in barcodes._DETECTED.values()) <= 10_000_000
    assert kept == [f"d:{i}@1.0000" for i in range(16, 20)]  # the newest ones
    assert barcodes.cached_detection("d:19", 1.0) is not None
    assert barcodes.cached_detection("d:3", 1.0) is None


def test_one_image_over_the_budget_is_still_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(barcodes, "DETECTION_BYTES", 1000)
    barcodes.keep_detection("big:0", 1.0, [], np.zeros((100, 100), np.uint8))
    assert barcodes.cached_detection("big:0", 1.0) is not None  # the upright turn then the redraw


def test_forget_drops_one_page_at_every_scale() -> None:
    img = np.zeros((4, 4), np.uint8)
    for key, scale in (("doc:1", 1.0), ("doc:1", 2.5), ("doc:10", 1.0), ("doc:11", 2.5)):
        barcodes.keep_detection(key, scale, [], img)
    barcodes.forget_detection("doc:1")
    assert sorted(barcodes._DETECTED) == ["doc:10@1.0000", "doc:11@2.5000"]
