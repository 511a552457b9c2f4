"""A PDF whose page is huge and whose ink is small (a 12×8 mm label on an 800 mm page) is cropped
to its ink, and only that window is drawn: the conversion's memory follows the label, never the
page. Drawing the whole page at the crop's scale and cutting the window out took 2.2 GB for a
2,000 pt page (a poster-sized PDF dropped in the hot folder could take the station PC down)."""

from __future__ import annotations

import tracemalloc

import cairosvg
import numpy as np

from printstation import BadInput, Media, PrinterSpec, convert
from printstation.render import pdf as P
from support.labelgen import _label_svg_mm, pdf_label

MB = 1024 * 1024


def small_label_on_a_huge_page() -> bytes:
    return cairosvg.svg2pdf(bytestring=_label_svg_mm("HUGE0123", 800, 800, label_box=(380, 500, 12, 8)))


def test_a_small_label_on_a_huge_page_costs_the_labels_memory_not_the_pages():
    data = small_label_on_a_huge_page()
    spec = PrinterSpec(lang="tspl", media=Media(58, 40), max_downscale=0.8)
    tracemalloc.start()
    try:
        try:
            convert(data, spec)
        except BadInput:
            pass  # whether this tiny label converts is not the point: what drawing it costs is
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 150 * MB, f"{peak / MB:.0f} MB to convert a 12×8 mm label"


def test_a_window_drawing_is_the_page_cut_within_one_gray_level(monkeypatch):
    """Drawn as a window (what a huge page gets), a cropped A4 sheet is the window of the whole
    page's drawing to one gray level at the edges of shapes; an ordinary page is still drawn
    whole, so its pixels (and every label's bytes) are what they were."""
    monkeypatch.setattr(P, "WHOLE_PAGE_PIXELS", 0)
    for doc in (pdf_label("LP123456789CN", a4_layout=True), pdf_label("RR987654321RU", a4_layout=True, rotate=90)):
        crop = P.autocrop(P.open_pdf(doc, 10)[0])
        assert isinstance(crop, P.CroppedSource)
        for size in ((464, 320), (799, 1199), (1200, 1800)):
            scale = max(size[0] / crop.width, size[1] / crop.height)
            whole = P._render_gray(crop.src._load(), scale)
            x0, y0 = int(round(crop.x * scale)), int(round(crop.y * scale))
            want = np.full((size[1], size[0]), 255, np.uint8)
            part = whole[y0:y0 + size[1], x0:x0 + size[0]]
            want[:part.shape[0], :part.shape[1]] = part
            got = crop.render(0, size)
            assert got.shape == want.shape and int(np.abs(got.astype(int) - want).max()) <= 1, size
            assert np.array_equal(got < 128, want < 128), size
