"""verify=fail refuses exactly what would not scan — also for a 2-D symbol shrunk to one dot a
module (a 100×150 mm label with a 0.33 mm DataMatrix fitted onto 40×30 mm media).

Such a symbol, redrawn one dot a module (1.75 mm across), read on its own tight crop, so the label
printed — but it does not read on the label (zxing's whole-label read, a scanner's view), and
it is far under any scanner's smallest module. A 2-D symbol drawn one dot a module is now proven
by the whole-label read only."""

from __future__ import annotations

import pytest

from printstation import Media, PrinterSpec, convert_labels
from printstation.errors import BarcodeVerifyError
from support import labelgen as lg
from support.render_back import decode, render_back

pytestmark = pytest.mark.usefixtures("fresh_detection")


def _page(fmt: str, value: str, module_mm: float, turn: int) -> bytes:
    import numpy as np
    import zxingcpp

    m = np.asarray(zxingcpp.create_barcode(value, getattr(zxingcpp.BarcodeFormat, fmt))
                   .to_image(scale=1, add_quiet_zones=False, add_hrt=False)) < 128
    x0 = (100 - m.shape[1] * module_mm) / 2
    rects = "".join(f'<rect x="{x0 + c * module_mm:.3f}" y="{22.5 + r * module_mm:.3f}" width="{module_mm}" '
                    f'height="{module_mm}"/>' for r, c in zip(*np.nonzero(m)))
    cx, cy = 50, 22.5 + m.shape[0] * module_mm / 2
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="150mm" viewBox="0 0 100 150">'
           f'<rect width="100" height="150" fill="#fff"/><g transform="rotate({turn},{cx},{cy:.2f})">{rects}</g>'
           f'<text x="3" y="147" font-family="DejaVu Sans" font-size="9">Label</text></svg>').encode()
    return lg.svg_to_png(svg, scale=2.646)  # 10 px/mm, like a WB PNG


@pytest.mark.parametrize("fmt,value", [("DataMatrix", "010460043993125625842"), ("QRCode", "WB-GI-7335288")])
@pytest.mark.parametrize("turn", [0, 270])
def test_a_shrunk_2d_symbol_is_refused_unless_it_reads_on_the_label(fmt: str, value: str, turn: int) -> None:
    data = _page(fmt, value, 0.33, turn)
    for lang in ("png", "tspl"):
        spec = PrinterSpec(lang=lang, media=Media(40, 30), dpi=203)
        try:
            (label,) = convert_labels(data, spec)
        except BarcodeVerifyError as exc:
            assert str(exc).startswith(f"barcode would not scan at 203 dpi: {fmt} ")
            (label,) = convert_labels(data, PrinterSpec(lang=lang, media=Media(40, 30), dpi=203, verify="warn"))
            assert value not in decode(render_back(lang, label.data, 203)[0].image)
        else:
            assert value in decode(render_back(lang, label.data, 203)[0].image)
