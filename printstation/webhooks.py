"""The webhook listener: Lamoda B2B notifications (seed 001), on its own port.

It is separate from the control API because it may face the network; it serves exactly two
things, everything else is 404:

* ``POST /hooks/lamoda/<secret>`` — a notification (a JSON object, or an array of them). The
  secret (``[webhooks] secret_file``, else ``$CREDENTIALS_DIRECTORY/webhook-secret``) is compared
  in constant time; a wrong one answers 404 exactly like an unknown path and nothing is done or
  recorded. No ``Content-Length`` → 411, a body over ``max_body_kb`` → 413, not JSON → 400. Every
  accepted notification is recorded (table ``webhooks`` of the trigger state: ``triggers.sqlite``
  or the shared PostgreSQL database; ``GET /webhooks`` on the control API) and answered 200 at
  once; the work happens on a background thread. When the record cannot be written (the
  database is away) the answer is 503 and Lamoda sends it again.
* ``GET /healthz`` → ``{"ok": true}``.

A ``statusChanged`` whose status is in ``[markets.lamoda] print_on_status`` queues the pack
labels of that order (``trackingId``) on ``[markets.lamoda] printer`` (default: the default
printer) with the idempotency key ``lamoda-pack-<order>``: Lamoda's re-sends print nothing twice.

Every connection has a read timeout (``read_timeout_s``), at most :data:`MAX_CONNECTIONS` are
served at once, and the request line (which holds the secret) is never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import queue
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Mapping

from . import metrics
from .errors import ConfigError, PrintstationError
# the records live in the trigger state (SQLite table ``webhooks``, or the shared PostgreSQL database)
from .triggers.statebase import MAX_WEBHOOKS as MAX_RECORDS, WEBHOOK_FIELDS as FIELDS  # noqa: F401

log = logging.getLogger("printstation.webhooks")
HOOKS = metrics.counter("printstation_webhooks_total", "Webhook notifications by outcome", ("source", "outcome"))
REFUSED = metrics.counter("printstation_webhook_refused_total", "Webhook requests refused", ("status",))

MAX_CONNECTIONS = 32
MAX_NOTIFICATIONS = 100  # in one POST
#: A refused body (too large, wrong secret) is read and dropped up to this much after the answer,
#: so a client that sends it all before reading sees the answer instead of a reset connection.
DRAIN_MAX = 64 * 1024 * 1024
QUEUE_SIZE = 1000
SECRET_RE = re.compile(r"[A-Za-z0-9._~-]{16,256}")
CRED_NAME = "webhook-secret"


# -- config ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookSettings:
    """``[webhooks]``: off unless ``listen`` is set."""

    listen: tuple[str, int] | None = None
    secret_file: Path | None = None
    max_body_kb: int = 256
    read_timeout_s: float = 10.0

    @property
    def enabled(self) -> bool:
        return self.listen is not None


def read_secret(settings: WebhookSettings, env: Mapping[str, str] | None = None) -> str:
    """The path secret: ``secret_file``, else ``$CREDENTIALS_DIRECTORY/webhook-secret``."""
    env = os.environ if env is None else env
    p = settings.secret_file
    if p is None and env.get("CREDENTIALS_DIRECTORY"):
        p = Path(env["CREDENTIALS_DIRECTORY"]) / CRED_NAME
    if p is None:
        raise ConfigError("webhooks: no secret: set [webhooks] secret_file "
                          f"(or provide $CREDENTIALS_DIRECTORY/{CRED_NAME})")
    try:
        with open(p, "rb") as fh:
            raw = fh.read(4097)
    except OSError as exc:
        raise ConfigError(f"webhooks.secret_file: cannot read {p}: {exc.strerror or exc}") from None
    try:
        secret = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        secret = ""
    if not SECRET_RE.fullmatch(secret):
        raise ConfigError(f"webhooks.secret_file: {p} must hold 16..256 URL-safe characters "
                          "(A-Z a-z 0-9 . _ ~ -), e.g. from: openssl rand -hex 24")
    from .logs import register_secret

    register_secret(secret)
    return secret


# -- records -----------------------------------------------------------------------------------

class HookLog:
    """Every notification and what it did, in the trigger state
    (:meth:`~printstation.triggers.statebase.TriggerStateBase.add_webhook` and friends)."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def add(self, rec: dict[str, Any]) -> int:
        return self.state.add_webhook(rec)

    def update(self, rid: int, **fields: Any) -> None:
        self.state.update_webhook(rid, **fields)

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.state.webhooks(limit)


# -- what a notification does ------------------------------------------------------------------

def _text(v: Any, n: int = 128) -> str | None:
    if v is None or isinstance(v, (dict, list)):
        return None
    s = " ".join(str(v).split())
    return s[:n] if s else None


def _norm(status: str) -> str:
    return " ".join(status.replace("_", " ").split()).casefold()


class LamodaHooks:
    """Records notifications and acts on them on one background thread."""

    def __init__(self, hooks: HookLog, *, print_on_status: tuple[str, ...], printer: str | None,
                 printers: Mapping[str, Any], labels: Any, queue_label: Callable[..., Any]) -> None:
        self.hooks = hooks
        self.print_on = {_norm(s) for s in print_on_status}
        self.printer = printer
        self.printers = printers
        self.labels = labels
        self.queue_label = queue_label  # (printer, data, key, name, ref) -> Outcome
        self._q: "queue.Queue[tuple[int, dict] | None]" = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self.processed = 0
        self._idle = threading.Condition()

    def start(self) -> "LamodaHooks":
        self._thread.start()
        return self

    def stop(self) -> None:
        try:
            self._q.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout=5)

    def receive(self, note: dict[str, Any], remote: str) -> int:
        """Record one notification and hand it to the worker; its record id."""
        status = _text(note.get("status") or note.get("newStatus") or note.get("orderStatus"))
        rec = {"ts": time.time(), "source": "lamoda", "remote": remote, "type": _text(note.get("type"), 64),
               "ref": _text(note.get("trackingId") or note.get("orderNr"), 64), "status": status,
               "outcome": "received"}
        rid = self.hooks.add(rec)
        try:
            self._q.put_nowait((rid, rec))
        except queue.Full:
            self.hooks.update(rid, outcome="failed", detail="too many notifications waiting; dropped")
            raise
        return rid

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            rid, rec = item
            try:
                outcome = self.handle(rec)
            except Exception as exc:  # noqa: BLE001 - the listener outlives any one notification
                log.exception("webhook %s failed", rid)
                outcome = {"outcome": "failed", "detail": f"internal error: {type(exc).__name__}: {exc}"}
            HOOKS.inc(source="lamoda", outcome=str(outcome.get("outcome")))
            try:
                self.hooks.update(rid, **outcome)
            except Exception:  # noqa: BLE001
                log.exception("cannot record webhook %s", rid)
            level = logging.WARNING if outcome.get("outcome") == "failed" else logging.INFO
            log.log(level, "lamoda %s order %s status %s → %s%s", rec.get("type") or "-", rec.get("ref") or "-",
                    rec.get("status") or "-", outcome.get("outcome"),
                    f": {outcome['detail']}" if outcome.get("detail") else "")
            with self._idle:
                self.processed += 1
                self._idle.notify_all()

    def wait_processed(self, n: int, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self.processed >= n, timeout)

    def handle(self, rec: dict[str, Any]) -> dict[str, Any]:
        if rec.get("type") != "statusChanged":
            return {"outcome": "ignored", "detail": f"{rec.get('type') or 'untyped'} notification: recorded only"}
        order, status = rec.get("ref"), rec.get("status")
        if not order:
            return {"outcome": "failed", "detail": "statusChanged without trackingId"}
        if not status or _norm(status) not in self.print_on:
            return {"outcome": "ignored", "detail": f"status {status!r} is not in [markets.lamoda] print_on_status"}
        if self.labels is None or getattr(self.labels, "lamoda", None) is None:
            return {"outcome": "failed", "detail": "Lamoda access is not configured ([markets.lamoda])"}
        printer = self.printer
        if printer not in self.printers:
            return {"outcome": "failed", "detail": f"no printer named {printer!r} ([markets.lamoda] printer)"}
        key = f"lamoda-pack-{order}"
        try:
            data = self.labels.lamoda_pack_labels(order)
            out = self.queue_label(printer, data, key, f"{key}.pdf", order)
        except PrintstationError as exc:
            return {"outcome": "failed", "key": key, "detail": str(exc)}
        return {"outcome": out.outcome, "job": out.job, "key": out.key or key,
                "detail": f"pack labels of order {order} on {printer}" + (f"; {out.detail}" if out.detail else "")}


# -- HTTP --------------------------------------------------------------------------------------

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
        self.timeout = self.server.listener.settings.read_timeout_s
        super().setup()

    def log_message(self, *args: Any) -> None:  # the request line holds the secret: never logged
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
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


def _queue_for(scans: Any) -> Callable[..., Any]:
    from .triggers.ozon import queue_label

    def queue(printer: str, data: bytes, key: str, name: str, ref: str) -> Any:
        return queue_label(scans, printer, data, key, name, ref, f"pack labels of order {ref}", None)

    return queue


def start_for(triggers: Any) -> WebhookListener | None:
    """Start the listener for the daemon's triggers when ``[webhooks] listen`` is set."""
    cfg = triggers.daemon.config
    settings: WebhookSettings = cfg.sections.get("webhooks") or WebhookSettings()
    if not settings.enabled:
        return None
    secret = read_secret(settings)
    lam = getattr(cfg.markets, "lamoda", None)
    printer = getattr(lam, "printer", None) or cfg.default_printer
    if printer not in triggers.scans.printers:
        log.error("[markets.lamoda] printer %r is not a configured printer: pack labels cannot print", printer)
    hooks = LamodaHooks(HookLog(triggers.state), print_on_status=tuple(getattr(lam, "print_on_status", ()) or ()),
                        printer=printer,
                        printers=triggers.scans.printers, labels=triggers.fetcher,
                        queue_label=_queue_for(triggers.scans))
    return WebhookListener(settings, secret, hooks).start()


__all__ = ["WebhookSettings", "read_secret", "HookLog", "LamodaHooks", "WebhookListener",
           "start_for"]


_API_REGISTERED = False


def register_api() -> None:
    """``GET /webhooks?limit=N`` on the control API: the newest notifications, what they did."""
    global _API_REGISTERED
    if _API_REGISTERED:
        return
    _API_REGISTERED = True
    from .face.api import HttpError, route

    @route("GET", r"/webhooks")
    def get_webhooks(d: Any, req: Any) -> tuple[int, Any]:
        t = getattr(d, "triggers", None)
        hooks = getattr(t, "hook_log", None)
        if hooks is None:
            raise HttpError(503, "the webhook listener is not running ([webhooks] listen)")
        limit = req.int_arg("limit", 50, 1, 1000)
        return 200, {"webhooks": hooks.recent(limit or 50)}
