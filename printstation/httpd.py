"""A small, strict HTTP/1.1 server for the control API, built for clients that misbehave.

- **Bounded connections.** At most ``max_connections`` connections are accepted at once; the rest
  wait in the kernel's listen backlog (the listening socket is simply not polled while the server
  is full), so clients can never exhaust the daemon's file descriptors or threads.
- **No thread per idle connection.** Connections waiting for a request head (fresh ones, keep-alive
  ones) sit in one ``selectors`` loop; a worker thread is used only while a request with a complete
  head is being answered.
- **Timeouts.** A request head must be complete ``read_timeout`` seconds after the connection (or,
  on a kept-alive connection, its first byte) arrived; a body that makes no progress for
  ``read_timeout`` seconds, or past its first ``read_timeout`` seconds averages under 16 KiB/s
  (a drip), is cut; an idle
  kept-alive connection is closed after ``idle_timeout``. While the server is full and clients
  are waiting in the backlog, the connection that has waited longest for its head is closed to
  make room (once it has had :data:`EVICT_AFTER` seconds), so a crowd of idle connections
  delays a real request by seconds, never forever.
- **Strict parsing.** CRLF line ends only, token method and header names, no obs-fold, no control
  characters, exactly one ``Host`` (HTTP/1.1), at most one ``Content-Length`` of plain ASCII
  digits, no ``Transfer-Encoding`` (411 for chunked), heads ≤ 64 KiB and 100 fields.

The application is one callable ``handle(exchange) -> None`` that answers with
:meth:`Exchange.respond`. Parts: :mod:`.httphead` (the strict head rules),
:mod:`.httpconn` (a connection, its body and its answer); this module manages the connections
and their limits.
"""

from __future__ import annotations

import logging
import queue
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .httpconn import MIN_BODY_RATE, Connection, Exchange, close, linger_close, refuse
from .httphead import (MAX_FIELDS, MAX_HEAD, MAX_TARGET, REASONS, Head, Headers, ProtocolError, parse_head,
                       plain_int)


log = logging.getLogger(__name__)

#: Seconds a connection waiting for its head is left alone before it may be closed to make room.
EVICT_AFTER = 0.25
#: After accept() fails for lack of file descriptors, the listener rests this long.
ACCEPT_PAUSE = 0.5

Handler = Callable[[Exchange], None]


class HttpServer:
    """Serves one listening socket: a selector thread for waiting connections, a worker pool
    (at most ``max_connections`` threads, made on demand) for requests."""

    #: The unix socket's path (set by the owner; for log lines).
    sock_path: object = None

    def __init__(self, sock: socket.socket, handler: Handler, *, max_connections: int = 256,
                 read_timeout: float = 10.0, idle_timeout: float = 5.0, name: str = "api",
                 on_error: Callable[[Exchange, ProtocolError], None] | None = None,
                 discard_limit: int = 64 * 1024 * 1024) -> None:
        self.sock = sock
        #: An unread body up to this size is read and dropped after a refusal (keeps the answer
        #: readable for clients that send the whole body first); larger ones close the connection.
        self.discard_limit = discard_limit
        self._accept_pause_until = 0.0
        self._emfile_logged = -1e9
        self.handler = handler
        self.on_error = on_error
        self.max_connections = max_connections
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.name = name
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._returned: "queue.SimpleQueue[Connection]" = queue.SimpleQueue()
        self._waiting: dict[int, Connection] = {}
        self._active = 0  # connections owned by a worker
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._listening = False
        self._pool = ThreadPoolExecutor(max_workers=max_connections, thread_name_prefix=f"{name}-req")
        self.sock.setblocking(False)

    # -- public ------------------------------------------------------------------------------------

    def release(self) -> None:
        """A detached connection (:meth:`Exchange.detach`) was closed by its owner: a slot is free."""
        with self._lock:
            self._active -= 1
        self._wake()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._waiting) + self._active

    def serve_forever(self) -> None:
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                self._step()
        finally:
            for c in list(self._waiting.values()):
                close(c)
            self._waiting.clear()
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._wake()
        self._stopped.wait(5.0)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def server_close(self) -> None:
        self._stop.set()
        try:
            self.sock.close()
        finally:
            self._wake_r.close()
            self._wake_w.close()
            self._sel.close()

    # -- the selector loop ------------------------------------------------------------------------

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    def _step(self) -> None:
        while True:
            try:
                c = self._returned.get_nowait()
            except queue.Empty:
                break
            self._park(c)
        now = time.monotonic()
        for c in [c for c in self._waiting.values() if now >= c.deadline]:
            self._expire(c)
        full = self.open_connections >= self.max_connections
        victim = self._victim(now) if full else None
        resting = now < self._accept_pause_until
        self._set_listening((not full or victim is not None) and not resting)
        wake_at = min((c.deadline for c in self._waiting.values()), default=now + 3600)
        if resting:
            wake_at = min(wake_at, self._accept_pause_until)
        if full and victim is None and self._waiting:
            # The oldest head-waiting connection becomes evictable at this time.
            wake_at = min(wake_at, min(c.waiting_since for c in self._waiting.values()) + EVICT_AFTER)
        for key, _ in self._sel.select(max(0.0, wake_at - now) + 0.001):
            if key.data == "wake":
                try:
                    while self._wake_r.recv(4096):
                        pass
                except (BlockingIOError, OSError):
                    pass
            elif key.data == "listen":
                self._accept()
            else:
                self._readable(key.data)

    def _victim(self, now: float) -> Connection | None:
        if not self._waiting:
            return None
        c = min(self._waiting.values(), key=lambda c: c.waiting_since)
        return c if now - c.waiting_since >= EVICT_AFTER else None

    def _set_listening(self, on: bool) -> None:
        if on and not self._listening:
            self._sel.register(self.sock, selectors.EVENT_READ, "listen")
        elif not on and self._listening:
            self._sel.unregister(self.sock)
        self._listening = on

    def _accept(self) -> None:
        for _ in range(64):
            victim = None
            if self.open_connections >= self.max_connections:
                victim = self._victim(time.monotonic())
                if victim is None:
                    return
            try:
                sock, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE/ENFILE: rest the listener a moment instead of spinning
                now = time.monotonic()
                self._accept_pause_until = now + ACCEPT_PAUSE
                if now - self._emfile_logged >= 60.0:
                    self._emfile_logged = now
                    log.warning("%s: accept failed: %s (lower [api] max_connections or raise LimitNOFILE)",
                                self.name, exc.strerror or exc)
                return
            if victim is not None:  # someone is waiting and the server is full: make room
                log.debug("%s: full (%d connections): closing the longest-waiting one", self.name,
                          self.max_connections)
                self._drop(victim)
            sock.setblocking(False)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                # head and body go out in one write, but a 100 Continue and keep-alive answers
                # must not wait for Nagle + delayed ACK
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = Connection(sock, addr, self)
            self._waiting[sock.fileno()] = c
            self._sel.register(sock, selectors.EVENT_READ, c)

    def _park(self, c: Connection) -> None:
        """A kept-alive connection back from a worker: wait for its next request."""
        with self._lock:
            self._active -= 1
        if self._stop.is_set():
            close(c)
            return
        now = time.monotonic()
        c.waiting_since = now
        c.kept_alive = True
        c.got_bytes = bool(c.buf)
        c.deadline = now + (self.read_timeout if c.buf else self.idle_timeout)
        try:
            c.sock.setblocking(False)
            self._waiting[c.sock.fileno()] = c
            self._sel.register(c.sock, selectors.EVENT_READ, c)
        except (OSError, ValueError):
            self._waiting.pop(c.sock.fileno(), None)
            close(c)

    def _readable(self, c: Connection) -> None:
        try:
            chunk = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(c)
            return
        if not c.got_bytes:
            c.got_bytes = True
            if c.kept_alive:  # the idle deadline ends; the head gets read_timeout from here
                c.deadline = time.monotonic() + self.read_timeout
        c.buf += chunk
        end = c.head_end()
        if end > MAX_HEAD or (end < 0 and len(c.buf) > MAX_HEAD):
            self._unwait(c)
            refuse(c, 431, f"request head too large (at most {MAX_HEAD} bytes)")
        elif end < 0 and b"\n\n" in c.buf:  # a head ended by bare LFs would wait out read_timeout
            self._unwait(c)
            refuse(c, 400, "bad line ending in the request head (CRLF only)")
        elif end >= 0:
            self._unwait(c)
            with self._lock:
                self._active += 1
            try:
                self._pool.submit(self._serve, c)
            except RuntimeError:  # shutting down
                with self._lock:
                    self._active -= 1
                close(c)

    def _expire(self, c: Connection) -> None:
        if c.got_bytes:
            self._unwait(c)
            refuse(c, 408, f"request head not complete within {self.read_timeout:g} s")
        else:
            self._drop(c)

    def _unwait(self, c: Connection) -> None:
        self._waiting.pop(c.sock.fileno(), None)
        try:
            self._sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass

    def _drop(self, c: Connection) -> None:
        self._unwait(c)
        close(c)

    # -- workers ----------------------------------------------------------------------------------

    def _serve(self, c: Connection) -> None:
        keep: bool | None = False
        try:
            keep = self._serve_requests(c)
        except Exception:  # noqa: BLE001 - one bad connection must not take a worker down
            log.exception("%s: connection error", self.name)
        if keep is None:  # detached: its owner closes it and calls release()
            return
        if keep and not self._stop.is_set():
            self._returned.put(c)
            self._wake()
        else:
            linger_close(c)
            with self._lock:
                self._active -= 1
            self._wake()  # a slot is free: the selector may accept again

    def _serve_requests(self, c: Connection) -> bool | None:
        """Answer every complete request in the buffer; True to keep the connection, None when
        the handler detached it."""
        while True:
            end = c.head_end()
            if end < 0:
                return True
            raw = bytes(c.buf[:end])
            del c.buf[:end + 4]
            while raw.startswith(b"\r\n"):  # empty lines before a request line are ignored
                raw = raw[2:]
            c.sock.settimeout(self.read_timeout)
            try:
                head = parse_head(raw)
            except ProtocolError as exc:
                ex = Exchange(c, Head("GET", "/", (1, 1), Headers([])))
                ex.close_after = True
                if self.on_error is not None:
                    self.on_error(ex, exc)
                return False
            ex = Exchange(c, head)
            try:
                self.handler(ex)
            except OSError:
                if ex.detached:
                    return None
                return False
            if ex.detached:
                return None
            if ex.close_after or not ex.responded or self._stop.is_set():
                return False


__all__ = ["Exchange", "Head", "Headers", "HttpServer", "ProtocolError", "parse_head", "plain_int",
           "Connection", "MAX_HEAD", "MAX_FIELDS", "MAX_TARGET", "MIN_BODY_RATE", "REASONS"]
