"""Label bytes in → printer bytes out. Pure: no network, no files, no printer I/O.

Pipeline: :func:`~printstation.render.sniff.sniff` → native passthrough (ZPL → ZPL) or
rasterise each page at the printer's resolution (:mod:`printstation.render`) → binarise →
barcode redraw and verification (:mod:`printstation.render.barcodes`) → the printer language's
emitter (:mod:`printstation.lang`). Each page becomes one label.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from . import lang as langs
from .errors import BadInput, UnsupportedConversion
from .render import barcodes
from .render.raster import Page, Source, check_downscale, compose, fit, upright
from .render.sniff import Sniffed, sniff
from .spec import PrinterSpec

log = logging.getLogger(__name__)


@dataclass
class Label:
    """One converted label: the printer bytes and, for rasters, what was printed."""

    data: bytes
    page: int
    raster: np.ndarray | None = None
    barcodes: list[barcodes.BarcodeResult] = field(default_factory=list)


#: How the ZPL refusal names each non-ZPL target (with its article).
_FOR_LANG = {"tspl": "a TSPL printer", "escpos": "an ESC/POS printer", "epl2": "an EPL2 printer",
             "png": "PNG output"}


def sources(s: Sniffed, spec: PrinterSpec) -> list[Source]:
    """The pages of a sniffed input as drawable sources."""
    if s.kind == "svg":
        from .render.svg import SvgSource

        return [SvgSource(s.data)]
    if s.kind == "pdf":
        from .render.pdf import autocrop, open_pdf

        tail = s.data[-2048:]
        if b"%%EOF" not in tail:
            raise BadInput(f"truncated PDF ({len(s.data)} bytes, no %%EOF at the end)")
        return [autocrop(page) for page in open_pdf(s.data, spec.max_pages)]
    if s.is_bitmap:
        from .render.bitmap import BitmapSource

        return [BitmapSource(s.data, s.kind, spec.max_pixels)]
    if s.kind == "zpl":
        target = _FOR_LANG.get(spec.lang, f"a {spec.lang.upper()} printer")
        raise UnsupportedConversion(f"ZPL cannot be converted for {target}: fetch the label as SVG or PNG")
    raise BadInput(f"cannot render {s.kind}")


def rasterize(src: Source, spec: PrinterSpec, key: str | None = None) -> Page:
    """Draw one source onto the media canvas at the printer's resolution (``key``: the source's
    content key, for the barcode detection cache)."""
    p = fit(src.width, src.height, spec, integer_scale=src.native_scale is not None)
    check_downscale(src, p, spec)
    p = upright(src, p, spec, key)
    rendered = src.render(p.sx, size=(p.out_w, p.out_h))  # type: ignore[call-arg]
    return Page(compose(rendered, p), p, src)


def render(data: bytes, spec: PrinterSpec) -> list[Page]:
    """All pages of a label input, placed on the media (grayscale)."""
    s = sniff(data)
    return [rasterize(src, spec) for src in sources(s, spec)]


def convert_labels(data: bytes, printer: PrinterSpec) -> list[Label]:
    """Convert ``data`` for ``printer``; one :class:`Label` per page (or per ZPL format)."""
    s = sniff(data)
    module = langs.get(printer.lang)
    if s.kind == "zpl" and hasattr(module, "passthrough"):
        return [Label(b, i) for i, b in enumerate(module.passthrough(s.data, printer))]
    out: list[Label] = []
    pages = sources(s, printer)
    digest = hashlib.sha256(s.data).hexdigest()  # once, not per page of a long PDF
    try:
        for i, src in enumerate(pages):
            page = rasterize(src, printer, key=f"{digest}:{i}")
            raster = page.binarize(printer)
            if not raster.any():
                raise BadInput(f"page {i + 1} renders blank at {printer.dpi} dpi (empty or broken label)")
            raster, found = barcodes.finish(page, raster, printer, key=f"{digest}:{i}")
            out.append(Label(module.emit(raster, printer), i, raster, found))
            _close(src)  # free a long PDF's pages as we go
    finally:
        for src in pages:
            _close(src)
    return out


def _close(src: Source) -> None:
    """Release what a source holds open (a loaded PDF page); idempotent."""
    close = getattr(src, "close", None)
    if close is not None:
        close()


_CACHE: "OrderedDict[tuple[str, PrinterSpec], list[bytes]]" = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256


def convert(data: bytes, printer: PrinterSpec | None = None) -> list[bytes]:
    """Convert label bytes for a printer: one ``bytes`` per label, in page order.

    Results are cached by content hash and printer spec, so a reprint costs nothing.
    Raises :class:`~printstation.errors.BadInput` (and subclasses) for input that cannot print.
    """
    printer = printer or PrinterSpec()
    key = (hashlib.sha256(data).hexdigest(), printer)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return list(hit)
    result = [label.data for label in convert_labels(data, printer)]
    with _CACHE_LOCK:
        _CACHE[key] = result
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return list(result)
