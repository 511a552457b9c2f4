"""A printer in trouble with nothing queued is asked again when due (every ``status_poll``
seconds, with backoff while it is unreachable), so ``printers``, the web page and the next job's
answer show it fixed instead of the old trouble forever — except a printer that never answered
its status query (see :func:`recheck`). Also the data dir's troubles: a full disk waits with one
line a minute, and a converted file that cannot be kept is printed from memory."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..errors import TransportError
from ..status import NO_ANSWER

if TYPE_CHECKING:
    from .worker import PrinterWorker

log = logging.getLogger("printstation.queue.worker")


def _due(w: PrinterWorker, what: str) -> bool:
    """Whether ``w``'s recurring ``what`` line is due: one a minute, not one a retry."""
    now, logged = time.monotonic(), w._logged_at
    if now - logged.get(what, -1e9) < 60.0:
        return False
    logged[what] = now
    return True


def disk_full_wait(w: PrinterWorker) -> float:
    """Seconds to wait while the data dir is full: one log line a minute, not a traceback a second."""
    if _due(w, "full"):
        log.error("printer %s: data dir full, the queue cannot record progress: waiting for space", w.name)
    return 5.0


def keep_converted(w: PrinterWorker, job_id: int, data: bytes) -> None:
    """Keep the converted bytes beside the job; when the data dir is full (or unwritable) the job
    prints from memory anyway (the file is only a cache: it is converted again if needed)."""
    try:
        w.store.save_converted(job_id, w.ext, data)
    except OSError as exc:
        if _due(w, "unsaved"):
            log.warning("printer %s: job %s: cannot keep the converted file (%s): printing from memory",
                        w.name, job_id, exc.strerror or exc)


def recheck(w: PrinterWorker) -> bool:
    """Ask ``w``'s printer again: its status, or (not polled) whether it connects. True when it
    is fine now (trouble cleared), False with the trouble and the next try updated.

    A printer that never answered its status query is left alone until the next job: it may not
    speak the configured language at all (a receipt printer set up as ZPL prints "~HS" as text)."""
    if w._trouble == "status" and NO_ANSWER in (w.reason or ""):
        from .worker import IDLE_CLOSE

        w._idle_close()
        w._wait(IDLE_CLOSE if w.transport.is_open else None)  # woken by the next job (or stop)
        return False
    if w._status_enabled() and not w._probe_only:
        return w._printer_ready()
    try:
        w.transport.check() if w._probe_only else w.transport.open()
    except TransportError as exc:
        w._in_trouble("transport", "offline" if exc.transient else "error", str(exc), w._next_backoff())
        return False
    w._trouble = None
    w._probe_only = False
    w._backoff.reset()
    return True


def first_check(w: PrinterWorker) -> None:
    """Once, when the worker starts: is the printer there at all? So ``printers`` shows an
    unplugged or unreachable printer ``offline`` (with the reason) before its first job, not
    ``idle``. Nothing is sent: a status query at start would print "~HS" as text on a receipt
    printer set up as ZPL. ``cups://`` asks its queue's state (``lpstat``); ``dir://`` checks the
    folder; others open and close the connection. A printer found in trouble is re-checked the
    same way (:func:`recheck`) until it is back, then shows ``idle``."""
    if w.manual_paused or w._stopping:
        return
    if w.transport.has_own_status:
        w._printer_ready()
        return
    try:
        w.transport.check()
    except TransportError as exc:
        w._probe_only = True
        w._in_trouble("transport", "offline" if exc.transient else "error", str(exc), w._next_backoff())
