"""Detection cached by layout (issue 19): stickers of one batch share a layout (same geometry, the
Code128 value differs); the 2-D pass is skipped only when its input is pixel for pixel the one it
answered for, and every value is read again from the label's own pixels."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from printstation import Media, PrinterSpec, convert_labels
from printstation.render import barcodes
from support import labelgen as lg
from support.render_back import decode, render_back

SPEC = PrinterSpec(lang="zpl", media=Media(58, 40), dpi=203)


@pytest.fixture(autouse=True)
def _fresh():
    sys.modules["printstation.pipeline"]._CACHE.clear()
    barcodes._DETECTED.clear()
    barcodes._LAYOUTS.clear()
    yield
    barcodes._LAYOUTS.clear()


@pytest.fixture
def matrix_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Shapes of the 2-D pass reads."""
    calls: list[tuple[int, int]] = []
    real = barcodes.read

    def spy(gray, **kw):
        if kw.get("formats") == barcodes.MATRIX_FORMATS:
            calls.append(gray.shape)
        return real(gray, **kw)

    monkeypatch.setattr(barcodes, "read", spy)
    return calls


def _found(data: bytes) -> list[tuple[str, str]]:
    label = convert_labels(data, SPEC)[0]
    return sorted((r.barcode.format, r.barcode.text) for r in label.barcodes)


def _printed(data: bytes) -> list[str]:
    label = convert_labels(data, SPEC)[0]
    return decode(render_back("zpl", label.data, SPEC.dpi)[0].image)


def test_batch_of_stickers_skips_the_2d_pass_and_reads_every_value(matrix_reads) -> None:
    values = ["!Batch0001", "!Batch0002", "!Zz9Zz9Zz9Q"]
    for i, v in enumerate(values):
        assert _printed(lg.wb_sticker_png(v)) == [v]
        if i == 0:
            first = len(matrix_reads)
            assert first >= 1
    assert len(matrix_reads) == first  # stickers 2 and 3: the same 2-D pass input, not read again


def test_a_changed_2d_symbol_is_read_again(matrix_reads) -> None:
    a = lg.two_barcode_svg("!SameCode1", "WB-GI-11111111")
    b = lg.two_barcode_svg("!SameCode1", "WB-GI-22222222")
    assert _found(a) == [("Code128", "!SameCode1"), ("QRCode", "WB-GI-11111111")]
    n = len(matrix_reads)
    assert _found(b) == [("Code128", "!SameCode1"), ("QRCode", "WB-GI-22222222")]
    assert len(matrix_reads) > n


def test_ink_outside_the_bars_is_read_again(matrix_reads) -> None:
    """The same sticker with a QR code pasted into its blank corner: same size, same Code128 —
    the new symbol is found, redrawn and verified."""
    plain = lg.wb_sticker_png("!Corner001")
    im = Image.open(io.BytesIO(plain)).convert("L")
    q = lg.modules("WB-QR-123", "QRCode")
    qr = Image.fromarray(np.where(np.kron(q, np.ones((3, 3), bool)), 0, 255).astype(np.uint8))
    im.paste(qr, (im.width - qr.width - 12, im.height - qr.height - 8))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    assert _found(plain) == [("Code128", "!Corner001")]
    n = len(matrix_reads)
    label = convert_labels(buf.getvalue(), SPEC)[0]
    assert sorted((r.barcode.format, r.barcode.text, r.verified) for r in label.barcodes) == [
        ("Code128", "!Corner001", True), ("QRCode", "WB-QR-123", True)]
    assert len(matrix_reads) > n


def test_layouts_kept_are_bounded() -> None:
    for size in ((58, 40), (40, 30), (58, 30), (50, 40), (60, 40), (75, 120)):
        convert_labels(lg.wb_sticker_png("!Bounded01", size=size), SPEC)
    assert 0 < len(barcodes._LAYOUTS) <= barcodes.LAYOUTS_KEPT
