"""Barcodes drawn in a colour or a light gray print black and scan.

A thermal printer prints black or nothing. A Code128 drawn in orange (luminance ≈ 151) or light
gray (176) is found on the source by zxing, but the plain threshold (128) leaves its bars white:
the redraw must read the module pattern at the symbol's own ink/paper contrast, not at 128, and
draw it black. With ``--barcodes keep`` the plain render has no bars, and verify=fail refuses it.
"""

from __future__ import annotations

import random

import pytest

from printstation import Media, PrinterSpec, convert_labels
from printstation.errors import BarcodeVerifyError
from printstation.render import barcodes
from support import labelgen as lg
from support.render_back import decode, render_back

COLOURS = {"orange": "#ff8000", "lightgray": "#b0b0b0", "teal": "#40a0a0"}


pytestmark = pytest.mark.usefixtures("fresh_detection")


def _coloured_sticker(value: str, colour: str, size: tuple[int, int]) -> bytes:
    svg = lg.wb_sticker_svg(value, size=size).decode()
    return svg.replace('<g fill="#000">', f'<g fill="{colour}">').encode()


def _coloured_qr(value: str, colour: str) -> bytes:
    return lg.qr_svg(value, module_px=7).decode().replace('<g fill="black"', f'<g fill="{colour}"').encode()


@pytest.mark.parametrize("lang", ["zpl", "tspl", "escpos", "epl2", "png"])
@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("colour", sorted(COLOURS))
def test_coloured_code128_prints_black_and_scans(lang: str, dpi: int, colour: str) -> None:
    rng = random.Random(f"{lang}{dpi}{colour}")
    for size in ((40, 30), (58, 40)):  # a PNG sticker, an SVG sticker
        value = lg.random_wb_barcode(rng)
        spec = PrinterSpec(lang=lang, media=Media(*size), dpi=dpi)
        svg = _coloured_sticker(value, COLOURS[colour], size)
        labels = convert_labels(svg if size[0] == 58 else lg.svg_to_png(svg), spec)
        assert len(labels) == 1 and [r.redrawn for r in labels[0].barcodes] == [True]
        (back,) = render_back(lang, labels[0].data, dpi)
        assert value in decode(back.image)


@pytest.mark.parametrize("colour", sorted(COLOURS))
def test_coloured_qr_prints_black_and_scans(colour: str) -> None:
    value = "WB-GI-12345678"
    for dpi in (203, 300):
        labels = convert_labels(_coloured_qr(value, COLOURS[colour]), PrinterSpec(lang="tspl", dpi=dpi))
        (back,) = render_back("tspl", labels[0].data, dpi)
        assert value in decode(back.image)


def test_coloured_code128_kept_as_rendered_is_refused() -> None:
    svg = _coloured_sticker("!Ab12Cd34", COLOURS["orange"], (58, 40))
    with pytest.raises(BarcodeVerifyError, match="barcode would not scan at 203 dpi: Code128 '!Ab12Cd34'"):
        convert_labels(svg, PrinterSpec(barcodes="keep"))


def test_low_contrast_code128_is_always_found() -> None:
    """zxing misses some orange/light-gray symbols at their own contrast (here 1 in 40 stickers at
    40×30 mm, 300 dpi): the linear pass reads such a label again with its light ink darkened."""
    rng = random.Random(3)
    spec = PrinterSpec(lang="png", media=Media(40, 30), dpi=300)
    for _ in range(40):
        value = lg.random_wb_barcode(rng)
        for colour in ("#ff8000", "#b0b0b0"):
            barcodes._DETECTED.clear()
            (label,) = convert_labels(_coloured_sticker(value, colour, (40, 30)), spec)
            assert [(r.barcode.text, r.redrawn) for r in label.barcodes] == [(value, True)]
