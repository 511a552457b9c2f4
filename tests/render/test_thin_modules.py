"""A Code128 with modules thinner than the detection scale resolves is still found, redrawn and
verified — never printed unchecked.

Vector pages are read for barcodes at 12 px per printed mm; a Code128 with 0.10–0.14 mm modules
is 1.2–1.7 px a module there and zxing does not find it, so it was neither redrawn nor verified:
it printed with its bars merged (0.8–1.1 dots a module) and did not scan, with no error. A page
on which nothing is found is now read again for linear symbols at twice the scale.
"""

from __future__ import annotations

import random

import pytest

from printstation import Media, PrinterSpec, convert_labels
from support import labelgen as lg
from support.render_back import decode, render_back


pytestmark = pytest.mark.usefixtures("fresh_detection")


def thin_svg(value: str, module_mm: float) -> bytes:
    row = lg.modules(value)[0]
    x0 = (58 - len(row) * module_mm) / 2
    rects = "".join(f'<rect x="{x0 + i * module_mm:.4f}" y="5" width="{n * module_mm:.4f}" height="15"/>'
                    for i, n in lg.dark_runs(row))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="58mm" height="40mm" viewBox="0 0 58 40">'
            f'<rect width="58" height="40" fill="#fff"/><g>{rects}</g>'
            f'<text x="5" y="30" font-family="DejaVu Sans" font-size="5">{value}</text></svg>').encode()


def _pdf(svg: bytes) -> bytes:
    import cairosvg

    return cairosvg.svg2pdf(bytestring=svg)


@pytest.mark.parametrize("module_mm", [0.10, 0.12, 0.14])
@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("kind", ["svg", "pdf"])
def test_thin_code128_is_redrawn_and_scans(kind: str, dpi: int, module_mm: float) -> None:
    rng = random.Random(f"{kind}{dpi}{module_mm}")
    for lang in ("zpl", "tspl", "escpos", "epl2"):
        value = lg.random_wb_barcode(rng)
        svg = thin_svg(value, module_mm)
        (label,) = convert_labels(svg if kind == "svg" else _pdf(svg), PrinterSpec(lang=lang, dpi=dpi))
        assert [(r.barcode.text, r.redrawn, r.verified) for r in label.barcodes] == [(value, True, True)]
        (back,) = render_back(lang, label.data, dpi)
        assert decode(back.image) == [value]
