"""Multipage PDFs converted on several processes, pages handed back in order.

pdfium is not thread-safe (every call holds :data:`~printstation.render.pdf.PDFIUM_LOCK`), and a
page's work is mostly pdfium + zxing-cpp, so threads would serialise; forked worker processes each
open their own copy of the document from the bytes they inherited. At most :data:`AHEAD` pages per
worker are in flight, so a 500-page PDF never has more than a handful of pages in memory, and the
caller gets page 1 as soon as it is done.

Forking is only safe from a single-threaded process (a fork copies locks held by other threads);
:func:`workers_for` answers 1 anywhere else (and in a daemonic process, which multiprocessing
does not let have children), and the pages convert one after the other.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from ..spec import PrinterSpec

if TYPE_CHECKING:
    from ..pipeline import Label
    from .pdf import PdfPageSource

log = logging.getLogger(__name__)

#: Pages in flight per worker process.
AHEAD = 2
#: Below this many pages a pool costs more than it saves (fork + first page ≈ one page).
MIN_PAGES = 3


def pdf_pages(data: bytes, spec: PrinterSpec) -> int:
    """Number of pages (refusing broken, empty or over-long documents like :func:`open_pdf`)."""
    from .pdf import PDFIUM_LOCK, open_pdf

    pages = open_pdf(data, spec.max_pages, measure=False)
    with PDFIUM_LOCK:
        n = len(pages)
        pages[0]._doc.close()
    return n


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Environment variable capping the worker processes (``1``: convert pages in this process).
WORKERS_ENV = "PRINTSTATION_CONVERT_WORKERS"


def _busy(cores: int) -> bool:
    """Whether other work already fills the cores: the 1-minute load average counts this
    conversion's own recent work too (one process: the batch it is part of, the bench), so the
    cores are full from ``cores + 1`` (measured, 2 cores: at load 2.0–2.5 two workers took a
    40-page PDF in 567 ms against 851 ms on one process)."""
    try:
        return os.getloadavg()[0] >= cores + 1
    except OSError:
        return False


#: Threads that hold no lock a fork could copy: the conversion child's watch on its parent
#: (:func:`printstation.isolate._die_with_parent` only sleeps and asks for its parent's pid).
FORK_SAFE_THREADS = ("parent-watch",)


def _other_threads() -> bool:
    """Whether a thread other than this one (and the fork-safe ones) runs."""
    me = threading.current_thread()
    return any(t is not me and t.name not in FORK_SAFE_THREADS for t in threading.enumerate())


def workers_for(pages: int, asked: int | None = None) -> int:
    """How many processes to convert ``pages`` pages on (1 = in this process)."""
    n = usable_cores() if asked is None else asked
    env = os.environ.get(WORKERS_ENV, "").strip()
    if asked is None and env.isdigit():
        n = min(n, int(env))
    elif asked is None and _busy(n):
        return 1  # the cores are taken: extra processes would only add their own overhead
    if n <= 1 or pages < MIN_PAGES:
        return 1
    import multiprocessing as mp  # here: a one-process conversion does not need it (~10 ms)

    if "fork" not in mp.get_all_start_methods() or _other_threads():
        return 1
    if mp.current_process().daemon:  # multiprocessing forbids children there (the daemon's isolate)
        return 1
    return min(n, pages)


# --- worker side -----------------------------------------------------------------------------

class _WorkerState(TypedDict, total=False):
    """What :func:`_init` leaves for :func:`_page` in a worker."""

    pages: list[PdfPageSource]
    spec: PrinterSpec
    digest: str


_STATE: _WorkerState = {}


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when its parent dies (a killed conversion child leaves none)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort (non-Linux)
        pass


def _init(data: bytes, spec: PrinterSpec, digest: str) -> None:  # pragma: no cover - in workers
    import signal

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(0)  # the parent's time limit is the parent's
    from .pdf import open_pdf

    _STATE.update({"pages": open_pdf(data, spec.max_pages, measure=False), "spec": spec, "digest": digest})


def _page(i: int, rasters: bool) -> tuple:  # pragma: no cover - in workers
    from ..pipeline import _close, convert_page
    from .pdf import autocrop

    pages = _STATE["pages"]
    src = autocrop(pages[i].measured())
    try:
        label = convert_page(src, i, _STATE["spec"], _STATE["digest"], rasters=rasters)
    finally:
        _close(src)
    r = label.raster
    packed = (np.packbits(r, axis=None), r.shape) if r is not None else None
    return label.data, packed, label.barcodes


# --- parent side -----------------------------------------------------------------------------

def _preload(spec: PrinterSpec) -> None:
    from .. import pipeline as _pipeline  # noqa: F401
    from .. import lang
    from . import barcodes, pdf, raster, redraw  # noqa: F401

    lang.get(spec.lang)
    barcodes._zx()


def convert_pdf(data: bytes, spec: PrinterSpec, digest: str, pages: int, procs: int,
                rasters: bool) -> Iterator[Label]:
    """Labels of a ``pages``-page PDF converted on ``procs`` forked processes, in page order."""
    from ..pipeline import Label

    import multiprocessing as mp

    _preload(spec)  # imported once here, inherited by every worker (not imported once per worker)
    log.debug("converting %d pages on %d processes", pages, procs)
    ctx = mp.get_context("fork")
    pool = ctx.Pool(procs, initializer=_init, initargs=(data, spec, digest))
    try:
        pending: deque = deque()
        nxt = 0
        for i in range(pages):
            while nxt < pages and len(pending) < procs * AHEAD:
                pending.append(pool.apply_async(_page, (nxt, rasters)))
                nxt += 1
            out, packed, found = pending.popleft().get()
            raster = None
            if packed is not None:
                bits, shape = packed
                raster = np.unpackbits(bits, count=shape[0] * shape[1]).reshape(shape).astype(bool)
            yield Label(out, i, raster, found)
        pool.close()
        pool.join()
    finally:
        pool.terminate()
