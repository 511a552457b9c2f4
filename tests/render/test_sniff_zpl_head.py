"""ZPL whose first ``^XA`` comes after a long graphic download or many blank lines is ZPL.

Label tools download their logos first (``~DGR:LOGO.GRF,…`` with kilobytes of hex, ``~DY``) and
only then send the format; sniffing looked for ``^XA`` in the first 4 KiB only and refused such a
file as "unrecognised label format: starts with '~DGR:LOGO.GRF,…'"."""

from __future__ import annotations

import pytest

from printstation import BadInput, Media, PrinterSpec, convert
from printstation.render.sniff import sniff
from support.render_back import decode, zpl_native, zplrender_ready

LABEL = b"^XA^FO20,20^XGR:LOGO.GRF,1,1^FS^FO40,300^BY2^BCN,80,N^FDDG12345^FS^XZ\r\n"


def _download(rows: int) -> bytes:
    return f"~DGR:LOGO.GRF,{rows * 25},25,".encode() + b"FF00" * (rows * 25 // 2) + b"\r\n"


@pytest.mark.parametrize("head", [
    _download(120),  # 6 KB of hex before the format
    b"CT~~CD,~CC^~CT~\r\n" + _download(120),  # ZebraDesigner's prefix first
    b"\r\n" * 3000,  # blank lines
    b"^FX a comment\r\n" * 400 + b"^XZ\r\n",  # comments (and an orphan ^XZ) before the first format
])
def test_zpl_with_its_first_format_past_4_kib_is_zpl(head: bytes) -> None:
    data = head + LABEL
    assert data.find(b"^XA") > 4096
    assert sniff(data).kind == "zpl"
    out = convert(data, PrinterSpec(media=Media(100, 150)))
    assert out[-1].endswith(LABEL[3:])


def test_text_before_a_late_format_is_still_not_zpl() -> None:
    with pytest.raises(BadInput, match="unrecognised label format"):
        sniff(b"Dear customer,\r\n" * 400 + LABEL)


@pytest.mark.skipif(zplrender_ready() is not None, reason=str(zplrender_ready()))
def test_the_downloaded_logo_label_renders_and_scans() -> None:
    out = b"".join(convert(_download(120) + LABEL, PrinterSpec(media=Media(100, 150))))
    (images,) = zpl_native([(out, 100, 150, 203)])
    assert decode(images[-1]) == ["DG12345"]
