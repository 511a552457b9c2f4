"""A printer in trouble with nothing queued is asked again when due (every ``status_poll``
seconds, with backoff while it is unreachable), so ``printers``, the web page and the next job's
answer show it fixed instead of the old trouble forever."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import TransportError

if TYPE_CHECKING:
    from .worker import PrinterWorker


def recheck(w: PrinterWorker) -> bool:
    """Ask ``w``'s printer again: its status, or (not polled) whether it connects. True when it
    is fine now (trouble cleared), False with the trouble and the next try updated."""
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
