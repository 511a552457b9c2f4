"""A PDF pdfium cannot draw is refused with a reason that says something (pdfium's own
exception is often empty: the job used to read "PDF page 1 could not be drawn:")."""

from __future__ import annotations

import pytest

from printstation import BadInput, Media, PrinterSpec, convert
from support.pdfgen import minimal_pdf


def _pdf(mediabox: str) -> bytes:
    return minimal_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                        f"<< /Type /Page /Parent 2 0 R /MediaBox [{mediabox}] >>".encode()])


def test_a_page_too_large_to_draw_has_a_reason() -> None:
    with pytest.raises(BadInput) as err:
        convert(_pdf("0 0 14400000 14400000"), PrinterSpec(media=Media(58, 40)))
    msg = str(err.value)
    assert msg.startswith("PDF page 1 (1.44e+07×1.44e+07 pt)")
    assert not msg.rstrip().endswith(":") and "\n" not in msg
