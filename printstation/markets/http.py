"""HTTP plumbing of the marketplace clients: bounded answer reads, error mapping, retry headers.

Every answer is read through :func:`read_capped` — streamed and stopped at a byte limit — so a
server (or a man in the middle) sending an endless body costs at most the limit, never memory.
"""

from __future__ import annotations

import datetime
import email.utils
import html
import json
import math
import re
import threading
import time
from typing import Any, Callable

import httpx

from ..errors import ApiAuthError, ApiError, PrintstationError

#: An error answer (4xx/5xx) is read up to this many bytes; the rest is dropped (the message
#: keeps its first 300 characters anyway).
ERROR_BODY_BYTES = 64 * 1024


class _Retryable(PrintstationError):
    """One try failed in a way a later try may not (5xx, timeout, dropped connection).

    ``give_up(tries)`` is the error raised when the tries run out; ``str()`` is the reason;
    ``wait`` the seconds the server asked to wait before the next try (``Retry-After``), if any."""

    def __init__(self, reason: str, give_up: Callable[[int], PrintstationError] | None = None,
                 wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.give_up = give_up
        self.wait = wait

    @staticmethod
    def final(exc: BaseException, tries: int) -> BaseException:
        """What to raise after ``tries`` tries ended with ``exc`` (its ``give_up``, else itself)."""
        if isinstance(exc, _Retryable) and exc.give_up is not None:
            return exc.give_up(tries)
        return exc


def call_deadline(timeout: float | httpx.Timeout | None) -> float | None:
    """The ``time.monotonic()`` by which a try started now must have its whole answer: the
    client's timeout (its largest part) from now; None when there is none."""
    if isinstance(timeout, httpx.Timeout):
        parts = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t is not None]
        timeout = max(parts) if parts else None
    return None if timeout is None else time.monotonic() + timeout


def check_deadline(deadline: float | None, request: httpx.Request | None = None) -> None:
    """:class:`httpx.ReadTimeout` once ``deadline`` has passed (a trickling server): the try
    fails as a timeout, whatever each single read took."""
    if deadline is not None and time.monotonic() > deadline:
        raise httpx.ReadTimeout("the whole answer took longer than the timeout", request=request)


def _chunks(resp: httpx.Response, deadline: float | None) -> Any:
    """``resp``'s decoded body chunks, the deadline checked before and between them."""
    check_deadline(deadline, resp.request)
    for chunk in resp.iter_bytes():
        check_deadline(deadline, resp.request)
        yield chunk


def read_capped(resp: httpx.Response, limit: int, deadline: float | None = None) -> bytes | None:
    """The (decoded) body of a streamed answer, or None as soon as it passes ``limit`` bytes
    (a declared ``Content-Length`` over the limit is refused before reading anything).
    :class:`httpx.ReadTimeout` when the body is not all read by ``deadline`` (``time.monotonic()``)."""
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    buf = bytearray()
    for chunk in _chunks(resp, deadline):
        buf += chunk
        if len(buf) > limit:
            return None
    return bytes(buf)


def send_capped(http: httpx.Client, request: httpx.Request, limit: int,
                too_large: Callable[[httpx.Response], Exception], deadline: float | None = None) -> httpx.Response:
    """Send ``request`` and read its answer: a 2xx/3xx body of at most ``limit`` bytes (larger:
    ``too_large(resp)`` is raised, the rest never read), an error body cut to
    :data:`ERROR_BODY_BYTES` (only its start makes the message). The whole answer must be in by
    ``deadline`` (``time.monotonic()``), else :class:`httpx.ReadTimeout`."""
    resp = http.send(request, stream=True)
    try:
        if resp.status_code >= 400:
            buf = bytearray()
            for chunk in _chunks(resp, deadline):
                buf += chunk
                if len(buf) >= ERROR_BODY_BYTES:
                    del buf[ERROR_BODY_BYTES:]
                    break
            body: bytes | None = bytes(buf)
        else:
            body = read_capped(resp, limit, deadline)
        if body is None:
            raise too_large(resp)
        # What Response.read() does; the body is set once, from the bounded read.
        resp._content = body
        return resp
    finally:
        resp.close()


def header_seconds(resp: httpx.Response, name: str) -> float | None:
    """A wait header (``Retry-After``, ``X-Ratelimit-Retry``): seconds or an HTTP date; None if
    missing or bad."""
    v = resp.headers.get(name)
    if v is None:
        return None
    try:
        s = float(v)
    except ValueError:
        try:  # an HTTP date (rare); a bad one raises (Python ≥ 3.10) or is None
            when = email.utils.parsedate_to_datetime(v) if v.strip() else None
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # "-0000": UTC, not local time
            when = when.replace(tzinfo=datetime.timezone.utc)
        s = when.timestamp() - time.time()
    if math.isnan(s) or s < 0:
        return None
    return s


_SSL_LOCK = threading.Lock()
_SSL_CTX: Any = None


def ssl_context() -> Any:
    """One verified TLS context for every client (building one costs ~60 ms)."""
    global _SSL_CTX
    with _SSL_LOCK:
        if _SSL_CTX is None:
            _SSL_CTX = httpx.create_ssl_context()
        return _SSL_CTX


def _error_fields(body: Any) -> tuple[str, str, str | None]:
    """``(code, message, request_id)`` of a JSON error body, whichever shape it has."""
    code, message, request_id = "", "", None
    err = body.get("error")
    if isinstance(err, dict):  # LAliExpress envelope
        code = str(err.get("code") or "")
        message = str(err.get("message") or "")
    elif isinstance(err, str) and err:  # OAuth2 (Lamoda's token): {error, error_description}
        code = err
        message = str(body.get("error_description") or body.get("message") or "")
    elif "title" in body or "detail" in body:  # WB gateway shape
        code = str(body.get("title") or "")
        message = str(body.get("detail") or "")
        rid = body.get("requestId")
        request_id = str(rid) if rid else None
    else:  # WB business shape
        code = str(body.get("code") or "")
        message = str(body.get("message") or "")
        if body.get("data"):
            message = f"{message} ({json.dumps(body['data'], ensure_ascii=False)[:200]})"
    return code, message, request_id


_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.I | re.S)


def _plain_text(text: str) -> str:
    """A text error body as one line of at most 300 characters: an HTML page (a proxy's 502, a
    captive portal) by its ``<title>`` (else its text without the markup)."""
    head = text.lstrip()[:512].lower()
    if head.startswith("<") and ("<html" in head or "<!doctype" in head or "<head" in head or "<body" in head):
        m = _TITLE.search(text[:65536])
        inner = m.group(1) if m and m.group(1).strip() else _TAGS.sub(" ", text)
        text = html.unescape(_TAGS.sub(" ", inner))
    return " ".join(text.split())[:300]


def error_from_response(market: str, resp: httpx.Response, redact: Callable[[str], str]) -> ApiError:
    """Map any of WB's three error shapes (and LAliExpress's envelope) to one :class:`ApiError`.

    ``{code, message, data}`` (business), ``{title, detail, code, requestId, …}`` (gateway),
    plain text (old 401s), ``{data, error: {code, message}}`` (LAliExpress).
    """
    status = resp.status_code
    code, message, request_id = "", "", None
    text = resp.text if resp.content else ""
    body: Any = None
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        code, message, request_id = _error_fields(body)
    elif text.strip():
        message = _plain_text(text)
    if not message:
        message = resp.reason_phrase or f"HTTP {status}"
    message, code = redact(message), redact(code)
    cls: type[ApiError] = ApiAuthError if status in (401, 403) else ApiError
    return cls(market, status, code, message, request_id)


__all__ = ["ERROR_BODY_BYTES", "call_deadline", "check_deadline", "error_from_response", "header_seconds", "read_capped", "send_capped",
           "ssl_context"]
