"""``file:///dev/usb/lp0`` — a character device (Linux usblp, parallel port), a FIFO or a file.

How the path is opened (non-blocking, writes wait with ``poll`` for at most ``timeout`` seconds
without progress):

- character device: read+write (``O_RDWR``) so status answers can be read back (usblp supports
  it for bidirectional printers); if the device refuses read access, write only. ``can_read``
  is True only when opened read+write.
- FIFO: write only; no reader on the other end → transient error "no reader".
- anything else (a plain file): appended to; created if missing, except under ``/dev`` where a
  missing path means an unplugged printer (transient) and nothing is created.

No query parameters. The path must be absolute (``file:///...``).
"""

from __future__ import annotations

import errno
import os
import select
import stat
import urllib.parse

from .base import DEFAULT_TIMEOUT, Transport, parse_query

CHUNK = 64 * 1024


class FileTransport(Transport):
    scheme = "file"

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(uri, timeout=timeout)
        parts = urllib.parse.urlsplit(uri)
        parse_query(uri, parts, set())
        if parts.netloc not in ("", "localhost"):
            raise self.error("file:// takes an absolute path (file:///dev/usb/lp0)", transient=False)
        path = urllib.parse.unquote(parts.path)
        if not path.startswith("/"):
            raise self.error("file:// takes an absolute path (file:///dev/usb/lp0)", transient=False)
        self.path = path
        self.can_read = False
        self.identify = "usb" if "/dev/usb/lp" in path else ""  # a usblp node has a device ID
        self._fd: int | None = None

    def _open(self) -> None:
        flags = os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
        try:
            st = os.stat(self.path)
        except FileNotFoundError as exc:
            if self.path.startswith("/dev/"):
                raise self.error("open: no such device (unplugged?)", transient=True) from exc
            st = None
        except OSError as exc:
            raise self.os_error("open", exc) from exc
        try:
            if st is not None and stat.S_ISCHR(st.st_mode):
                try:
                    self._fd = os.open(self.path, flags | os.O_RDWR)
                    self.can_read = True
                except PermissionError:
                    self._fd = os.open(self.path, flags | os.O_WRONLY)
                    self.can_read = False
            elif st is not None and stat.S_ISFIFO(st.st_mode):
                self._fd = os.open(self.path, flags | os.O_WRONLY)
                self.can_read = False
            elif st is not None and stat.S_ISDIR(st.st_mode):
                raise self.error("open: is a directory (use dir:// for a folder)", transient=False)
            else:
                self._fd = os.open(self.path, flags | os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                self.can_read = False
        except OSError as exc:
            if exc.errno == errno.ENXIO and st is not None and stat.S_ISFIFO(st.st_mode):
                raise self.error("open: no reader on the FIFO", transient=True) from exc
            raise self.os_error("open", exc) from exc

    def _wait(self, events: int, timeout: float) -> bool:
        poller = select.poll()
        assert self._fd is not None
        poller.register(self._fd, events)
        return bool(poller.poll(max(0, int(timeout * 1000))))

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        fd = self._fd
        assert fd is not None
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view[:CHUNK])
            except BlockingIOError:
                if not self._wait(select.POLLOUT, self.timeout):
                    raise self.error(f"write: timed out (no progress for {self.timeout:g} s)",
                                     transient=True) from None
                continue
            view = view[n:]

    def _read(self, n: int, timeout: float) -> bytes:
        fd = self._fd
        assert fd is not None
        if not self._wait(select.POLLIN, timeout):
            return b""
        try:
            return os.read(fd, n)
        except BlockingIOError:
            return b""

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
