"""Our own shelf label for an Ozon FBS return, drawn as SVG for the printer's media.

    svg = returns_label_svg(ret, spec)      # ret: a return as Ozon lists it (seed 002 fields)

What is on it, top to bottom: a Code128 of ``product_offer_id`` (the seller's article, what the
shelf is sorted by) with the article under it, the product name (up to two lines), the posting
number and the return date, the reason. The SVG is exactly the media (58×40, 40×30, any other
size) with its coordinates in the printer's dots, so every bar is a whole number of dots; it then
goes through the normal conversion pipeline like any label, where its barcode is verified.

Text is drawn in "DejaVu Sans" (Debian ``fonts-dejavu-core``: Cyrillic included); lines that do
not fit are shortened with "…". Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Mapping
from xml.sax.saxutils import escape

import numpy as np

from ..errors import BadInput
from ..spec import PrinterSpec, mm_to_dots

FONT = "DejaVu Sans"
#: Quiet zone each side of the Code128, in modules (the symbology asks for 10).
QUIET_MODULES = 10
#: Widest module we draw, in mm (wider only wastes label).
MAX_MODULE_MM = 0.5


@functools.lru_cache(maxsize=256)
def code128_modules(value: str) -> tuple[bool, ...]:
    """The Code128 bar pattern of ``value`` (True = bar), without quiet zones."""
    import zxingcpp

    try:
        b = zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.Code128)
    except Exception as exc:  # zxing raises ValueError/RuntimeError on unencodable input
        raise BadInput(f"cannot encode {value!r} as Code128: {exc}") from None
    row = np.asarray(b.to_image(scale=1, add_quiet_zones=False, add_hrt=False))[0] < 128
    return tuple(bool(x) for x in row)


@functools.lru_cache(maxsize=8)
def _pil_font(size_px: int, bold: bool) -> Any:
    from PIL import ImageFont

    for name in (("DejaVuSans-Bold.ttf",) if bold else ()) + ("DejaVuSans.ttf",):
        try:
            return ImageFont.truetype(name, size_px)
        except OSError:
            continue
    return None


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width of ``text`` at font size ``size`` (same units), measured with DejaVu when present."""
    scale = 64
    font = _pil_font(scale, bold)
    if font is None:
        return len(text) * size * (0.68 if bold else 0.62)
    return font.getlength(text) * size / scale


def fit_text(text: str, size: float, width: float, bold: bool = False) -> str:
    """``text`` shortened with "…" until it fits ``width``."""
    if text_width(text, size, bold) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid].rstrip() + "…", size, bold) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def wrap(text: str, size: float, width: float, lines: int, bold: bool = False) -> list[str]:
    """Up to ``lines`` lines of ``text`` broken at spaces; the last one shortened with "…"."""
    words = text.split()
    out: list[str] = []
    while words and len(out) < lines:
        if len(out) == lines - 1:
            out.append(fit_text(" ".join(words), size, width, bold))
            break
        line = words.pop(0)
        while words and text_width(line + " " + words[0], size, bold) <= width:
            line += " " + words.pop(0)
        out.append(fit_text(line, size, width, bold))
    return out


def _clean(v: Any) -> str:
    s = "" if v is None else str(v)
    return " ".join("".join(ch if ch.isprintable() else " " for ch in s).split())


def offer_value(ret: Mapping[str, Any]) -> str:
    """What the Code128 carries: ``product_offer_id`` without control characters or stray spaces."""
    return _clean(ret.get("product_offer_id"))


def return_date(v: Any) -> str:
    """``2026-11-21T08:30:00Z`` → ``21.11.2026`` (anything else: as given)."""
    s = _clean(v)
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).strftime("%d.%m.%Y")
    except ValueError:
        return s[:20]


def returns_label_svg(ret: Mapping[str, Any], spec: PrinterSpec) -> bytes:
    """The returns label of ``ret`` for ``spec``'s media, as SVG in printer dots."""
    offer = offer_value(ret)
    if not offer:
        raise BadInput("the return has no product_offer_id: nothing to put in the barcode")
    W, H = spec.media.width_mm, spec.media.height_mm
    if W < 25 or H < 15:
        raise BadInput(f"media {W:g}×{H:g} mm is too small for a returns label (at least 25×15 mm)")
    dpmm = spec.dpi / 25.4
    Wd, Hd = mm_to_dots(W, spec.dpi), mm_to_dots(H, spec.dpi)
    mods = code128_modules(offer)
    n = len(mods)
    module = min((Wd - 2) // (n + 2 * QUIET_MODULES), max(1, int(MAX_MODULE_MM * dpmm)))
    if module < 1:
        raise BadInput(f"article {offer!r} is too long for a Code128 on {W:g} mm wide media "
                       f"at {spec.dpi} dpi ({n} modules)")
    margin = max(1.0, min(H * 0.04, 3.0)) * dpmm
    inner = Wd - 2 * margin
    f_small = min(H * 0.072, 3.5) * dpmm
    f_name = min(H * 0.078, 4.0) * dpmm
    bar_h = int(min(H * 0.36, 20.0) * dpmm)

    parts: list[str] = []
    # barcode: whole dots, centred
    x0 = (Wd - n * module) // 2
    y0 = int(margin)
    i = 0
    while i < n:
        if mods[i]:
            j = i
            while j < n and mods[j]:
                j += 1
            parts.append(f'<rect x="{x0 + i * module}" y="{y0}" width="{(j - i) * module}" height="{bar_h}"/>')
            i = j
        else:
            i += 1
    y: float = y0 + bar_h

    def line(text: str, size: float, *, bold: bool = False, anchor: str = "start", x: float | None = None) -> None:
        nonlocal y
        y += size * 1.12
        if x is None:
            x = Wd / 2 if anchor == "middle" else margin
        weight = ' font-weight="bold"' if bold else ""
        parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size:.1f}"{weight} '
                     f'text-anchor="{anchor}">{escape(text)}</text>')

    line(fit_text(offer, f_small, inner, True), f_small, bold=True, anchor="middle")
    y += f_small * 0.25
    for t in wrap(_clean(ret.get("product_name")) or "—", f_name, inner, 2, bold=True):
        line(t, f_name, bold=True)
    date = return_date(ret.get("return_date"))
    date_w = text_width(date, f_small)
    posting = fit_text(_clean(ret.get("posting_number")), f_small, inner - date_w - f_small)
    line(posting, f_small)
    parts.append(f'<text x="{Wd - margin:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{f_small:.1f}" '
                 f'text-anchor="end">{escape(date)}</text>')
    reason = _clean(ret.get("return_reason_name"))
    if reason:
        line(fit_text(reason, f_small, inner), f_small)
    if y > Hd - margin * 0.5:
        raise BadInput(f"the returns label does not fit {W:g}×{H:g} mm media")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W:g}mm" height="{H:g}mm" '
           f'viewBox="0 0 {Wd} {Hd}" shape-rendering="crispEdges">'
           f'<rect width="{Wd}" height="{Hd}" fill="white"/><g fill="black">{"".join(parts)}</g></svg>')
    return svg.encode("utf-8")


def returns_label_name(ret: Mapping[str, Any]) -> str:
    return f"ozon-return-{_clean(ret.get('id')) or 'x'}.svg"


__all__ = ["returns_label_svg", "offer_value", "code128_modules", "fit_text", "wrap", "return_date", "returns_label_name"]
