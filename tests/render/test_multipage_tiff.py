"""A multi-page TIFF is a document: every page is a label, like a PDF's pages.

Carrier and fax-style tools save a batch of labels as one multi-page TIFF; only its first page
used to print, silently dropping the rest. An animated GIF is not a document: its first frame
is the picture.
"""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from printstation import BadInput, Media, PrinterSpec, convert_labels
from support import labelgen as lg
from support.render_back import decode, render_back


def _frames(values: list[str]) -> list[Image.Image]:
    return [Image.open(io.BytesIO(lg.wb_sticker_png(v, size=(58, 40)))).convert("L") for v in values]


def _tiff(frames: list[Image.Image], **save: object) -> bytes:
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], **save)
    return buf.getvalue()


@pytest.mark.parametrize("lang", ["zpl", "tspl", "escpos", "epl2", "png"])
def test_every_page_of_a_tiff_is_a_label(lang: str) -> None:
    rng = random.Random(lang)
    values = [lg.random_wb_barcode(rng) for _ in range(3)]
    frames = _frames(values)
    if lang == "zpl":  # a fax-style 1-bit document
        tiff = _tiff([f.convert("1", dither=Image.Dither.NONE) for f in frames], compression="group4")
    else:
        tiff = _tiff(frames, compression="tiff_lzw")
    labels = convert_labels(tiff, PrinterSpec(lang=lang, media=Media(58, 40)))
    assert [label.page for label in labels] == [0, 1, 2]
    for label, value in zip(labels, values):
        (back,) = render_back(lang, label.data, 203)
        assert decode(back.image) == [value]


def test_a_tiff_with_more_pages_than_the_limit_is_refused() -> None:
    tiff = _tiff(_frames(["!AAAA1111", "!BBBB2222", "!CCCC3333"]))
    with pytest.raises(BadInput, match="^TIFF has 3 pages, more than the limit of 2$"):
        convert_labels(tiff, PrinterSpec(max_pages=2))


def test_a_blank_tiff_page_is_refused_by_its_number() -> None:
    frames = _frames(["!AAAA1111"]) + [Image.new("L", (580, 400), 255)]
    with pytest.raises(BadInput, match="^page 2 renders blank"):
        convert_labels(_tiff(frames), PrinterSpec())


def test_an_animated_gif_prints_its_first_frame_once() -> None:
    frames = [f.convert("P") for f in _frames(["!GIF1frame", "!GIF2frame"])]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    (label,) = convert_labels(buf.getvalue(), PrinterSpec(lang="png"))
    assert decode(render_back("png", label.data, 203)[0].image) == ["!GIF1frame"]
