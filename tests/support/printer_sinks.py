"""Real TCP "printers" on 127.0.0.1 for tests and benchmarks (stable names, reusable).

Every sink listens on an ephemeral port, serves any number of connections (one thread each), and
is a context manager (``with RecordingSink() as p: ... p.uri``). All of them record what they
received; status queries they answer are *not* recorded in ``data`` (a real printer does not
print them) but counted in ``status_queries``.

- :class:`RecordingSink` — records bytes, answers status queries for ZPL ``~HS``, TSPL
  ``<ESC>!?`` and ESC/POS ``DLE EOT n`` from its :attr:`state` (``"ready"`` by default).
- :class:`DroppingSink` — reads ``drop_after`` bytes of a job then resets the connection, for the
  first ``drops`` connections (then behaves like RecordingSink).
- :class:`PaperOutSink` — a RecordingSink starting in state ``"paper_out"``; ``recover()`` or
  ``recover_after=N`` status queries bring it back to ``"ready"``.
- :class:`MuteSink` — reads and records everything but never answers a status query.
- :class:`StuckSink` — accepts connections and never reads (tiny receive buffer): writes time out.
- :class:`StatusResponder` / :func:`zpl_hs_answer`, :func:`tspl_status_byte`,
  :func:`escpos_status_bytes` — the answers for a given state, to reuse in other sinks/tests.

States: ``ready``, ``printing``, ``paused``, ``paper_out``, ``ribbon_out``, ``head_open``,
``paper_jam``, ``cover_open`` (ESC/POS/TSPL), ``offline`` (ESC/POS).

Timing for benchmarks: ``chunks`` holds ``(time.monotonic(), bytes)`` for every received data
chunk (status queries removed), so "first byte at the sink" can be measured.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Callable

STATES = ("ready", "printing", "paused", "paper_out", "ribbon_out", "head_open", "paper_jam",
          "cover_open", "offline")

ZPL_HS = b"~HS"
TSPL_STATUS = b"\x1b!?"
ESCPOS_DLE_EOT = (b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x03", b"\x10\x04\x04")
_QUERY_START = re.compile(b"[~\x1b\x10]")


def zpl_hs_answer(state: str = "ready", *, formats_in_buffer: int = 0) -> bytes:
    """The three ``~HS`` strings a Zebra printer sends back in ``state``."""
    paper_out = int(state == "paper_out")
    paused = int(state in ("paused", "paper_out", "ribbon_out", "head_open"))
    head_up = int(state == "head_open")
    ribbon_out = int(state == "ribbon_out")
    fmts = formats_in_buffer or (1 if state == "printing" else 0)
    remaining = 1 if state == "printing" else 0
    s1 = f"030,{paper_out},{paused},0320,{fmts:03d},0,0,0,000,0,0,0"
    s2 = f"001,0,{head_up},{ribbon_out},0,2,6,0,{remaining:08d},1,000"
    s3 = "1234,0"
    return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (s1, s2, s3))


def tspl_status_byte(state: str = "ready") -> bytes:
    """The one-byte ``<ESC>!?`` answer of a TSC/TSPL printer."""
    bits = {"head_open": 0x01, "paper_jam": 0x02, "paper_out": 0x04, "ribbon_out": 0x08,
            "paused": 0x10, "printing": 0x20, "cover_open": 0x40}.get(state, 0)
    return bytes([bits])


def escpos_status_bytes(state: str = "ready", n: int = 1) -> bytes:
    """The ``DLE EOT n`` answer byte of an ESC/POS printer (fixed bits 1 and 4 set)."""
    b = 0x12
    if n == 1 and state in ("offline", "cover_open", "paper_out"):
        b |= 0x08
    elif n == 2:
        b |= {"cover_open": 0x04, "paper_out": 0x20, "paper_jam": 0x40}.get(state, 0)
    elif n == 3 and state == "paper_jam":
        b |= 0x20
    elif n == 4 and state == "paper_out":
        b |= 0x6C
    return bytes([b])


class StatusResponder:
    """Removes status queries from a byte stream and produces the answers for ``state``."""

    QUERIES: tuple[bytes, ...] = (ZPL_HS, TSPL_STATUS, *ESCPOS_DLE_EOT)

    def __init__(self, state_fn: Callable[[], str | None]) -> None:
        self.state_fn = state_fn
        self._pending = b""

    def answer(self, query: bytes) -> bytes | None:
        state = self.state_fn()
        if state is None:
            return None
        if query == ZPL_HS:
            return zpl_hs_answer(state)
        if query == TSPL_STATUS:
            return tspl_status_byte(state)
        return escpos_status_bytes(state, query[2])

    def flush(self) -> bytes:
        """Held-back bytes (a possible query prefix) at the end of the stream: they are data."""
        rest, self._pending = self._pending, b""
        return rest

    def feed(self, chunk: bytes) -> tuple[bytes, list[bytes], bytes]:
        """→ (data to record, queries seen, answer bytes)."""
        buf = self._pending + chunk
        self._pending = b""
        data = bytearray()
        queries: list[bytes] = []
        answer = bytearray()
        i = 0
        while i < len(buf):
            m = _QUERY_START.search(buf, i)
            if m is None:
                data += buf[i:]
                break
            data += buf[i : m.start()]
            i = m.start()
            for q in self.QUERIES:
                if buf.startswith(q, i):
                    queries.append(q)
                    answer += self.answer(q) or b""
                    i += len(q)
                    break
            else:
                rest = buf[i:]
                if any(q.startswith(rest) and len(rest) < len(q) for q in self.QUERIES):
                    self._pending = rest  # maybe the start of a query split across reads
                    break
                data.append(buf[i])
                i += 1
        return bytes(data), queries, bytes(answer)


class RecordingSink:
    """A TCP printer that records bytes and answers status queries from :attr:`state`."""

    def __init__(self, state: str = "ready", *, answer_status: bool = True) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        self.state = state
        self.answer_status = answer_status
        self.connections: list[bytearray] = []
        self.chunks: list[tuple[float, bytes]] = []
        self.status_queries: list[bytes] = []
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._stopped = False
        self._listener = self._listen()
        self.port: int = self._listener.getsockname()[1]
        self.host = "127.0.0.1"
        self.uri = f"tcp://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"sink-{self.port}", daemon=True)
        self._acceptor.start()

    # -- public ------------------------------------------------------------------------------

    @property
    def data(self) -> bytes:
        """Every non-status byte received over all connections, in order."""
        with self._cond:
            return b"".join(c for _, c in self.chunks)

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        with self._cond:
            self.state = state

    def wait_for(self, predicate: Callable[["RecordingSink"], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate(self)`` holds (re-checked on every received chunk)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def wait_bytes(self, count: int, timeout: float = 5.0) -> bool:
        return self.wait_for(lambda s: sum(len(c) for _, c in s.chunks) >= count, timeout)

    def close(self) -> None:
        self._stopped = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        except OSError:
            pass
        self._listener.close()
        with self._cond:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in [self._acceptor, *self._threads]:
            t.join(timeout=2)

    def __enter__(self) -> "RecordingSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri} state={self.state}>"

    # -- internals / hooks ---------------------------------------------------------------------

    def _listen(self) -> socket.socket:
        return socket.create_server(("127.0.0.1", 0), backlog=16)

    def _status_state(self) -> str | None:
        return self.state if self.answer_status else None

    def _accept_loop(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._cond:
                if self._stopped:
                    conn.close()
                    return
                self._socks.append(conn)
                index = len(self.connections)
                self.connections.append(bytearray())
            t = threading.Thread(target=self._serve_guarded, args=(conn, index), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve_guarded(self, conn: socket.socket, index: int) -> None:
        try:
            self._serve(conn, index)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _serve(self, conn: socket.socket, index: int) -> None:
        responder = StatusResponder(self._status_state)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                rest = responder.flush()
                if rest:
                    with self._cond:
                        self.connections[index] += rest
                        self.chunks.append((time.monotonic(), rest))
                        self._cond.notify_all()
                return
            if not self._on_chunk(conn, index, chunk, responder):
                return

    def _on_chunk(self, conn: socket.socket, index: int, chunk: bytes, responder: StatusResponder) -> bool:
        with self._cond:
            data, queries, answer = responder.feed(chunk)
            now = time.monotonic()
            if data:
                self.connections[index] += data
                self.chunks.append((now, data))
            self.status_queries.extend(queries)
            self._after_queries(len(queries))
            self._cond.notify_all()
        if answer:
            conn.sendall(answer)
        return True

    def _after_queries(self, count: int) -> None:
        pass


class DroppingSink(RecordingSink):
    """Takes ``drop_after`` bytes of data, then resets the connection (RST), ``drops`` times."""

    def __init__(self, drop_after: int = 100, *, drops: int = 1, state: str = "ready") -> None:
        self.drop_after = drop_after
        self.drops_left = drops
        self.dropped = 0
        super().__init__(state)

    def _on_chunk(self, conn: socket.socket, index: int, chunk: bytes, responder: StatusResponder) -> bool:
        with self._cond:
            dropping = self.drops_left > 0
            got = len(self.connections[index])
        if not dropping:
            return super()._on_chunk(conn, index, chunk, responder)
        take = max(0, self.drop_after - got)
        if take:
            super()._on_chunk(conn, index, chunk[:take], responder)
        if got + len(chunk) < self.drop_after:
            return True
        with self._cond:
            self.drops_left -= 1
            self.dropped += 1
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False  # close → RST because of linger 0


class PaperOutSink(RecordingSink):
    """Out of paper until :meth:`recover` (or after ``recover_after`` status queries)."""

    def __init__(self, *, recover_after: int | None = None) -> None:
        self.recover_after = recover_after
        super().__init__("paper_out")

    def recover(self) -> None:
        self.set_state("ready")

    def _after_queries(self, count: int) -> None:
        if self.recover_after is not None and len(self.status_queries) >= self.recover_after:
            self.state = "ready"


class MuteSink(RecordingSink):
    """Records every byte, never answers a status query (a printer that cannot talk back)."""

    def __init__(self) -> None:
        super().__init__(answer_status=False)


class StuckSink(RecordingSink):
    """Accepts connections and never reads: once socket buffers fill, writes time out."""

    def _listen(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by accepted sockets
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        return s

    def _serve(self, conn: socket.socket, index: int) -> None:
        while not self._stopped:
            time.sleep(0.05)


def refused_uri() -> str:
    """A ``tcp://`` URI on 127.0.0.1 where nothing listens (connect → refused)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))  # bound, not listening: the port stays ours and refuses
    port = s.getsockname()[1]
    _KEEP.append(s)
    return f"tcp://127.0.0.1:{port}"


_KEEP: list[socket.socket] = []

__all__ = [
    "DroppingSink", "MuteSink", "PaperOutSink", "RecordingSink", "STATES", "StatusResponder",
    "StuckSink", "escpos_status_bytes", "refused_uri", "tspl_status_byte", "zpl_hs_answer",
]
