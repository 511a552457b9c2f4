"""2-D symbols with small modules are found, redrawn and verified (issue 19).

A symbol that is not found is neither redrawn nor verified: it would print unchecked. Detection
must find every 2-D symbol the source holds at the detection scale (12 px per printed mm for
vectors, the bitmap itself for PNGs) — not only those the 8 px/mm print render of a 203 dpi
printer still resolves (0.18 mm modules are 1.4 dots there).
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from printstation import Media, PrinterSpec, convert_labels
from printstation.render import barcodes
from support.render_back import decode, zpl_raster

VALUES = {
    "QRCode": "WB-GI-1234567890123",
    "DataMatrix": "0104600439931256215Ab1CdEfGhIjK",
    "PDF417": "$WBMP:1234567:89012",
    "Aztec": "TRBX-12345678-ABC",
}
SIZE_MM = (58, 40)


@pytest.fixture(autouse=True)
def _fresh():
    sys.modules["printstation.pipeline"]._CACHE.clear()
    barcodes._DETECTED.clear()
    yield
    barcodes._DETECTED.clear()


def _modules(fmt: str, value: str, turn: int) -> np.ndarray:
    import zxingcpp

    b = zxingcpp.create_barcode(value, getattr(zxingcpp.BarcodeFormat, fmt))
    m = np.asarray(b.to_image(scale=1, add_quiet_zones=False, add_hrt=False)) < 128
    return np.rot90(m, -(turn // 90)) if turn else m


def _rects(m: np.ndarray, ox: float, oy: float, mod: float, bar_h: float | None = None) -> str:
    out = []
    for r, row in enumerate(m):
        padded = np.concatenate(([False], row, [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        for c0, c1 in zip(edges[::2], edges[1::2]):
            out.append(f'<rect x="{ox + c0 * mod:.4f}" y="{oy + r * mod:.4f}" width="{(c1 - c0) * mod:.4f}" '
                       f'height="{bar_h if bar_h is not None else mod:.4f}"/>')
    return "".join(out)


def symbol_svg(fmt: str, module_mm: float, turn: int = 0) -> bytes:
    """A 58×40 mm SVG (mm user units) with one 2-D symbol of ``module_mm`` modules and a text line."""
    value = VALUES[fmt]
    m = _modules(fmt, value, turn)
    w, h = SIZE_MM
    ox = (w - m.shape[1] * module_mm) / 2
    oy = (h - m.shape[0] * module_mm) / 2 - 3
    rects = [_rects(m, ox, oy, module_mm)]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">'
            f'<rect width="{w}" height="{h}" fill="white"/><g fill="black">{"".join(rects)}</g>'
            f'<text x="4" y="{h - 3}" font-family="DejaVu Sans" font-size="3">{value}</text></svg>').encode()


def symbol_png(fmt: str, module_px: int, turn: int = 0) -> bytes:
    """The same layout as a 580×400 px PNG (10 px/mm, like WB's), ``module_px`` px modules."""
    from PIL import Image

    m = _modules(fmt, VALUES[fmt], turn)
    w, h = SIZE_MM[0] * 10, SIZE_MM[1] * 10
    img = np.full((h, w), 255, np.uint8)
    sym = np.where(np.kron(m, np.ones((module_px, module_px), bool)), 0, 255).astype(np.uint8)
    y, x = (h - sym.shape[0]) // 2 - 30, (w - sym.shape[1]) // 2
    img[y : y + sym.shape[0], x : x + sym.shape[1]] = sym
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def _pdf(svg: bytes) -> bytes:
    import cairosvg

    return cairosvg.svg2pdf(bytestring=svg)


def _check(data: bytes, fmt: str, dpi: int = 203) -> None:
    spec = PrinterSpec(media=Media(*SIZE_MM), dpi=dpi)  # defaults: redraw, verify=fail
    [label] = convert_labels(data, spec)
    found = [(r.barcode.format, r.barcode.content.decode()) for r in label.barcodes]
    assert found == [(fmt, VALUES[fmt])], "the symbol was not found: it would print unchecked"
    [r] = label.barcodes
    assert r.redrawn and r.module_dots >= 1 and r.verified
    # What prints scans: the emitted ZPL, rendered back, decodes to the symbol.
    [back] = zpl_raster(label.data)
    assert VALUES[fmt] in decode(back.image)


@pytest.mark.parametrize("module_mm", [0.18, 0.2, 0.22, 0.24])
@pytest.mark.parametrize("fmt", list(VALUES))
@pytest.mark.parametrize("kind", ["svg", "pdf"])
def test_small_module_symbol_found_redrawn_verified(kind: str, fmt: str, module_mm: float) -> None:
    svg = symbol_svg(fmt, module_mm)
    _check(svg if kind == "svg" else _pdf(svg), fmt)


@pytest.mark.parametrize("module_mm", [0.18, 0.2])
@pytest.mark.parametrize("fmt", list(VALUES))
@pytest.mark.parametrize("kind", ["svg", "pdf"])
def test_small_module_symbol_at_300_dpi(kind: str, fmt: str, module_mm: float) -> None:
    svg = symbol_svg(fmt, module_mm)
    _check(svg if kind == "svg" else _pdf(svg), fmt, dpi=300)


@pytest.mark.parametrize("turn", [90, 180, 270])
@pytest.mark.parametrize("fmt", ["DataMatrix", "PDF417"])
def test_small_module_symbol_turned(fmt: str, turn: int) -> None:
    _check(symbol_svg(fmt, 0.2, turn), fmt)


@pytest.mark.parametrize("fmt", list(VALUES))
def test_small_module_symbol_png(fmt: str) -> None:
    _check(symbol_png(fmt, 2), fmt)  # 0.2 mm modules at WB's 10 px/mm


@pytest.mark.parametrize("fmt", list(VALUES))
@pytest.mark.parametrize("where", ["below", "beside"])
def test_2d_symbol_next_to_bars_is_found(fmt: str, where: str) -> None:
    """The 2-D pass blanks the rows that repeat a linear symbol's bars (cheaper): a small 2-D
    symbol right under the bars, in the same columns, or right beside them, is still found."""
    code = _modules("Code128", "!S1234", 0)[:1]
    sym = _modules(fmt, VALUES[fmt], 0)
    w, h = SIZE_MM
    mod, smod = 0.25, 0.2
    bx, by, bh = 3.0, 3.0, 10.0
    if where == "below":  # 1 mm under the bars, inside their columns
        sx, sy = bx + 5, by + bh + 1.0
    else:  # 2 mm right of the last bar, level with the bars
        sx, sy = bx + code.shape[1] * mod + 2.0, by
    body = _rects(code, bx, by, mod, bh) + _rects(sym, sx, sy, smod)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">'
           f'<rect width="{w}" height="{h}" fill="white"/><g fill="black">{body}</g></svg>').encode()
    spec = PrinterSpec(media=Media(*SIZE_MM), dpi=203)
    [label] = convert_labels(svg, spec)
    got = sorted((r.barcode.format, r.barcode.content.decode()) for r in label.barcodes)
    assert got == sorted([("Code128", "!S1234"), (fmt, VALUES[fmt])])
    assert all(r.verified for r in label.barcodes)


def test_bar_area_is_the_bar_rows_only() -> None:
    """The blanked area of a linear symbol is its bars, not the text or symbol under them."""
    img = np.full((200, 300), 255, np.uint8)
    row = np.where(np.arange(200) % 6 < 3, 0, 255).astype(np.uint8)
    img[40:100, 50:250] = row[:200]
    img[104:140, 60:100] = 0  # something else right under the bars, in their columns
    area = barcodes._bar_area(img, [(50, 60), (249, 60), (249, 80), (50, 80)])
    assert area == (50, 249, 40, 99)
    # zxing's corners may cover only some of the bar rows: the area still grows to all of them
    assert barcodes._bar_area(img, [(50, 70), (249, 70), (249, 72), (50, 72)]) == (50, 249, 40, 99)


def _framed_page(symbols: list[tuple[str, float, float, float]]) -> bytes:
    """A 100×150 mm page with a 0.4 mm frame, a text line and 2-D symbols (fmt, x, y, module mm)."""
    body = "".join(_rects(_modules(fmt, VALUES[fmt], 0), x, y, mod) for fmt, x, y, mod in symbols)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="150mm" viewBox="0 0 100 150">'
            f'<rect width="100" height="150" fill="white"/>'
            f'<rect x="2" y="2" width="96" height="146" fill="none" stroke="black" stroke-width="0.4"/>'
            f'<line x1="2" y1="75" x2="98" y2="75" stroke="black" stroke-width="0.3"/>'
            f'<text x="5" y="12" font-family="DejaVu Sans" font-size="5">AliExpress Russia</text>'
            f'<g fill="black">{body}</g></svg>').encode()


@pytest.mark.parametrize("kind", ["svg", "pdf"])
def test_framed_page_every_symbol_found(kind: str) -> None:
    """The 2-D pass reads only where there is ink (a frame and rules left out of the grouping):
    symbols right against the frame, against a rule, in a corner, small and large, are all found."""
    symbols = [("DataMatrix", 92.5, 3.5, 0.2),       # in the frame's corner, 1.1 mm from both lines
               ("QRCode", 60.0, 20.0, 0.2),          # alone in white
               ("Aztec", 10.0, 75.8, 0.2),           # right under the rule
               ("PDF417", 20.0, 130.0, 0.2),         # near the bottom line
               ("QRCode", 55.0, 90.0, 1.0)]          # big modules (21 mm)
    values = {VALUES[f] for f, *_ in symbols}
    svg = _framed_page(symbols)
    spec = PrinterSpec(media=Media(100, 150), dpi=203)
    [label] = convert_labels(svg if kind == "svg" else _pdf(svg), spec)
    got = sorted((r.barcode.format, r.barcode.content.decode()) for r in label.barcodes)
    assert got == sorted((f, VALUES[f]) for f, *_ in symbols)
    assert all(r.verified and r.redrawn for r in label.barcodes)
    [back] = zpl_raster(label.data)
    assert values <= set(decode(back.image))


def test_ink_regions_hold_every_symbol_and_skip_white() -> None:
    """Every 2-D symbol of a framed page lies inside one region; the regions leave the white out."""
    from printstation.render.svg import SvgSource

    symbols = [("DataMatrix", 92.5, 3.5, 0.2), ("QRCode", 60.0, 20.0, 0.2), ("Aztec", 10.0, 75.8, 0.2)]
    src = SvgSource(_framed_page(symbols))
    scale = 12 * 25.4 / 96  # 12 px per mm
    img = src.render(scale)
    regions = barcodes.ink_regions(img)
    area = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in regions)
    assert area < 0.25 * img.size
    for fmt, x, y, mod in symbols:
        n = _modules(fmt, VALUES[fmt], 0).shape
        sx0, sy0 = x * 12, y * 12
        sx1, sy1 = sx0 + n[1] * mod * 12, sy0 + n[0] * mod * 12
        assert any(y0 <= sy0 and sy1 <= y1 and x0 <= sx0 and sx1 <= x1 for y0, y1, x0, x1 in regions), fmt


def test_ink_regions_whole_image_when_no_white() -> None:
    """A scan's noise (no pure white) is read as the whole image."""
    rng = np.random.default_rng(1)
    img = rng.integers(200, 255, size=(400, 600), dtype=np.uint8)
    assert barcodes.ink_regions(img) == [(0, 400, 0, 600)]


DATA = __import__("pathlib").Path(__file__).resolve().parent.parent / "data" / "render"


@pytest.mark.parametrize("name", ["microqr_over_bars.svg", "datamatrix_over_bars.svg"])
def test_2d_symbol_printed_over_bars_is_found(name: str) -> None:
    """A 2-D symbol printed over a barcode's bars (on its own white patch) is found as the
    whole-image 2-D read finds it: bars are blanked before the 2-D pass only when white surrounds
    them on every side (blanking a band of identical rows cut a Micro QR in two; blanking the bars
    around a DataMatrix's patch made zxing miss it)."""
    import zxingcpp
    from printstation.render.svg import SvgSource

    img = SvgSource((DATA / name).read_bytes()).render(12 * 25.4 / 96)
    whole = {(r.format.name, bytes(r.bytes)) for r in barcodes.read(img, formats=barcodes.MATRIX_FORMATS)
             if r.valid}
    assert whole  # the symbol is there to be found
    found = {(b.format, b.content) for b in barcodes.scan(img, 1.0)}
    assert whole <= found
    assert any(f == "Code128" for f, _ in found)


def test_random_labels_every_2d_symbol_of_the_whole_image_read_is_found() -> None:
    """Seeded random labels (frames, text, a Code128, 2-D symbols of 0.17–0.6 mm modules at any
    angle, sometimes over the bars): the pipeline's 2-D pass (bars blanked, ink regions) finds
    every symbol a plain all-rotation read of the whole detection image finds."""
    import random

    from printstation.render.svg import SvgSource

    rng = random.Random(19)
    fmts = ["QRCode", "DataMatrix", "PDF417", "Aztec", "MicroQRCode"]
    checked = 0
    for _ in range(40):
        w, h = rng.choice([(58, 40), (100, 150), (40, 30)])
        body = []
        if rng.random() < 0.5:
            body.append(f'<rect x="1" y="1" width="{w - 2}" height="{h - 2}" fill="none" stroke="black" '
                        f'stroke-width="{rng.choice([0.2, 0.4, 0.8])}"/>')
        for _ in range(rng.randint(0, 3)):
            body.append(f'<text x="{rng.uniform(2, w / 2):.1f}" y="{rng.uniform(4, h - 2):.1f}" '
                        f'font-family="DejaVu Sans" font-size="{rng.uniform(1.5, 5):.1f}">Text {rng.randint(0, 99999)}</text>')
        if rng.random() < 0.6:
            code = _modules("Code128", f"!{rng.randint(10**6, 10**9)}", 0)[:1]
            mod = rng.choice([0.2, 0.25, 0.33])
            if code.shape[1] * mod < w - 4:
                x = rng.uniform(2, max(2.1, w - code.shape[1] * mod - 2))
                body.append(f'<g transform="translate({x:.2f},{rng.uniform(2, h * 0.6):.2f})">'
                            f'{_rects(code, 0, 0, mod, rng.uniform(4, 12))}</g>')
        for _ in range(rng.randint(1, 2)):
            fmt = rng.choice(fmts)
            value = f"{rng.randint(10**3, 10**6)}" if fmt == "MicroQRCode" else f"V{rng.randint(10**5, 10**12)}"
            m = _modules(fmt, value, 0)
            mod = rng.choice([0.17, 0.2, 0.25, 0.3, 0.4, 0.6])
            sw, sh = m.shape[1] * mod, m.shape[0] * mod
            if sw > w - 4 or sh > h - 4:
                continue
            x, y = rng.uniform(2, w - sw - 2), rng.uniform(2, h - sh - 2)
            angle = rng.choice([0, 0, 90, 180, 270, rng.uniform(0, 360)])
            body.append(f'<g transform="translate({x:.2f},{y:.2f}) rotate({angle:.1f} {sw / 2:.2f} {sh / 2:.2f})">'
                        f'<rect x="-1" y="-1" width="{sw + 2}" height="{sh + 2}" fill="white"/>{_rects(m, 0, 0, mod)}</g>')
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">'
               f'<rect width="{w}" height="{h}" fill="white"/><g fill="black">{"".join(body)}</g></svg>').encode()
        img = SvgSource(svg).render(12 * 25.4 / 96)
        whole = {(r.format.name, bytes(r.bytes)) for r in barcodes.read(img, formats=barcodes.MATRIX_FORMATS)
                 if r.valid}
        found = {(b.format, b.content) for b in barcodes.scan(img, 1.0)}
        assert whole <= found, svg
        checked += len(whole)
    assert checked >= 20  # the labels did hold symbols to find
