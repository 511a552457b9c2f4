"""verify=fail refuses exactly what would not scan: a symbol printed turned 45° (a photographed or
scanned label) that zxing reads with its downscaled passes — as a scanner, seeing the print
coarser than the printer's dots, does — is not refused.

The whole-label read made before a refusal read the 1-bit raster at full resolution only: a
DataMatrix turned 45° with 6 px modules on a 300-dpi raster did not read there, and the label was
refused although zxing, and a scanner, read it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from printstation import PrinterSpec, convert_labels
from support.render_back import decode, render_back

pytestmark = pytest.mark.usefixtures("fresh_detection")

VALUE = "0104600439931256215Ab1CdEf"


def _turned_datamatrix(turn: float, module_px: int) -> bytes:
    import zxingcpp

    b = zxingcpp.create_barcode(VALUE, zxingcpp.BarcodeFormat.DataMatrix)
    m = np.asarray(b.to_image(scale=module_px, add_quiet_zones=False, add_hrt=False))
    im = Image.new("L", (580, 400), 255)
    im.paste(Image.fromarray(m), ((580 - m.shape[1]) // 2, (400 - m.shape[0]) // 2))
    buf = io.BytesIO()
    im.rotate(turn, resample=Image.Resampling.BICUBIC, fillcolor=255).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("lang", ["zpl", "tspl", "png"])
def test_a_45_degree_datamatrix_that_scans_is_not_refused(lang: str) -> None:
    (label,) = convert_labels(_turned_datamatrix(45, 6), PrinterSpec(lang=lang, dpi=300))
    assert [(r.redrawn, r.verified) for r in label.barcodes] == [(False, True)]
    assert decode(render_back(lang, label.data, 300)[0].image) == [VALUE]
