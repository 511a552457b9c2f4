"""The ZPL extent estimator against the honest oracle: the ink Zebrash really draws.

For each symbology, orientation and origin kind, a one-field label is rendered by Zebrash
(tests/zplrender) and the estimate must cover the rendered ink (``box`` ⊇ ink) while what it
calls surely inked (``core``) lies inside the ink. Symbologies Zebrash cannot draw (Code 93,
UPC-A, EAN-8, UPC-E) are held against zxing-cpp's encoder (the symbol's module count).
Tolerance: ``TOL`` dots — Zebrash draws a circle 2 dots outside its box and MaxiCode 1 dot
above its origin.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from printstation import BadInput, Media, PrinterSpec, convert
from printstation.lang.zpl_layout import LayoutCheck, code93_chars, code128_symbols, tokenize
from support import render_back as rb

TOL = 3
CANVAS_MM = 150  # 1200 dots at 8 dots/mm: nothing is clipped

ORIENTED = {
    "text0": "^A0{o},40,40^FDHgWi8 Text^FS",
    "textD": "^AD{o},36,20^FDHgWi8^FS",
    "code128": "^BY2^BC{o},60,Y^FDAB12cd^FS",
    "code128-above": "^BY3^BC{o},60,Y,Y^FDAB12^FS",
    "code128-C": "^BY2^BC{o},60,N^FD>;12345678^FS",
    "code128-auto": "^BY2^BC{o},60,N,N,N,A^FDAB123456^FS",
    "code39": "^BY3,2.5^B3{o},N,60,Y^FDAB-12^FS",
    "i2of5": "^BY2,3^B2{o},60,Y^FD1234567890^FS",
    "ean13": "^BY2^BE{o},60,Y^FD590123412345^FS",
    "pdf417": "^BY2^B7{o},4,2,3^FDHELLO PDF417 ROWS^FS",
    "datamatrix": "^BX{o},6,200^FDHELLO DM 2026^FS",
}
FIXED = {
    "qr": "^BQN,2,5^FDQA,https://example.com/t/12345^FS",
    "qr-manual": "^BQN,2,4^FDHM,AHELLO QR^FS",
    "maxicode": ("^BD2,1,1^FH^FD001840152382802[)>_1E01_1D961Z00004951_1DUPSN_1D06X610_1D159_1D1234567"
                 "_1D1/1_1D_1DY_1D634 ALPHA DR_1DPITTSBURGH_1DPA_1E_04^FS"),
    "box": "^GB120,50,3^FS",
    "circle": "^GC60,4^FS",
    "graphic": "^GFA,40,40,4,FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000^FS",
    "graphic-margin": "^GFA,16,16,2,0000000000FF00FF00FF00FF00000000^FS",
    "text-block": "^A0N,30,30^FB300,3,0,C^FDa longer line of text that wraps in the block^FS",
    "text-cyrillic": "^CI28^A0N,36,36^FDДоставка Москва^FS",
    "text-default-font": "^FDDEFAULT FONT^FS",
    # GS1-style DataMatrix (Chestny ZNAK codes): mostly digits, two to a codeword.
    "datamatrix-digits": "^BXN,6,200^FD0104600000000000215abcde91EE0692xyz^FS",
}


def _cases() -> list[tuple[str, str]]:
    out = []
    for name, body in ORIENTED.items():
        for o in "NRIB":
            for origin in ("FO", "FT"):
                out.append((f"{name}-{o}-{origin}", f"^XA^{origin}400,400{body.format(o=o)}^XZ"))
    for name, body in FIXED.items():
        for origin in ("FO", "FT"):
            out.append((f"{name}-{origin}", f"^XA^{origin}400,400{body}^XZ"))
    out.append(("stored-graphic", "~DGR:LOGO.GRF,8,2,FFFF0000FFFF0000^XA^FO400,400^XGR:LOGO.GRF,3,3^FS^XZ"))
    out.append(("label-home", "^XA^LH30,20^FO400,400^BY2^BCN,60,N^FDLH123^FS^XZ"))
    out.append(("field-default-orientation", "^XA^FWR^FO400,400^BY2^BC,60,N^FDFW123^FS^XZ"))
    return out


CASES = _cases()
_renders: dict[str, np.ndarray] = {}


def _ink(name: str) -> tuple[int, int, int, int]:
    reason = rb.zplrender_ready()
    if reason:
        pytest.skip(reason)
    if not _renders:
        images = rb.zpl_native([(z.encode(), CANVAS_MM, CANVAS_MM, 203) for _, z in CASES])
        for (n, _), imgs in zip(CASES, images):
            _renders[n] = imgs[0]
    ys, xs = np.nonzero(_renders[name])
    assert len(xs), f"{name}: Zebrash drew nothing"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _layout(zpl: str):
    spec = PrinterSpec(media=Media(CANVAS_MM, CANVAS_MM))
    check = LayoutCheck(spec)
    layouts = [check.layout(fmt) for fmt in zpl.encode().split(b"^XZ")[:-1]]
    return layouts[-1]


def _union(boxes):
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


@pytest.mark.parametrize(("name", "zpl"), CASES, ids=[n for n, _ in CASES])
def test_estimate_covers_the_rendered_ink_and_core_is_inked(name: str, zpl: str) -> None:
    ink = _ink(name)
    layout = _layout(zpl)
    assert layout.judged and layout.items, name
    box = _union([i.box for i in layout.items])
    core = _union([i.core for i in layout.items])
    assert box[0] <= ink[0] + TOL and box[1] <= ink[1] + TOL, (name, box, ink)
    assert box[2] >= ink[2] - TOL and box[3] >= ink[3] - TOL, (name, box, ink)
    assert core[2] <= ink[2] + TOL and core[3] <= ink[3] + TOL, (name, core, ink)
    if not name.endswith("-FT"):  # ^FT graphics: firmware reads the origin two ways (core: both)
        assert core[0] >= ink[0] - TOL and core[1] >= ink[1] - TOL, (name, core, ink)
    # Symbols without an interpretation line, boxes and graphics are estimated to the dot (not
    # just bounded): the far edge the check refuses by is the real one.
    exact = {"code128", "code39", "i2of5", "datamatrix", "qr", "box", "graphic"}
    if len(layout.items) == 1 and layout.items[0].kind in exact and not name.endswith("-FT"):
        c = layout.items[0].core
        assert abs(c[2] - ink[2]) <= TOL and abs(c[3] - ink[3]) <= TOL, (name, c, ink)


@pytest.mark.parametrize(("fmt", "cmd", "data"), [
    ("Code93", "^BY2^BAN,60,N", "ABC-123"),
    ("Code93", "^BY3^BAN,60,N", "HELLO WORLD 93"),
])
def test_code93_width_matches_the_encoder(fmt: str, cmd: str, data: str) -> None:
    import zxingcpp

    mods = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.Code93).to_image(scale=1, add_quiet_zones=False)
    width = np.asarray(mods).shape[1]
    w = int(cmd[3])
    assert 9 * (code93_chars(data) + 4) + 1 == width
    item = _layout(f"^XA^FO100,100{cmd}^FD{data}^FS^XZ").items[0]
    assert item.core[2] - item.core[0] == width * w


@pytest.mark.parametrize(("cmd", "data", "fmt"), [
    ("^BUN,60,N", "01234567890", "UPCA"), ("^B8N,60,N", "1234567", "EAN8"), ("^B9N,60,N", "0123456", "UPCE"),
    ("^BEN,60,N", "590123412345", "EAN13"),
])
def test_ean_upc_widths_match_the_encoder(cmd: str, data: str, fmt: str) -> None:
    import zxingcpp

    img = zxingcpp.create_barcode(data, getattr(zxingcpp.BarcodeFormat, fmt)).to_image(scale=1, add_quiet_zones=False)
    a = np.asarray(img) < 128
    cols = np.nonzero(a.any(axis=0))[0]
    width = int(cols.max() - cols.min() + 1)
    item = _layout(f"^XA^FO100,100^BY2{cmd}^FD{data}^FS^XZ").items[0]
    assert item.core[2] - item.core[0] == width * 2


@pytest.mark.parametrize(("data", "mode", "symbols"), [
    ("ABC123", "N", (6, 6)),  # subset B, one symbol per character
    ("12345678", "N", (8, 8)),  # mode N does not switch to C by itself
    (">;12345678", "N", (4, 4)),  # start C: digit pairs
    (">:ABC>5123456", "N", (7, 7)),  # B, switch to C (one symbol), three pairs
    (">;1234>6AB", "N", (5, 5)),
    ("AB12345678", "A", (7, 7)),  # automatic: B for AB, switch, four pairs
    ("(01)12345678901231", "D", (9, 9)),  # FNC1 + eight pairs
])
def test_code128_symbol_counts(data: str, mode: str, symbols: tuple[int, int]) -> None:
    assert code128_symbols(data, mode) == symbols


def test_stored_format_is_recalled_with_its_data() -> None:
    check = LayoutCheck(PrinterSpec(media=Media(58, 40)))
    define = b"^XA^DFR:SHIP.ZPL^FS^FO20,20^BY2^BCN,80,N^FN1^FDplaceholder^FS^FO20,150^A0N,30,30^FN2^FS^XZ"
    recall = b"^XA^XFR:SHIP.ZPL^FN1^FD0123456789012345678901^FS^FN2^FDHello^FS^XZ"
    assert not check.layout(define).prints
    items = check.layout(recall).items
    assert [i.kind for i in items] == ["code128", "text"]
    assert items[0].core[2] == 20 + 2 * (11 * (22 + 2) + 13)  # 22 digits in mode N: subset B
    # A recall of a format stored on the printer earlier cannot be judged: let through.
    assert not LayoutCheck(PrinterSpec()).layout(recall).judged


def test_tokenizer_handles_zebradesigner_prefix_and_binary_graphics() -> None:
    toks = tokenize(b"CT~~CD,~CC^~CT~\n^XA~TA000~JSN^LT0^MNW^XZ")
    assert [t[1] for t in toks[:3]] == ["CD", "CC", "CT"]
    assert [t[1] for t in toks[3:]] == ["XA", "TA", "JS", "LT", "MN", "XZ"]
    raw = bytes([0x5E, 0x7E, 0xFF, 0x00])  # binary rows that hold ^ and ~ bytes
    toks = tokenize(b"^XA^FO10,10^GFB,4,4,1," + raw + b"^FS^XZ")
    assert [t[1] for t in toks] == ["XA", "FO", "GF", "FS", "XZ"]


@pytest.mark.parametrize(("zpl", "media", "message"), [
    (b"^XA^FO10,10^BY3^BCN,100,Y^FD0123456789ABCDEFGHIJ^FS^XZ", (40, 30),
     "label layout is 97×19 mm, media is 40×30 mm: fetch the sticker in 40×30"),
    (b"^XA^FO10,10^GB700,40,40^FS^XZ", (58, 40), "label layout is 89×"),
    (b"^XA^FT10,300^BQN,2,10^FDQA,https://example.com/a/very/long/path/1234567890^FS^XZ", (40, 30),
     "media is 40×30 mm"),
    (b"^XA^LH200,0^FO10,10^BY2^BCN,60,N^FD12345678^FS^XZ", (40, 30), "media is 40×30 mm"),
    (b"^XA^FO300,10^A0R,40,40^FDrotated text that runs down^FS^XZ", (40, 30), "media is 40×30 mm"),
])
def test_overflowing_layout_is_refused(zpl: bytes, media: tuple[int, int], message: str) -> None:
    with pytest.raises(BadInput) as exc:
        convert(zpl, PrinterSpec(media=Media(*media)))
    assert message in str(exc.value)
    assert str(exc.value).endswith(f"fetch the sticker in {media[0]}×{media[1]}")


@pytest.mark.parametrize("zpl", [
    # A field whose box would pass the edge but whose ink stays inside: white margin of a graphic.
    b"^XA^FO400,10^GFA,64,64,8," + b"FF00000000000000" * 8 + b"^FS^XZ",
    # Text that may just touch the edge (glyph widths vary): not refused for an estimate.
    b"^XA^FO380,100^A0N,30,30^FDabc^FS^XZ",
    # ^PW clips what prints; ^POI / ^MUm formats are not judged.
    b"^XA^PW464^FO10,10^GB900,40,40^FS^XZ",
    b"^XA^POI^FO10,10^GB900,40,40^FS^XZ",
    b"^XA^MUm^FO1,1^GB50,5,5^FS^XZ",
    # ^FT text sits on its baseline: its origin is its bottom.
    b"^XA^FT10,318^A0N,40,40^FDbottom line^FS^XZ",
])
def test_fitting_layouts_are_not_refused(zpl: bytes) -> None:
    assert convert(zpl, PrinterSpec(media=Media(58, 40)))


def test_poison_zpl_never_raises_from_the_estimator() -> None:
    rng = random.Random(20)
    seeds = [
        b"^XA^FO99999999999999,99999999999^BY999,99,99999^BC^FD" + b"9" * 5000 + b"^FS^XZ",
        b"~XA^FO10,10^BQN,2,99^FDQA,x^FS^XZ", b"^XA^FO", b"^XA^GFA,999999999,999999999,0,::::^FS^XZ",
        b"^XA^FO10,10^GFA,8,8,2,:Z64:!!!!:0000^FS^XZ", b"~DGR:X.GRF,4,0,FF^XA^XGR:X.GRF^FS^XZ",
        b"^XA^CC\x00^FO10,10^XZ", b"^XA^FO,,,,^A^FD^FS^B7^FS^BX,,,999,999^FD^FS^XZ",
        b"^XA^XFR:NONE.ZPL^FN1^FDx^FS^XZ", b"^XA^FO10,10^BQN,2,4^FD^FS^FO1,1^BD9^FD^FS^XZ",
    ]
    check = LayoutCheck(PrinterSpec())
    for s in seeds:
        check.layout(s)
        for _ in range(40):
            cut = s[: rng.randrange(len(s) + 1)] + bytes(rng.randrange(256) for _ in range(rng.randrange(6)))
            check.layout(cut)


def test_graphic_ink_is_decoded_within_bounds() -> None:
    """A :Z64: field is inflated no further than the raster it declares (no zlib bomb)."""
    import base64
    import binascii
    import zlib

    bomb = base64.b64encode(zlib.compress(b"\xff" * (64 * 1024 * 1024), 9))
    field = b":Z64:" + bomb + b":" + f"{binascii.crc_hqx(bomb, 0):04X}".encode()
    zpl = b"^XA^FO10,10^GFA,800,800,10," + field + b"^FS^XZ"
    (item,) = LayoutCheck(PrinterSpec()).layout(zpl).items
    assert item.core == (10.0, 10.0, 90.0, 90.0)  # 10 bytes × 80 rows, all black
    # Binary ^GFB data is measured too.
    (item,) = LayoutCheck(PrinterSpec()).layout(b"^XA^FO0,0^GFB,4,4,1,\x00\x18\x00\x00^FS^XZ").items
    assert item.core == (3.0, 1.0, 5.0, 2.0)


def test_a_field_not_estimated_still_counts_from_its_origin() -> None:
    """Aztec (^B0) is not measured, but a field that starts past the media is past it."""
    with pytest.raises(BadInput, match="media is 40×30 mm"):
        convert(b"^XA^FO500,20^B0N,4^FDAZTEC^FS^XZ", PrinterSpec(media=Media(40, 30)))
    assert convert(b"^XA^FO20,20^B0N,4^FDAZTEC^FS^XZ", PrinterSpec(media=Media(40, 30)))


@pytest.mark.parametrize("dpi", [203, 300])
def test_wb_layout_sizes_against_media(dpi: int) -> None:
    """WB lays ZPL out in 203-dpi dots (a 300-dpi printer gets ^MU): each size fits its own and
    larger media; 58×40 on 40×30 stock is refused with the contract's words."""
    from support import labelgen as lg

    for size in ((58, 40), (40, 30)):
        for media in ((58, 40), (40, 30), (100, 150)):
            spec = PrinterSpec(media=Media(*media), dpi=dpi)
            data = lg.wb_sticker_zpl("!Wb123456", size=size)
            if size[0] > media[0]:
                with pytest.raises(BadInput) as exc:
                    convert(data, spec)
                assert str(exc.value) == "label layout is 58×40 mm, media is 40×30 mm: fetch the sticker in 40×30"
            else:
                assert convert(data, spec)
    # The format's own ^MUd,200,300 scales its dots like the printer does.
    spec = PrinterSpec(media=Media(58, 40), dpi=300)
    assert convert(b"^XA^MUd,200,300^FO10,10^GB440,300,3^FS^XZ", spec)
    with pytest.raises(BadInput, match="media is 58×40 mm"):
        convert(b"^XA^MUd,200,300^FO10,10^GB600,300,3^FS^XZ", spec)


def test_a_stream_built_to_be_slow_is_let_through_unjudged(caplog) -> None:
    """Stored formats recalled thousands of times, or thousands of long QR fields, cost the
    estimate work without bound (minutes, in the daemon): after the stream's work budget the
    remaining formats are not judged — the label passes through, nothing stalls."""
    from printstation.lang import zpl_layout

    stored = b"^XA^DFR:A.ZPL^FS" + b"^FO10,10^FN1^FDx^FS" * 2000 + b"^XZ"
    recall = b"^XA^XFR:A.ZPL^FN1^FDy^FS^XZ"
    overflow = b"^XA^FO5000,10^A0N,30,30^FDfar away^FS^XZ"
    spec = PrinterSpec(media=Media(58, 40))
    check = LayoutCheck(spec)
    assert check.layout(overflow).judged  # judged while the budget lasts
    check.layout(stored)
    judged = [check.layout(recall).judged for _ in range(400)]
    assert judged[0] and not judged[-1]
    assert check.work <= zpl_layout.WORK_BUDGET + 2 * 4000
    assert not check.layout(overflow).judged
    out = convert(stored + recall * 400, spec)
    assert len(out) == 401 and out[-1].endswith(b"^XFR:A.ZPL^FN1^FDy^FS^XZ")
    assert any("too costly to estimate" in r.getMessage() for r in caplog.records)
    # Long QR fields spend the budget by their length.
    qr = b"^XA" + b"".join(b"^FO10,10^BQN,2,2^FDMA,%d" % i + b"q" * 1500 + b"^FS" for i in range(40)) + b"^XZ"
    check = LayoutCheck(PrinterSpec(media=Media(100, 150)))
    assert not check.layout(qr).judged and check.work > zpl_layout.WORK_BUDGET


def test_graphic_text_longer_than_declared_is_decoded_within_bounds() -> None:
    """ACS text is decoded in one pass and never past the declared size (a 2 MB row used to
    take minutes: the row was joined again for every character)."""
    from printstation.lang.zpl import acs_decode

    assert acs_decode("z" * 100000 + "F", 1, limit=10) == b"\xff" * 10
    assert acs_decode("hF", 2) == b"\xff\xff" * 10  # a run of 40 digits over rows of 4
    assert acs_decode("0" * 2_000_000, 100_000, limit=300_000) == b"\0" * 300_000
    zpl = b"^XA^FO0,0^GFA,1000000,1000000,100000," + b"0" * 400_000 + b"F^FS^XZ"
    (item,) = LayoutCheck(PrinterSpec(media=Media(100, 150))).layout(zpl).items
    assert item.kind == "graphic"
