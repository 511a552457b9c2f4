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
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .. import metrics
from ..errors import PrintstationError, ScanFailed, StoreUnavailable
from ..lang.registry import get as get_lang
from ..names import preview, printable
from ..queue.base import JobState
from ..spec import PrinterSpec
from .rules import COMMANDS, Match, ScanSettings, gtin_forms, normalize
from .ports import Control, Labels, Submitter  # noqa: F401 (importers reach them here)
from .statebase import TriggerStateBase, job_number

if TYPE_CHECKING:
    from .ozonsync import OzonSync
    from .station import TriggerHost

log = logging.getLogger("printstation.triggers")

SCANS = metrics.counter("printstation_scans_total", "Scans by outcome", ("outcome",))


@dataclass
class Outcome:
    outcome: str
    #: The job id (an integer), None when no job is concerned.
    job: int | None = None
    key: str | None = None
    detail: str | None = None
    printer: str | None = None
    #: ``(action, ref)`` that fetches this label again (``PS:REPRINT`` right after a duplicate).
    again: tuple[str, str] | None = None


def job_id(job: Any) -> int | None:
    """The id of a job (a :class:`~printstation.queue.base.Job` or a mapping alike) as an int."""
    if job is None:
        return None
    v = job.get("id") if isinstance(job, Mapping) else getattr(job, "id", None)
    return job_number(v)


def sticker_type(spec: PrinterSpec | None) -> str:
    """WB sticker type for a printer: ZPL as is for a printer that takes ZPL, else SVG (drawn at its dpi)."""
    return "zplv" if spec is None or get_lang(spec.lang).passes_zpl else "svg"


def sticker_size(spec: PrinterSpec | None) -> tuple[int, int]:
    """WB sticker size for the printer's media: 40×30 for narrow labels, else 58×40."""
    if spec is not None and spec.media.width_mm < 50:
        return (40, 30)
    return (58, 40)


class ScanService:
    def __init__(self, settings: ScanSettings, state: TriggerStateBase, submitter: Submitter, *,
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
        #: The Ozon returns sync (issue 16), set by the station when Ozon is configured.
        self.ozon_sync: OzonSync | None = None
        self._last: dict[tuple[str, str], float] = {}
        #: scanner → its last scan when that was a duplicate: (job id, (action, ref)).
        self._dup: dict[str, tuple[int | None, tuple[str, str]] | None] = {}
        self._lock = threading.Lock()
        self._inflight: set[int] = set()  # orders a scan here is claiming right now (claim → job)

    # ------------------------------------------------------------------------------------
    def scan(self, code: str, *, printer: str | None = None, scanner: str = "api",
             debounce: bool = True, debounce_ms: int | None = None,
             shown: str | None = None) -> dict[str, Any]:
        """Run one scanned code through the rules; returns the scan log record.

        ``shown`` replaces the code in the scan log and the log line (a hot-folder ``.txt`` line
        is recorded as a redacted preview, never in full)."""
        code = normalize(code)
        scanner = printable(scanner)  # an API client names its scanner: never a forged log line
        target = printer or self.default_printer
        rec: dict[str, Any] = {"ts": time.time(), "scanner": scanner, "printer": target,
                               "code": code if shown is None else shown,
                               "action": None, "ref": None}
        if not code:
            return self._record(rec, Outcome("ignored", detail="empty code"))
        # the same code for another printer (``scan --printer``) is a new request, not a double read
        if debounce and self._bounced(f"{scanner}\0{target}", code,
                                      self.settings.debounce_ms if debounce_ms is None else debounce_ms):
            return self._record(rec, Outcome("debounced", detail="same code from the same scanner just now"))
        m = self.settings.classify(code)
        if (m is None or (m.builtin and m.action not in (*COMMANDS, "ozon-return"))) \
                and self.ozon_sync is not None:
            from .ozon import known_return

            # a synced Ozon return barcode of any format, even one a built-in rule would take
            # for another marketplace's code (digits only: a WB order id)
            m = known_return(self, code) or m
        if m is not None and m.builtin and m.action == "ali-tracking" and len(code) == 14 and code.isdigit() \
                and any(self.state.sku_known(form) for form in gtin_forms(code)):
            m = Match("wb-product", code, m.rule, m.printer, True)  # a GTIN-14 the synced WB orders hold
        if m is None:
            return self._record(rec, Outcome("unmatched", detail="no rule matches this code"))
        rec["action"], rec["ref"] = m.action, m.ref
        if m.printer:  # the rule names its printer: whatever scanner read the code
            target = rec["printer"] = m.printer
        if target not in self.printers:
            return self._record(rec, Outcome("failed", detail=f"no printer named {target!r}"))
        if shown is not None and m.ref:  # a hot-folder line: what the rule took from it is not kept either
            rec["ref"] = preview(m.ref)
        try:
            out = self._act(m.action, m.ref, target, scanner)
        except StoreUnavailable:  # the shared database is away: held with a clear error (API 503)
            log.warning("scan %r (%s) held: the database is unreachable", rec["code"], m.action)
            raise
        except PrintstationError as exc:
            out = Outcome("failed", detail=str(exc))
        except Exception as exc:  # a daemon stays up: record the fault, keep scanning
            log.exception("scan %r (%s) failed", rec["code"], m.action)
            out = Outcome("failed", detail=f"internal error: {type(exc).__name__}: {exc}")
        if shown is not None and out.detail:
            out.detail = out.detail.replace(code, shown)
            if m.ref and len(m.ref) >= 6:
                out.detail = out.detail.replace(m.ref, preview(m.ref))
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
        if out.outcome not in ("debounced", "ignored"):
            with self._lock:
                dup = out.again if out.outcome == "duplicate" else None
                self._dup[rec["scanner"]] = (out.job, dup) if dup is not None else None
        if out.printer:
            rec["printer"] = out.printer
        SCANS.inc(outcome=out.outcome)
        level = logging.WARNING if out.outcome == "failed" else logging.INFO
        log.log(level, "scan %r from %s → %s %s%s", rec["code"], rec["scanner"], rec["action"] or "-",
                out.outcome, f": {out.detail}" if out.detail else "")
        try:
            return self.state.add_scan(rec)
        except StoreUnavailable as exc:  # the shared database is away
            if out.job is None:  # nothing was done: API 503
                raise
            # a label was queued (it prints): the answer says so, only the scan log misses it
            log.warning("scan %r: %s as job %s, not in the scan log: %s", rec["code"], out.outcome, out.job, exc)
            return dict(rec, id=None)
        except Exception:  # the scan log must never take the scan path down
            log.exception("cannot record scan")
            return rec

    def _need_labels(self) -> Labels:
        if self.labels is None:
            raise ScanFailed("marketplace access is not configured ([markets] section)")
        return self.labels

    def _queue(self, printer: str, data: bytes, key: str, name: str, ref: str, what: str,
               again: tuple[str, str], reprint: bool = False) -> Outcome:
        """Queue a marketplace label under its idempotency ``key``; ``what`` names it for the
        duplicate message ("order 123 already printed as job 1 on zebra"), ``again`` is the
        (action, ref) that fetches it again; ``reprint`` prints it again despite the key."""
        job, created = self.submitter.submit_ex(printer, data, copies=None, key=key, name=name, source="scan",
                                                source_ref=ref, reprint=reprint)
        duplicate = not created
        jid = job_id(job)
        state = job.get("state") if isinstance(job, Mapping) else getattr(job, "state", None)
        if duplicate:
            on = (job.get("printer") if isinstance(job, Mapping) else getattr(job, "printer", None)) or printer
            station = job.get("station") if isinstance(job, Mapping) else getattr(job, "station", None)
            return Outcome("duplicate", job=jid, key=key, printer=on, again=again,
                           detail=f"{what} {_already(state)} as job {jid} on {on}{_at(station)}")
        if state == JobState.FAILED:
            err = job.get("error") if isinstance(job, Mapping) else getattr(job, "error", None)
            return Outcome("failed", job=jid, key=key, detail=f"job failed: {err}")
        return Outcome("queued", job=jid, key=key)

    def _act(self, action: str, ref: str, printer: str, scanner: str, reprint: bool = False) -> Outcome:
        spec = self.printers.get(printer)
        if action in COMMANDS:
            return self._command(action, printer, scanner)
        if action == "ignore":
            return Outcome("ignored")
        if action == "wb-order":
            from ..markets.ids import positive_ids

            (oid,) = positive_ids([ref], "WB order id")  # an int64, as WB (and the state) takes it
            return self._wb_order(oid, ref, printer, spec, reprint)
        if action == "wb-product":
            return self._wb_product(ref, printer, spec)
        if action == "wb-supply-qr":
            data = self._need_labels().wb_supply_qr(ref, sticker_type(spec))
            return self._queue(printer, data, f"wb-supply-{ref}", f"wb-supply-{ref}", ref, f"supply {ref}",
                               ("wb-supply-qr", ref), reprint)
        if action == "wb-box":
            return self._wb_box(ref, printer, spec, reprint)
        if action in ("ali-tracking", "ali-label"):
            return self._ali(action, ref, printer, reprint)
        if action in ("ozon-label", "ozon-return", "lamoda-pack", "lamoda-pallet"):
            from .ozon import act

            return act(self, action, ref, printer, spec, reprint=reprint)
        raise ScanFailed(f"unknown action {action!r}")

    def _wb_order(self, oid: int, ref: str, printer: str, spec: PrinterSpec | None, reprint: bool) -> Outcome:
        with self._lock:
            mine = oid not in self._inflight  # no other scan here is claiming it right now
            self._inflight.add(oid)
        try:
            return self._wb_order_claimed(oid, ref, printer, spec, reprint, mine)
        finally:
            with self._lock:
                if mine:
                    self._inflight.discard(oid)

    def _wb_order_claimed(self, oid: int, ref: str, printer: str, spec: PrinterSpec | None, reprint: bool,
                          mine: bool) -> Outcome:
        """A WB order's sticker; the order is claimed first so two stations never both print it."""
        labels = self._need_labels()
        held = None if reprint else self.state.claim_order(oid, "order", printer)
        if held is not None and held.get("job") is None and mine and held.get("station") == self.state.station \
                and self.state.take_own_claim(oid, "order", printer):
            held = None  # this station's claim from a run that died: nothing is being printed
        if held is not None and held.get("job") is None:  # a scan elsewhere is queueing it now
            return Outcome("duplicate", printer=held.get("printer") or printer, again=("wb-order", str(oid)),
                           detail=f"order {oid} is being printed on {held.get('printer') or '?'}"
                                  f"{_at(held.get('station'))}")
        try:
            data = labels.wb_order_sticker(oid, sticker_type(spec), sticker_size(spec))
            out = self._queue(printer, data, f"wb-order-{oid}", f"wb-order-{oid}", ref, f"order {oid}",
                              ("wb-order", str(oid)), reprint)
        except BaseException:
            if held is None and not reprint:
                self.state.unclaim(oid)
            raise
        if out.outcome in ("queued", "duplicate"):
            self._mark_printed(oid, out, "order", printer)
        elif held is None and not reprint:
            self.state.unclaim(oid)
        return out

    def _wb_product(self, ref: str, printer: str, spec: PrinterSpec | None) -> Outcome:
        """The next order waiting for product ``ref`` in an open supply."""
        labels = self._need_labels()
        oid = None
        for form in gtin_forms(ref):  # WB may hold the barcode as UPC-A, EAN-13 or GTIN-14
            oid = self.state.claim_next_order(form, via=f"product:{ref}", printer=printer)
            if oid is not None:
                break
        if oid is None:
            known = any(self.state.sku_known(form) for form in gtin_forms(ref))
            raise ScanFailed(f"no order waiting for product {ref} in an open supply"
                             + ("" if known else " (the barcode is not in any synced order)"))
        try:
            data = labels.wb_order_sticker(oid, sticker_type(spec), sticker_size(spec))
            out = self._queue(printer, data, f"wb-order-{oid}", f"wb-order-{oid}", str(oid), f"order {oid}",
                              ("wb-order", str(oid)))
        except BaseException:
            self.state.unclaim(oid)
            raise
        self._mark_printed(oid, out, f"product:{ref}", printer)
        if out.outcome != "duplicate":
            out.detail = f"order {oid}" + (f"; {out.detail}" if out.detail else "")
        return out

    def _mark_printed(self, oid: int, out: Outcome, via: str, printer: str) -> None:
        """Note the queued job on the claim; a database lost now leaves the answer true (the label prints)."""
        try:
            self.state.mark_printed(oid, out.job, via, out.printer or printer)
        except StoreUnavailable as exc:
            log.warning("order %s: queued as job %s, but its claim could not be noted: %s", oid, out.job, exc)

    def _wb_box(self, ref: str, printer: str, spec: PrinterSpec | None, reprint: bool) -> Outcome:
        labels = self._need_labels()
        supply = self.state.box_supply(ref)
        if supply is None and self.find_box is not None:
            supply = self.find_box(ref)
        if supply is None:
            raise ScanFailed(f"box {ref} is in no open or recently delivered WB supply")
        data = labels.wb_box_sticker(ref, supply, sticker_type(spec))
        out = self._queue(printer, data, f"wb-box-{ref}", f"wb-box-{ref}", ref, f"box {ref}",
                          ("wb-box", ref), reprint)
        if out.outcome != "duplicate":
            out.detail = f"supply {supply}" + (f"; {out.detail}" if out.detail else "")
        return out

    def _ali(self, action: str, ref: str, printer: str, reprint: bool) -> Outcome:
        labels = self._need_labels()
        lid = labels.ali_find(ref) if action == "ali-tracking" else int(ref)
        data = labels.ali_label(lid)
        out = self._queue(printer, data, f"ali-{lid}", f"ali-{lid}.pdf", ref, f"logistic order {lid}",
                          ("ali-label", str(lid)), reprint)
        if out.outcome != "duplicate":
            out.detail = f"logistic order {lid}" + (f"; {out.detail}" if out.detail else "")
        return out

    def _command(self, action: str, printer: str, scanner: str = "api") -> Outcome:
        if self.control is None:
            raise ScanFailed("queue commands are not available here")
        if action == "pause":
            self.control.pause(printer)
            return Outcome("paused", printer=printer)
        if action == "resume":
            self.control.resume(printer)
            return Outcome("resumed", printer=printer)
        if action == "reprint":
            with self._lock:
                dup = self._dup.pop(scanner, None)
            if dup is not None:  # right after a duplicate: that label, fetched for this printer
                old, (action, ref) = dup
                out = self._act(action, ref, printer, scanner, reprint=True)
                return Outcome("reprinted", job=out.job, key=out.key, printer=printer,
                               detail=f"reprint of job {old}")
            job = self.control.reprint_last(printer)
            if job is None:
                raise ScanFailed(f"printer {printer!r} has no job to reprint")
            return Outcome("reprinted", job=job_id(job), printer=printer)
        job = self.control.cancel_last(printer)
        if job is None:
            raise ScanFailed(f"printer {printer!r} has no queued job to cancel")
        return Outcome("canceled", job=job_id(job), printer=printer)


def _at(station: str | None) -> str:
    """`` at station NAME`` when the job or claim belongs to a station of a shared database."""
    return f" at station {station}" if station else ""


def _already(state: str | None) -> str:
    """How a duplicate's earlier job ended, in words: printed, queued, or what else befell it."""
    if state in (None, JobState.DONE):
        return "already printed"
    if state in (JobState.QUEUED, JobState.SENDING):
        return "already queued"
    return f"already sent ({state})"


def daemon_service(daemon: "TriggerHost") -> Any:
    """Hook for :mod:`printstation.face.daemon`: start hot folder, scanners, WB sync, scan API."""
    from .station import Triggers

    return Triggers.start_for(daemon)
