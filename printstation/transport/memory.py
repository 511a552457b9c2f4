"""``memory://NAME`` — an in-process printer for tests and dry runs.

Every transport built for the same NAME shares one :class:`MemorySink` (``sink(NAME)``), so a
test can build the daemon from config and then look at what "printed"::

    from printstation.transport import memory
    s = memory.sink("bench")               # get or create
    s.responder = lambda data: b"\\x00" if data == b"\\x1b!?" else None   # answer status queries
    ... daemon prints to memory://bench ...
    assert s.writes[0].job_id == "1" and s.data.startswith(b"^XA")

Failure injection: ``s.fail_open`` / ``s.fail_write`` hold a TransportError (or None) raised on
the next open/write (kept until cleared), ``s.online = False`` makes every open fail with a
transient "offline" error. ``reset()`` forgets all sinks.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import TransportError
from .base import DEFAULT_TIMEOUT, Transport, parse_query


@dataclass(frozen=True)
class Write:
    data: bytes
    job_id: str | None
    ext: str
    at: float


@dataclass
class MemorySink:
    name: str
    writes: list[Write] = field(default_factory=list)
    #: Called with each written chunk; bytes it returns are queued for read().
    responder: Callable[[bytes], bytes | None] | None = None
    online: bool = True
    fail_open: TransportError | None = None
    fail_write: TransportError | None = None
    opens: int = 0
    _inbox: bytearray = field(default_factory=bytearray)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def data(self) -> bytes:
        """Every byte written so far, concatenated."""
        with self._cond:
            return b"".join(w.data for w in self.writes)

    @property
    def jobs(self) -> list[Write]:
        """Writes that carried a job id (status queries and commands carry none)."""
        with self._cond:
            return [w for w in self.writes if w.job_id is not None]

    def feed(self, data: bytes) -> None:
        """Queue bytes for the next read() (the "printer" talking back)."""
        with self._cond:
            self._inbox += data
            self._cond.notify_all()

    def wait_writes(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` writes arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.writes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True


_SINKS: dict[str, MemorySink] = {}
_LOCK = threading.Lock()


def sink(name: str) -> MemorySink:
    """The shared sink for ``memory://name`` (created on first use)."""
    with _LOCK:
        if name not in _SINKS:
            _SINKS[name] = MemorySink(name)
        return _SINKS[name]


def reset() -> None:
    """Forget every sink (call between tests)."""
    with _LOCK:
        _SINKS.clear()


class MemoryTransport(Transport):

    atomic_write = True
    scheme = "memory"
    can_read = True

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(uri, timeout=timeout)
        parts = urllib.parse.urlsplit(uri)
        parse_query(uri, parts, set())
        name = parts.netloc + parts.path
        if not name:
            raise self.error("missing sink name (expected memory://NAME)", transient=False)
        self.name = name
        self.sink = sink(name)

    def _open(self) -> None:
        s = self.sink
        if s.fail_open is not None:
            raise s.fail_open
        if not s.online:
            raise self.error("connect: printer offline", transient=True)
        with s._cond:
            s.opens += 1

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        s = self.sink
        if s.fail_write is not None:
            raise s.fail_write
        if not s.online:
            raise self.error("write: printer offline", transient=True)
        answer = s.responder(data) if s.responder else None
        with s._cond:
            s.writes.append(Write(data, job_id, ext, time.time()))
            if answer:
                s._inbox += answer
            s._cond.notify_all()

    def _read(self, n: int, timeout: float) -> bytes:
        s = self.sink
        deadline = time.monotonic() + timeout
        with s._cond:
            while not s._inbox:
                left = deadline - time.monotonic()
                if left <= 0:
                    return b""
                s._cond.wait(left)
            out = bytes(s._inbox[:n])
            del s._inbox[:n]
            return out

    def _close(self) -> None:
        pass
