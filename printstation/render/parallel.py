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

import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from ..spec import PrinterSpec

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkContext

    from ..pipeline import Label
    from .pdf import PdfPageSource

log = logging.getLogger(__name__)

#: Pages in flight per worker process.
AHEAD = 2
#: Labels this process may convert ahead while the page due is still with a worker (a worker
#: starved by other work on its core then holds back little): printer bytes only (a few KB
#: each), or :data:`AHEAD` when the 1-bit rasters are kept too.
HOLD = 8
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
    """Whether other work already fills the cores twice over. The converting process is a page
    worker itself, so a second process costs no measurable CPU (40-page PDF, same runs: 0.76 s
    against 0.76 s on one process, 0.80 against 0.79; ~6 % more when another job holds the
    second core) and takes its share of a busy core (at load ~3: 507 ms against 726 ms on one
    process); the gate stays for a box already running two jobs per core."""
    try:
        return os.getloadavg()[0] >= 2 * cores + 1
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


def _init(data: bytes, spec: PrinterSpec, digest: str) -> None:
    import signal

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(0)  # the parent's time limit is the parent's
    _open(data, spec, digest)


def _open(data: bytes, spec: PrinterSpec, digest: str) -> None:
    from .pdf import open_pdf

    _STATE.update({"pages": open_pdf(data, spec.max_pages, measure=False), "spec": spec, "digest": digest})


def _page(i: int, rasters: bool) -> tuple:
    """Page ``i`` of the open document: (printer bytes, packed raster or None, barcodes)."""
    from ..pipeline import _close, convert_page
    from . import barcodes
    from .pdf import autocrop

    pages = _STATE["pages"]
    src = autocrop(pages[i].measured())
    try:
        label = convert_page(src, i, _STATE["spec"], _STATE["digest"], rasters=rasters)
    finally:
        _close(src)
        # No page of a multipage PDF is detected twice: its ~2.2 MB image goes at once (keeping
        # them made every page fault in fresh memory — a fresh process converting 20 of the 40
        # pages, medians of 9 interleaved: 303 → 287 ms CPU, 14,300 → 4,800 minor page faults).
        barcodes.forget_detection(f"{_STATE['digest']}:{i}")
    r = label.raster
    packed = (np.packbits(r, axis=None), r.shape) if r is not None else None
    return label.data, packed, label.barcodes


def _serve(conn: Connection, data: bytes, spec: PrinterSpec, digest: str) -> None:  # pragma: no cover - in workers
    """A worker: page numbers in, ("ok", page) or ("err", exception) out, in order; None ends it."""
    _init(data, spec, digest)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        try:
            out: tuple = ("ok", _page(*msg))
        except BaseException as exc:  # noqa: BLE001 - the page's failure goes to its turn
            out = ("err", exc)
        try:
            conn.send(out)
        except (OSError, ValueError):
            return
        except Exception:  # noqa: BLE001 - an exception that does not pickle: its text does
            from ..errors import BadInput

            what = out[1]
            conn.send(("err", BadInput(f"conversion failed: {type(what).__name__}: {what}")))


# --- parent side -----------------------------------------------------------------------------

def _preload(spec: PrinterSpec) -> None:
    from .. import pipeline as _pipeline  # noqa: F401
    from .. import lang
    from . import barcodes, pdf, raster, redraw  # noqa: F401

    lang.get(spec.lang)
    barcodes._zx()


def _label(i: int, out: tuple) -> Label:
    from ..pipeline import Label

    data, packed, found = out
    raster = None
    if packed is not None:
        bits, shape = packed
        raster = np.unpackbits(bits, count=shape[0] * shape[1]).reshape(shape).astype(bool)
    return Label(data, i, raster, found)


class _Worker:
    """A forked page worker and the pages it was given (it answers them in order)."""

    def __init__(self, ctx: "ForkContext", data: bytes, spec: PrinterSpec, digest: str) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, data, spec, digest), name="printstation-page")
        self.proc.start()
        child.close()
        self.given: deque[int] = deque()

    def give(self, i: int, rasters: bool) -> None:
        """Hand page ``i`` over (to a dead worker too: :meth:`take` then fails it at its turn)."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send((i, rasters))
        self.given.append(i)

    def take(self) -> tuple[int, tuple]:
        """(page, ("ok", result) or ("err", exception)) of the oldest page given."""
        i = self.given.popleft()
        try:
            return i, self.conn.recv()
        except (EOFError, OSError):
            from ..errors import BadInput

            return i, ("err", BadInput("a page worker died while converting this label"))

    def stop(self, wait: bool = True) -> None:
        """No more pages for this worker (idempotent); ``wait``: and reap it (killed if it is not
        done within a second). Telling it early, then reaping it later, overlaps its exit with
        this process's own last steps (the worker's teardown is 3-7 ms of a 40-page PDF's tail)."""
        if not self.conn.closed:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
            self.conn.close()
        if not wait:
            return
        self.proc.join(1.0)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def convert_pdf(data: bytes, spec: PrinterSpec, digest: str, pages: int, procs: int,
                rasters: bool) -> Iterator[Label]:
    """Labels of a ``pages``-page PDF converted here and on ``procs - 1`` forked processes, in page
    order. Each worker has at most :data:`AHEAD` pages given; this process converts the next page
    nobody has, and, while the page due is still with a worker, up to :data:`HOLD` later ones
    (their failures wait for their turn: a page is refused only after the pages before it)."""
    import multiprocessing as mp

    _preload(spec)  # imported once here, inherited by every worker (not imported once per worker)
    log.debug("converting %d pages on %d processes", pages, procs)
    ctx = mp.get_context("fork")
    workers = [_Worker(ctx, data, spec, digest) for _ in range(procs - 1)]
    _open(data, spec, digest)
    held: dict[int, tuple] = {}
    nxt, hold = 0, AHEAD if rasters else HOLD

    def top_up() -> None:  # every worker busy, the pages given in order
        nonlocal nxt
        for w in workers:
            # The last pages never queue behind another on a worker: this process takes them
            # instead of waiting idle at the end. Simulated, 40 pages of 13.5 ± 1.5 ms: 8.2 → 4.5 ms
            # median over the ideal split; measured on a busy box (one process idle at the end,
            # medians of 12-24 interleaved runs): 12.3 → 10.0, 3.1 → 3.5, 27.5 → 11.2 ms.
            while nxt < pages and len(w.given) < AHEAD and (not w.given or pages - nxt > len(workers)):
                w.give(nxt, rasters)
                nxt += 1

    try:
        for i in range(pages):
            while i not in held:
                owner = next((w for w in workers if i in w.given), None)
                if owner is None:  # the page due is nobody's (i == nxt): ours, the next ones theirs
                    nxt = i + 1
                    top_up()
                    held[i] = _here(i, rasters)
                elif len(held) < hold and nxt < pages and not owner.conn.poll(0):
                    j, nxt = nxt, nxt + 1  # the page due is not done yet: one more ahead here
                    held[j] = _here(j, rasters)
                else:
                    j, out = owner.take()
                    held[j] = out
                    top_up()
            kind, out = held.pop(i)
            if kind == "err":
                raise out
            if i == pages - 1:  # every page is in: the workers may go while this one is handed over
                for w in workers:
                    w.stop(wait=False)
            yield _label(i, out)
    finally:
        for w in workers:
            w.stop(wait=False)
        _close_state()
        for w in workers:
            w.stop()


def _close_state() -> None:
    from .pdf import PDFIUM_LOCK

    pages = _STATE.pop("pages", None)
    _STATE.pop("spec", None)
    _STATE.pop("digest", None)
    if pages:
        with PDFIUM_LOCK:
            pages[0]._doc.close()


def _here(i: int, rasters: bool) -> tuple:
    try:
        return "ok", _page(i, rasters)
    except Exception as exc:  # noqa: BLE001 - raised at its turn
        return "err", exc
