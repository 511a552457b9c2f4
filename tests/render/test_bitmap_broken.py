"""A bitmap Pillow chokes on is BadInput with one line, whatever Pillow raises.

A GIF cut off right after an extension introducer (``!``) or an image separator (``,``) made
Pillow raise IndexError / struct.error while counting frames: the API broke its BadInput contract
and the CLI and the daemon said "conversion failed: IndexError" instead of naming the file."""

from __future__ import annotations

import pytest

from printstation import BadInput, PrinterSpec, convert
from support import labelgen as lg


@pytest.mark.parametrize("tail", [b"!", b","])
@pytest.mark.parametrize("lang", ["zpl", "png"])
def test_a_gif_cut_after_a_block_introducer_is_bad_input(tail: bytes, lang: str) -> None:
    gif = lg.reencode(lg.wb_sticker_png("!Abc123"), "GIF")
    assert gif.endswith(b";")
    with pytest.raises(BadInput) as err:
        convert(gif[:-1] + tail, PrinterSpec(lang=lang))
    msg = str(err.value)
    assert msg.startswith(f"broken GIF ({len(gif)} bytes): ") and "\n" not in msg
