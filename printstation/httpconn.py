"""One client connection of :mod:`printstation.httpd` and the request being answered on it:
reading a body within its time and pace limits, dropping an unread one, answering, handing the
socket over (:meth:`Exchange.detach`), and closing without resetting the answer away."""

from __future__ import annotations

import json
import socket
import time
from typing import TYPE_CHECKING

from .httphead import REASONS, Head, ProtocolError

if TYPE_CHECKING:
    from .httpd import HttpServer

#: Beyond its first ``read_timeout`` seconds a body must keep an average pace of at least this
#: many bytes a second (a body dripping a byte at a time is cut after about ``read_timeout``).
MIN_BODY_RATE = 16 * 1024


class Connection:
    """One client connection: its socket, buffered bytes, and where it is in its life."""

    __slots__ = ("sock", "addr", "buf", "deadline", "waiting_since", "got_bytes", "kept_alive", "server")

    def __init__(self, sock: socket.socket, addr: object, server: HttpServer) -> None:
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
    def server(self) -> HttpServer:
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



def close(c: Connection) -> None:
    try:
        c.sock.close()
    except OSError:
        pass


def refuse(c: Connection, status: int, message: str) -> None:
    """Answer a head we will not parse (non-blocking, best effort) and close."""
    body = json.dumps({"error": message}).encode()
    data = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    try:
        c.sock.send(data)
    except OSError:
        pass
    close(c)


def linger_close(c: Connection) -> None:
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
    close(c)
