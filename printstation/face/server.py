"""The control API's listeners: TCP (default ``127.0.0.1:8631``) and a unix socket (mode 0660),
each served by its own selector thread (:class:`printstation.httpd.HttpServer`, bounded, with
timeouts, strict parsing). Each request passes the :mod:`.guards`, then the daemon's
:class:`~printstation.face.http.Router` answers it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from .. import metrics
from ..errors import PrintstationError, UsageError
from ..httpd import Exchange, HttpServer, ProtocolError
from ..queue.store import MAX_PAYLOAD
from ..storage import is_disk_full
from .guards import Guard, host_literal
from .http import HttpError, Request, Result, Router, error_status, json_bytes
from .sessions import FILE_NAME, Logouts
from .throttle import peer

log = logging.getLogger("printstation.face.api")

SOCKET_NAME = "printstation.sock"
REQUESTS = metrics.counter("printstation_api_requests_total", "API requests", ("method", "status"))


class ApiApp(Guard):
    """Answers the requests of one listener (TCP or the unix socket)."""

    def __init__(self, daemon: Any, router: Router, token: str | None, *, tcp: bool, port: int = 0) -> None:
        api = daemon.config.api
        self.daemon, self.router, self.token, self.tcp, self.port = daemon, router, token, tcp, port
        self.max_body = min(MAX_PAYLOAD, int(getattr(api, "max_body_mb", 32) * 1024 * 1024))
        self.setup_guard(api)
        self.logouts = Logouts(Path(daemon.config.data_dir) / FILE_NAME if tcp and token else None)

    # -- one request ---------------------------------------------------------------------------------

    def __call__(self, ex: Exchange) -> None:
        head = ex.head
        method = head.method
        status = 500
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
            self.check_token(head.headers, path, method, peer(ex.conn.addr))
            req = Request(method, path, query, head.headers, ex, max_body=self.max_body)
            result = self._call(method, path, req)
            status = result[0]
            if ex.detached:  # a long-lived answer (GET /events) now owned by its route
                pass
            elif len(result) == 4:  # (status, body, content type, extra headers)
                ex.respond(status, result[1], result[2], result[3])
            elif len(result) == 3:
                ex.respond(status, result[1], result[2])
            else:
                ex.respond(status, json_bytes(result[1]), "application/json")
        except (HttpError, PrintstationError) as exc:
            status = error_status(exc)
            if status in (403, 413, 421):  # nothing more to hear from this client: no body is drained
                ex.close_after = True
            allow, retry = getattr(exc, "allow", None), getattr(exc, "retry_after", None)
            extra = {"Allow": allow} if allow else {}
            if retry:
                extra["Retry-After"] = str(retry)
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

    def _call(self, method: str, path: str, req: Request) -> Result:
        fn, groups = self.router.match(method, path)
        if self.daemon.stopping and method != "GET":
            raise HttpError(503, "the daemon is shutting down")
        return fn(self.daemon, req, **groups)

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

    def __init__(self, daemon: Any, router: Router, host: str, port: int, token: str | None,
                 socket_path: Path | None) -> None:
        api = daemon.config.api
        limits: dict[str, Any] = dict(max_connections=getattr(api, "max_connections", 256),
                      read_timeout=getattr(api, "read_timeout", 10.0),
                      idle_timeout=getattr(api, "idle_timeout", 5.0))
        self.servers: list[HttpServer] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            tsock = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
        except OSError as exc:
            raise UsageError(f"api.listen: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._tcp_addr = tsock.getsockname()
        app = ApiApp(daemon, router, token, tcp=True, port=self._tcp_addr[1])
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
                uapp = ApiApp(daemon, router, None, tcp=False)
                self.unix = HttpServer(usock, uapp, name="api-unix", on_error=uapp.protocol_error, **limits)
                self.unix.sock_path = socket_path
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
            getattr(s.handler, "throttle").stopping.set()  # held wrong-token answers go out now
            if self._threads:
                s.shutdown()
            s.server_close()
        self._threads.clear()
        if self.sock_path is not None:
            try:
                self.sock_path.unlink()
            except OSError:
                pass
