"""A printer in trouble with nothing queued is asked again when due (every ``status_poll``
seconds, with backoff while it is unreachable), so ``printers``, the web page and the next job's
answer show it fixed instead of the old trouble forever — except a printer that never answered
its status query (see :func:`recheck`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import TransportError
from ..status import NO_ANSWER

if TYPE_CHECKING:
    from .worker import PrinterWorker


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
    if w._status_enabled():
        return w._printer_ready()
    try:
        w.transport.open()
    except TransportError as exc:
        w._in_trouble("transport", "offline" if exc.transient else "error", str(exc), w._next_backoff())
        return False
    w._trouble = None
    w._backoff.reset()
    return True
