"""A job sent page by page while its later pages convert (a 40-page PDF starts printing after one
page's conversion, not forty).

A printer worker streams a job when its transport is a byte stream (``tcp://``, ``usb://``,
``serial://``, ``file://``: ``dir://`` and ``cups://`` take a job whole, atomically), the job has no
converted file yet, and its converter converts label by label (:meth:`printstation.isolate.Converter.iter_convert`).
Page 1 is converted before the printer is connected or the job marked ``sending``, so a label
that fails on its first page fails exactly as before (nothing sent).

When page k > 1 fails to convert after pages 1…k−1 went to the printer, those pages are on
paper: the job ends ``failed`` with ``page k: <reason>; pages 1–(k−1) were sent to the printer``
(never sent again by itself: a reprint of the job prints every page). When the station stops
while page k converts, the job is ``interrupted`` the same way as a job cut on the wire.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ConversionAborted, PrintstationError
from . import trouble
from .base import Job

if TYPE_CHECKING:
    from .worker import PrinterWorker

log = logging.getLogger(__name__)


def job_spec(spec: Any, job: Job) -> Any:
    """The printer's spec as one job asks for it (its copies, its "fit whatever the shrink")."""
    if job.copies is not None:
        spec = spec.replace(copies=job.copies)
    if job.fit:
        spec = spec.replace(max_downscale=0.0)
    return spec


class _PageFailed(PrintstationError):
    """Page ``page`` of a streamed job could not be converted after the pages before it were sent."""

    def __init__(self, page: int, cause: BaseException) -> None:
        self.page, self.cause = page, cause
        why = reason_of(cause)
        why = why if why.startswith(f"page {page} ") else f"page {page}: {why}"
        super().__init__(f"{why}; {sent_pages(page - 1)} sent to the printer")

    def record(self, w: PrinterWorker, job: Job) -> None:
        log.warning("job %s (%s): %s", job.id, job.name or job.source, self)
        if isinstance(self.cause, ConversionAborted):  # the station stops: cut like on the wire
            why = f"the station stopped before page {self.page} was converted; {sent_pages(self.page - 1)} sent"
            w.store.interrupt(job.id, why, resend=w.cfg.on_interrupted == "resend")
        else:
            w.store.fail(job.id, str(self))


def reason_of(exc: BaseException) -> str:
    """The one-line reason a conversion failed for the job record."""
    if isinstance(exc, PrintstationError):
        return str(exc)
    return f"conversion failed: {type(exc).__name__}"


def sent_pages(n: int) -> str:
    return "page 1 was" if n == 1 else f"pages 1–{n} were"


class Pages:
    """A job's printer bytes, label by label, as they convert."""

    def __init__(self, labels: Iterator[bytes], keep: Callable[[bytes], None]) -> None:
        self._labels, self._keep = labels, keep
        self._first: bytes | None = None
        self.done: list[bytes] = []

    def first(self, w: PrinterWorker, job: Job) -> Pages | None:
        """Convert page 1 (a failure fails the job as a whole conversion does); None if it failed."""
        try:
            self._first = next(self._labels, b"")
            if not self._first:
                raise PrintstationError("the label converts to nothing")
        except Exception as exc:  # noqa: BLE001 - poison never blocks the queue: this job fails
            w.conversion_failed(job, exc)
            return None
        return self

    def __iter__(self) -> Iterator[bytes]:
        """Page 1, then each next page as it converts (:class:`_PageFailed` when one cannot)."""
        assert self._first is not None
        self.done.append(self._first)
        yield self._first
        while True:
            try:
                label = next(self._labels, None)
            except Exception as exc:  # noqa: BLE001 - this job's failure, with what was sent
                raise _PageFailed(len(self.done) + 1, exc) from exc
            if label is None:  # every page converted: kept beside the job, as a whole conversion is
                self._keep(b"".join(self.done))
                return
            self.done.append(label)
            yield label

    def close(self) -> None:
        """Stop converting (a conversion child left mid-label is replaced)."""
        close = getattr(self._labels, "close", None)
        if close is not None:
            close()


def labels_for(w: PrinterWorker, job: Job) -> Iterable[bytes] | None:
    """The job's printer bytes: its pages as they convert (:class:`Pages`), or whole when it is not
    streamed (see the module doc); None when its conversion failed (the job failed)."""
    iter_convert = getattr(getattr(w._convert, "__self__", None), "iter_convert", None)
    if w.transport.atomic_write or not callable(iter_convert) or w.store.converted(job.id, w.ext):
        data = w._prepare(job)
        return None if data is None else [data]
    payload = w.store.payload(job.id)  # StoreUnavailable: not the label's fault, tried again
    pages = Pages(iter_convert(payload, job_spec(w.cfg.spec, job)), lambda data: trouble.keep_converted(w, job.id, data))
    return pages.first(w, job)
