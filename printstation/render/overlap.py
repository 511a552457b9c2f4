"""One label on two cores: barcode detection runs beside the print render.

A 58×40 mm WB PNG sticker costs ~3 ms of CPU on one core, of which the barcode search on the
source (linear rows, the 2-D pass) is ~1.1 ms and the print render (resize, binarise) plus the
column pass ~0.8 ms. Neither needs the other, and zxing-cpp and Pillow's resize release the GIL,
so with a second core free the packer's label is done ~0.6 ms sooner (2.9 → 2.3 ms measured on
the 2-core box) at ~0.1 ms more CPU. Used only when a core is free: not while the load average
says the box is busy.

One helper thread, started on first use; the caller blocks on an event for its answer (spinning
instead, even with ``time.sleep(0)`` handing the GIL over, slowed the helper's own Python steps
by 0.6 ms a sticker). The helper holds no lock while idle, so a fork (the PDF page workers) is safe when :func:`idle`;
a forked child starts with no helper (it makes its own when it needs one).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import barcodes

from .raster import Page

if TYPE_CHECKING:
    from .raster import Placement, Source

#: Name of the helper thread (listed as fork-safe while idle by the PDF page workers).
THREAD_NAME = "barcode-detect"

_lock = threading.Lock()
_jobs: "queue.SimpleQueue[Pending | None]" | None = None
_busy = 0


class Pending:
    """A call running on the helper thread."""

    __slots__ = ("fn", "args", "done", "event", "value", "error")

    def __init__(self, fn: Callable[..., Any], args: tuple) -> None:
        self.fn, self.args = fn, args
        self.done = False
        self.event = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def result(self) -> Any:
        """The call's value (its exception raised here)."""
        if not self.done:
            self.event.wait()
        if self.error is not None:
            raise self.error
        return self.value


def _serve(jobs: "queue.SimpleQueue[Pending | None]") -> None:
    global _busy
    while True:
        job = jobs.get()
        if job is None:
            return
        try:
            job.value = job.fn(*job.args)
        except BaseException as exc:  # handed to the waiting thread
            job.error = exc
        finally:
            with _lock:
                _busy -= 1
            job.done = True
            job.event.set()


def submit(fn: Callable[..., Any], *args: Any) -> Pending:
    """Run ``fn(*args)`` on the helper thread."""
    global _jobs, _busy
    job = Pending(fn, args)
    with _lock:
        if _jobs is None:
            _jobs = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(_jobs,), name=THREAD_NAME, daemon=True).start()
        _busy += 1
        _jobs.put(job)
    return job


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Environment variable: ``0`` keeps every label on one thread; ``2`` uses the helper whatever
#: the load (still never in a PDF page worker); unset: when a core is free.
ENV = "PRINTSTATION_LABEL_THREADS"


def available() -> bool:
    """Whether a label may use the helper now: a second core, and free (load average under
    cores − 0.5). (PDF pages never do: they are vector sources, see :func:`detect_beside`; a
    multipage PDF fills the cores with page workers instead.)"""
    env = os.environ.get(ENV, "").strip()
    if env == "0":
        return False
    n = _cores()
    if n < 2:
        return False
    if env == "2":
        return True
    try:
        return os.getloadavg()[0] < n - 0.5
    except OSError:
        return False


def idle() -> bool:
    """Whether the helper runs nothing (a fork then copies no half-done work or held lock)."""
    with _lock:
        return _busy == 0


def _after_fork_in_child() -> None:
    """The helper thread does not exist in a forked child: forget it (and its queue)."""
    global _jobs, _busy, _lock
    _lock = threading.Lock()
    _jobs, _busy = None, 0


class Beside:
    """:func:`~printstation.render.barcodes.detect` split over two cores: the rows pass,
    blanking and 2-D pass run on the helper thread while this thread draws the print raster;
    :meth:`result` reads the columns here, then takes the helper's answer. The symbols, their
    order and the layout cache's input are :func:`~printstation.render.barcodes.scan`'s (a
    column symbol whose bars get blanked has the 2-D pass read again, here, on scan's image)."""

    def __init__(self, page: Page, key: str | None, scale: float) -> None:
        self.key, self.scale = key, scale
        self.img = page.source.render(scale)
        self.job = submit(self._rows_and_matrix)

    def _rows_and_matrix(self) -> tuple[list[barcodes.Barcode], list[barcodes.Stripe], np.ndarray,
                                        list[barcodes.Barcode]]:
        rows, stripes = barcodes.linear_pass(self.img, self.scale, False)
        mimg = barcodes.blanked(self.img, stripes)
        return rows, stripes, mimg, barcodes.matrix_pass(self.img, mimg, self.scale, True)

    def result(self) -> tuple[list[barcodes.Barcode], np.ndarray, float]:
        cols, col_stripes = barcodes.linear_pass(self.img, self.scale, True)
        rows, stripes, mimg, matrix = self.job.result()
        if col_stripes:
            full = barcodes.blanked(self.img, stripes + col_stripes)
            if not np.array_equal(full, mimg):
                matrix = barcodes.matrix_pass(self.img, full, self.scale, True)
        return barcodes.keep_detection(self.key, self.scale, rows + cols + matrix, self.img)


def detect_beside(src: Source, placement: Placement, key: str | None) -> Beside | None:
    """Start detecting a bitmap page's barcodes on the helper thread (see :class:`Beside`) when
    a core is free and the detection is not cached; else ``None`` (``finish`` then calls
    ``detect``). Bitmaps only: their detection image is the decoded bitmap itself (vector sources
    would draw theirs, and pdfium and cairo recordings are not shared across threads)."""
    if src.native_scale is None or not available():
        return None
    page = Page(np.zeros((0, 0), np.uint8), placement, src)
    scale = barcodes.detect_scale(page)
    return None if barcodes.cached_detection(key, scale) is not None else Beside(page, key, scale)


os.register_at_fork(after_in_child=_after_fork_in_child)
