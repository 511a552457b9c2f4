"""Sniffing by content: every kind raw and base64, data: URLs, wrapped base64, ZPL streams, junk."""

from __future__ import annotations

import base64

import pytest

from printstation.errors import BadInput
from printstation.lang.zpl_tokens import split_zpl
from printstation.render.sniff import sniff
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


# ----------------------------------------------------------------------------- byte-order marks

BOMS = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}


def _with_bom(text: bytes, enc: str) -> bytes:
    return BOMS[enc] + text.decode("utf-8").encode(enc)


@pytest.mark.parametrize("enc", list(BOMS))
@pytest.mark.parametrize("name", ["zpl", "svg"])
def test_a_leading_bom_is_dropped_before_text_formats(name: str, enc: str) -> None:
    kind, data = _inputs()[name]
    if name == "zpl":
        data = data.replace(b"^CI28", b"^CI28^FO24,300^A0N,30,30^FD\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82^FS")
    s = sniff(_with_bom(data, enc))
    assert (s.kind, s.data, s.wrapped, s.bom) == (kind, data, None, enc)  # UTF-16 comes back as UTF-8


def test_utf16_svg_declaration_is_rewritten_to_utf8() -> None:
    svg = '<?xml version="1.0" encoding="UTF-16"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    s = sniff(b"\xff\xfe" + svg.encode("utf-16-le"))
    assert s.kind == "svg" and s.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


@pytest.mark.parametrize("enc", list(BOMS))
def test_bom_before_base64_text_and_inside_it(enc: str) -> None:
    _, zpl = _inputs()["zpl"]
    s = sniff(_with_bom(base64.b64encode(zpl), enc))
    assert (s.kind, s.data, s.wrapped) == ("zpl", zpl, "base64")
    # A Notepad file base64-wrapped as is: the mark is inside the base64.
    s = sniff(base64.b64encode(_with_bom(zpl, enc)))
    assert (s.kind, s.data, s.wrapped) == ("zpl", zpl, "base64")


@pytest.mark.parametrize(("data", "message"), [
    (b"\xef\xbb\xbf", "only a byte-order mark"),
    (b"\xef\xbb\xbf  \r\n", "only a byte-order mark"),
    (b"\xef\xbb\xbf" + b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "byte-order mark before PNG data"),
    (b"\xff\xfe\x00\xd8", "does not decode"),  # a lone UTF-16 surrogate
    (b"\xef\xbb\xbfhello, not a label", "unrecognised label format: starts with 'hello"),
])
def test_bom_before_anything_else_is_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        sniff(data)


def test_decode_text_reads_code_lists_with_or_without_a_bom() -> None:
    from printstation.render.sniff import decode_text

    lines = "# exported\nWB-GI-12345678\nPS:PAUSE\n"
    for data in (lines.encode(), _with_bom(lines.encode(), "utf-8"), _with_bom(lines.encode(), "utf-16-le"),
                 _with_bom(lines.encode(), "utf-16-be")):
        assert decode_text(data) == lines
    with pytest.raises(UnicodeDecodeError):
        decode_text(lines.encode("utf-16-le"))  # UTF-16 without its mark is not guessed
