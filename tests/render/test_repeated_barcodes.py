"""The same linear barcode printed twice, one above the other (shipping labels repeat the tracking
number; two vertical copies side by side are the same thing turned): zxing reports such a pair as
one symbol whose box spans both and the gap between. It was then neither redrawn (the box's middle
row is the white gap) nor counted twice: on small media the plain render did not scan and the
label was refused. Each copy is now found, redrawn and verified on its own."""

from __future__ import annotations


import numpy as np
import pytest

from printstation import Media, PrinterSpec, convert_labels
from support import labelgen as lg
from support.render_back import render_back


pytestmark = pytest.mark.usefixtures("fresh_detection")


def _bars(fmt: str, value: str, x: float, y: float, module: float, height: float, turn: int = 0) -> str:
    row = lg.modules(value, fmt)[0]
    rects = "".join(f'<rect x="{x + i * module:.3f}" y="{y}" width="{n * module:.3f}" height="{height}"/>'
                    for i, n in lg.dark_runs(row))
    if turn:
        w = len(row) * module
        rects = f'<g transform="rotate({turn},{x + w / 2:.3f},{y + height / 2:.3f})">{rects}</g>'
    return rects


def _label(w: float, h: float, body: str) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">'
            f'<rect width="{w}" height="{h}" fill="#fff"/>{body}'
            f'<text x="3" y="{h - 3}" font-family="DejaVu Sans" font-size="4">RU12345678CN</text></svg>').encode()


LABELS = {
    "stacked-code128": (_label(75, 120, _bars("Code128", "RU12345678CN", 8, 10, 0.3, 15)
                                     + _bars("Code128", "RU12345678CN", 8, 40, 0.3, 15)), "Code128", "RU12345678CN"),
    "vertical-pair": (_label(75, 120, _bars("Code128", "RU12345678CN", 5, 40, 0.3, 12, 90)
                                   + _bars("Code128", "RU12345678CN", 30, 40, 0.3, 12, 90)), "Code128", "RU12345678CN"),
    "stacked-ean13": (_label(75, 120, _bars("EAN13", "4600439931256", 8, 10, 0.33, 15)
                                   + _bars("EAN13", "4600439931256", 8, 40, 0.33, 15)), "EAN13", "4600439931256"),
}


def _pieces(image: np.ndarray, axis: int) -> list[np.ndarray]:
    """``image`` cut across ``axis`` at white bands of at least 24 lines (wider than any space
    between bars: 4 modules of at most 5 dots)."""
    inked = image.any(axis=1 - axis)
    out, start, white = [], None, 0
    for i, ink in enumerate(inked.tolist() + [False] * 24):
        if ink:
            start = i if start is None else start
            white = 0
        elif start is not None:
            white += 1
            if white == 24:
                out.append(image[start : i - 23] if axis == 0 else image[:, start : i - 23])
                start = None
    return out


def _reads(image: np.ndarray, fmt: str) -> list[str]:
    """Each copy read on its own piece of the label (one zxing read would merge stacked copies)."""
    import zxingcpp

    best: list[str] = []
    for axis in (0, 1):  # copies one above the other, or side by side
        texts = []
        for piece in _pieces(image, axis):
            gray = np.pad(np.where(piece, 0, 255).astype(np.uint8), 24, constant_values=255)
            texts += [r.text for r in zxingcpp.read_barcodes(gray, formats=getattr(zxingcpp.BarcodeFormat, fmt))
                      if r.valid]
        best = max(best, texts, key=len)
    return best


@pytest.mark.parametrize("media", [(100, 150), (58, 40)])
@pytest.mark.parametrize("name", sorted(LABELS))
def test_each_copy_is_redrawn_and_scans(name: str, media: tuple[int, int]) -> None:
    svg, fmt, value = LABELS[name]
    for lang, dpi in (("zpl", 203), ("tspl", 300), ("escpos", 203), ("epl2", 300)):
        (label,) = convert_labels(svg, PrinterSpec(lang=lang, media=Media(*media), dpi=dpi))
        assert [(r.barcode.text, r.redrawn, r.verified) for r in label.barcodes] == [(value, True, True)] * 2
        (back,) = render_back(lang, label.data, dpi)
        assert _reads(back.image, fmt) == [value, value]
