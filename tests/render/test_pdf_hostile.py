"""Hostile or broken PDFs: one clear BadInput each, never pdfium's own exception.

A page tree whose /Kids point back at itself makes pdfium fail to load the page (it raised
``PdfiumError: Failed to load page.``, so the API broke its BadInput contract and the CLI said
"conversion failed: PdfiumError"); a PDF with a user password said "broken PDF … Incorrect
password error" instead of saying it is password-protected.
"""

from __future__ import annotations

import io

import pytest

from printstation import BadInput, PrinterSpec, convert
from support import labelgen as lg
from support.pdfgen import minimal_pdf


@pytest.mark.parametrize("lang", ["zpl", "tspl"])
def test_a_page_tree_that_loops_is_bad_input(lang: str) -> None:
    pdf = minimal_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"])
    with pytest.raises(BadInput) as err:
        convert(pdf, PrinterSpec(lang=lang))
    assert str(err.value) == "PDF page 1 could not be loaded (a broken page tree or page object)"


def test_a_page_that_is_not_a_page_is_bad_input() -> None:
    pdf = minimal_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Font >>"])
    with pytest.raises(BadInput, match="^PDF page 1 could not be loaded"):
        convert(pdf, PrinterSpec())


def _encrypted(user: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(lg.pdf_label("RU123456789CN"))))
    w.encrypt(user_password=user, owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_a_password_protected_pdf_says_so() -> None:
    with pytest.raises(BadInput) as err:
        convert(_encrypted("secret"), PrinterSpec())
    assert str(err.value) == "PDF is password-protected: save it without a password to print it"


def test_an_owner_password_only_pdf_prints() -> None:
    """Encrypted with an empty user password (print allowed, editing locked): opens and prints."""
    from support.render_back import decode, zpl_raster

    from printstation import Media

    (label,) = convert(_encrypted(""), PrinterSpec(media=Media(100, 150)))
    assert "RU123456789CN" in decode(zpl_raster(label)[0].image)
