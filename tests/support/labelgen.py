"""Synthetic marketplace labels for tests and benchmarks (no network, deterministic).

WB-like order stickers (Code128 + partA/partB text) as SVG, PNG (10 px/mm like WB) and ZPL;
QR stickers (supply ``WB-GI-…``, box ``$WBMP:…``); LAliExpress-like PDFs (100×150 mm, A4-ish,
multipage) with a Code128 tracking number. Barcode patterns come from zxing-cpp's writer.
"""

from __future__ import annotations

import base64
import io
import random
import string
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PX_PER_MM = 10  # WB renders PNG/SVG stickers at 10 px/mm


@lru_cache(maxsize=512)
def modules(value: str, fmt: str = "Code128") -> np.ndarray:
    """The barcode's module matrix (True = dark), 1 row for linear symbols."""
    import zxingcpp

    b = zxingcpp.create_barcode(value, getattr(zxingcpp.BarcodeFormat, fmt))
    a = np.asarray(b.to_image(scale=1, add_quiet_zones=False, add_hrt=False)) < 128
    if fmt in ("Code128", "Code39", "EAN13", "EAN8", "ITF", "Codabar", "UPCA", "UPCE"):
        a = a[:1]
    return a


def random_wb_barcode(rng: random.Random) -> str:
    """A WB-like sticker barcode value (mix of digits and letters, Code128 set B)."""
    alphabet = string.ascii_letters + string.digits
    return "!" + "".join(rng.choice(alphabet) for _ in range(rng.randint(7, 11)))


def _font(px: int) -> ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, px)
        except OSError:
            continue
    return ImageFont.load_default(size=px)


def sticker_geometry(size: tuple[int, int], value: str, module_px: int | None = None):
    """Bar area of a WB-like sticker: (x, y, module_px, bar_h) in px at 10 px/mm."""
    w, h = size[0] * PX_PER_MM, size[1] * PX_PER_MM
    n = modules(value).shape[1]
    if module_px is None:
        module_px = max(2, min(4, int((w - 40) // n)))
    bw = n * module_px
    x = (w - bw) // 2
    y = int(h * 0.08)
    return x, y, module_px, int(h * 0.45)


def dark_runs(row) -> list[tuple[int, int]]:
    """``(start, length)`` of each run of dark modules in one barcode row."""
    runs = []
    i = 0
    while i < len(row):
        if row[i]:
            j = i
            while j < len(row) and row[j]:
                j += 1
            runs.append((i, j - i))
            i = j
        else:
            i += 1
    return runs


def wb_sticker_png(value: str, part_a: str = "1234567", part_b: str = "8901",
                   size: tuple[int, int] = (58, 40), module_px: int | None = None,
                   vertical: bool = False) -> bytes:
    w, h = size[0] * PX_PER_MM, size[1] * PX_PER_MM
    im = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(im)
    x, y, m, bh = sticker_geometry(size, value, module_px)
    for i, dark in enumerate(modules(value)[0]):
        if dark:
            d.rectangle([x + i * m, y, x + (i + 1) * m - 1, y + bh - 1], fill=0)
    f = _font(int(h * 0.16))
    ty = y + bh + int(h * 0.05)
    d.text((int(w * 0.06), ty), part_a, fill=0, font=f)
    d.text((int(w * 0.70), ty), part_b, fill=0, font=f)
    if vertical:
        im = im.rotate(90, expand=True)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def wb_sticker_svg(value: str, part_a: str = "1234567", part_b: str = "8901",
                   size: tuple[int, int] = (58, 40), module_px: int | None = None) -> bytes:
    w, h = size[0] * PX_PER_MM, size[1] * PX_PER_MM
    x, y, m, bh = sticker_geometry(size, value, module_px)
    row = modules(value)[0]
    rects = [f'<rect x="{x + i * m}" y="{y}" width="{n * m}" height="{bh}"/>' for i, n in dark_runs(row)]
    fs = int(h * 0.16)
    ty = y + bh + int(h * 0.05) + fs
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        f'<rect width="{w}" height="{h}" fill="#fff"/><g fill="#000">{"".join(rects)}</g>'
        f'<text x="{int(w * 0.06)}" y="{ty}" font-family="DejaVu Sans" font-weight="bold" '
        f'font-size="{fs}">{part_a}</text>'
        f'<text x="{int(w * 0.70)}" y="{ty}" font-family="DejaVu Sans" font-weight="bold" '
        f'font-size="{fs}">{part_b}</text></svg>'
    ).encode()


def wb_sticker_zpl(value: str, part_a: str = "1234567", part_b: str = "8901",
                   size: tuple[int, int] = (58, 40)) -> bytes:
    """WB-like ZPL: 203-dpi dots, no ^PW/^LL, native ^BC Code128."""
    wd = size[0] * 8
    module = 2 if modules(value).shape[1] * 2 < wd - 32 else 1
    bx = max(8, (wd - modules(value).shape[1] * module) // 2)
    return (
        f"^XA^CI28^FO{bx},24^BY{module}^BCN,{int(size[1] * 8 * 0.42)},N,N,N^FD{value}^FS"
        f"^FO24,{int(size[1] * 8 * 0.62)}^A0N,48,40^FD{part_a}^FS"
        f"^FO{int(wd * 0.68)},{int(size[1] * 8 * 0.62)}^A0N,48,40^FD{part_b}^FS^XZ\n"
    ).encode()


def qr_png(value: str, size: tuple[int, int] = (58, 40), module_px: int = 9) -> bytes:
    w, h = size[0] * PX_PER_MM, size[1] * PX_PER_MM
    mods = modules(value, "QRCode")
    im = Image.new("L", (w, h), 255)
    q = Image.fromarray(np.where(mods, 0, 255).astype(np.uint8)).resize(
        (mods.shape[1] * module_px, mods.shape[0] * module_px), Image.Resampling.NEAREST)
    im.paste(q, ((w - q.width) // 2, (h - q.height) // 2 - int(h * 0.05)))
    ImageDraw.Draw(im).text((int(w * 0.1), h - int(h * 0.12)), value, fill=0, font=_font(int(h * 0.07)))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def qr_svg(value: str, size: tuple[int, int] = (58, 40), module_px: float = 9) -> bytes:
    w, h = size[0] * PX_PER_MM, size[1] * PX_PER_MM
    mods = modules(value, "QRCode")
    qs = mods.shape[1] * module_px
    ox, oy = (w - qs) / 2, (h - qs) / 2 - h * 0.05
    rects = "".join(
        f'<rect x="{ox + c * module_px:g}" y="{oy + r * module_px:g}" width="{module_px:g}" height="{module_px:g}"/>'
        for r, c in zip(*np.nonzero(mods))
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        f'<rect width="{w}" height="{h}" fill="white"/><g fill="black" shape-rendering="crispEdges">{rects}</g>'
        f'<text x="{w * 0.1:g}" y="{h * 0.95:g}" font-family="DejaVu Sans" font-size="{h * 0.07:g}">{value}</text></svg>'
    ).encode()


def _label_svg_mm(tracking: str, width_mm: float, height_mm: float, module_mm: float = 0.33,
                  label_box: tuple[float, float, float, float] | None = None) -> bytes:
    """A shipping label page in mm units with a Code128 tracking number."""
    row = modules(tracking)[0]
    bx, by, bw, bh = label_box or (0, 0, width_mm, height_mm)
    bar_w = len(row) * module_mm
    x0 = bx + (bw - bar_w) / 2
    y0 = by + bh * 0.35
    bar_h = bh * 0.18
    rects = [f'<rect x="{x0 + i * module_mm:.4f}" y="{y0:.3f}" width="{n * module_mm:.4f}" height="{bar_h:.3f}"/>'
             for i, n in dark_runs(row)]
    fs = bh * 0.04
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_mm}mm" height="{height_mm}mm" '
        f'viewBox="0 0 {width_mm} {height_mm}"><rect width="{width_mm}" height="{height_mm}" fill="white"/>'
        f'<rect x="{bx + 2}" y="{by + 2}" width="{bw - 4}" height="{bh - 4}" fill="none" stroke="black" stroke-width="0.4"/>'
        f'<text x="{bx + 5}" y="{by + bh * 0.1}" font-family="DejaVu Sans" font-size="{fs * 1.5:.2f}">AliExpress Russia</text>'
        f'<text x="{bx + 5}" y="{by + bh * 0.2}" font-family="DejaVu Sans" font-size="{fs:.2f}">Кому: Иванов И. И., Москва</text>'
        f'<g fill="black">{"".join(rects)}</g>'
        f'<text x="{x0}" y="{y0 + bar_h + fs * 1.5:.2f}" font-family="DejaVu Sans" font-size="{fs:.2f}">{tracking}</text></svg>'
    ).encode()


def pdf_label(trackings: list[str] | str, size_mm: tuple[float, float] = (100, 150),
              a4_layout: bool = False, rotate: int = 0) -> bytes:
    """A PDF with one page per tracking number (optionally /Rotate-d pages)."""
    import cairosvg
    from pypdf import PdfReader, PdfWriter

    if isinstance(trackings, str):
        trackings = [trackings]
    writer = PdfWriter()
    for t in trackings:
        if a4_layout:
            svg = _label_svg_mm(t, 210, 297, module_mm=0.4, label_box=(10, 10, 100, 150))
        else:
            svg = _label_svg_mm(t, size_mm[0], size_mm[1])
        page = PdfReader(io.BytesIO(cairosvg.svg2pdf(bytestring=svg))).pages[0]
        if rotate:
            page.rotate(rotate)
        writer.add_page(page)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def reencode(png: bytes, fmt: str, **save: object) -> bytes:
    """The same picture in another bitmap format ("JPEG", "BMP", …), e.g. JPEG at quality 95."""
    im = Image.open(io.BytesIO(png))
    if fmt.upper() == "JPEG":
        im = im.convert("L")
        save = {"quality": 95, **save}
    buf = io.BytesIO()
    im.save(buf, fmt.upper(), **save)
    return buf.getvalue()


def wb_sticker_jpeg(value: str, size: tuple[int, int] = (58, 40), **kw: object) -> bytes:
    return reencode(wb_sticker_png(value, size=size, **kw), "JPEG")  # type: ignore[arg-type]


def wb_sticker_bmp(value: str, size: tuple[int, int] = (58, 40), **kw: object) -> bytes:
    return reencode(wb_sticker_png(value, size=size, **kw), "BMP")  # type: ignore[arg-type]


def qr_bmp(value: str, size: tuple[int, int] = (58, 40), module_px: int = 9) -> bytes:
    return reencode(qr_png(value, size=size, module_px=module_px), "BMP")


def wb_sticker_svg_vertical(value: str, part_a: str = "1234567", part_b: str = "8901",
                            size: tuple[int, int] = (58, 40), turn: int = 90) -> bytes:
    """A WB ``zplv``-style vertical sticker: the landscape sticker turned ``turn`` (90 or 270)
    degrees clockwise on a portrait page (WB's vertical stickers come either way)."""
    inner = wb_sticker_svg(value, part_a, part_b, size=size).decode()
    w, h = size[0] * PX_PER_MM, size[1] * PX_PER_MM
    body = inner[inner.index("<svg"):]
    body = body[body.index(">") + 1 : body.rindex("</svg>")]
    move = f"translate({h},0) rotate(90)" if turn == 90 else f"translate(0,{w}) rotate(270)"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{h}" height="{w}" viewBox="0 0 {h} {w}">'
        f'<g transform="{move}">{body}</g></svg>'
    ).encode()


def two_barcode_svg(code128: str, qr: str, size: tuple[int, int] = (58, 40)) -> bytes:
    """A sticker with a Code128 on the left and a QR code on the right (10 px/mm)."""
    w, h = size[0] * PX_PER_MM, size[1] * PX_PER_MM
    row = modules(code128)[0]
    m = 3 if len(row) * 3 <= w * 0.55 else 2
    x0, y0, bh = int(w * 0.04), int(h * 0.15), int(h * 0.55)
    rects = [f'<rect x="{x0 + i * m}" y="{y0}" width="{m}" height="{bh}"/>' for i, d in enumerate(row) if d]
    q = modules(qr, "QRCode")
    qm = max(3, int((w * 0.34) // q.shape[1]))
    qx = w - q.shape[1] * qm - int(w * 0.04)
    qy = (h - q.shape[0] * qm) // 2
    rects += [f'<rect x="{qx + c * qm}" y="{qy + r * qm}" width="{qm}" height="{qm}"/>'
              for r, c in zip(*np.nonzero(q))]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        f'<rect width="{w}" height="{h}" fill="#fff"/><g fill="#000" shape-rendering="crispEdges">'
        f'{"".join(rects)}</g></svg>'
    ).encode()


def slow_svg(segments: int) -> bytes:
    """One path with many random segments: seconds of cairo time for a 58x40 label."""
    rnd = random.Random(7)
    pts = " ".join(f"L{rnd.uniform(0, 58):.2f},{rnd.uniform(0, 40):.2f}" for _ in range(segments))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="58mm" height="40mm" viewBox="0 0 58 40">'
            f'<path d="M0,0 {pts} Z" fill="black" stroke="black" stroke-width="0.3"/></svg>').encode()


def svg_to_png(svg: bytes, scale: float = 1.0) -> bytes:
    import cairosvg

    return cairosvg.svg2png(bytestring=svg, scale=scale, background_color="white")


def tiff_pages(values: list[str], size: tuple[int, int] = (58, 40)) -> bytes:
    """A multi-page grayscale TIFF: one WB sticker of each value per page."""
    frames = [Image.open(io.BytesIO(wb_sticker_png(v, size=size))).convert("L") for v in values]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()
