"""``offset = [x, y]`` moves the print both ways (README: dots, + right / down; the calibration
label says "cut border: adjust offset"): a negative value — the image sits too far right or low —
is not written as ``^LH-16,0`` / ``REFERENCE -16,0`` / ``R-16,0`` (out of range for the printers:
ignored) but applied to the raster itself; ESC/POS, which has no offset command, gets the whole
offset in the raster; native ZPL moves left/up with ``^LS`` / ``^LT``. An offset that moves the
label off its media is a config error."""

from __future__ import annotations

import numpy as np
import pytest

from printstation import PrinterSpec, convert
from printstation.errors import UsageError
from printstation.face.config import loads
from support.labelgen import wb_sticker_png, wb_sticker_zpl
from support.render_back import decode, render_back


def _image(lang: str, offset: tuple[int, int]) -> np.ndarray:
    data = convert(wb_sticker_png("!offset1"), PrinterSpec(lang=lang, offset=offset))[0]
    return render_back(lang, data, 203)[0].image


def _shifted(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(img)
    h, w = img.shape
    src = img[max(0, -dy): h - max(0, dy), max(0, -dx): w - max(0, dx)]
    out[max(0, dy): max(0, dy) + src.shape[0], max(0, dx): max(0, dx) + src.shape[1]] = src
    return out


@pytest.mark.parametrize("lang", ["zpl", "tspl", "epl2", "escpos"])
def test_negative_offset_moves_the_raster_left_and_up(lang):
    base, moved = _image(lang, (0, 0)), _image(lang, (-16, -8))
    assert np.array_equal(moved, _shifted(base, -16, -8))
    assert decode(moved) == ["!offset1"]


@pytest.mark.parametrize("lang", ["zpl", "tspl", "epl2"])
def test_no_negative_offset_command_is_written(lang):
    data = convert(wb_sticker_png("!offset2"), PrinterSpec(lang=lang, offset=(-16, 8)))[0]
    assert b"-16" not in data
    assert {"zpl": b"^LH0,8", "tspl": b"REFERENCE 0,8", "epl2": b"R0,8"}[lang] in data


def test_escpos_gets_the_whole_offset_in_the_raster():
    base, moved = _image("escpos", (0, 0)), _image("escpos", (24, 0))
    assert np.array_equal(moved, _shifted(base, 24, 0))


def test_native_zpl_moves_left_and_up_with_ls_and_lt():
    out = convert(wb_sticker_zpl("!offset3"), PrinterSpec(lang="zpl", offset=(-16, -8)))[0]
    assert b"^LS16" in out and b"^LT-8" in out and b"^LH" not in out
    out = convert(wb_sticker_zpl("!offset3"), PrinterSpec(lang="zpl", offset=(16, 8)))[0]
    assert b"^LH16,8" in out and b"^LS" not in out


@pytest.mark.parametrize("offset", ["[99999, 0]", "[0, -400]", "[-464, 0]"])
def test_offset_off_the_media_is_a_config_error(offset):
    with pytest.raises(UsageError) as ei:
        loads(f'[[printers]]\nname = "p"\nuri = "tcp://10.0.0.5"\nmedia = "58x40"\noffset = {offset}\n')
    assert str(ei.value).startswith("printers[0].offset:"), ei.value
