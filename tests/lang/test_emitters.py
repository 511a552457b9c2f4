"""Emitter and engine behaviour: ACS/Z64, passthrough, pages, rotation, fit, threshold, dither,
TSPL invert, ESC/POS cut, copies — always checked through the independent render-back."""

from __future__ import annotations

import base64
import random
import zlib

import numpy as np
import pytest

from printstation import Media, PrinterSpec, convert, convert_labels
from printstation.lang import zpl
from printstation.lang.bits import pack_rows
from support import cases
from support import labelgen as lg
from support import render_back as rb


def _raster(seed: int, h: int = 97, w: int = 208) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.zeros((h, w), bool)
    a[:, 10:40] = True                       # long runs (G–Y / g–z counts)
    a[20:30, :] = True                       # full black rows ('!')
    a[40:50] = rng.random((10, w)) < 0.5     # noise
    a[60:62, 5:9] = True
    a[70:72, :180] = True                    # runs ≥ 20 digits (g–z counts)
    return a                                 # identical rows (':'), blank rows (',')


@pytest.mark.parametrize("seed", range(5))
def test_acs_roundtrip_and_zebrafy_agrees(seed: int) -> None:
    a = _raster(seed)
    data, bpr, rows = pack_rows(a)
    text = zpl.acs_encode(data, bpr)
    assert zpl.acs_decode(text, bpr) == data
    assert {":", ",", "!"} <= set(text) and any(c in text for c in "ghijklmnopqrstuvwxyz")
    assert len(text) < len(data) * 2
    # An independent decoder (zebrafy) reads the same field back.
    back = rb.zpl_raster(zpl.emit(a, PrinterSpec(zpl_compress="acs", media=Media(58, 40))))[0]
    assert np.array_equal(back.image[: a.shape[0], : a.shape[1]], a)
    # Rows whose width is not a whole byte: padding bits stay white.
    b = a[:, :203]
    data, bpr, _ = pack_rows(b)
    assert zpl.acs_decode(zpl.acs_encode(data, bpr), bpr) == data


def test_z64_crc_and_payload() -> None:
    data = bytes(range(256)) * 7
    field = zpl.z64_encode(data)
    _, kind, b64, crc = field.split(":")
    assert kind == "Z64" and zlib.decompress(base64.b64decode(b64)) == data
    # CRC-16/XMODEM of the base64 text (check value of "123456789" is 0x31C3).
    assert zpl.crc16(b"123456789") == "31C3"
    assert crc == zpl.crc16(b64.encode())
    assert zpl.z64_decode(field) == data
    with pytest.raises(ValueError, match="CRC"):
        zpl.z64_decode(field[:-4] + ("0000" if crc != "0000" else "FFFF"))


@pytest.mark.parametrize("compress", ["z64", "acs", "hex", "auto"])
def test_every_zpl_compression_prints_the_same_label(compress: str) -> None:
    data = lg.wb_sticker_png("!Cmp12345")
    spec = PrinterSpec(zpl_compress=compress)
    label = convert_labels(data, spec)[0]
    back = rb.zpl_raster(label.data)[0]
    assert np.array_equal(back.image, label.raster)
    if compress != "auto":
        assert back.header["compress"] == [compress]
    assert rb.decode(back.image) == ["!Cmp12345"]


def test_auto_compression_is_the_smaller() -> None:
    data = lg.wb_sticker_png("!Sml00001")
    sizes = {c: len(convert(data, PrinterSpec(zpl_compress=c))[0]) for c in ("z64", "acs", "auto")}
    assert sizes["auto"] == min(sizes["z64"], sizes["acs"])


def test_passthrough_adds_only_what_the_printer_needs() -> None:
    src = lg.wb_sticker_zpl("!Pas55555")
    spec = PrinterSpec(copies=3, darkness=18, offset=(8, 4))
    out = convert(src, spec)
    assert len(out) == 1
    body = src.strip()[3:]  # after ^XA
    assert src.endswith(b"^XZ\n")  # what follows ^XZ is kept byte for byte
    assert out[0] == b"~SD18\n^XA^PW464^LL320^LH8,4" + body[:-3] + b"^PQ3^XZ\n"
    # A format that already has ^PW/^LL/^PQ keeps its own ^PW/^LL; only the quantity changes.
    own = b"^XA^PW400^LL300^FO10,10^BY2^BCN,80,N^FD!Own12345^FS^PQ1,0,1,Y^XZ"
    assert convert(own, PrinterSpec(copies=2)) == [b"^XA^PW400^LL300^FO10,10^BY2^BCN,80,N^FD!Own12345^FS^PQ2,0,1,Y^XZ"]
    assert convert(own, PrinterSpec()) == [own]


def test_several_zpl_formats_become_several_labels() -> None:
    stream = lg.wb_sticker_zpl("!Aaa11111") + lg.wb_sticker_zpl("!Bbb22222")
    out = convert(stream, PrinterSpec())
    assert len(out) == 2 and b"!Aaa11111" in out[0] and b"!Bbb22222" in out[1]


@pytest.mark.parametrize("lang", cases.LANGS)
def test_multipage_pdf_gives_one_label_per_page_in_order(lang: str) -> None:
    data, want = cases.source("pdfmulti")
    spec = PrinterSpec(lang=lang, media=Media(100, 150))
    labels = convert(data, spec)
    assert len(labels) == 3
    for blob, w in zip(labels, want):
        assert rb.decode(rb.render_back(lang, blob, spec.dpi)[0].image) == list(w)


def _ink_box(img: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(img)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_rotate_auto_turns_portrait_pdf_onto_landscape_media_and_back() -> None:
    data = cases.source("pdf100")[0]  # portrait 100×150 page
    land = convert_labels(data, PrinterSpec(media=Media(58, 40), rotate="auto", lang="png"))[0]
    port = convert_labels(data, PrinterSpec(media=Media(100, 150), rotate="auto", lang="png"))[0]
    assert land.raster.shape == (320, 464) and port.raster.shape == (1199, 799)
    # The portrait page's 100-mm side runs along the 40-mm height of the landscape media.
    x0, y0, x1, y1 = _ink_box(land.raster)
    assert (x1 - x0) > (y1 - y0)
    fixed = convert_labels(data, PrinterSpec(media=Media(58, 40), rotate="0", lang="png", verify="off"))[0]
    fx0, fy0, fx1, fy1 = _ink_box(fixed.raster)
    assert (fx1 - fx0) < (fy1 - fy0)
    # Explicit 90 and 270 put the page's top edge on opposite sides.
    r90 = convert_labels(data, PrinterSpec(rotate="90", lang="png", barcodes="keep", verify="off"))[0].raster
    r270 = convert_labels(data, PrinterSpec(rotate="270", lang="png", barcodes="keep", verify="off"))[0].raster
    c90, c270 = np.nonzero(r90)[1].mean(), np.nonzero(r270)[1].mean()
    assert abs((c90 + c270) - r90.shape[1]) < 12 and abs(c90 - c270) > 20


def _framed_png(w: int, h: int) -> bytes:
    import io

    from PIL import Image, ImageDraw

    im = Image.new("L", (w, h), 255)
    ImageDraw.Draw(im).rectangle([0, 0, w - 1, h - 1], outline=0, width=4)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(("src", "media", "box"), [
    ((400, 400), (100, 150), (0, 200, 798, 998)),     # square: full width, centred vertically
    ((580, 400), (58, 40), (0, 0, 463, 319)),         # same aspect: fills the media
    ((400, 600), (58, 40), (0, 5, 463, 313)),         # portrait on landscape: turned, centred
    ((600, 300), (100, 150), (100, 0, 698, 1198)),    # 2:1 landscape on portrait: turned, centred
])
def test_fit_keeps_aspect_and_centres(src: tuple[int, int], media: tuple[int, int], box: tuple) -> None:
    spec = PrinterSpec(media=Media(*media), lang="png")
    img = rb.png(convert(_framed_png(*src), spec)[0])[0].image
    assert img.shape == (spec.height_dots, spec.width_dots)
    got = _ink_box(img)
    assert all(abs(g - b) <= 2 for g, b in zip(got, box)), got


def test_threshold_moves_gray_to_black_and_dither_only_on_request() -> None:
    from PIL import Image
    import io

    im = Image.new("L", (400, 300), 255)
    im.paste(150, (0, 0, 200, 300))  # mid-gray half
    im.paste(0, (300, 100, 350, 200))  # and a black mark
    buf = io.BytesIO()
    im.save(buf, "PNG")
    data = buf.getvalue()

    def ink(**kw: object) -> float:
        spec = PrinterSpec(lang="png", media=Media(40, 30), verify="off", **kw)  # type: ignore[arg-type]
        r = rb.png(convert(data, spec)[0])[0].image
        return float(r[:, :150].mean())

    assert ink(threshold=128) == 0.0          # 150 > 128: white
    assert ink(threshold=200) == 1.0          # 150 < 200: solid black
    d = ink(dither=True)                      # error diffusion: a ~41 % dot pattern
    assert 0.3 < d < 0.5


def test_tspl_invert_flips_the_bits_only() -> None:
    data = lg.wb_sticker_png("!Inv00001")
    a = convert(data, PrinterSpec(lang="tspl"))[0]
    b = convert(data, PrinterSpec(lang="tspl", invert=True))[0]
    import re

    head_end = re.search(rb"BITMAP \d+,\d+,\d+,\d+,0,", a).end()
    n = len(a) - head_end - len(b"\r\nPRINT 1,1\r\n")
    assert a[:head_end] == b[:head_end]
    assert bytes(x ^ 0xFF for x in a[head_end : head_end + n]) == b[head_end : head_end + n]
    ra = rb.tspl(a, 203)[0].image
    assert np.array_equal(ra, rb.tspl(b, 203, invert=True)[0].image)
    assert rb.decode(ra) == ["!Inv00001"]


def test_escpos_cut_and_copies() -> None:
    data = lg.wb_sticker_png("!Cut00001")
    plain = convert(data, PrinterSpec(lang="escpos"))[0]
    assert b"\x1dV" not in plain
    cut = convert(data, PrinterSpec(lang="escpos", cut=True, copies=3))[0]
    backs = rb.escpos(cut)
    assert len(backs) == 1 and backs[0].copies == 3 and backs[0].header["cut"]
    assert cut.count(b"\x1dVB\x00") == 3


@pytest.mark.parametrize("lang", ["zpl", "tspl", "escpos", "epl2"])
def test_copies_and_darkness_in_each_language(lang: str) -> None:
    spec = PrinterSpec(lang=lang, copies=4, darkness=12)
    blob = convert(lg.wb_sticker_png("!Cop00004"), spec)[0]
    back = rb.render_back(lang, blob, spec.dpi)
    assert len(back) == 1 and back[0].copies == 4
    if lang == "zpl":
        assert back[0].header["SD"] == 12
    elif lang == "tspl":
        assert back[0].header["DENSITY"] == (12,)
    elif lang == "epl2":
        assert back[0].header["D"] == (12,)


def test_random_sticker_values_scan_through_every_language() -> None:
    rng = random.Random(8)
    for _ in range(6):
        v = lg.random_wb_barcode(rng)
        data = lg.wb_sticker_svg(v)
        for lang in cases.LANGS:
            spec = PrinterSpec(lang=lang, dpi=rng.choice(cases.DPIS))
            assert rb.decode(rb.render_back(lang, convert(data, spec)[0], spec.dpi)[0].image) == [v]


def test_zpl_passthrough_refuses_layout_larger_than_media() -> None:
    """ZPL cannot be rescaled: a field starting past the media would print cut off silently."""
    from printstation import BadInput, Media, PrinterSpec, convert

    zpl = b"^XA^FO40,20^BY2^BCN,80,N^FD!Wide123^FS^FO400,200^A0N,40,40^FD9753^FS^XZ"
    with pytest.raises(BadInput, match="^label layout is 58×40 mm, media is 40×30 mm: fetch the sticker in 40×30$"):
        convert(zpl, PrinterSpec(media=Media(40, 30)))
    assert convert(zpl, PrinterSpec(media=Media(58, 40)))[0].startswith(b"^XA^PW464^LL320")
