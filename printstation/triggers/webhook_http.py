"""The HTTP side of the webhook listener (:mod:`printstation.triggers.webhooks`): a small
threaded server on ``[webhooks] listen`` that serves ``POST /hooks/lamoda/<secret>`` and
``GET /healthz``, everything else 404.

Every connection must send its whole request within ``read_timeout_s`` (a deadline, not a
per-read timeout: a client dripping a byte at a time is cut), at most :data:`MAX_CONNECTIONS` are
served at once, and the request line (which holds the secret) is never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .. import metrics
from ..errors import ConfigError, PrintstationError

if TYPE_CHECKING:
    from .webhooks import LamodaHooks, WebhookSettings

log = logging.getLogger("printstation.webhooks")
REFUSED = metrics.counter("printstation_webhook_refused_total", "Webhook requests refused", ("status",))

MAX_CONNECTIONS = 32
MAX_NOTIFICATIONS = 100  # in one POST
#: A refused body (too large, wrong secret) is read and dropped up to this much after the answer,
#: so a client that sends it all before reading sees the answer instead of a reset connection.
DRAIN_MAX = 64 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr: tuple[str, int], listener: "WebhookListener") -> None:
        self.listener = listener
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.address_family = family
        super().__init__(addr, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn: a DNS lookup); not needed here.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # too many open connections: drop this one
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request a connection
    server_version = "printstation"
    sys_version = ""

    def setup(self) -> None:
        limit = self.server.listener.settings.read_timeout_s
        self.timeout = limit  # type: ignore[misc]  # per read; the timer below bounds the whole request
        super().setup()
        self._read_done = False
        self._deadline = threading.Timer(limit, self._expire)
        self._deadline.daemon = True
        self._deadline.start()

    def _expire(self) -> None:
        """``read_timeout_s`` after the connection came, the request is not read yet (a client
        dripping a byte at a time never trips the per-read timeout): cut it."""
        if not self._read_done:
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def finish(self) -> None:
        self._deadline.cancel()
        super().finish()

    def log_message(self, *args: Any) -> None:  # the request line holds the secret: never logged
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        self._read_done = True  # read in time (a refused body's drain keeps its own deadline)
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError:
            pass

    def _not_found(self) -> None:
        self._reply(404, {"error": "not found"})

    def _refuse(self, status: int, error: str) -> None:
        REFUSED.inc(status=str(status))
        self._reply(status, {"error": error})

    def _drain(self) -> None:
        """After a refusal: read and drop the declared body (at most :data:`DRAIN_MAX`, within
        ``read_timeout_s``), so the client reads our answer rather than a connection reset."""
        try:
            left = min(int(self.headers.get("Content-Length") or 0), DRAIN_MAX)
        except ValueError:
            return
        deadline = time.monotonic() + self.server.listener.settings.read_timeout_s
        try:
            while left > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(left, 1 << 16))
                if not chunk:
                    return
                left -= len(chunk)
        except OSError:
            pass

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _not_found

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/healthz":
            self._reply(200, {"ok": True})
        else:
            self._not_found()

    def do_POST(self) -> None:
        lst = self.server.listener
        path = self.path.split("?", 1)[0]
        prefix = "/hooks/lamoda/"
        given = path[len(prefix):] if path.startswith(prefix) else ""
        if not hmac.compare_digest(given.encode("utf-8", "replace"), lst.secret.encode()):
            REFUSED.inc(status="404")
            self._not_found()
            self._drain()
            return
        if self.headers.get("Transfer-Encoding"):
            self._refuse(411, "Content-Length required")
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self._refuse(411, "Content-Length required")
            return
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self._refuse(400, "bad Content-Length")
            return
        limit = lst.settings.max_body_kb * 1024
        if length > limit:
            self._refuse(413, f"body larger than {limit} bytes")
            self._drain()
            return
        try:
            body = self.rfile.read(length)
        except (socket.timeout, OSError):
            self.close_connection = True
            return
        self._read_done = True  # recording it may take longer than the deadline: never cut now
        if len(body) != length:
            self._refuse(400, "body shorter than Content-Length")
            return
        try:
            doc = json.loads(body.decode("utf-8-sig"))  # a leading BOM is tolerated
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: absurd nesting
            self._refuse(400, "body is not JSON")
            return
        notes = doc if isinstance(doc, list) else [doc]
        if not notes or len(notes) > MAX_NOTIFICATIONS or not all(isinstance(n, dict) for n in notes):
            self._refuse(400, f"expected a notification object or an array of 1..{MAX_NOTIFICATIONS}")
            return
        ids = []
        try:
            for n in notes:
                ids.append(lst.hooks.receive(n, self.client_address[0]))
        except queue.Full:
            self._refuse(503, "busy, send again later")
            return
        except PrintstationError as exc:  # the trigger state (database) is away: Lamoda re-sends
            log.warning("lamoda notification not recorded: %s", exc)
            self._refuse(503, "cannot record the notification now, send again later")
            return
        self._reply(200, {"ok": True, "received": len(ids), "ids": ids})


class WebhookListener:
    """``[webhooks] listen``: the HTTP server thread in front of :class:`LamodaHooks`."""

    def __init__(self, settings: WebhookSettings, secret: str, hooks: LamodaHooks) -> None:
        if not settings.enabled:
            raise ConfigError("webhooks: no listen address")
        self.settings, self.secret, self.hooks = settings, secret, hooks
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "WebhookListener":
        assert self.settings.listen
        try:
            self._httpd = _Server(self.settings.listen, self)
        except OSError as exc:
            host, port = self.settings.listen
            raise ConfigError(f"webhooks.listen: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.hooks.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="webhook-listener", daemon=True)
        self._thread.start()
        log.info("webhook listener on %s", self.url)
        return self

    @property
    def address(self) -> tuple[str, int]:
        assert self._httpd is not None
        return self._httpd.server_address[:2]  # type: ignore[return-value]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.hooks.stop()
