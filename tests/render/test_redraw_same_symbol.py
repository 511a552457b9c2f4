"""A redrawn 2-D symbol is the same symbol: same symbology identifier (GS1 stays GS1), same size
in modules (a rectangular DataMatrix stays rectangular), same error-correction level.

The redraw used to encode the decoded *bytes* again: zxing-cpp then takes binary mode, so an
8×32 DataMatrix came back 16×16 (and a 16×36 GS1 one 24×24), a version 1 GS1 QR came back as
version 2 — more modules in the same box, so fewer dots a module (an Ozon 75×120 mm label on
58×40 mm media was refused at 203 dpi) — and a GS1 DataMatrix (Честный знак marking codes, ]d2)
or GS1 QR (]Q3) came back as a plain one (]d1/]Q1) that a marking-code scanner rejects. The
source's error-correction level was never read (the README promised it), so an H-level QR came
back at the writer's default.
"""

from __future__ import annotations


import numpy as np
import pytest

from printstation import Media, PrinterSpec, convert_labels
from support.render_back import render_back


pytestmark = pytest.mark.usefixtures("fresh_detection")


def _symbol(fmt: str, content: str, **kw: object) -> np.ndarray:
    import zxingcpp

    b = zxingcpp.create_barcode(content, getattr(zxingcpp.BarcodeFormat, fmt), **kw)
    return np.asarray(b.to_image(scale=1, add_quiet_zones=False, add_hrt=False)) < 128


def _svg(m: np.ndarray, module_mm: float, size: tuple[float, float] = (58, 40), at: tuple[float, float] = (8, 5),
         extra: str = "") -> bytes:
    rects = extra + "".join(f'<rect x="{at[0] + c * module_mm:.4f}" y="{at[1] + r * module_mm:.4f}" '
                    f'width="{module_mm}" height="{module_mm}"/>' for r, c in zip(*np.nonzero(m)))
    w, h = size
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">'
            f'<rect width="{w}" height="{h}" fill="#fff"/><g shape-rendering="crispEdges">{rects}</g>'
            f'<text x="3" y="{h - 3}" font-family="DejaVu Sans" font-size="3">label</text></svg>').encode()


def _read(image: np.ndarray, fmt: str) -> list:
    import zxingcpp

    gray = np.pad(np.where(image, 0, 255).astype(np.uint8), 30, constant_values=255)
    return [r for r in zxingcpp.read_barcodes(gray) if r.valid and r.format.name == fmt]


def _source(m: np.ndarray, fmt: str):
    (r,) = _read(np.kron(m, np.ones((4, 4), bool)), fmt)
    return r


CASES = {
    "gs1-datamatrix": ("DataMatrix", "(01)04600439931256(21)Ab1CdEf(91)EE06(92)abcdEFGH", {"gs1": True}),
    "gs1-qr": ("QRCode", "(01)04600439931256(21)Ab1CdEf", {"gs1": True}),
    "rect-datamatrix": ("DataMatrix", "OZ1234567800011", {}),
    "qr-level-h": ("QRCode", "WB-GI-1234567890", {"ec_level": "H"}),
}


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("module_mm", [0.35, 0.5])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_redrawn_2d_symbol_is_the_same_symbol(case: str, module_mm: float, dpi: int) -> None:
    fmt, content, kw = CASES[case]
    m = _symbol(fmt, content, **kw)
    src = _source(m, fmt)
    (label,) = convert_labels(_svg(m, module_mm), PrinterSpec(lang="tspl", dpi=dpi))
    assert [r.redrawn for r in label.barcodes] == [True]
    (out,) = _read(render_back("tspl", label.data, dpi)[0].image, fmt)
    assert (out.symbology_identifier, out.bytes, out.extra.get("Version"), out.ec_level) == (
        src.symbology_identifier, src.bytes, src.extra.get("Version"), src.ec_level)
    # the same modules in the same box: never fewer whole dots than the source's module holds
    assert label.barcodes[0].module_dots >= int(module_mm * dpi / 25.4)


def test_an_ozon_label_with_a_rectangular_datamatrix_prints_on_58x40() -> None:
    import cairosvg

    from support import labelgen as lg

    m = _symbol("DataMatrix", "OZ1234567800011")
    bars = "".join(f'<rect x="{8 + i * 0.3:.2f}" y="20" width="{n * 0.3:.2f}" height="20"/>'
                   for i, n in lg.dark_runs(lg.modules("12345678-0001-1")[0]))
    pdf = cairosvg.svg2pdf(bytestring=_svg(m, 0.5, size=(75, 120), at=(25, 60), extra=bars))
    for lang in ("zpl", "tspl", "escpos", "epl2"):
        (label,) = convert_labels(pdf, PrinterSpec(lang=lang, media=Media(58, 40), dpi=203))
        image = render_back(lang, label.data, 203)[0].image
        assert [b.text for b in _read(image, "DataMatrix")] == ["OZ1234567800011"]
        assert [b.text for b in _read(image, "Code128")] == ["12345678-0001-1"]
