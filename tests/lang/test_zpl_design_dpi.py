"""ZPL laid out for a 300-dpi printer prints as written on a 300-dpi printer.

Passthrough assumed every ZPL was laid out in 203-dpi dots (WB's ZPL is) and added ``^MUd,200,300``
for a 300-dpi printer, so a label a tool made *for* that printer — ``^PW1181^LL1772``, 100×150 mm
at 300 dpi, as ZebraDesigner or a carrier writes it — was scaled 1.5× and refused as "label layout
is 150×225 mm". A stream whose ``^PW`` (or ``^LL``) is the media in the printer's own dots is now
taken as laid out at the printer's resolution: no ``^MU``, measured as written."""

from __future__ import annotations

import pytest

from printstation import BadInput, Media, PrinterSpec, convert
from support.render_back import decode, zpl_native, zplrender_ready

Z300_4X6 = (b"^XA^PW1181^LL1772^FO60,60^BY3^BCN,200,Y,N,N^FDRU123456789CN^FS"
            b"^FO60,400^A0N,60,60^FDHello 300 dpi^FS^FO860,1450^BQN,2,8^FDLA,QR300^FS^XZ\r\n")
Z300_58X40 = b"^XA^PW685^LL472^FO40,40^BY3^BCN,160,N^FD!abcDE1234^FS^FO40,300^A0N,60,50^FD1234567^FS^XZ\n"
ZD300 = (b"CT~~CD,~CC^~CT~\r\n^XA~TA000~JSN^LT0^MNW^MTD^PON^PMN^LH0,0^JMA^PR4,4~SD15^JUS^LRN^CI0^XZ\r\n"
         b"^XA^MMT^PW1200^LL1800^LS0^FT70,320^BY4^BCN,220,Y,N,N^FD>;1234567890^FS^PQ1,0,1,Y^XZ\r\n")


@pytest.mark.parametrize("zpl,media", [(Z300_4X6, (100, 150)), (Z300_58X40, (58, 40)), (ZD300, (100, 150))])
def test_a_300_dpi_layout_passes_through_unscaled(zpl: bytes, media: tuple[int, int]) -> None:
    out = b"".join(convert(zpl, PrinterSpec(media=Media(*media), dpi=300)))
    assert b"^MU" not in out
    label = zpl[zpl.rindex(b"^XA^M" if zpl is ZD300 else b"^XA"):]
    assert out.endswith(label)  # the label format as written (a setup format before it gets ^PW/^LL)


def test_a_300_dpi_layout_is_still_too_big_for_203_dpi() -> None:
    with pytest.raises(BadInput, match="^label layout is"):
        convert(Z300_4X6, PrinterSpec(media=Media(100, 150), dpi=203))


@pytest.mark.parametrize("zpl,media", [
    (b"^XA^FO40,24^BY2^BCN,134,N,N,N^FD!abcDEF12^FS^FO24,198^A0N,48,40^FD1234567^FS^XZ\n", (58, 40)),  # WB zplv
    (b"^XA^PW812^LL1218^FO40,40^BY2^BCN,150,Y,N,N^FDRU123456789CN^FS^XZ\n", (100, 150)),  # a 4x6 at 203
])
def test_a_203_dpi_layout_is_still_scaled_for_300_dpi(zpl: bytes, media: tuple[int, int]) -> None:
    (out,) = convert(zpl, PrinterSpec(media=Media(*media), dpi=300))
    assert b"^MUd,200,300" in out


@pytest.mark.skipif(zplrender_ready() is not None, reason=str(zplrender_ready()))
def test_the_300_dpi_label_renders_and_scans_at_300_dpi() -> None:
    out = b"".join(convert(Z300_4X6, PrinterSpec(media=Media(100, 150), dpi=300)))
    (images,) = zpl_native([(out, 100, 150, 300)])
    assert decode(images[0]) == ["QR300", "RU123456789CN"]
