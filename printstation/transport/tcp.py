"""``tcp://HOST[:PORT]`` — raw TCP (JetDirect / "port 9100"), the usual network label printer.

- Default port 9100. IPv6 literals in brackets: ``tcp://[fe80::1]:9100``.
- No query parameters.
- Connect timeout = ``timeout``; a write fails when the printer takes no byte for ``timeout``
  seconds (chunked ``send``), so big jobs on slow printers are fine while a stuck printer is not.
- ``TCP_NODELAY`` on (small jobs and status queries go out at once), keepalive on.
- ``write()`` returns once the printer has *acknowledged* every byte (Linux: the socket's
  SIOCOUTQ drains to 0), not merely when our kernel buffered them; elsewhere sendall semantics.
- Reads (status answers) are supported; a printer closing the connection is a transient error.
"""

from __future__ import annotations

import array
import os
import select
import socket
import sys
import time
import urllib.parse

try:
    import fcntl
    import termios
except ImportError:  # pragma: no cover - not POSIX
    fcntl = termios = None  # type: ignore[assignment]

from ..retry import Backoff
from .base import DEFAULT_TIMEOUT, Transport, parse_query

DEFAULT_PORT = 9100
#: Bytes per send() call; each call must make progress within the timeout.
CHUNK = 64 * 1024
#: ioctl giving a TCP socket's unsent + unacknowledged bytes (Linux: SIOCOUTQ == TIOCOUTQ).
_SIOCOUTQ = getattr(termios, "TIOCOUTQ", None) if sys.platform.startswith("linux") else None


class TcpTransport(Transport):
    scheme = "tcp"
    can_read = True
    identify = "probe"

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(uri, timeout=timeout)
        parts = urllib.parse.urlsplit(uri)
        parse_query(uri, parts, set())
        if parts.path not in ("", "/"):
            raise self.error("tcp:// takes no path (expected tcp://HOST:PORT)", transient=False)
        try:
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            raise self.error(f"bad port ({exc})", transient=False) from None
        if not host:
            raise self.error("missing host (expected tcp://HOST:PORT)", transient=False)
        self.host: str = host
        self.port: int = port or DEFAULT_PORT
        self._sock: socket.socket | None = None

    def _open(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise self.os_error("connect", exc) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        except OSError:
            pass
        sock.settimeout(self.timeout)
        self._sock = sock

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        sock = self._sock
        assert sock is not None
        sock.settimeout(self.timeout)
        view = memoryview(data)
        while view:
            sent = sock.send(view[:CHUNK])  # socket.timeout when no progress for self.timeout
            view = view[sent:]
        self._drain(sock)

    def _drain(self, sock: socket.socket) -> None:
        """Wait until the printer has acknowledged every byte (Linux SIOCOUTQ), so a job counts
        as sent only once it reached the printer, not our kernel buffer. Progress timeout as
        for send; a reset while waiting surfaces as a transient error."""
        if _SIOCOUTQ is None:
            return
        buf = array.array("i", [0])
        last, since = -1, time.monotonic()
        pause = Backoff(0.0002, 0.02)  # polls: 0.2 ms doubling up to 20 ms
        while True:
            try:
                fcntl.ioctl(sock.fileno(), _SIOCOUTQ, buf, True)
            except OSError:
                return  # not supported here: sendall semantics
            pending = buf[0]
            if pending <= 0:
                return
            now = time.monotonic()
            if pending != last:
                last, since = pending, now
            elif now - since > self.timeout:
                raise self.error(f"write: timed out (printer took no data for {self.timeout:g} s)",
                                 transient=True)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, os.strerror(err))
            time.sleep(pause.next())

    def _read(self, n: int, timeout: float) -> bytes:
        sock = self._sock
        assert sock is not None
        ready, _, _ = select.select([sock], [], [], max(0.0, timeout))
        if not ready:
            return b""
        sock.settimeout(self.timeout)
        chunk = sock.recv(n)
        if not chunk:
            raise self.error("read: connection closed by printer", transient=True)
        return chunk

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:  # wakes a write blocked in another thread (the station stopping): close alone does not
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
