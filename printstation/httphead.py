"""Strict HTTP/1.1 request heads for :mod:`printstation.httpd`: CRLF line ends only, token
method and header names, no obs-fold, no control characters, exactly one ``Host`` (HTTP/1.1),
at most one ``Content-Length`` of plain ASCII digits, no ``Transfer-Encoding`` (411 for
chunked), heads ≤ 64 KiB and 100 fields. A head that breaks a rule is a :class:`ProtocolError`
carrying the status it is answered with."""

from __future__ import annotations

import re
from typing import Iterator

from .errors import ProtocolError

MAX_HEAD = 64 * 1024
MAX_FIELDS = 100
MAX_TARGET = 8 * 1024

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
    421: "Misdirected Request", 422: "Unprocessable Content", 429: "Too Many Requests",
    431: "Request Header Fields Too Large",
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
    method, target, ver = _request_line(lines[0])
    headers = Headers(_fields(lines[1:]))
    head = Head(method.decode("ascii"), target.decode("utf-8", "replace"), ver, headers)
    if ver >= (1, 1) and len(headers.get_all("host")) != 1:
        raise ProtocolError(400, "exactly one Host header is required")
    if len(headers.get_all("host")) > 1:
        raise ProtocolError(400, "more than one Host header")
    _framing(head)
    return head


def _request_line(line: bytes) -> tuple[bytes, bytes, tuple[int, int]]:
    """``METHOD /target HTTP/1.x``: (method, target, version)."""
    parts = line.split(b" ")
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
    return method, target, ver


def _fields(lines: list[bytes]) -> list[tuple[str, str]]:
    """The header fields, names lowercased, values trimmed."""
    fields: list[tuple[str, str]] = []
    for line in lines:
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
    return fields


def _framing(head: Head) -> None:
    """The body's framing (one plain ``Content-Length``, never ``Transfer-Encoding``) and
    whether the connection is kept alive."""
    headers = head.headers
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
    if "close" in conn_tokens or head.version < (1, 1):
        head.keep_alive = False


def plain_int(text: str | None, hi: int = 2**63 - 1) -> int | None:
    """``text`` as a plain non-negative ASCII decimal ≤ ``hi``, else None (no signs, no ``_``,
    no spaces, no other scripts' digits)."""
    if text is None or not _DIGITS.fullmatch(text):
        return None
    n = int(text)
    return n if n <= hi else None
