"""A bitmap's EXIF orientation is applied before it is placed: a phone photo or a scanner's JPEG
stored turned prints upright. The stored pixels are turned here with numpy (independent of
Pillow's ``exif_transpose``), and the label must print byte for byte what the upright picture
prints (PNG: lossless), or what its decoded pixels turned upright print (JPEG)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from printstation import Media, PrinterSpec, convert
from support import labelgen as lg
from support.render_back import decode, render_back

VALUE = "2041234567890"
SPEC = PrinterSpec(media=Media(58, 40), dpi=203)

#: EXIF orientation -> (stored pixels from upright ones, upright pixels from stored ones).
TURNS = {
    1: (lambda a: a, lambda a: a),
    2: (np.fliplr, np.fliplr),
    3: (lambda a: np.rot90(a, 2), lambda a: np.rot90(a, 2)),
    4: (np.flipud, np.flipud),
    5: (np.transpose, np.transpose),
    6: (lambda a: np.rot90(a, 1), lambda a: np.rot90(a, -1)),   # shown turned 90° clockwise
    7: (lambda a: np.rot90(a, 2).T, lambda a: np.rot90(a, 2).T),
    8: (lambda a: np.rot90(a, -1), lambda a: np.rot90(a, 1)),   # shown turned 90° counter-clockwise
}


def _save(pixels: np.ndarray, fmt: str, orientation: int | None = None) -> bytes:
    im = Image.fromarray(np.ascontiguousarray(pixels), "L")
    save: dict[str, object] = {"quality": 95} if fmt == "JPEG" else {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        save["exif"] = exif.tobytes()
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def _upright_pixels() -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(lg.wb_sticker_png(VALUE))).convert("L"))


@pytest.mark.parametrize("orientation", sorted(TURNS))
def test_a_png_stored_turned_prints_as_the_upright_png(orientation) -> None:
    upright = _upright_pixels()
    stored = TURNS[orientation][0](upright)
    turned = _save(stored, "PNG", orientation)
    assert Image.open(io.BytesIO(turned)).getexif()[0x0112] == orientation
    (label,) = convert(turned, SPEC)
    assert label == convert(_save(upright, "PNG"), SPEC)[0]
    if orientation != 1:  # the orientation is not ignored: the stored pixels print otherwise
        assert label != convert(_save(stored, "PNG"), SPEC)[0]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_jpeg_stored_turned_prints_upright_and_scans(orientation) -> None:
    stored = TURNS[orientation][0](_upright_pixels())
    jpeg = _save(stored, "JPEG", orientation)
    decoded = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"))  # no EXIF applied
    assert decoded.shape == stored.shape
    (label,) = convert(jpeg, SPEC)
    assert label == convert(_save(TURNS[orientation][1](decoded), "PNG"), SPEC)[0]
    (back,) = render_back("zpl", label, SPEC.dpi)
    assert back.image.shape == (SPEC.height_dots, SPEC.width_dots)
    assert VALUE in decode(back.image)
