"""ZPL files joined together (``cat *.zpl``, ``copy /b a.zpl+b.zpl``), each saved with a byte-order
mark by Notepad or a Windows label tool: the marks of the second and later files sit between the
formats. Passthrough keeps the bytes between formats, and kept those marks too — the README and
issue 20 promise the printer never gets one (it prints them as text). A U+FEFF inside a field's
data is data and stays."""

from __future__ import annotations

import pytest

from printstation import Media, PrinterSpec, convert
from support.render_back import decode, zpl_native, zplrender_ready

BOM = "\ufeff"
FORMATS = ["^XA^FO40,40^BY2^BCN,100,N^FDAAA111^FS^XZ", "^XA^FO40,40^BY2^BCN,100,N^FDBBB222^FS^XZ"]


@pytest.mark.parametrize("enc", ["utf-8", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("eol", ["\r\n", "\n", ""])
def test_marks_between_joined_files_never_reach_the_printer(enc: str, eol: str) -> None:
    files = [(BOM + f + eol).encode(enc) for f in FORMATS]
    out = convert(b"".join(files), PrinterSpec(media=Media(58, 40), copies=2, darkness=12))
    stream = b"".join(out)
    assert b"\xef\xbb\xbf" not in stream and b"\xff\xfe" not in stream and b"\xfe\xff" not in stream
    assert len(out) == 2
    # (the line end after a format goes with the next one; the last one's stays at the end)
    assert out[0] == f"~SD12\n^XA^PW464^LL320{FORMATS[0][3:-3]}^PQ2^XZ".encode()
    assert out[1] == f"{eol}^XA^PW464^LL320{FORMATS[1][3:-3]}^PQ2^XZ{eol}".encode()


def test_a_mark_inside_field_data_is_kept() -> None:
    zpl = f"\ufeff^XA^CI28^FO20,20^A0N,30,30^FDa{BOM}b^FS^XZ\n{BOM}^XA^FO20,20^A0N,30,30^FDc^FS^XZ".encode()
    out = convert(zpl, PrinterSpec())
    assert out[0] == f"^XA^PW464^LL320^CI28^FO20,20^A0N,30,30^FDa{BOM}b^FS^XZ".encode()
    assert out[1] == b"\n^XA^PW464^LL320^FO20,20^A0N,30,30^FDc^FS^XZ"


@pytest.mark.skipif(zplrender_ready() is not None, reason=str(zplrender_ready()))
def test_joined_files_render_and_scan() -> None:
    files = [(BOM + f + "\r\n").encode("utf-8") for f in FORMATS]
    stream = b"".join(convert(b"".join(files), PrinterSpec()))
    (images,) = zpl_native([(stream, 58, 40, 203)])
    assert [decode(im) for im in images] == [["AAA111"], ["BBB222"]]
