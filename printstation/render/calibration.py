"""The calibration (test) label: drawn dot for dot at the printer's own resolution.

For a printer's media and dpi (``printstation test-print NAME``, ``POST /printers/{name}/test``):

- a **1-dot border 1 mm inside the media edge** (all four sides);
- a **mm ruler** along the top and the left edge, starting at the media edge: a tick every mm,
  longer every 5 mm, longest and numbered every 10 mm;
- the printer's **name, language, dpi, media, darkness and offset** as text;
- a **Code128 of the printer name** and a **QR code of the station URL**, each drawn with whole
  dots per module and proven to decode before the label is returned.

How to read the printed label:

- The border must show on all four sides, 1 mm from the edge. A side missing or cut → the image
  sits off the label: move it with ``offset = [x, y]`` (dots; + moves right / down). The rulers
  tell by how much: the first visible tick is the number of mm cut off on that side.
- Grey, broken or faint lines and bars → raise ``darkness`` (ZPL 0-30, TSPL/EPL2 0-15); bars
  bleeding into each other → lower it.
- Ruler ticks 10 mm apart on the label but not 10 mm on a real ruler → the ``dpi`` in the config
  is not the printer's.

The label is a 1-bit PNG of exactly the media in dots (``rotate`` in the config is undone first,
so it lands unrotated); it is queued as a normal job and converted and verified like any label.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import BadInput
from ..lang import registry
from ..spec import PrinterSpec

NAME = "calibration label"


def _dots(mm: float, dpi: int) -> int:
    return max(1, int(round(mm * dpi / 25.4)))


@lru_cache(maxsize=16)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, px))


def _text(canvas: np.ndarray, x: int, y: int, text: str, px: int, max_w: int) -> int:
    """Draw ``text`` (cut to ``max_w`` dots) at x, y; returns its height in dots (0 if nothing fit)."""
    font = _font(px)
    while text and font.getlength(text) > max_w:
        text = text[:-1]
    if not text:
        return 0
    box = font.getbbox(text)
    w, h = int(box[2]) + 2, int(box[3]) + 2
    im = Image.new("L", (w, h), 255)
    ImageDraw.Draw(im).text((0, 0), text, font=font, fill=0)
    ink = np.asarray(im) < 128
    hh = min(h, canvas.shape[0] - y)
    ww = min(w, canvas.shape[1] - x)
    if hh > 0 and ww > 0:
        canvas[y : y + hh, x : x + ww] |= ink[:hh, :ww]
    return h


def _modules(fmt: str, content: str) -> np.ndarray:
    import zxingcpp

    b = zxingcpp.create_barcode(content, getattr(zxingcpp.BarcodeFormat, fmt))
    return np.asarray(b.to_image(scale=1, add_quiet_zones=False, add_hrt=False)) < 128


def _ruler(canvas: np.ndarray, dpi: int, horizontal: bool, num_px: int) -> None:
    h, w = canvas.shape
    length_mm = (w if horizontal else h) * 25.4 / dpi
    for k in range(int(length_mm) + 1):
        pos = min(int(round(k * dpi / 25.4)), (w if horizontal else h) - 1)
        tick = _dots(2.5 if k % 10 == 0 else 1.7 if k % 5 == 0 else 0.9, dpi)
        if horizontal:
            canvas[:tick, pos] = True
        else:
            canvas[pos, :tick] = True
        if k and k % 10 == 0:
            room = _dots(8 if horizontal else 2.2, dpi)
            px = num_px  # a number is drawn whole, smaller when it must be ("100" cut was a second "10")
            while px > 8 and _font(px).getlength(str(k)) > room:
                px -= 1
            if _font(px).getlength(str(k)) > room:
                continue
            if horizontal:
                _text(canvas, pos + 2, _dots(1.25, dpi), str(k), px, room)
            else:
                _text(canvas, _dots(1.25, dpi), pos + 2, str(k), px, room)


def calibration_raster(name: str, spec: PrinterSpec, station_url: str) -> tuple[np.ndarray, dict[str, str]]:
    """The label as the printer prints it (True = black), and the barcodes on it {format: text}."""
    dpi = spec.dpi
    w, h = spec.width_dots, spec.height_dots
    c = np.zeros((h, w), dtype=bool)
    _frame(c, dpi)
    x0, y0 = _dots(3.6, dpi), _dots(3.6, dpi)
    x1, y1 = w - _dots(2.2, dpi), h - _dots(2.2, dpi)
    codes: dict[str, str] = {}
    if x1 - x0 < 20 or y1 - y0 < 20:
        return c, codes
    bar_top = _name_bars(c, name, dpi, (x0, y0, x1, y1), codes)
    qr_right = _url_qr(c, station_url, dpi, (x0, y0, x1, bar_top), codes)
    _settings(c, name, spec, (x0, y0, qr_right, bar_top))
    return c, codes


def _frame(c: np.ndarray, dpi: int) -> None:
    """A border 1 mm inside the edges and the rulers."""
    h, w = c.shape
    inset = _dots(1, dpi)
    if w > 2 * inset + 2 and h > 2 * inset + 2:
        c[inset, inset : w - inset] = True
        c[h - 1 - inset, inset : w - inset] = True
        c[inset : h - inset, inset] = True
        c[inset : h - inset, w - 1 - inset] = True
    num_px = _dots(1.7, dpi)
    _ruler(c, dpi, True, num_px)
    _ruler(c, dpi, False, num_px)


def _name_bars(c: np.ndarray, name: str, dpi: int, area: tuple[int, int, int, int], codes: dict[str, str]) -> int:
    """Code128 of the name along the bottom of ``area``: widest whole-dot module that fits
    with quiet zones. The top of the bars (the bottom of ``area`` when it does not fit)."""
    x0, y0, x1, y1 = area
    cw, ch = x1 - x0, y1 - y0
    bars = _modules("Code128", name)[0]
    for m in (3, 2, 1):
        need = (len(bars) + 20) * m
        bh = min(_dots(10, dpi), max(_dots(4, dpi), ch // 4))
        if need <= cw and bh + _dots(3, dpi) <= ch:
            bx = x0 + (cw - len(bars) * m) // 2 if need > cw // 2 else x0 + 10 * m
            row = np.repeat(bars, m)
            c[y1 - bh : y1, bx : bx + row.size] |= row[None, :]
            codes["Code128"] = name
            return y1 - bh
    return y1


def _url_qr(c: np.ndarray, station_url: str, dpi: int, area: tuple[int, int, int, int],
            codes: dict[str, str]) -> int:
    """QR of the station URL at the top right of ``area`` (above the bars); the free space's
    right edge left of it."""
    x0, y0, x1, bar_top = area
    if not station_url:
        return x1
    qr = _modules("QRCode", station_url)
    gap = _dots(1.5, dpi)
    for s in (max(2, _dots(0.5, dpi)), 3, 2):
        q = qr.shape[0] * s
        if q + 2 * gap <= bar_top - y0 and q <= (x1 - x0) * 0.5:
            block = np.kron(qr, np.ones((s, s), dtype=bool))
            qx, qy = x1 - q - 4 * s, y0 + 4 * s
            if qy + q + 4 * s > bar_top:
                qy = y0
            c[qy : qy + q, qx : qx + q] |= block
            codes["QRCode"] = station_url
            return qx - 4 * s
    return x1


def _settings(c: np.ndarray, name: str, spec: PrinterSpec, area: tuple[int, int, int, int]) -> None:
    """The settings as text, left of the QR and above the bars."""
    x0, y0, qr_right, bar_top = area
    dpi = spec.dpi
    px = max(9, _dots(2.4, dpi))
    darkness = "printer setting" if spec.darkness is None else str(spec.darkness)
    lines = [name, f"{registry.shown(spec.lang)} {dpi} dpi", f"media {spec.media} mm",
             f"darkness {darkness}", f"offset {spec.offset[0]},{spec.offset[1]} dots",
             "cut border: adjust offset", "faint: raise darkness"]
    y = y0
    limit = bar_top - _dots(1, dpi)
    for i, line in enumerate(lines):
        size = int(px * 1.25) if i == 0 else px
        if y + size > limit:
            break
        drawn = _text(c, x0, y, line, size, qr_right - x0 - _dots(1, dpi))
        y += max(drawn, size) + max(1, size // 5)


def check(raster: np.ndarray, codes: dict[str, str]) -> None:
    """Every barcode drawn must decode to its text from the raster itself."""
    from .barcodes import decoded_set

    if not codes:
        return
    got = decoded_set(raster, tuple(sorted(codes)))
    for fmt, text in codes.items():
        if (fmt, text.encode()) not in got:
            raise BadInput(f"calibration label: the {fmt} of {text!r} does not decode at {raster.shape[1]} "
                           "dots wide (media too small?)")


def calibration_png(name: str, spec: PrinterSpec, station_url: str) -> bytes:
    """The calibration label as a 1-bit PNG for a normal print job on a printer with ``spec``."""
    raster, codes = calibration_raster(name, spec, station_url)
    check(raster, codes)
    if spec.rotate in ("90", "180", "270"):
        # the conversion turns the source by ``rotate``: hand it the label turned back
        raster = np.rot90(raster, int(spec.rotate) // 90)
    im = Image.fromarray(np.where(raster, 0, 255).astype(np.uint8), "L").convert("1")
    out = io.BytesIO()
    im.save(out, "PNG", dpi=(spec.dpi, spec.dpi), optimize=True)
    return out.getvalue()
