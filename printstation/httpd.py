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
:meth:`Exchange.respond`.
"""

from __future__ import annotations

import logging
import queue
import re
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

from .errors import ProtocolError

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
MAX_FIELDS = 100
MAX_TARGET = 8 * 1024
#: Seconds a connection waiting for its head is left alone before it may be closed to make room.
EVICT_AFTER = 0.25
#: After accept() fails for lack of file descriptors, the listener rests this long.
ACCEPT_PAUSE = 0.5
#: Beyond its first ``read_timeout`` seconds a body must keep an average pace of at least this
#: many bytes a second (a body dripping a byte at a time is cut after about ``read_timeout``).
MIN_BODY_RATE = 16 * 1024

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Visible ASCII, and raw UTF-8 bytes (no client should send them, but ``/jobs/٣`` is then just a
#: path that names nothing: 404, like its percent-encoded form).
_TARGET = re.compile(rb"[\x21-\x7e\x80-\xff]+")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]{1,18}")

REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    409: "Conflict", 411: "Length Required", 413: "Content Too Large", 414: "URI Too Long",
    421: "Misdirected Request", 422: "Unprocessable Content", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
    505: "HTTP Version Not Supported", 507: "Insufficient Storage",
}


class Headers:
    """Request header fields in order; names compare case-insensitively."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields

    def get_all(self, name: str) -> list[str]:
        n = name.lower()
        return [v for k, v in self.fields if k == n]

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.get_all(name)
        return values[0] if values else default

    def __contains__(self, name: str) -> bool:
        return bool(self.get_all(name))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)


class Head:
    """A parsed request head."""

    def __init__(self, method: str, target: str, version: tuple[int, int], headers: Headers) -> None:
        self.method, self.target, self.version, self.headers = method, target, version, headers
        self.content_length = 0
        self.keep_alive = version >= (1, 1)


def parse_head(raw: bytes) -> Head:
    """Parse a request head (without its final CRLF CRLF); :class:`ProtocolError` when it is not
    strictly valid."""
    lines = raw.split(b"\r\n")
    for line in lines:
        if b"\n" in line or b"\r" in line:
            raise ProtocolError(400, "bad line ending in the request head (CRLF only)")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise ProtocolError(400, "bad request line")
    method, target, version = parts
    m = _VERSION.fullmatch(version)
    if not m:
        raise ProtocolError(400, "bad HTTP version")
    ver = (int(m.group(1)), int(m.group(2)))
    if ver[0] != 1:
        raise ProtocolError(505, "only HTTP/1.0 and HTTP/1.1 are supported")
    if not _TOKEN.fullmatch(method):
        raise ProtocolError(400, "bad request method")
    if len(target) > MAX_TARGET:
        raise ProtocolError(414, f"request target too long (at most {MAX_TARGET} bytes)")
    if not _TARGET.fullmatch(target) or not (target.startswith(b"/") or target == b"*"):
        raise ProtocolError(400, "bad request target (origin-form /path?query only)")
    fields: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            raise ProtocolError(400, "empty line inside the request head")
        if line[:1] in (b" ", b"\t"):
            raise ProtocolError(400, "folded header lines are not accepted")
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.fullmatch(name):
            raise ProtocolError(400, "bad header field")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise ProtocolError(400, "control character in a header value")
        fields.append((name.decode("ascii").lower(), value.decode("latin-1")))
        if len(fields) > MAX_FIELDS:
            raise ProtocolError(431, f"too many header fields (at most {MAX_FIELDS})")
    headers = Headers(fields)
    head = Head(method.decode("ascii"), target.decode("utf-8", "replace"), ver, headers)
    if ver >= (1, 1) and len(headers.get_all("host")) != 1:
        raise ProtocolError(400, "exactly one Host header is required")
    if len(headers.get_all("host")) > 1:
        raise ProtocolError(400, "more than one Host header")
    if "transfer-encoding" in headers:
        if "content-length" in headers:
            raise ProtocolError(400, "both Transfer-Encoding and Content-Length")
        raise ProtocolError(411, "send the label with a Content-Length (chunked uploads are not supported)")
    lengths = headers.get_all("content-length")
    if len(lengths) > 1:
        raise ProtocolError(400, "more than one Content-Length")
    if lengths:
        if not _DIGITS.fullmatch(lengths[0]):
            raise ProtocolError(400, f"bad Content-Length {lengths[0][:40]!r}")
        head.content_length = int(lengths[0])
    conn_tokens = {t.strip().lower() for v in headers.get_all("connection") for t in v.split(",")}
    if "close" in conn_tokens or ver < (1, 1):
        head.keep_alive = False
    return head


class Connection:
    """One client connection: its socket, buffered bytes, and where it is in its life."""

    __slots__ = ("sock", "addr", "buf", "deadline", "waiting_since", "got_bytes", "kept_alive", "server")

    def __init__(self, sock: socket.socket, addr: object, server: "HttpServer") -> None:
        self.sock, self.addr, self.server = sock, addr, server
        self.buf = bytearray()
        now = time.monotonic()
        self.waiting_since = now
        self.deadline = now + server.read_timeout
        self.got_bytes = False
        #: False for a new connection: its head deadline runs from the accept, not its first byte.
        self.kept_alive = False

    def head_end(self) -> int:
        return self.buf.find(b"\r\n\r\n")


class Exchange:
    """One request on a connection (worker side): read the body, send the answer."""

    def __init__(self, conn: Connection, head: Head) -> None:
        self.conn, self.head = conn, head
        self.consumed = 0
        self.responded = False
        self._continued = False
        self.close_after = not head.keep_alive
        #: True once the handler took the connection over (:meth:`detach`).
        self.detached = False

    @property
    def client(self) -> object:
        return self.conn.addr

    @property
    def server(self) -> "HttpServer":
        return self.conn.server

    def read_body(self) -> bytes:
        """The whole body (``Content-Length`` bytes) or :class:`ProtocolError` 408/400."""
        n = self.head.content_length - self.consumed
        if n <= 0:
            return b""
        if self._expects_continue() and not self._continued:
            self._continued = True
            self.conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            return self._receive(n, keep=True)
        except (ProtocolError, OSError):
            self.close_after = True
            raise

    def _expects_continue(self) -> bool:
        return (self.head.version >= (1, 1)
                and (self.head.headers.get("expect") or "").lower() == "100-continue")

    def _receive(self, n: int, *, keep: bool) -> bytes:
        """``n`` more body bytes (kept or dropped). A body must not stall for ``read_timeout``
        and, past its first ``read_timeout`` seconds, must average :data:`MIN_BODY_RATE`."""
        conn, srv = self.conn, self.conn.server
        out = bytearray()
        got = min(n, len(conn.buf))
        if keep:
            out += conn.buf[:got]
        del conn.buf[:got]
        start = time.monotonic()
        while got < n:
            allowed = start + srv.read_timeout + got / MIN_BODY_RATE
            left = allowed - time.monotonic()
            if left <= 0:
                raise ProtocolError(408, f"request body stalled for {srv.read_timeout:g} s or slower "
                                         f"than {MIN_BODY_RATE // 1024} KiB/s")
            conn.sock.settimeout(min(srv.read_timeout, left))
            try:
                chunk = conn.sock.recv(min(n - got, 1 << 20))
            except (TimeoutError, socket.timeout):
                continue  # the check above answers 408
            if not chunk:
                raise ProtocolError(400, "body shorter than its Content-Length")
            got += len(chunk)
            if keep:
                out += chunk
        self.consumed += n
        return bytes(out)

    def _discard_body(self) -> bool:
        """Read and drop the rest of a body the answer did not need (refused before it was
        read), so the client — which may still be sending it — gets the answer cleanly and the
        connection stays usable. False when it cannot (too large, stalled, or the client waits
        for ``100 Continue``)."""
        left = self.head.content_length - self.consumed
        if left > self.server.discard_limit or (self._expects_continue() and not self._continued):
            return False
        try:
            self._receive(left, keep=False)
        except (ProtocolError, OSError):
            return False
        return True

    def detach(self, head: bytes) -> socket.socket:
        """Hand the connection to the caller for a long-lived answer (Server-Sent Events):
        ``head`` (the response head) is sent, and no worker thread stays with the socket. It
        still counts against ``max_connections`` until the owner calls
        :meth:`HttpServer.release` (after closing it); the idle timeout does not apply to it."""
        self.close_after = True
        self.conn.sock.settimeout(self.conn.server.read_timeout)
        self.responded = True
        self.conn.sock.sendall(head)
        self.detached = True
        return self.conn.sock

    def respond(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        if self.consumed < self.head.content_length and (self.close_after or not self._discard_body()):
            # The body was not read (refused before it): the connection cannot be reused.
            self.close_after = True
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}", "Server: printstation",
                 f"Content-Type: {ctype}", f"Content-Length: {len(body)}", "Cache-Control: no-store",
                 "X-Content-Type-Options: nosniff"]
        for k, v in (extra or {}).items():
            lines.append(f"{k}: {v}")
        if self.close_after:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        self.conn.sock.settimeout(self.conn.server.read_timeout)
        self.responded = True
        self.conn.sock.sendall(data)


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
                self._close(c)
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
            self._close(c)
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
            self._close(c)

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
            self._refuse(c, 431, f"request head too large (at most {MAX_HEAD} bytes)")
        elif end < 0 and b"\n\n" in c.buf:  # a head ended by bare LFs would wait out read_timeout
            self._unwait(c)
            self._refuse(c, 400, "bad line ending in the request head (CRLF only)")
        elif end >= 0:
            self._unwait(c)
            with self._lock:
                self._active += 1
            try:
                self._pool.submit(self._serve, c)
            except RuntimeError:  # shutting down
                with self._lock:
                    self._active -= 1
                self._close(c)

    def _expire(self, c: Connection) -> None:
        if c.got_bytes:
            self._unwait(c)
            self._refuse(c, 408, f"request head not complete within {self.read_timeout:g} s")
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
        self._close(c)

    @staticmethod
    def _close(c: Connection) -> None:
        try:
            c.sock.close()
        except OSError:
            pass

    def _refuse(self, c: Connection, status: int, message: str) -> None:
        """Answer a head we will not parse (non-blocking, best effort) and close."""
        import json

        body = json.dumps({"error": message}).encode()
        data = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        try:
            c.sock.send(data)
        except OSError:
            pass
        self._close(c)

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
            self._linger_close(c)
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

    def _linger_close(self, c: Connection) -> None:
        """Close without resetting the answer away: stop sending, drain briefly, close."""
        try:
            c.sock.shutdown(socket.SHUT_WR)
            c.sock.settimeout(0.5)
            deadline = time.monotonic() + 1.0
            drained = 0
            while time.monotonic() < deadline and drained < (4 << 20):
                chunk = c.sock.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass
        self._close(c)


def plain_int(text: str | None, hi: int = 2**63 - 1) -> int | None:
    """``text`` as a plain non-negative ASCII decimal ≤ ``hi``, else None (no signs, no ``_``,
    no spaces, no other scripts' digits)."""
    if text is None or not _DIGITS.fullmatch(text):
        return None
    n = int(text)
    return n if n <= hi else None


__all__ = ["Exchange", "Head", "Headers", "HttpServer", "ProtocolError", "parse_head", "plain_int"]
