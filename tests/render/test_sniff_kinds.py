"""Sniffing by content: every kind raw and base64, data: URLs, wrapped base64, ZPL streams, junk."""

from __future__ import annotations

import base64

import pytest

from printstation.errors import BadInput
from printstation.render.sniff import sniff, split_zpl
from support import cases
from support import labelgen as lg


def _inputs() -> dict[str, tuple[str, bytes]]:
    png = lg.wb_sticker_png("!Sn1ff001", size=(40, 30))
    return {
        "zpl": ("zpl", lg.wb_sticker_zpl("!Sn1ff001")),
        "svg": ("svg", lg.wb_sticker_svg("!Sn1ff001")),
        "png": ("png", png),
        "jpeg": ("jpeg", lg.reencode(png, "JPEG")),
        "bmp": ("bmp", lg.reencode(png, "BMP")),
        "pdf": ("pdf", cases.source("pdf100")[0]),
    }


@pytest.mark.parametrize("name", ["zpl", "svg", "png", "jpeg", "bmp", "pdf"])
def test_every_kind_raw_base64_and_data_url(name: str) -> None:
    kind, data = _inputs()[name]
    assert sniff(data) == sniff(data).__class__(kind, data, None)
    b = base64.b64encode(data)
    s = sniff(b)
    assert (s.kind, s.data, s.wrapped) == (kind, data, "base64")
    # WB-style: wrapped at 76 columns with CRLF, surrounding whitespace, data: URL form.
    folded = b"\r\n".join(b[i : i + 76] for i in range(0, len(b), 76))
    assert sniff(b"  \n" + folded + b"\n\n").data == data
    assert sniff(b"data:application/octet-stream;base64," + folded).data == data
    assert sniff(base64.urlsafe_b64encode(data)).data == data


def test_zpl_stream_with_several_formats_is_split_byte_for_byte() -> None:
    a, b = lg.wb_sticker_zpl("!One11111"), lg.wb_sticker_zpl("!Two22222")
    stream = b"\r\n" + a + b"\n" + b
    assert sniff(stream).kind == "zpl"
    parts = split_zpl(stream)
    assert len(parts) == 2 and parts[0].strip() == a.strip() and parts[1].strip() == b.strip()


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty input"),
    (b" \n\t ", "only whitespace"),
    (b"hello, this is not a label", "unrecognised label format"),
    (b"\x00\x01\x02binary junk" * 4, "unrecognised label format"),
    (base64.b64encode(b"just some text, not a label"), "decodes to an unrecognised format"),
    (b"iVBORw0KGgoAAAANSUhEUgAAA*BAD*", "unrecognised"),
    (b"data:image/png;base64,iVBORw0KGgo!!!", "corrupt base64"),
    (b"^XA^FO10,10^FDno end", "unrecognised"),
])
def test_unknown_or_corrupt_input_names_what_was_seen(data: bytes, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        sniff(data)
