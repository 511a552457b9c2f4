"""The control API: JSON over HTTP on TCP (default ``127.0.0.1:8631``) and a unix socket.

Endpoints (all answers JSON except the preview PNG and the metrics text)::

    GET  /healthz
    GET  /printers
    POST /printers/{name}/pause | /printers/{name}/resume
    POST /printers/{name}/test                    a calibration label (printstation.face.testprint)
    POST /jobs?printer=NAME[&copies=N][&key=K][&name=FILENAME][&fit=1]   body: the label bytes
    GET  /jobs[?printer=&state=&limit=&station=all]
    GET  /jobs/{id}
    GET  /jobs/{id}/preview.png[?page=N]
    POST /jobs/{id}/reprint
    POST /jobs/{id}/cancel
    GET  /metrics
    GET  /, /console/state, /events, …            the web console (printstation.face.console)

Errors are ``{"error": "…"}`` with 400 (bad request), 401 (token), 403 (a browser request from
another origin), 404 (no such job/printer), 409 (state does not allow it), 411/413 (body),
421 (a Host that is not the station's), 422 (label cannot be rendered for a preview), 507 (queue
quota or data dir full). When ``[api] token_file`` is set, every TCP request except ``/healthz``
needs ``Authorization: Bearer <token>``; the unix socket (mode 0660) needs none. Other modules add
endpoints with :func:`route`.

Who may drive the API (a web page open in a browser on the station PC must not):

- every TCP request must name the station in ``Host``: ``127.0.0.1``, ``localhost``, ``[::1]``,
  the listen address, or a name in ``[api] allowed_hosts`` — with no port or the listen port
  (DNS rebinding); else ``421``. The unix socket is exempt.
- a request with ``Origin`` must be same-origin (``http://`` + its ``Host``) or listed in
  ``[api] allowed_origins``; ``Sec-Fetch-Site: cross-site``/``same-site`` is refused unless the
  ``Origin`` is listed; ``403``. No CORS headers are ever sent, so ``OPTIONS`` preflights fail.
- idempotency keys given to ``POST /jobs`` are stored as ``api:<key>``: they can never collide with
  the keys the station makes itself (``wb-order-…``, ``ali-…``, ``hot-…``).

Connections are served by :mod:`printstation.httpd` (bounded, with timeouts, strict parsing).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .. import metrics
from ..errors import BadInput, PrintstationError, UsageError
from ..httpd import Exchange, HttpServer, ProtocolError, plain_int
from ..queue.base import MAX_PAYLOAD, Conflict, JobState, NotFound
from ..storage import StorageFull, is_disk_full

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger(__name__)

SOCKET_NAME = "printstation.sock"

JOBS = metrics.gauge("printstation_jobs", "Jobs in the queue by printer and state", ("printer", "state"))
REQUESTS = metrics.counter("printstation_api_requests_total", "API requests", ("method", "status"))
REFUSED = metrics.counter("printstation_api_refused_total",
                          "API requests refused as not from the station's own clients", ("reason",))


def json_bytes(value: Any) -> bytes:
    """A JSON answer in UTF-8; a lone surrogate in stored text (an undecodable name) stays a
    JSON escape instead of failing the answer."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace")


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


#: The HTTP status of an error a handler raises: the first class it is an instance of.
ERROR_STATUS: tuple[tuple[type[PrintstationError], int], ...] = (
    (NotFound, 404), (Conflict, 409), (UsageError, 400), (BadInput, 422), (StorageFull, 507),
    (PrintstationError, 503),
)


def error_status(exc: HttpError | PrintstationError) -> int:
    if isinstance(exc, HttpError):
        return exc.status
    return next(code for cls, code in ERROR_STATUS if isinstance(exc, cls))


#: The largest JSON request body (``POST /scan``, ``POST /login``: a code, a token).
MAX_JSON = 64 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any
    exchange: Exchange
    #: Bodies larger than this are refused with 413 before they are read.
    max_body: int = MAX_PAYLOAD
    _body: bytes | None = field(default=None, repr=False)

    @property
    def content_length(self) -> int:
        return self.exchange.head.content_length

    def body(self) -> bytes:
        if self._body is None:
            n = self.content_length
            if n > self.max_body:
                raise HttpError(413, f"body too large ({n} bytes, at most {self.max_body}: [api] max_body_mb)")
            try:
                self._body = self.exchange.read_body()
            except ProtocolError as exc:
                raise HttpError(exc.status, str(exc)) from None
        return self._body

    def json(self) -> Any:
        """The body as JSON (at most :data:`MAX_JSON` bytes: 413 before a larger one is read, so
        parallel JSON requests cannot hold ``max_body_mb`` each in memory); 400 when it is not
        valid JSON."""
        if self.content_length > MAX_JSON:
            raise HttpError(413, f"JSON body too large ({self.content_length} bytes, at most {MAX_JSON})")
        raw = self.body()
        try:
            value = json.loads(raw) if raw.strip() else {}
            # a lone surrogate (``"\ud800"``) decodes but can be neither stored nor answered
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except RecursionError:
            raise HttpError(400, "bad JSON body: nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError/EncodeError, a huge int
            raise HttpError(400, f"bad JSON body: {str(exc)[:200]}") from None
        return value

    def int_arg(self, name: str, default: int | None = None, lo: int = 1, hi: int = 1_000_000) -> int | None:
        v = self.query.get(name)
        if v is None or v == "":
            return default
        n = plain_int(v[1:]) if v.startswith("-") else plain_int(v)
        if n is None:
            raise HttpError(400, f"{name} must be an integer, got {v[:40]!r}")
        n = -n if v.startswith("-") else n
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


#: Idempotency keys given to ``POST /jobs`` are stored under this prefix, so an API caller can never
#: take a key the station makes itself (``wb-order-<id>``, ``wb-supply-…``, ``wb-box-…``,
#: ``ali-<id>``, ``hot-…``, and whatever later markets and triggers use: none start ``api:``).
API_KEY_PREFIX = "api:"


def api_key(key: str | None) -> str | None:
    return API_KEY_PREFIX + key if key else None


def reserved_body(d: "Daemon", req: Request, key: str | None) -> bytes:
    """A submit's body, read while its size is held against the queue quota: ``507`` before a
    byte of an over-quota body is read (a repeat of a known key stores nothing: not held)."""
    if req.content_length > req.max_body:  # too large for any queue: 413 before the quota's 507
        return req.body()
    reprint = req.query.get("reprint") in ("1", "true", "yes")
    known = key is not None and not reprint and d.store.find_key(key) is not None
    with contextlib.nullcontext() if known else d.storage.reserve(req.content_length):
        return req.body()


@route("POST", r"/jobs")
def submit(d: "Daemon", req: Request) -> Result:
    key = api_key(req.query.get("key"))
    data = reserved_body(d, req, key)
    job, created = d.submit_ex(
        req.query.get("printer") or None, data, copies=req.int_arg("copies", None, 1, 9999), key=key,
        name=req.query.get("name") or None, source="api", source_ref=req.query.get("ref") or None,
        reprint=req.query.get("reprint") in ("1", "true", "yes"), fit=req.query.get("fit") in ("1", "true", "yes"))
    # the answer names printer trouble (state, reason), and a job that failed at once
    note = d.printer_note(job.printer, job.id if created else None)
    now = d.store.get(job.id)
    return (201 if created else 200), {**(now if now.state == JobState.FAILED else job).to_dict(), **note}


def job_id_arg(text: str) -> int:
    """A job id from a path: a plain positive integer in SQLite's range, else 404."""
    n = plain_int(text)
    if not n:
        raise NotFound(f"no job {text[:40]}")
    return n


@route("GET", r"/jobs")
def jobs(d: "Daemon", req: Request) -> Result:
    printer = req.query.get("printer") or None
    station = req.query.get("station") or None  # a shared database: "all", or another station's name
    if station in (d.config.station.name,):
        station = None
    if printer and station is None and d.config.printer(printer) is None:
        raise NotFound(f"no printer named {printer!r}")
    limit = req.int_arg("limit", 100, 1, 100_000) or 100
    found = d.store.list(printer=printer, state=req.query.get("state") or None, limit=limit, station=station)
    return 200, {"jobs": [j.to_dict() for j in found]}


@route("GET", r"/jobs/(?P<job_id>[0-9]+)")
def job(d: "Daemon", req: Request, job_id: str) -> Result:
    return 200, d.store.get(job_id_arg(job_id)).to_dict()


@route("GET", r"/jobs/(?P<job_id>[0-9]+)/preview\.png")
def preview(d: "Daemon", req: Request, job_id: str) -> Result:
    page = req.int_arg("page", 1, 1, 10_000) or 1
    return 200, d.preview(job_id_arg(job_id), page), "image/png"


@route("POST", r"/jobs/(?P<job_id>[0-9]+)/reprint")
def reprint(d: "Daemon", req: Request, job_id: str) -> Result:
    return 201, d.reprint(job_id_arg(job_id)).to_dict()


@route("POST", r"/jobs/(?P<job_id>[0-9]+)/cancel")
def cancel(d: "Daemon", req: Request, job_id: str) -> Result:
    return 200, d.cancel(job_id_arg(job_id)).to_dict()


@route("GET", r"/metrics")
def metrics_text(d: "Daemon", req: Request) -> Result:
    counts = d.store.counts()
    names = {p.name for p in d.config.printers} | {p for p, _ in counts}
    from ..queue.store import STATES

    for p in names:
        for s in STATES:
            JOBS.set(counts.get((p, s), 0), printer=p, state=s)
    return 200, metrics.render().encode(), "text/plain; version=0.0.4; charset=utf-8"


# -- HTTP plumbing ------------------------------------------------------------------------------

#: Paths served without the API token: the web console's static page (it holds no data).
PUBLIC_PATHS: set[str] = set()
#: ``(token, headers, method) -> bool``: a valid web-console session cookie (set by
#: :mod:`printstation.face.console`); none until that module is loaded.
session_ok: Callable[[str, Any, str], bool] = lambda token, headers, method: False  # noqa: E731

#: Host names every TCP request may carry (with no port or the listen port).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: A refused Host or Origin is logged at most once per this many seconds per value.
REFUSAL_LOG_EVERY = 60.0
_HOST_RE = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([0-9]{1,5}))?")
_ORIGIN_RE = re.compile(r"(https?)://(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([0-9]{1,5}))?")
DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """``Host`` (or an ``allowed_hosts`` entry) → ``(host, port)`` lower-cased; None if malformed."""
    m = _HOST_RE.fullmatch(value.strip().lower())
    if not m:
        return None
    port = int(m.group(2)) if m.group(2) else None
    if port is not None and not 0 < port < 65536:
        return None
    return m.group(1), port


def split_origin(value: str) -> tuple[str, str, int] | None:
    """``scheme://host[:port]`` → ``(scheme, host, port)`` with the default port filled in."""
    m = _ORIGIN_RE.fullmatch(value.strip().lower())
    if not m:
        return None
    port = int(m.group(3)) if m.group(3) else DEFAULT_PORTS[m.group(1)]
    return (m.group(1), m.group(2), port) if 0 < port < 65536 else None


def host_literal(host: str) -> str:
    return f"[{host.lower()}]" if ":" in host else host.lower()


class _RefusalLog:
    """Log a refusal once per :data:`REFUSAL_LOG_EVERY` seconds per value (bounded memory)."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, what: str, value: str, why: str) -> None:
        now = time.monotonic()
        k = f"{what}\0{value}"
        with self._lock:
            if now - self._last.get(k, -1e9) < REFUSAL_LOG_EVERY:
                return
            if len(self._last) >= 1024:
                self._last = {a: t for a, t in self._last.items() if now - t < REFUSAL_LOG_EVERY}
                if len(self._last) >= 1024:
                    return
            self._last[k] = now
        log.warning("API: refused a request with %s %r: %s (logged once a minute)", what, value[:200], why)


class ApiApp:
    """Answers the requests of one listener (TCP or the unix socket)."""

    def __init__(self, daemon: "Daemon", token: str | None, *, tcp: bool, port: int = 0) -> None:
        api = daemon.config.api
        self.daemon, self.token, self.tcp, self.port = daemon, token, tcp, port
        self.max_body = min(MAX_PAYLOAD, int(getattr(api, "max_body_mb", 32) * 1024 * 1024))
        names = set(LOOPBACK_HOSTS) | {host_literal(api.host)}
        self.host_any_port: set[tuple[str, int]] = set()
        for entry in getattr(api, "allowed_hosts", ()):
            parsed = split_host(entry)
            if parsed and parsed[1] is None:
                names.add(parsed[0])
            elif parsed:
                self.host_any_port.add((parsed[0], parsed[1]))  # type: ignore[arg-type]
        self.host_names = names
        self.origins = {o for o in (split_origin(x) for x in getattr(api, "allowed_origins", ())) if o}
        self.refused = _RefusalLog()

    # -- who is asking ------------------------------------------------------------------------------

    def check_host(self, host: str | None) -> tuple[str, int]:
        """The request's own ``(host, port)`` from ``Host``; 421 unless it names this station."""
        parsed = split_host(host or "")
        if parsed is None:
            if not self.tcp:
                return "", 0  # the unix socket is exempt (only a same-origin check could use it)
            raise HttpError(400 if not host else 421, f"bad Host header {(host or '')[:80]!r}")
        name, port = parsed
        if self.tcp:
            ok = (name in self.host_names and port in (None, self.port)) or (name, port) in self.host_any_port
            if not ok:
                REFUSED.inc(reason="host")
                self.refused("Host", host or "", "not this station (DNS rebinding?)")
                raise HttpError(421, f"Host {host[:80]!r} is not this station "
                                     "(use 127.0.0.1 or localhost, or add the name to [api] allowed_hosts)")
        return name, port if port is not None else 80

    def check_browser(self, headers: Any, own: tuple[str, int] | None) -> None:
        """403 for a request a web page of another origin made."""
        origins = headers.get_all("origin")
        if len(origins) > 1:
            raise HttpError(403, "more than one Origin header")
        origin = origins[0] if origins else None
        parsed = split_origin(origin) if origin is not None else None
        listed = parsed is not None and parsed in self.origins
        if origin is not None and not listed:
            same = parsed is not None and own is not None and parsed == ("http", own[0], own[1])
            if not same:
                REFUSED.inc(reason="origin")
                self.refused("Origin", origin, "cross-origin request")
                raise HttpError(403, f"cross-origin request from {origin[:80]!r} refused "
                                     "(list the origin in [api] allowed_origins to allow it)")
        # every value of every Sec-Fetch-Site field counts (a browser sends one; a forged list
        # such as "cross-site, same-origin" must not slip through)
        sites = [t.strip().lower() for v in headers.get_all("sec-fetch-site") for t in v.split(",")]
        site = next((t for t in sites if t in ("cross-site", "same-site")), "")
        if site and not listed:
            REFUSED.inc(reason="sec-fetch-site")
            self.refused("Sec-Fetch-Site", site, "browser request from another site")
            raise HttpError(403, f"browser request from another site refused (Sec-Fetch-Site: {site})")

    def check_token(self, headers: Any, path: str, method: str = "GET") -> None:
        if self.token and self.tcp and path != "/healthz" and path not in PUBLIC_PATHS:
            auth = headers.get("authorization") or ""
            given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
            if not auth and session_ok(self.token, headers, method):  # the web console's cookie
                return
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                raise HttpError(401, "missing or wrong API token (Authorization: Bearer …)")

    # -- one request ---------------------------------------------------------------------------------

    def __call__(self, ex: Exchange) -> None:
        head = ex.head
        method = head.method
        status = 500
        extra: dict[str, str] = {}
        try:
            own = self.check_host(head.headers.get("host"))
            self.check_browser(head.headers, own)
            parts = urllib.parse.urlsplit(head.target)
            try:
                pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True, max_num_fields=100)
            except ValueError:
                raise HttpError(400, "too many query parameters") from None
            query = dict(pairs)
            path = parts.path.rstrip("/") or "/"
            self.check_token(head.headers, path, method)
            req = Request(method, path, query, head.headers, ex, max_body=self.max_body)
            result = self._call(method, path, req, extra)
            status = result[0]
            if ex.detached:  # a long-lived answer (GET /events) now owned by its route
                pass
            elif len(result) == 4:  # (status, body, content type, extra headers)
                ex.respond(status, result[1], result[2], result[3])  # type: ignore[arg-type,misc]
            elif len(result) == 3:
                ex.respond(status, result[1], result[2])  # type: ignore[arg-type,misc]
            else:
                ex.respond(status, json_bytes(result[1]), "application/json")
        except (HttpError, PrintstationError) as exc:
            status = error_status(exc)
            if status in (403, 413, 421):  # nothing more to hear from this client: no body is drained
                ex.close_after = True
            self.error(ex, status, str(exc), extra)
        except OSError:
            ex.close_after = True
        except Exception as exc:  # noqa: BLE001 - a bug answers 500, the daemon stays up
            if is_disk_full(exc):  # e.g. a pause that cannot be stored: never a bare 500
                status = 507
                self.error(ex, 507, str(self.daemon.storage.note_full(0)))
            else:
                log.exception("API %s %s", method, head.target[:200])
                self.error(ex, 500, f"internal error: {type(exc).__name__}")
        finally:
            REQUESTS.inc(method=method if method in KNOWN_METHODS else "other", status=str(status))

    def _call(self, method: str, path: str, req: Request, extra: dict[str, str]) -> Result:
        daemon = self.daemon
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
            extra["Allow"] = ", ".join(sorted(set(allowed)))
            raise HttpError(405, f"{method} not allowed on {path} (use {', '.join(sorted(set(allowed)))})")
        raise HttpError(404, f"no endpoint {path[:200]}")

    @staticmethod
    def error(ex: Exchange, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        if ex.responded:
            ex.close_after = True
            return
        try:
            ex.respond(status, json_bytes({"error": message}), "application/json",
                       extra)
        except OSError:
            ex.close_after = True

    def protocol_error(self, ex: Exchange, exc: ProtocolError) -> None:
        REQUESTS.inc(method="other", status=str(exc.status))
        self.error(ex, exc.status, str(exc))


KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"})
#: Connections waiting to be accepted (clamped by the kernel's net.core.somaxconn).
LISTEN_BACKLOG = 4096


def _unix_listener(path: Path) -> socket.socket:
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
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)
    try:
        sock.bind(str(path))
    except BaseException:
        sock.close()
        raise
    finally:
        os.umask(old)
    sock.listen(LISTEN_BACKLOG)
    return sock


class ApiServer:
    """Both listeners, each served by its own selector thread (:class:`printstation.httpd.HttpServer`)."""

    def __init__(self, daemon: "Daemon", host: str, port: int, token: str | None,
                 socket_path: Path | None) -> None:
        api = daemon.config.api
        limits = dict(max_connections=getattr(api, "max_connections", 256),
                      read_timeout=getattr(api, "read_timeout", 10.0),
                      idle_timeout=getattr(api, "idle_timeout", 5.0))
        self.servers: list[HttpServer] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            tsock = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
        except OSError as exc:
            raise UsageError(f"api.listen: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._tcp_addr = tsock.getsockname()
        app = ApiApp(daemon, token, tcp=True, port=self._tcp_addr[1])
        limits["discard_limit"] = app.max_body
        self.tcp = HttpServer(tsock, app, name="api-tcp", on_error=app.protocol_error, **limits)
        self.servers.append(self.tcp)
        self.unix: HttpServer | None = None
        self.sock_path: Path | None = None
        if socket_path is not None:
            if len(str(socket_path).encode()) > 100:
                log.warning("unix socket path %s is too long; serving TCP only", socket_path)
            else:
                try:
                    usock = _unix_listener(socket_path)
                except OSError as exc:
                    self.tcp.server_close()
                    raise UsageError(f"cannot listen on {socket_path}: {exc.strerror or exc}") from None
                except BaseException:
                    self.tcp.server_close()
                    raise
                uapp = ApiApp(daemon, None, tcp=False)
                self.unix = HttpServer(usock, uapp, name="api-unix", on_error=uapp.protocol_error, **limits)
                self.unix.sock_path = socket_path  # type: ignore[attr-defined]
                self.sock_path = socket_path
                self.servers.append(self.unix)
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._tcp_addr[1])

    @property
    def url(self) -> str:
        return f"http://{host_literal(self._tcp_addr[0])}:{self.port}"

    def start(self) -> None:
        for s in self.servers:
            t = threading.Thread(target=s.serve_forever, name=s.name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        for s in self.servers:
            if self._threads:
                s.shutdown()
            s.server_close()
        self._threads.clear()
        if self.sock_path is not None:
            try:
                self.sock_path.unlink()
            except OSError:
                pass


from . import console as _console  # noqa: E402,F401 - registers GET / (the web console) and /events
from . import scan_api as _scan_api  # noqa: E402,F401 - registers POST /scan and GET /scans
