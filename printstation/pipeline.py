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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import BadInput, UnsupportedConversion
from .render.sniff import Sniffed, sniff
from .spec import PrinterSpec

if TYPE_CHECKING:  # the engine is imported when a label needs it (a ZPL passthrough needs none)
    import numpy as np

    from .render import barcodes
    from .render.raster import Page, Source

log = logging.getLogger(__name__)


@dataclass
class Label:
    """One converted label: the printer bytes and, for rasters, what was printed."""

    data: bytes
    page: int
    raster: np.ndarray | None = None
    barcodes: list[barcodes.BarcodeResult] = field(default_factory=list)


def sources(s: Sniffed, spec: PrinterSpec) -> list[Source]:
    """The pages of a sniffed input as drawable sources."""
    if s.kind == "svg":
        from .render.svg import SvgSource

        return [SvgSource(s.data)]
    if s.kind == "pdf":
        from .render.pdf import autocrop, open_pdf

        _check_pdf_end(s.data)
        return [autocrop(page) for page in open_pdf(s.data, spec.max_pages)]
    if s.is_bitmap:
        from .render.bitmap import bitmap_pages

        return [*bitmap_pages(s.data, s.kind, spec.max_pixels, spec.max_pages)]
    if s.kind == "zpl":
        from .lang.registry import get

        target = get(spec.lang).target
        raise UnsupportedConversion(f"ZPL cannot be converted for {target}: fetch the label as SVG or PNG")
    raise BadInput(f"cannot render {s.kind}")


def _check_pdf_end(data: bytes) -> None:
    if b"%%EOF" not in data[-2048:]:
        raise BadInput(f"truncated PDF ({len(data)} bytes, no %%EOF at the end)")


def rasterize(src: Source, spec: PrinterSpec, key: str | None = None) -> Page:
    """Draw one source onto the media canvas at the printer's resolution (``key``: the source's
    content key, for the barcode detection cache)."""
    from .render.raster import Page, check_downscale, compose, fit, upright

    p = fit(src.width, src.height, spec, integer_scale=src.native_scale is not None)
    check_downscale(src, p, spec)
    p = upright(src, p, spec, key)
    rendered = src.render(p.sx, size=(p.out_w, p.out_h))
    return Page(compose(rendered, p), p, src, rendered)


def render(data: bytes, spec: PrinterSpec) -> list[Page]:
    """All pages of a label input, placed on the media (grayscale)."""
    s = sniff(data)
    return [rasterize(src, spec) for src in sources(s, spec)]


def convert_labels(data: bytes, printer: PrinterSpec) -> list[Label]:
    """Convert ``data`` for ``printer``; one :class:`Label` per page (or per ZPL format)."""
    return list(iter_labels(data, printer))


def iter_labels(data: bytes, printer: PrinterSpec, *, workers: int | None = None,
                rasters: bool = True, data_digest: str | None = None) -> Iterator[Label]:
    """Convert ``data`` for ``printer``, yielding each :class:`Label` in page order as soon as it
    (and every page before it) is done — a printer can take page 1 while later pages convert.

    A multipage PDF is converted on ``workers`` processes (default: the usable cores), each with
    its own pdfium (pdfium is not thread-safe), at most two pages ahead per worker so memory
    stays bounded. Processes are forked only from a single-threaded process (the CLI, the
    daemon's conversion child); elsewhere pages convert one after the other. ``rasters=False``
    leaves :attr:`Label.raster` out (cheaper to ship between processes). ``data_digest``: the
    SHA-256 hex digest of ``data`` when the caller has it (not hashed again).
    """
    from . import lang as langs

    s = sniff(data)
    if s.kind == "json":  # a marketplace's JSON answer: each of its stickers, in order
        yield from _json_labels(s.labels, printer, workers, rasters)
        return
    module = langs.get(printer.lang)
    if s.kind == "zpl" and hasattr(module, "passthrough"):
        for i, b in enumerate(module.passthrough(s.data, printer)):
            yield Label(b, i)
        return
    if data_digest is not None and s.data is data:  # not unwrapped: the caller's hash is this one
        digest = data_digest
    else:
        digest = hashlib.sha256(s.data).hexdigest()  # once, not per page of a long PDF
    if s.kind == "pdf":
        from .render import parallel

        _check_pdf_end(s.data)
        n = parallel.pdf_pages(s.data, printer)
        procs = parallel.workers_for(n, workers)
        if procs > 1:
            yield from parallel.convert_pdf(s.data, printer, digest, n, procs, rasters)
            return
    pages = sources(s, printer)
    try:
        for i, src in enumerate(pages):
            yield convert_page(src, i, printer, digest, rasters=rasters)
            _close(src)  # free a long PDF's pages as we go
    finally:
        for src in pages:
            _close(src)


def _json_labels(stickers: tuple[bytes, ...], printer: PrinterSpec, workers: int | None, rasters: bool
                 ) -> Iterator[Label]:
    if len(stickers) > printer.max_pages:
        raise BadInput(f"JSON answer has {len(stickers)} stickers, more than the limit of {printer.max_pages}")
    n = 0
    for i, sticker in enumerate(stickers):
        try:
            for label in iter_labels(sticker, printer, workers=workers, rasters=rasters):
                yield Label(label.data, n, label.raster, label.barcodes)
                n += 1
        except BadInput as exc:
            raise type(exc)(f"sticker {i + 1} of the JSON answer: {exc}") from None


_HEAP_TUNED = False


def _keep_heap() -> None:
    """glibc: keep freed image buffers in the heap for the next page instead of handing them back
    to the kernel (multi-MB renders above the default 128 KiB mmap threshold were fresh pages every
    time: ~1.5 ms of page faults per 100×150 mm page). Bounded: 32 MiB per buffer, 64 MiB kept."""
    global _HEAP_TUNED
    if _HEAP_TUNED:
        return
    _HEAP_TUNED = True
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def convert_page(src: Source, i: int, printer: PrinterSpec, digest: str, *, rasters: bool = True) -> Label:
    """One page of an input → one label (render, binarise, barcode proof, emit)."""
    from . import lang as langs
    from .lang.placement import place
    from .render import barcodes

    _keep_heap()
    module = langs.get(printer.lang)
    key = f"{digest}:{i}"
    page = rasterize(src, printer, key=key)
    raster = page.binarize(printer)
    if not raster.any():
        raise BadInput(f"page {i + 1} renders blank at {printer.dpi} dpi (empty or broken label)")
    raster, found = barcodes.finish(page, raster, printer, key=key)
    placed, spec = place(raster, printer)  # an offset the printer's command cannot give
    return Label(module.emit(placed, spec), i, raster if rasters else None, found)


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
    digest = hashlib.sha256(data).hexdigest()
    key = (digest, printer)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return list(hit)
    result = [label.data for label in iter_labels(data, printer, rasters=False, data_digest=digest)]
    with _CACHE_LOCK:
        _CACHE[key] = result
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return list(result)
