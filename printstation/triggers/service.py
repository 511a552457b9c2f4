"""The scan path: every scanned code — from a hardware scanner, ``POST /scan``, ``printstation
scan`` or a line of a hot-folder ``.txt`` — goes through :meth:`ScanService.scan`:

normalise → debounce (same code, same scanner, within ``debounce_ms``) → first matching rule →
action (fetch the marketplace label and queue it with its idempotency key, or a ``PS:`` command)
→ recorded in the scan log with what it did (``GET /scans``).

Outcomes: ``queued`` (a new job), ``duplicate`` (the label's key was already queued/printed:
nothing printed again), ``reprinted``, ``paused``, ``resumed``, ``canceled``, ``unmatched``,
``debounced``, ``ignored``, ``failed`` (``detail`` says why).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

from .. import metrics
from ..errors import PrintstationError
from ..spec import PrinterSpec
from .rules import COMMANDS, ScanSettings, normalize
from .state import TriggerState

log = logging.getLogger("printstation.triggers")

SCANS = metrics.counter("printstation_scans_total", "Scans by outcome", ("outcome",))


class Submitter(Protocol):
    """What triggers need from the daemon to queue a label."""

    def submit(self, printer: str, data: bytes, *, copies: int = 1, key: str | None = None,
               name: str | None = None, source: str | None = None, source_ref: str | None = None,
               reprint: bool = False) -> Any: ...


class Control(Protocol):
    """The daemon's queue commands used by ``PS:`` codes (``job`` results carry ``.id``)."""

    def pause(self, printer: str) -> None: ...
    def resume(self, printer: str) -> None: ...
    def reprint_last(self, printer: str) -> Any: ...
    def cancel_last(self, printer: str) -> Any: ...


class Labels(Protocol):
    """Marketplace labels (cached) — what :class:`printstation.markets` provides."""

    def wb_order_sticker(self, order_id: int, type: str, size: tuple[int, int]) -> bytes: ...
    def wb_supply_qr(self, supply_id: str, type: str) -> bytes: ...
    def wb_box_sticker(self, trbx_id: str, supply_id: str, type: str) -> bytes: ...
    def ali_label(self, logistic_order_id: int) -> bytes: ...
    def ali_find(self, tracking: str) -> int: ...


class ScanFailed(PrintstationError):
    """An action could not be done; the message goes into the scan log."""


@dataclass
class Outcome:
    outcome: str
    job: str | None = None
    key: str | None = None
    detail: str | None = None
    printer: str | None = None


def job_id(job: Any) -> str | None:
    if job is None:
        return None
    if isinstance(job, Mapping):
        v = job.get("id")
    else:
        v = getattr(job, "id", None)
    return None if v is None else str(v)


def job_is_duplicate(job: Any) -> bool:
    """A submit that returned an existing job for its idempotency key."""
    for name in ("duplicate", "existing", "deduplicated"):
        v = job.get(name) if isinstance(job, Mapping) else getattr(job, name, None)
        if v:
            return True
    return False


def sticker_type(spec: PrinterSpec | None) -> str:
    """WB sticker type for a printer: ZPL as is for a ZPL printer, else SVG (drawn at its dpi)."""
    return "zplv" if spec is None or spec.lang == "zpl" else "svg"


def sticker_size(spec: PrinterSpec | None) -> tuple[int, int]:
    """WB sticker size for the printer's media: 40×30 for narrow labels, else 58×40."""
    if spec is not None and spec.media.width_mm < 50:
        return (40, 30)
    return (58, 40)


class ScanService:
    def __init__(self, settings: ScanSettings, state: TriggerState, submitter: Submitter, *,
                 printers: Mapping[str, PrinterSpec], default_printer: str,
                 labels: Labels | None = None, control: Control | None = None,
                 find_box: Callable[[str], str | None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.state = state
        self.submitter = submitter
        self.printers = dict(printers)
        self.default_printer = default_printer
        self.labels = labels
        self.control = control
        self.find_box = find_box
        self.clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------
    def scan(self, code: str, *, printer: str | None = None, scanner: str = "api",
             debounce: bool = True, debounce_ms: int | None = None) -> dict[str, Any]:
        """Run one scanned code through the rules; returns the scan log record."""
        code = normalize(code)
        target = printer or self.default_printer
        rec: dict[str, Any] = {"ts": time.time(), "scanner": scanner, "printer": target, "code": code,
                               "action": None, "ref": None}
        if not code:
            return self._record(rec, Outcome("ignored", detail="empty code"))
        if debounce and self._bounced(scanner, code, self.settings.debounce_ms if debounce_ms is None else debounce_ms):
            return self._record(rec, Outcome("debounced", detail="same code from the same scanner just now"))
        m = self.settings.classify(code)
        if m is None and getattr(self, "ozon_sync", None) is not None:
            from .ozon import known_return

            m = known_return(self, code)  # a synced Ozon return barcode of any format
        if m is None:
            return self._record(rec, Outcome("unmatched", detail="no rule matches this code"))
        rec["action"], rec["ref"] = m.action, m.ref
        if target not in self.printers:
            return self._record(rec, Outcome("failed", detail=f"no printer named {target!r}"))
        try:
            out = self._act(m.action, m.ref, target, scanner)
        except PrintstationError as exc:
            out = Outcome("failed", detail=str(exc))
        except Exception as exc:  # a daemon stays up: record the fault, keep scanning
            log.exception("scan %r (%s) failed", code, m.action)
            out = Outcome("failed", detail=f"internal error: {type(exc).__name__}: {exc}")
        return self._record(rec, out)

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.state.scans(limit)

    # ------------------------------------------------------------------------------------
    def _bounced(self, scanner: str, code: str, window_ms: int) -> bool:
        now = self.clock()
        with self._lock:
            last = self._last.get((scanner, code))
            self._last[(scanner, code)] = now
            if len(self._last) > 4096:
                cutoff = now - 600
                self._last = {k: v for k, v in self._last.items() if v >= cutoff}
        return last is not None and (now - last) * 1000 < window_ms

    def _record(self, rec: dict[str, Any], out: Outcome) -> dict[str, Any]:
        rec.update(outcome=out.outcome, job=out.job, key=out.key, detail=out.detail)
        if out.printer:
            rec["printer"] = out.printer
        SCANS.inc(outcome=out.outcome)
        level = logging.WARNING if out.outcome == "failed" else logging.INFO
        log.log(level, "scan %r from %s → %s %s%s", rec["code"], rec["scanner"], rec["action"] or "-",
                out.outcome, f": {out.detail}" if out.detail else "")
        try:
            return self.state.add_scan(rec)
        except Exception:  # the scan log must never take the scan path down
            log.exception("cannot record scan")
            return rec

    def _need_labels(self) -> Labels:
        if self.labels is None:
            raise ScanFailed("marketplace access is not configured ([markets] section)")
        return self.labels

    def _queue(self, printer: str, data: bytes, key: str, name: str, ref: str) -> Outcome:
        ex = getattr(self.submitter, "submit_ex", None)
        if ex is not None:  # the daemon tells whether the key was new
            job, created = ex(printer, data, copies=None, key=key, name=name, source="scan", source_ref=ref)
            duplicate = not created
        else:
            job = self.submitter.submit(printer, data, copies=None, key=key, name=name, source="scan",
                                        source_ref=ref, reprint=False)
            duplicate = job_is_duplicate(job)
        jid = job_id(job)
        if duplicate:
            return Outcome("duplicate", job=jid, key=key, detail="already queued or printed (PS:REPRINT prints it again)")
        state = job.get("state") if isinstance(job, Mapping) else getattr(job, "state", None)
        if state == "failed":
            err = job.get("error") if isinstance(job, Mapping) else getattr(job, "error", None)
            return Outcome("failed", job=jid, key=key, detail=f"job failed: {err}")
        return Outcome("queued", job=jid, key=key)

    def _act(self, action: str, ref: str, printer: str, scanner: str) -> Outcome:
        spec = self.printers.get(printer)
        if action in COMMANDS:
            return self._command(action, printer)
        if action == "ignore":
            return Outcome("ignored")
        if action == "wb-order":
            oid = int(ref)
            data = self._need_labels().wb_order_sticker(oid, sticker_type(spec), sticker_size(spec))
            out = self._queue(printer, data, f"wb-order-{oid}", f"wb-order-{oid}", ref)
            if out.outcome in ("queued", "duplicate"):
                self.state.mark_printed(oid, out.job, "order")
            return out
        if action == "wb-product":
            labels = self._need_labels()
            oid = self.state.claim_next_order(ref, via=f"product:{ref}")
            if oid is None:
                known = self.state.sku_known(ref)
                raise ScanFailed(f"no order waiting for product {ref} in an open supply"
                                 + ("" if known else " (the barcode is not in any synced order)"))
            try:
                data = labels.wb_order_sticker(oid, sticker_type(spec), sticker_size(spec))
                out = self._queue(printer, data, f"wb-order-{oid}", f"wb-order-{oid}", str(oid))
            except BaseException:
                self.state.unclaim(oid)
                raise
            self.state.mark_printed(oid, out.job, f"product:{ref}")
            out.detail = f"order {oid}" + (f"; {out.detail}" if out.detail else "")
            return out
        if action == "wb-supply-qr":
            data = self._need_labels().wb_supply_qr(ref, sticker_type(spec))
            return self._queue(printer, data, f"wb-supply-{ref}", f"wb-supply-{ref}", ref)
        if action == "wb-box":
            labels = self._need_labels()
            supply = self.state.box_supply(ref)
            if supply is None and self.find_box is not None:
                supply = self.find_box(ref)
            if supply is None:
                raise ScanFailed(f"box {ref} is in no synced open supply")
            data = labels.wb_box_sticker(ref, supply, sticker_type(spec))
            out = self._queue(printer, data, f"wb-box-{ref}", f"wb-box-{ref}", ref)
            out.detail = f"supply {supply}" + (f"; {out.detail}" if out.detail else "")
            return out
        if action in ("ali-tracking", "ali-label"):
            labels = self._need_labels()
            lid = labels.ali_find(ref) if action == "ali-tracking" else int(ref)
            data = labels.ali_label(lid)
            out = self._queue(printer, data, f"ali-{lid}", f"ali-{lid}.pdf", ref)
            out.detail = f"logistic order {lid}" + (f"; {out.detail}" if out.detail else "")
            return out
        if action in ("ozon-label", "ozon-return", "lamoda-pack", "lamoda-pallet"):
            from .ozon import act

            # ``reprint`` is a parameter of _act since issue 13 (PS:REPRINT after a duplicate)
            return act(self, action, ref, printer, spec, reprint=bool(locals().get("reprint", False)))
        raise ScanFailed(f"unknown action {action!r}")

    def _command(self, action: str, printer: str) -> Outcome:
        if self.control is None:
            raise ScanFailed("queue commands are not available here")
        if action == "pause":
            self.control.pause(printer)
            return Outcome("paused", printer=printer)
        if action == "resume":
            self.control.resume(printer)
            return Outcome("resumed", printer=printer)
        if action == "reprint":
            job = self.control.reprint_last(printer)
            if job is None:
                raise ScanFailed(f"printer {printer!r} has no job to reprint")
            return Outcome("reprinted", job=job_id(job), printer=printer)
        job = self.control.cancel_last(printer)
        if job is None:
            raise ScanFailed(f"printer {printer!r} has no queued job to cancel")
        return Outcome("canceled", job=job_id(job), printer=printer)


def daemon_service(daemon: Any) -> Any:
    """Hook for :mod:`printstation.daemon`: start hot folder, scanners, WB sync, scan API."""
    from .station import Triggers

    return Triggers.start_for(daemon)
