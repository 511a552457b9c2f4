"""A deadline for each call to the shared database (``printstation.pg``).

A server that froze, or whose host went away without a reset (power cut, cable pulled, a VPN
that dropped), leaves an open connection silent: libpq waits for an answer for as long as TCP
keeps retransmitting — a quarter of an hour — and the API request, the printer's step or
``/healthz`` waits with it. The watchdog cuts the socket of a call that has run past its
deadline (``shutdown``: the blocked read returns at once with an error), so the call fails as
"unreachable" (API 503, printers wait and retry) and the pool drops the connection.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any


class Watchdog:
    """Deadlines of calls in progress; one daemon thread cuts the late ones."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, tuple[float, Any, list[bool]]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None
        self._wake_at = float("inf")  # when the thread looks next: an earlier deadline wakes it

    def arm(self, conn: Any, seconds: float) -> tuple[int, list[bool]]:
        """Watch ``conn`` for ``seconds``; ``(key, fired)`` — ``fired[0]`` turns True when cut."""
        fired = [False]
        due = time.monotonic() + seconds
        with self._cond:
            self._next += 1
            self._due[self._next] = (due, conn, fired)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pg-watchdog", daemon=True)
                self._thread.start()
            if due < self._wake_at:  # (most calls: a later deadline than one already waited for)
                self._cond.notify()
            return self._next, fired

    def disarm(self, key: int) -> None:
        with self._cond:
            self._due.pop(key, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key in [k for k, (t, _, _) in self._due.items() if t <= now]:
                    _, conn, fired = self._due.pop(key)
                    fired[0] = True
                    cut(conn)
                self._wake_at = max(now + 0.01, min((t for t, _, _ in self._due.values()), default=now + 60.0))
                self._cond.wait(self._wake_at - now)


def cut(conn: Any) -> None:
    """Shut the connection's socket down (both ways): whatever waits on it gets an error now."""
    try:
        fd = conn.pgconn.socket
        s = socket.socket(fileno=os.dup(fd))
    except Exception:  # noqa: BLE001 - closed meanwhile: nothing to cut
        return
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        s.close()


__all__ = ["Watchdog", "cut"]
