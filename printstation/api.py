"""The control API: JSON over HTTP on TCP (default ``127.0.0.1:8631``) and a unix socket.

Endpoints (all answers JSON except the preview PNG and the metrics text)::

    GET  /healthz
    GET  /printers
    POST /printers/{name}/pause | /printers/{name}/resume
    POST /printers/{name}/test                    a calibration label (printstation.testprint)
    POST /jobs?printer=NAME[&copies=N][&key=K][&name=FILENAME][&fit=1]   body: the label bytes
    GET  /jobs[?printer=&state=&limit=]
    GET  /jobs/{id}
    GET  /jobs/{id}/preview.png[?page=N]
    POST /jobs/{id}/reprint
    POST /jobs/{id}/cancel
    GET  /metrics

Errors are ``{"error": "…"}`` with 400 (bad request), 401 (token), 404 (no such job/printer),
409 (state does not allow it), 411/413 (body), 422 (label cannot be rendered for a preview).
When ``[api] token_file`` is set, every TCP request except ``/healthz`` needs
``Authorization: Bearer <token>``; the unix socket (mode 0660) needs none. Other modules add
endpoints with :func:`route`.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import socket
import socketserver
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import metrics
from .errors import BadInput, PrintstationError, UsageError
from .queue.store import MAX_PAYLOAD, Conflict, NotFound

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger(__name__)

SOCKET_NAME = "printstation.sock"

JOBS = metrics.gauge("printstation_jobs", "Jobs in the queue by printer and state", ("printer", "state"))
REQUESTS = metrics.counter("printstation_api_requests_total", "API requests", ("method", "status"))


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


#: The HTTP status of an error a handler raises: the first class it is an instance of.
ERROR_STATUS: tuple[tuple[type[PrintstationError], int], ...] = (
    (NotFound, 404), (Conflict, 409), (UsageError, 400), (BadInput, 422), (PrintstationError, 503),
)


def error_status(exc: HttpError | PrintstationError) -> int:
    if isinstance(exc, HttpError):
        return exc.status
    return next(code for cls, code in ERROR_STATUS if isinstance(exc, cls))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any
    handler: "Handler"
    _body: bytes | None = field(default=None, repr=False)

    def body(self) -> bytes:
        if self._body is None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                raise HttpError(411, "send the label with a Content-Length (chunked uploads are not supported)")
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise HttpError(400, "bad Content-Length") from None
            if n > MAX_PAYLOAD:
                self.handler.close_connection = True
                raise HttpError(413, f"body too large ({n} bytes, at most {MAX_PAYLOAD})")
            self._body = self.handler.rfile.read(n) if n > 0 else b""
            if len(self._body) != n:
                raise HttpError(400, "body shorter than its Content-Length")
        return self._body

    def json(self) -> Any:
        raw = self.body()
        try:
            return json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HttpError(400, f"bad JSON body: {exc}") from None

    def int_arg(self, name: str, default: int | None = None, lo: int = 1, hi: int = 1_000_000) -> int | None:
        v = self.query.get(name)
        if v is None or v == "":
            return default
        try:
            n = int(v)
        except ValueError:
            raise HttpError(400, f"{name} must be an integer, got {v!r}") from None
        if not lo <= n <= hi:
            raise HttpError(400, f"{name} {n} out of range ({lo}..{hi})")
        return n


Result = tuple[int, Any] | tuple[int, bytes, str]
RouteFn = Callable[..., Result]
#: (method, compiled path regex, handler(daemon, request, **groups))
ROUTES: list[tuple[str, re.Pattern[str], RouteFn]] = []


def route(method: str, pattern: str) -> Callable[[RouteFn], RouteFn]:
    """Register an endpoint: ``@route("POST", r"/scan")`` → ``fn(daemon, req, **groups)``."""

    def deco(fn: RouteFn) -> RouteFn:
        ROUTES.append((method, re.compile(pattern + r"\Z"), fn))
        return fn

    return deco


# -- endpoints ----------------------------------------------------------------------------------


@route("GET", r"/healthz")
def healthz(d: "Daemon", req: Request) -> Result:
    return 200, d.health()


@route("GET", r"/printers")
def printers(d: "Daemon", req: Request) -> Result:
    return 200, {"printers": d.printers()}


@route("POST", r"/printers/(?P<name>[^/]+)/(?P<action>pause|resume)")
def pause_resume(d: "Daemon", req: Request, name: str, action: str) -> Result:
    info = d.pause(name) if action == "pause" else d.resume(name)
    return 200, info


@route("POST", r"/printers/(?P<name>[^/]+)/test")
def test_print(d: "Daemon", req: Request, name: str) -> Result:
    from .testprint import route_result

    return route_result(d, name, req.headers)


@route("POST", r"/jobs")
def submit(d: "Daemon", req: Request) -> Result:
    key = req.query.get("key") or None
    data = req.body()
    job, created = d.submit_ex(
        req.query.get("printer") or None, data, copies=req.int_arg("copies", None, 1, 9999), key=key,
        name=req.query.get("name") or None, source="api", source_ref=req.query.get("ref") or None,
        reprint=req.query.get("reprint") in ("1", "true", "yes"), fit=req.query.get("fit") in ("1", "true", "yes"))
    # the answer names printer trouble (state, reason), and a job that failed at once
    note = d.printer_note(job.printer, job.id if created else None)
    now = d.store.get(job.id)
    return (201 if created else 200), {**(now if now.state == "failed" else job).to_dict(), **note}


@route("GET", r"/jobs")
def jobs(d: "Daemon", req: Request) -> Result:
    printer = req.query.get("printer") or None
    if printer and d.config.printer(printer) is None:
        raise NotFound(f"no printer named {printer!r}")
    limit = req.int_arg("limit", 100, 1, 100_000) or 100
    found = d.store.list(printer=printer, state=req.query.get("state") or None, limit=limit)
    return 200, {"jobs": [j.to_dict() for j in found]}


@route("GET", r"/jobs/(?P<job_id>\d+)")
def job(d: "Daemon", req: Request, job_id: str) -> Result:
    return 200, d.store.get(int(job_id)).to_dict()


@route("GET", r"/jobs/(?P<job_id>\d+)/preview\.png")
def preview(d: "Daemon", req: Request, job_id: str) -> Result:
    page = req.int_arg("page", 1, 1, 10_000) or 1
    return 200, d.preview(int(job_id), page), "image/png"


@route("POST", r"/jobs/(?P<job_id>\d+)/reprint")
def reprint(d: "Daemon", req: Request, job_id: str) -> Result:
    return 201, d.reprint(int(job_id)).to_dict()


@route("POST", r"/jobs/(?P<job_id>\d+)/cancel")
def cancel(d: "Daemon", req: Request, job_id: str) -> Result:
    return 200, d.cancel(int(job_id)).to_dict()


@route("GET", r"/metrics")
def metrics_text(d: "Daemon", req: Request) -> Result:
    counts = d.store.counts()
    names = {p.name for p in d.config.printers} | {p for p, _ in counts}
    from .queue.store import STATES

    for p in names:
        for s in STATES:
            JOBS.set(counts.get((p, s), 0), printer=p, state=s)
    return 200, metrics.render().encode(), "text/plain; version=0.0.4; charset=utf-8"


# -- HTTP plumbing ------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "printstation"
    server: "_Server"  # type: ignore[assignment]

    def setup(self) -> None:
        super().setup()
        if self.connection.family in (socket.AF_INET, socket.AF_INET6):
            # headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def address_string(self) -> str:
        addr = self.client_address
        return addr[0] if isinstance(addr, tuple) and addr else "unix"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        status = 500
        try:
            parts = urllib.parse.urlsplit(self.path)
            query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
            path = parts.path.rstrip("/") or "/"
            req = Request(method, path, query, self.headers, self)
            result = self._call(method, path, req)
            status = result[0]
            if len(result) == 3:
                self._send(status, result[1], result[2])  # type: ignore[misc]
            else:
                self._send(status, json.dumps(result[1], ensure_ascii=False).encode(), "application/json")
        except (HttpError, PrintstationError) as exc:
            status = error_status(exc)
            self._error(status, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a bug answers 500, the daemon stays up
            log.exception("API %s %s", method, self.path)
            self._error(500, f"internal error: {type(exc).__name__}")
        finally:
            REQUESTS.inc(method=method, status=str(status))

    def _call(self, method: str, path: str, req: Request) -> Result:
        daemon = self.server.daemon
        token = self.server.token
        if token and path != "/healthz":
            auth = self.headers.get("Authorization") or ""
            given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                raise HttpError(401, "missing or wrong API token (Authorization: Bearer …)")
        allowed = []
        for m, rx, fn in ROUTES:
            match = rx.match(path)
            if match:
                if m == method:
                    if daemon.stopping and method != "GET":
                        raise HttpError(503, "the daemon is shutting down")
                    return fn(daemon, req, **match.groupdict())
                allowed.append(m)
        if allowed:
            raise HttpError(405, f"{method} not allowed on {path} (use {', '.join(sorted(set(allowed)))})")
        raise HttpError(404, f"no endpoint {path}")

    def _error(self, status: int, message: str) -> None:
        try:
            self._send(status, json.dumps({"error": message}, ensure_ascii=False).encode(), "application/json")
        except OSError:
            self.close_connection = True

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if status in (411, 413):
            # The body of a refused upload may still be in flight: do not reuse the connection.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64
    daemon: "Daemon"
    token: str | None = None


class TcpServer(_Server):
    def __init__(self, host: str, port: int, daemon: "Daemon", token: str | None) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.daemon, self.token = daemon, token
        super().__init__((host, port), Handler)


class UnixServer(_Server):
    address_family = socket.AF_UNIX

    def __init__(self, path: Path, daemon: "Daemon") -> None:
        self.daemon, self.token = daemon, None
        self.sock_path = path
        super().__init__(str(path), Handler)  # type: ignore[arg-type]

    def server_bind(self) -> None:
        path = self.sock_path
        if path.exists() or path.is_symlink():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()  # a stale socket from a crash
            else:
                raise UsageError(f"{path}: another daemon is listening there")
            finally:
                probe.close()
        old = os.umask(0o117)
        try:
            socketserver.TCPServer.server_bind(self)
        finally:
            os.umask(old)
        self.server_name, self.server_port = "localhost", 0

    def server_close(self) -> None:
        super().server_close()
        try:
            self.sock_path.unlink()
        except OSError:
            pass


class ApiServer:
    """Both listeners, each served by its own thread."""

    def __init__(self, daemon: "Daemon", host: str, port: int, token: str | None,
                 socket_path: Path | None) -> None:
        self.servers: list[_Server] = []
        try:
            self.tcp = TcpServer(host, port, daemon, token)
        except OSError as exc:
            raise UsageError(f"api.listen: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.servers.append(self.tcp)
        self.unix: UnixServer | None = None
        if socket_path is not None:
            if len(str(socket_path).encode()) > 100:
                log.warning("unix socket path %s is too long; serving TCP only", socket_path)
            else:
                try:
                    self.unix = UnixServer(socket_path, daemon)
                    self.servers.append(self.unix)
                except OSError as exc:
                    self.tcp.server_close()
                    raise UsageError(f"cannot listen on {socket_path}: {exc.strerror or exc}") from None
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return self.tcp.server_address[1]

    @property
    def url(self) -> str:
        host = self.tcp.server_address[0]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        for s in self.servers:
            t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.25},
                                 name=f"api-{s.address_family.name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        for s in self.servers:
            if self._threads:
                s.shutdown()
            s.server_close()
        self._threads.clear()
