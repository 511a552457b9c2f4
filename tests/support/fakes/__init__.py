"""Fake marketplace servers for tests and benchmarks: real HTTP on 127.0.0.1, in a thread.

    from support.fakes import FakeWB, FakeAli
    with FakeWB(rate_per_min=6000, burst=100) as wb:
        oid = wb.add_order(status="confirm")["id"]
        ...  # point a client at wb.url with wb.token; inspect wb.calls afterwards

Common to every fake (:class:`FakeServer`): a token check, an optional WB-style token bucket
(429 with ``X-Ratelimit-Retry/Limit/Reset``, a 4xx costing ``cost_4xx``, ``X-Ratelimit-Remaining``
on every non-429), injected faults (:meth:`fail_next` 5xx, :meth:`drop_next` dropped connections,
:meth:`delay_next` slow answers, :meth:`huge_next` an answer body too large to read,
:meth:`drip_next` a body trickled one byte at a time) and :attr:`calls`, a log of every request with its arrival time
(``time.monotonic()``) and answer status, so tests can assert pacing.
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    """One request as the fake saw it. ``status`` 0 = connection dropped on purpose."""

    t: float
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    status: int = 0
    retry: float | None = None  # X-Ratelimit-Retry sent with a 429 (exact, unrounded)
    headers: dict[str, str] = field(default_factory=dict)  # answer headers we sent
    req_headers: dict[str, str] = field(default_factory=dict)  # request headers (lower-case names)
    sent: int = 0  # body bytes written (huge_next: how far the client read before hanging up)
    finished: threading.Event = field(default_factory=threading.Event)  # set once the answer is over

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; bytes/str → as is
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False  # send without Content-Length and close (stream-style body)


class ServerBucket:
    """The server's token bucket, WB semantics (refill rate_per_min/60 a second up to burst)."""

    def __init__(self, rate_per_min: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate_per_min / 60.0, burst, clock
        self.tokens, self.last = float(burst), clock()
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
        self.last = now

    def take(self) -> tuple[bool, float, float]:
        """(allowed, retry seconds, reset seconds)."""
        with self.lock:
            self._refill()
            if self.tokens >= 1:
                self.tokens -= 1
                return True, 0.0, 0.0
            return False, (1 - self.tokens) / self.rate, (self.burst - self.tokens) / self.rate

    def charge(self, n: float) -> None:
        with self.lock:
            self._refill()
            self.tokens -= n

    def remaining(self) -> int:
        with self.lock:
            self._refill()
            return max(0, math.floor(self.tokens))


Route = tuple[str, "re.Pattern[str]", Callable[..., Reply], bool]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "_HTTPServer"

    def log_message(self, *a: Any) -> None:  # quiet
        pass

    def _handle(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: "FakeServer"


class FakeServer:
    """Base of the fakes: routing, token check, bucket, faults, call log."""

    auth_header = "Authorization"

    def __init__(self, token: str, *, rate_per_min: float | None = None, burst: int | None = None,
                 cost_4xx: int = 10, integer_headers: bool = True) -> None:
        self.token = token
        self.bucket = ServerBucket(rate_per_min, burst or 1) if rate_per_min else None
        self.cost_4xx = cost_4xx
        #: Send X-Ratelimit-Retry/Reset rounded up to whole seconds, as WB does; False = exact.
        self.integer_headers = integer_headers
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._faults: list[dict[str, Any]] = []
        self._routes: list[Route] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "FakeServer":
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=type(self).__name__)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- configuration ------------------------------------------------------------------------
    def set_limits(self, rate_per_min: float | None, burst: int | None = None) -> None:
        self.bucket = ServerBucket(rate_per_min, burst or 1) if rate_per_min else None

    def route(self, method: str, pattern: str, fn: Callable[..., Reply], auth: bool = True) -> None:
        self._routes.append((method, re.compile(pattern + r"\Z"), fn, auth))

    def fail_next(self, n: int = 1, status: int = 503, path: str | None = None, body: Any = None,
                  headers: dict[str, str] | None = None) -> None:
        """The next ``n`` calls (to paths starting with ``path``) answer ``status`` (with ``body``
        and ``headers``, e.g. a 429 carrying only ``X-Ratelimit-Reset``)."""
        with self._lock:
            self._faults.append({"kind": "fail", "n": n, "status": status, "path": path, "body": body,
                                 "headers": dict(headers or {})})

    def drop_next(self, n: int = 1, path: str | None = None) -> None:
        """The next ``n`` calls get their connection closed with no answer."""
        with self._lock:
            self._faults.append({"kind": "drop", "n": n, "path": path})

    def delay_next(self, seconds: float, n: int = 1, path: str | None = None) -> None:
        """The next ``n`` calls are answered only after ``seconds`` (for client timeouts)."""
        with self._lock:
            self._faults.append({"kind": "delay", "n": n, "path": path, "seconds": seconds})

    def huge_next(self, size: int, n: int = 1, path: str | None = None, head: bytes = b"",
                  content_type: str = "application/json", declare: bool = False, status: int = 200) -> None:
        """The next ``n`` calls get a ``status`` answer whose body is ``head`` then spaces up to
        ``size`` bytes, written in 64 KiB pieces until the client hangs up (``declare``: with a
        Content-Length)."""
        with self._lock:
            self._faults.append({"kind": "huge", "n": n, "path": path, "size": size, "head": head,
                                 "content_type": content_type, "declare": declare, "status": status})

    def drip_next(self, body: bytes, every: float, n: int = 1, path: str | None = None,
                  status: int = 200) -> None:
        """The next ``n`` calls get a ``status`` answer with a Content-Length, ``body`` then
        written one byte every ``every`` seconds (a server, or a link, that trickles)."""
        with self._lock:
            self._faults.append({"kind": "drip", "n": n, "path": path, "body": body, "every": every,
                                 "status": status})

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def calls_to(self, prefix: str, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path.startswith(prefix) and (method is None or c.method == method)]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- hooks for subclasses -----------------------------------------------------------------
    def check_auth(self, headers: Any) -> bool:
        return headers.get(self.auth_header) == self.token

    def unauthorized(self) -> Reply:
        return Reply(401, {"title": "unauthorized", "detail": "token problem", "status": 401})

    def not_found(self, path: str) -> Reply:
        return Reply(404, {"title": "path not found", "detail": f"no route {path}", "status": 404,
                           "statusText": "Not Found"})

    def too_many(self) -> Reply:
        return Reply(429, {"title": "too many requests", "detail": "limited by fake", "status": 429,
                           "statusText": "Too Many Requests"})

    def server_error(self, status: int, body: Any) -> Reply:
        if isinstance(body, (dict, list)):
            return Reply(status, body)
        return Reply(status, body if body is not None else "upstream unavailable", "text/plain")

    # -- serving ------------------------------------------------------------------------------
    def _take_fault(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            for f in self._faults:
                if f["path"] is None or path.startswith(f["path"]):
                    f["n"] -= 1
                    if f["n"] <= 0:
                        self._faults.remove(f)
                    return f
        return None

    def _serve(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        call = Call(time.monotonic(), h.command, parts.path, parse_qs(parts.query), body,
                    req_headers={k.lower(): v for k, v in h.headers.items()})
        with self._lock:
            self.calls.append(call)
        fault = self._take_fault(parts.path)
        if fault and fault["kind"] == "drop":
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault and fault["kind"] == "delay":
            time.sleep(fault["seconds"])
        try:
            if fault and fault["kind"] == "huge":
                self._send_huge(h, call, fault)
                return
            if fault and fault["kind"] == "drip":
                self._send_drip(h, call, fault)
                return
            reply = self._dispatch(h, call, fault)
            self._send(h, call, reply)
        finally:
            call.finished.set()

    def _send_huge(self, h: _Handler, call: Call, fault: dict[str, Any]) -> None:
        call.status = fault["status"]
        piece = b" " * 65536
        try:
            h.send_response(fault["status"])
            h.send_header("Content-Type", fault["content_type"])
            if fault["declare"]:
                h.send_header("Content-Length", str(fault["size"]))
            h.send_header("Connection", "close")
            h.close_connection = True
            h.end_headers()
            h.wfile.write(fault["head"])
            call.sent = len(fault["head"])
            while call.sent < fault["size"]:
                n = min(len(piece), fault["size"] - call.sent)
                h.wfile.write(piece[:n])
                call.sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send_drip(self, h: _Handler, call: Call, fault: dict[str, Any]) -> None:
        call.status = fault["status"]
        body = fault["body"]
        try:
            h.send_response(fault["status"])
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.flush()
            for i in range(len(body)):
                if self._httpd is None:  # the fake stopped
                    return
                h.wfile.write(body[i:i + 1])
                h.wfile.flush()
                call.sent = i + 1
                time.sleep(fault["every"])  # the trickle itself, not a wait for an event
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _dispatch(self, h: _Handler, call: Call, fault: dict[str, Any] | None) -> Reply:
        if fault and fault["kind"] == "fail":
            r = self.server_error(fault["status"], fault["body"])
            r.headers.update(fault["headers"])
            return r
        match = None
        for method, rx, fn, auth in self._routes:
            m = rx.match(call.path)
            if m and method == call.method:
                match = (fn, auth, m)
                break
        if match is None or match[1]:
            if not self.check_auth(h.headers):
                return self.unauthorized()
            if self.bucket is not None:
                ok, retry, reset = self.bucket.take()
                if not ok:
                    call.retry = retry
                    r = self.too_many()
                    fmt = (lambda s: str(math.ceil(s))) if self.integer_headers else (lambda s: f"{math.ceil(s * 1000) / 1000:.3f}")
                    r.headers.update({"X-Ratelimit-Retry": fmt(retry), "X-Ratelimit-Reset": fmt(reset),
                                      "X-Ratelimit-Limit": str(self.bucket.burst)})
                    return r
        if match is None:
            reply = self.not_found(call.path)
        else:
            try:
                reply = match[0](call, **match[2].groupdict())
            except _BadRequest as exc:
                reply = exc.reply
        if self.bucket is not None and 400 <= reply.status < 500 and reply.status != 429:
            self.bucket.charge(self.cost_4xx - 1)
        return reply

    def _send(self, h: _Handler, call: Call, r: Reply) -> None:
        if isinstance(r.body, (bytes, bytearray)):
            data = bytes(r.body)
        elif isinstance(r.body, str):
            data = r.body.encode()
        elif r.body is None:
            data = b""
        else:
            data = json.dumps(r.body, ensure_ascii=False).encode()
        headers = dict(r.headers)
        if self.bucket is not None and r.status != 429:
            headers["X-Ratelimit-Remaining"] = str(self.bucket.remaining())
        call.status, call.headers = r.status, headers
        try:
            h.send_response(r.status)
            h.send_header("Content-Type", r.content_type)
            for k, v in headers.items():
                h.send_header(k, v)
            if r.close:
                h.send_header("Connection", "close")
                h.close_connection = True
            else:
                h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _BadRequest(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def bad_request(reply: Reply) -> _BadRequest:
    """Raise from a route handler to answer ``reply`` at once."""
    return _BadRequest(reply)


from .fake_ali import FakeAli  # noqa: E402
from .fake_lamoda import FakeLamoda  # noqa: E402
from .fake_ozon import FakeOzon  # noqa: E402
from .fake_wb import FakeWB  # noqa: E402

__all__ = ["Call", "FakeAli", "FakeLamoda", "FakeOzon", "FakeServer", "FakeWB", "Reply", "ServerBucket",
           "bad_request"]
