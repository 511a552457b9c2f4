"""Barcode-exact labels (issue 8): every barcode redrawn on whole printer dots, proven by decoding.

Each label is converted to a printer language, rendered back to pixels by the independent path in
``tests/support/render_back.py`` and decoded with zxing-cpp: the value must equal the source's.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from printstation import BarcodeVerifyError, Media, PrinterSpec, convert, convert_labels
from printstation.face.cli import main
from support import labelgen as lg
from support.render_back import decode, render_back

LANGS = ("zpl", "tspl", "escpos", "epl2")


def _values(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [lg.random_wb_barcode(rng) for _ in range(n)]


def _sticker(kind: str, value: str, size: tuple[int, int]) -> bytes:
    # module_px=2 is WB's 0.2 mm module: 1.6 dots at 203 dpi, 2.36 dots at 300 dpi.
    if kind in ("svg", "b64svg"):
        data = lg.wb_sticker_svg(value, size=size, module_px=2)
    else:
        data = lg.wb_sticker_png(value, size=size, module_px=2)
    return lg.b64(data) if kind.startswith("b64") else data


def _printed(data: bytes, spec: PrinterSpec) -> list[list[str]]:
    out = b"".join(convert(data, spec))
    return [decode(back.image) for back in render_back(spec.lang, out, spec.dpi, invert=spec.invert)]


@pytest.mark.parametrize("size", [(40, 30), (58, 40)], ids=["40x30", "58x40"])
@pytest.mark.parametrize("dpi", [203, 300])
def test_200_random_stickers_scan(size: tuple[int, int], dpi: int) -> None:
    """200 random WB values per media and dpi, across SVG/PNG/base64 and all four languages."""
    kinds = ("svg", "png", "b64svg", "b64png")
    failures = []
    for i, value in enumerate(_values(hash((size, dpi)) & 0xFFFF, 200)):
        kind, lang = kinds[i % 4], LANGS[(i // 4) % 4]
        spec = PrinterSpec(lang=lang, media=Media(*size), dpi=dpi)
        got = _printed(_sticker(kind, value, size), spec)
        if got != [[value]]:
            failures.append((kind, lang, value, got))
    assert failures == []


def test_plain_render_fails_where_redraw_succeeds() -> None:
    """The reason for the feature: at 40×30/203 dpi the plain render loses most stickers."""
    values = _values(7, 40)
    keep = redraw = 0
    for v in values:
        data = _sticker("png", v, (40, 30))
        for mode in ("keep", "redraw"):
            spec = PrinterSpec(lang="png", media=Media(40, 30), dpi=203, barcodes=mode, verify="off")
            ok = _printed(data, spec) == [[v]]
            keep += ok and mode == "keep"
            redraw += ok and mode == "redraw"
    assert redraw == len(values)
    assert keep < len(values) * 0.8


def test_modules_are_whole_dots() -> None:
    """Every bar and space of a redrawn Code128 is a whole multiple of one module width."""
    v = "!wholeDots9"
    label = convert_labels(_sticker("svg", v, (40, 30)), PrinterSpec(lang="png", media=Media(40, 30)))[0]
    (res,) = label.barcodes
    assert res.redrawn and res.verified and res.module_dots >= 1
    raster = label.raster
    assert raster is not None
    rows = [r for r in range(raster.shape[0]) if raster[r].sum() > 40]
    row = raster[rows[len(rows) // 2]]
    dark = np.flatnonzero(row)
    seg = row[dark[0] : dark[-1] + 1].astype(np.int8)
    edges = np.flatnonzero(np.diff(seg)) + 1
    runs = np.diff(np.concatenate(([0], edges, [len(seg)])))
    assert all(r % res.module_dots == 0 for r in runs)
    assert set(runs // res.module_dots) <= {1, 2, 3, 4}  # Code128 elements are 1–4 modules


@pytest.mark.parametrize("module_px", [7.3, 8.7, 9.5])
@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("value", ["WB-GI-12345678", "$WBMP:1:123:1234567"])
def test_qr_with_fractional_modules(module_px: float, dpi: int, value: str) -> None:
    data = lg.qr_svg(value, module_px=module_px)
    spec = PrinterSpec(lang="tspl", media=Media(58, 40), dpi=dpi)
    label = convert_labels(data, spec)[0]
    assert [r.redrawn for r in label.barcodes] == [True]
    assert _printed(data, spec) == [[value]]


@pytest.mark.parametrize("media", [(100, 150), (58, 40)], ids=["100x150", "58x40"])
def test_ali_pdf_labels_at_203(media: tuple[int, int]) -> None:
    trackings = ["RU123456789CN", "LP00987654321098", "RA555666777CN"]
    data = lg.pdf_label(trackings)
    spec = PrinterSpec(lang="zpl", media=Media(*media), dpi=203)
    assert _printed(data, spec) == [[t] for t in trackings]


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("media", [(40, 30), (30, 40)], ids=["landscape-media", "portrait-media"])
def test_vertical_stickers(dpi: int, media: tuple[int, int]) -> None:
    """zplv-style stickers (barcode running top to bottom), on landscape and portrait media."""
    v = "!Vert1calX"
    for data in (lg.wb_sticker_png(v, size=(40, 30), module_px=2, vertical=True),
                 lg.wb_sticker_svg_vertical(v, size=(40, 30))):
        spec = PrinterSpec(lang="epl2", media=Media(*media), dpi=dpi)
        label = convert_labels(data, spec)[0]
        assert all(r.redrawn and r.verified for r in label.barcodes)
        assert _printed(data, spec) == [[v]]


@pytest.mark.parametrize("dpi", [203, 300])
def test_two_barcodes_on_one_label(dpi: int) -> None:
    data = lg.two_barcode_svg("!TwoCodes1", "WB-GI-55501234")
    spec = PrinterSpec(lang="escpos", media=Media(58, 40), dpi=dpi)
    label = convert_labels(data, spec)[0]
    assert sorted(r.barcode.format for r in label.barcodes) == ["Code128", "QRCode"]
    assert all(r.verified for r in label.barcodes)
    assert _printed(data, spec) == [sorted(["!TwoCodes1", "WB-GI-55501234"])]


def _too_dense() -> bytes:
    """A readable source Code128 that cannot fit on 40×30 mm at 203 dpi, even at 1 dot a module."""
    # 299 modules of 0.25 mm on a 100×150 mm label: 75 mm of bars, fine on its own media;
    # shrunk onto 40×30 mm they would need 299 dots + quiet zones where the label has 320.
    return lg._label_svg_mm("RU" + "ABCDEFGHIJKLMNOPQRST" + "CN", 100, 150, module_mm=0.25)


def test_unscannable_label_fails_with_reason() -> None:
    spec = PrinterSpec(lang="zpl", media=Media(40, 30), dpi=203)
    with pytest.raises(BarcodeVerifyError, match="barcode would not scan at 203 dpi"):
        convert(_too_dense(), spec)


def test_unscannable_label_warn_policy_prints(caplog: pytest.LogCaptureFixture) -> None:
    spec = PrinterSpec(lang="zpl", media=Media(40, 30), dpi=203, verify="warn")
    out = convert(_too_dense(), spec)
    assert out and out[0].startswith(b"^XA")
    assert "barcode would not scan at 203 dpi" in caplog.text


def test_cli_unscannable_exit_3_and_no_verify(tmp_path, capsys) -> None:
    src = tmp_path / "dense.svg"
    src.write_bytes(_too_dense())
    assert main(["convert", str(src), "--media", "40x30", "-o", str(tmp_path / "out.zpl")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "barcode would not scan at 203 dpi" in err[0]
    assert main(["convert", str(src), "--media", "40x30", "--no-verify", "-o", str(tmp_path / "o.zpl")]) == 0


def test_cli_barcodes_keep_and_redraw(tmp_path) -> None:
    v = "!CliKeep42"
    src = tmp_path / "s.png"
    src.write_bytes(_sticker("png", v, (58, 40)))
    for mode in ("keep", "redraw"):
        out = tmp_path / f"{mode}.png"
        assert main(["convert", str(src), "--lang", "png", "--barcodes", mode, "--no-verify", "-o", str(out)]) == 0
        assert out.read_bytes().startswith(b"\x89PNG")
    a = render_back("png", (tmp_path / "keep.png").read_bytes(), 203)[0].image
    b = render_back("png", (tmp_path / "redraw.png").read_bytes(), 203)[0].image
    assert not np.array_equal(a, b)
    assert decode(b) == [v]


def test_detection_is_cached_by_content() -> None:
    """A reprint of the same label does not detect again (the detection cache is keyed by hash)."""
    from printstation.render import barcodes

    data = _sticker("svg", "!CacheMe77", (58, 40))
    spec = PrinterSpec(lang="tspl", media=Media(58, 40), dpi=203, copies=2)
    convert_labels(data, spec)
    calls = []
    real = barcodes.read

    def counting(*a, **kw):
        calls.append(kw.get("binary", False))
        return real(*a, **kw)

    barcodes.read = counting
    try:
        convert_labels(data, spec.replace(copies=3))
    finally:
        barcodes.read = real
    assert False not in calls  # only the final-raster verification ran, no source detection


def _symbol_png(fmt: str, value: str, module_px: int, size: tuple[int, int]) -> bytes:
    """A sticker with one symbol of ``fmt`` at ``module_px`` px a module (10 px/mm, like WB)."""
    import io

    from PIL import Image

    mods = lg.modules(value, fmt)
    w, h = size[0] * 10, size[1] * 10
    img = np.full((h, w), 255, np.uint8)
    if mods.shape[0] == 1:
        block = np.repeat(np.repeat(mods, int(h * 0.4), axis=0), module_px, axis=1)
    else:
        block = np.kron(mods, np.ones((module_px, module_px), bool))
    y, x = (h - block.shape[0]) // 2, (w - block.shape[1]) // 2
    img[y : y + block.shape[0], x : x + block.shape[1]][block] = 0
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "value", "module_px"), [
    ("EAN13", "4601234567893", 2), ("EAN8", "46012340", 3), ("Code39", "WB12345", 2),
    ("ITF", "12345678901231", 2), ("Codabar", "A123456B", 2), ("Code93", "WB-123", 2),
    ("DataMatrix", "WB-GI-12345678", 7), ("PDF417", "WB-TRBX-1234567", 3),
    ("Aztec", "$WBMP:1:123:1234567", 7),
])
@pytest.mark.parametrize(("media", "dpi"), [((58, 40), 203), ((40, 30), 203), ((58, 40), 300)],
                         ids=["58x40@203", "40x30@203", "58x40@300"])
def test_other_symbologies(fmt: str, value: str, module_px: int, media: tuple[int, int], dpi: int) -> None:
    data = _symbol_png(fmt, value, module_px, (58, 40))
    spec = PrinterSpec(lang="tspl", media=Media(*media), dpi=dpi)
    label = convert_labels(data, spec)[0]
    assert [(r.barcode.format, r.redrawn, r.verified) for r in label.barcodes] == [(fmt, True, True)]
    assert _printed(data, spec) == [[value]]
