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

The HTTP server is :mod:`printstation.triggers.webhook_http`: every connection has a read
timeout (``read_timeout_s``), a bounded number are served at once, and the request line (which
holds the secret) is never logged. The face parses ``[webhooks]``
(:mod:`printstation.face.webhook_settings`) and serves ``GET /webhooks``
(:mod:`printstation.face.webhooks_api`).
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import metrics
from ..errors import ConfigError, PrintstationError
from ..schema import read_key_file
# the records live in the trigger state (SQLite table ``webhooks``, or the shared PostgreSQL database)
from .statebase import MAX_WEBHOOKS as MAX_RECORDS, WEBHOOK_FIELDS as FIELDS  # noqa: F401
from .webhook_http import WebhookListener

log = logging.getLogger("printstation.webhooks")
HOOKS = metrics.counter("printstation_webhooks_total", "Webhook notifications by outcome", ("source", "outcome"))

QUEUE_SIZE = 1000
SECRET_RE = re.compile(r"[A-Za-z0-9._~-]{16,256}")
CRED_NAME = "webhook-secret"


# -- settings (parsed by the face: printstation.face.webhook_settings) ------------------------

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


def secret_path(settings: WebhookSettings, env: Mapping[str, str] | None = None) -> Path | None:
    """Where the path secret is: ``secret_file``, else ``$CREDENTIALS_DIRECTORY/webhook-secret``."""
    env = os.environ if env is None else env
    if settings.secret_file is None and env.get("CREDENTIALS_DIRECTORY"):
        return Path(env["CREDENTIALS_DIRECTORY"]) / CRED_NAME
    return settings.secret_file


def secret_from(p: Path, key: str = "webhooks.secret_file") -> str:
    """The secret in file ``p``; ConfigError naming ``key`` (never the file's contents) when the
    file is missing, unreadable, not a regular file or does not hold a good secret."""
    secret = read_key_file(p, key).strip()  # at most 64 KiB
    if not SECRET_RE.fullmatch(secret):
        raise ConfigError(f"{key}: {p} must hold 16..256 URL-safe characters "
                          "(A-Z a-z 0-9 . _ ~ -), e.g. from: openssl rand -hex 24")
    return secret


def read_secret(settings: WebhookSettings, env: Mapping[str, str] | None = None) -> str:
    """The path secret: ``secret_file``, else ``$CREDENTIALS_DIRECTORY/webhook-secret``."""
    p = secret_path(settings, env)
    if p is None:
        raise ConfigError("webhooks: no secret: set [webhooks] secret_file "
                          f"(or provide $CREDENTIALS_DIRECTORY/{CRED_NAME})")
    secret = secret_from(p)
    from ..logs import register_secret

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


def _queue_for(scans: Any) -> Callable[..., Any]:
    from .ozon import queue_label

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


__all__ = ["WebhookSettings", "read_secret", "secret_from", "secret_path", "HookLog", "LamodaHooks", "WebhookListener", "start_for"]
