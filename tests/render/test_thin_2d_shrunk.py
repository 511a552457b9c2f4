"""A 2-D symbol that the detection scale cannot resolve is still found on a page where nothing else
is — and is then verified, so a label that would not scan is refused instead of printed.

A 75×120 mm label with a 0.19 mm QR code fitted onto 40×30 mm media is looked for at 200 dpi of
its own size (7.9 px/mm: 1.5 px a module) and the QR code was not found at all: the label printed
with a QR code of half-dot modules and no error. A vector page on which nothing is found is now
read again at twice the scale for 2-D symbols too."""

from __future__ import annotations

import numpy as np
import pytest

from printstation import Media, PrinterSpec, convert_labels
from printstation.errors import BarcodeVerifyError
from support.render_back import decode, render_back

pytestmark = pytest.mark.usefixtures("fresh_detection")


def _svg(fmt: str, value: str, module_mm: float, page: tuple[int, int]) -> bytes:
    import zxingcpp

    m = np.asarray(zxingcpp.create_barcode(value, getattr(zxingcpp.BarcodeFormat, fmt))
                   .to_image(scale=1, add_quiet_zones=False, add_hrt=False)) < 128
    w, h = page
    x0 = (w - m.shape[1] * module_mm) / 2
    rects = "".join(f'<rect x="{x0 + c * module_mm:.3f}" y="{h * 0.15 + r * module_mm:.3f}" width="{module_mm}" '
                    f'height="{module_mm}"/>' for r, c in zip(*np.nonzero(m)))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">'
            f'<rect width="{w}" height="{h}" fill="#fff"/><g>{rects}</g>'
            f'<text x="3" y="{h - 3}" font-family="DejaVu Sans" font-size="5">Label</text></svg>').encode()


@pytest.mark.parametrize("fmt,value", [("QRCode", "WB-GI-317209211"), ("DataMatrix", "010460043993125622343")])
@pytest.mark.parametrize("dpi", [203, 300])
def test_a_small_2d_symbol_on_a_shrunk_page_is_found_and_never_printed_unscannable(fmt: str, value: str,
                                                                                     dpi: int) -> None:
    svg = _svg(fmt, value, 0.19, (75, 120))
    spec = PrinterSpec(lang="png", media=Media(40, 30), dpi=dpi)
    try:
        (label,) = convert_labels(svg, spec)
    except BarcodeVerifyError as exc:
        assert str(exc) == f"barcode would not scan at {dpi} dpi: {fmt} {value!r}"
    else:
        assert [r.barcode.text for r in label.barcodes] == [value]
        assert value in decode(render_back("png", label.data, dpi)[0].image)


@pytest.mark.parametrize("fmt,value", [("QRCode", "WB-GI-317209211"), ("DataMatrix", "010460043993125622343")])
def test_the_same_symbol_on_its_own_media_prints_and_scans(fmt: str, value: str) -> None:
    (label,) = convert_labels(_svg(fmt, value, 0.19, (75, 120)), PrinterSpec(lang="png", media=Media(75, 120), dpi=300))
    assert [r.barcode.text for r in label.barcodes] == [value]
    assert value in decode(render_back("png", label.data, 300)[0].image)


def test_a_small_datamatrix_on_a_page_shrunk_a_little_is_never_printed_unscannable() -> None:
    """58×40 onto 40×30 mm: read at 8.3 px per page mm (over the 200-dpi floor), a 0.15 mm
    DataMatrix is 1.2 px a module there — found at twice the scale, then refused or proven."""
    svg = _svg("DataMatrix", "010460043993125629316", 0.15, (58, 40))
    try:
        (label,) = convert_labels(svg, PrinterSpec(lang="png", media=Media(40, 30), dpi=203))
    except BarcodeVerifyError as exc:
        assert str(exc) == "barcode would not scan at 203 dpi: DataMatrix '010460043993125629316'"
    else:
        assert "010460043993125629316" in decode(render_back("png", label.data, 203)[0].image)
