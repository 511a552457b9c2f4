"""Our own Ozon returns label: drawn for the media, converted like any label, its Code128 read
back from the printer bytes (rendered independently) and decoded to the article."""

from __future__ import annotations

import numpy as np
import pytest

from printstation import Media, PrinterSpec, convert_labels
from printstation.errors import BadInput
from printstation.render.returns_label import fit_text, return_date, returns_label_svg, text_width, wrap
from support.render_back import decode, render_back

RET = {"id": 900000123, "product_offer_id": "ART-123456-XL", "posting_number": "87654321-0012-3",
       "product_name": "Платье летнее, хлопок, размер 44 — очень длинное название товара",
       "return_reason_name": "Не подошёл размер", "return_date": "2026-11-21T08:30:00Z", "sku": 123456789}


@pytest.mark.parametrize("lang,dpi", [("tspl", 203), ("tspl", 300), ("zpl", 203), ("zpl", 300),
                                      ("epl2", 203), ("epl2", 300), ("escpos", 203)])
@pytest.mark.parametrize("media", ["58x40", "40x30", "100x150", "75x120"])
def test_barcode_decodes_to_the_article_on_every_media(lang, media, dpi):
    spec = PrinterSpec(lang=lang, media=Media.parse(media), dpi=dpi)
    svg = returns_label_svg(RET, spec)
    (label,) = convert_labels(svg, spec)
    assert [(b.barcode.text, b.verified) for b in label.barcodes] == [("ART-123456-XL", True)]
    (back,) = render_back(lang, label.data, dpi)
    assert decode(back.image) == ["ART-123456-XL"]
    h, w = back.image.shape
    assert h == spec.height_dots and w >= spec.width_dots - 8  # ESC/POS rows are whole bytes


@pytest.mark.parametrize("offer", ["12345678901234", "a", "SKU/42 x", "x" * 12 + "-" + "9" * 6])
def test_various_articles(offer):
    spec = PrinterSpec(lang="tspl", media=Media(40, 30), dpi=203)
    (label,) = convert_labels(returns_label_svg(dict(RET, product_offer_id=offer), spec), spec)
    (back,) = render_back("tspl", label.data, 203)
    assert decode(back.image) == [offer]


def test_cyrillic_is_drawn_not_tofu():
    """Two different Cyrillic names draw different glyphs (missing glyphs would be equal boxes)."""
    spec = PrinterSpec(lang="tspl", media=Media(58, 40), dpi=203)
    a = convert_labels(returns_label_svg(dict(RET, product_name="Жук"), spec), spec)[0].raster
    b = convert_labels(returns_label_svg(dict(RET, product_name="Шар"), spec), spec)[0].raster
    c = convert_labels(returns_label_svg(dict(RET, product_name="Жук"), spec), spec)[0].raster
    assert np.array_equal(a, c) and not np.array_equal(a, b)
    assert text_width("Жук", 10) > 10  # DejaVu found: real advance widths


def test_escaping_and_control_characters():
    spec = PrinterSpec(lang="tspl", media=Media(58, 40), dpi=203)
    svg = returns_label_svg(dict(RET, product_name='<b>&"x"</b>\x00\x1b', return_reason_name="a\nb"), spec)
    assert b"<b>" not in svg and b"&lt;b&gt;&amp;" in svg and b"\x00" not in svg
    convert_labels(svg, spec)


def test_refusals_are_clear():
    small = PrinterSpec(lang="tspl", media=Media(40, 30), dpi=203)
    with pytest.raises(BadInput, match="no product_offer_id"):
        returns_label_svg(dict(RET, product_offer_id=""), small)
    with pytest.raises(BadInput, match="too long for a Code128"):
        returns_label_svg(dict(RET, product_offer_id="ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijkl"), small)
    with pytest.raises(BadInput, match="cannot encode 'АРТ-1' as Code128"):
        returns_label_svg(dict(RET, product_offer_id="АРТ-1"), small)
    with pytest.raises(BadInput, match="too small"):
        returns_label_svg(RET, PrinterSpec(lang="tspl", media=Media(20, 10), dpi=203))


def test_text_helpers():
    assert return_date("2026-11-21T08:30:00Z") == "21.11.2026" and return_date("вчера") == "вчера"
    assert fit_text("короткий", 10, 1000) == "короткий"
    long = fit_text("очень длинный текст " * 5, 10, 200)
    assert long.endswith("…") and text_width(long, 10) <= 200
    lines = wrap("одно два три четыре пять шесть семь восемь", 10, 150, 2)
    assert len(lines) == 2 and all(text_width(t, 10) <= 150 for t in lines)
