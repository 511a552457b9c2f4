"""Exact bytes over a real socket, for HTTP tests that a client library would tidy up."""

from __future__ import annotations

import json
import socket
from typing import Any


class Responses:
    """Reads responses one by one from a socket (keeps bytes of the next one)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed mid-response: {self.buf[:200]!r}")
        self.buf += chunk

    def next(self) -> tuple[int, dict[str, str], bytes]:
        """``(status, headers lower-cased, body)``."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._more()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response from ``sock`` (a new connection's first; see :class:`Responses`)."""
    return Responses(sock).next()


def exchange(port: int, data: bytes, timeout: float = 30.0) -> tuple[int, dict[str, str], Any]:
    """Send ``data`` on a new connection to 127.0.0.1:``port``; the response (JSON body decoded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        status, headers, body = read_response(s)
    try:
        return status, headers, json.loads(body)
    except ValueError:
        return status, headers, body


def request(method: str, path: str, headers: dict[str, str] | list[tuple[str, str]] | None = None,
            body: bytes = b"", *, host: str | None = "127.0.0.1", length: bool = True) -> bytes:
    """The bytes of one request (``Host`` first unless None, ``Content-Length`` unless ``length``
    is False)."""
    lines = [f"{method} {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    lines += [f"{k}: {v}" for k, v in items]
    if length and body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
