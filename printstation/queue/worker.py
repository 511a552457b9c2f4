"""One worker thread per printer: FIFO claim → convert → ``sending`` (durable) → write → ``done``.

- Transient transport errors (refused, reset, timeout, unplugged): the printer is ``offline``
  and the worker retries with exponential backoff (0.5 s … 30 s). A job whose connection could
  not even be opened stays ``queued``; a job that failed after its first byte may have printed,
  so it becomes ``interrupted`` (or is queued once more with ``on_interrupted = "resend"``),
  exactly as after a crash on the wire — except on ``dir://``, whose writes are all-or-nothing.
  Permanent errors (bad URI, permission denied): the job ``failed``, the printer shows ``error``
  with the reason until the next job succeeds.
- Printer status (ZPL ``~HS``, TSPL ``<ESC>!?``, ESC/POS ``DLE EOT``) is queried before a job
  when the last good answer is older than :data:`STATUS_FRESH` seconds, and every
  ``status_poll`` seconds while the printer is in trouble; the queue waits by itself until the
  status clears. No answer counts as trouble (``error``). ``status_poll = 0`` turns it off.
  ``cups://`` asks the CUPS queue's state (``lpstat``) before every job instead, whatever
  ``status_poll`` says (0: re-ask with backoff): disabled → ``paused``, rejecting or missing →
  ``error``, scheduler down → ``offline``; the job stays ``queued`` meanwhile. A failed ``lp``
  spooled nothing, so its job goes back to the queue (never ``interrupted``).
- "Done after the transport confirms": the write returned (every byte handed over) and, on a
  printer that answers status queries, the status answer that follows the job came back — a
  raw TCP printer gives no other proof that it received the bytes (a connection reset after the
  kernel took them would otherwise lose the job silently). No answer → ``interrupted``.
- A conversion failure fails that job with the one-line reason; the next job goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable

from .. import metrics
from .settings import PrinterConfig
from ..errors import ConversionAborted, PrintstationError, StoreUnavailable, TransportError
from ..retry import Backoff
from ..lang import registry as langs
from ..status import status_hint
from . import stream, trouble
from .base import Job, JobBackend

log = logging.getLogger(__name__)

#: A good status answer younger than this lets the next job go without asking again.
STATUS_FRESH = 1.0
#: Close the printer connection after this long without work (frees the printer's port).
IDLE_CLOSE = 2.0
BACKOFF_MIN, BACKOFF_MAX = 0.5, 30.0

SEND_SECONDS = metrics.histogram(
    "printstation_send_seconds", "Time to hand one job's bytes to the printer transport", ("printer",))
JOB_SECONDS = metrics.histogram(
    "printstation_job_seconds", "Time from submit to done", ("printer",),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
PRINTER_UP = metrics.gauge(
    "printstation_printer_up", "1 when the printer answers and can print, else 0", ("printer",))
SENT = metrics.counter(
    "printstation_jobs_sent_total", "Jobs handed to a printer (done)", ("printer",))
TRANSPORT_ERRORS = metrics.counter(
    "printstation_transport_errors_total", "Failed writes to a printer", ("printer", "transient"))


class PrinterWorker:
    """Drives one printer's queue in its own thread."""

    def __init__(self, cfg: PrinterConfig, store: JobBackend, convert: Callable[[bytes, Any], list[bytes]],
                 *, paused: bool = False) -> None:
        from ..transport import from_uri

        self.cfg = cfg
        self.name = cfg.name
        self.store = store
        self._convert = convert
        self.transport = from_uri(cfg.uri, timeout=cfg.timeout)
        self.lang = langs.get(cfg.spec.lang)
        self.ext = self.lang.ext
        self.manual_paused = paused
        self.state = "paused" if paused else "idle"
        self.reason: str | None = "paused by operator" if paused else None
        self.current: int | None = None
        #: The job being converted (an error escaping its conversion fails it: poison never blocks).
        self.current_job: int | None = None
        self._trouble: str | None = None  # "status" or "transport" while the printer is unwell
        #: Set by the check at start: re-checked by connecting only (no status query) until a job.
        self._probe_only = False
        self._next_try = 0.0
        self._backoff = Backoff(BACKOFF_MIN, BACKOFF_MAX)
        #: Waits while the job store is unreachable (0.2 s doubling up to 5 s); ``_away``: it is.
        self._store_backoff = Backoff(0.2, 5.0)
        self._away = False
        #: When each recurring data-dir line was last logged (queue/trouble.py: one a minute).
        self._logged_at: dict[str, float] = {}
        self._status_ok_at = -1e9
        self._last_work = time.monotonic()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"printer-{cfg.name}", daemon=True)
        PRINTER_UP.set(1, printer=self.name)

    # -- control (any thread) ---------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def pause(self) -> None:
        self.store.set_paused(self.name, True)  # recorded first: a store that is away changes nothing
        self.manual_paused = True
        if self.current is None:
            self._set("paused", "paused by operator")
        self.wake()

    def resume(self) -> None:
        self.store.set_paused(self.name, False)
        self.manual_paused = False
        self._next_try = 0.0  # ask the printer again now
        self._backoff.reset()
        if self.state == "paused" and self._trouble is None:
            self._set("idle", None)
        self.wake()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def abort(self) -> None:
        """Break a write that does not finish (shutdown): the job is handed back to the queue."""
        self.transport.close()

    def info(self) -> dict[str, Any]:
        spec = self.cfg.spec
        return {
            "name": self.name, "uri": self.transport.uri, "lang": spec.lang, "media": str(spec.media),
            "dpi": spec.dpi, "state": self.state, "reason": self.reason, "paused": self.manual_paused,
            "current_job": self.current, "on_interrupted": self.cfg.on_interrupted,
        }

    # -- the loop -----------------------------------------------------------------------------

    def _set(self, state: str, reason: str | None) -> None:
        if (state, reason) != (self.state, self.reason):
            if state in ("offline", "error"):  # trouble is a WARNING; recovery an INFO line
                log.warning("printer %s: %s%s%s", self.name, state, f" ({reason})" if reason else "",
                            status_hint(self.name, reason))
            elif self.state in ("offline", "error"):
                log.info("printer %s: %s%s", self.name, state, f" ({reason})" if reason else "")
            self.state, self.reason = state, reason
        PRINTER_UP.set(0 if state in ("offline", "error") else 1, printer=self.name)

    def _wait(self, seconds: float | None) -> None:
        with self._cond:
            if not self._stopping:
                self._cond.wait(seconds)

    def _run(self) -> None:
        last_error = None
        try:
            trouble.first_check(self)  # in this thread: the start and other printers never wait
        except Exception:  # noqa: BLE001 - a check must not kill the printer's queue
            log.exception("printer %s: check at start failed", self.name)
        while not self._stopping:
            job = None
            try:
                self._step()
                last_error = None
                self._store_back()
            except Exception as exc:  # noqa: BLE001 - a bug must not kill the printer's queue
                from ..storage import is_disk_full

                if is_disk_full(exc):  # not the job's fault: wait for space, the job stays queued
                    self._wait(trouble.disk_full_wait(self))
                    continue
                if isinstance(exc, StoreUnavailable):  # the shared database is away: the job stays
                    self._wait(self._store_away(exc))
                    continue
                job = self.current_job
                what = f"{type(exc).__name__}: {exc}"
                if what != last_error:  # logged once, not once per retry
                    log.exception("printer %s: worker error%s", self.name, f" on job {job}" if job else "")
                last_error = what
                if job is not None and self._fail_poison(job, f"internal error: {type(exc).__name__}"):
                    continue
                self._wait(1.0)
            finally:
                self.current_job = None
        self.transport.close()

    def _fail_poison(self, job_id: int, reason: str) -> bool:
        """Fail the job that broke a step so the next one goes on; False when even that fails."""
        try:
            return self.store.fail(job_id, reason) is not None
        except Exception:  # noqa: BLE001
            return False

    def _step(self) -> None:
        if self.manual_paused:
            self._set("paused", "paused by operator")
            self._idle_close()
            self._wait(IDLE_CLOSE if self.transport.is_open else None)
            return
        now = time.monotonic()
        if self._trouble and now < self._next_try:
            self._idle_close()
            self._wait(self._next_try - now)
            return
        job = self.store.next_queued(self.name)
        self._store_back()  # said now, not when an idle printer next wakes
        if job is None:
            if self._trouble is not None and not trouble.recheck(self):
                return  # still in trouble: asked again when due, even with nothing queued
            self._set("idle", None)
            self._idle_close()
            self._wait(IDLE_CLOSE if self.transport.is_open else None)
            return
        if not self._printer_ready():
            if self._trouble == "transport" and not self.transport.is_open:  # could not connect
                self.store.note_attempt(job.id, self.reason or "printer unreachable")
            return
        self.current_job = job.id  # only while converting: a send error is the transport's business
        labels = stream.labels_for(self, job)  # on a byte stream: page 1 goes while page 2 converts
        self.current_job = None
        if labels is not None and not self._stopping and not self.manual_paused:
            self._send(job, labels)
        if isinstance(labels, stream.Pages):
            labels.close()

    def _idle_close(self) -> None:
        if self.transport.is_open and time.monotonic() - self._last_work >= IDLE_CLOSE:
            self.transport.close()

    def _status_enabled(self) -> bool:
        if self.transport.has_own_status:  # cups://: the queue state is asked before every job
            return True
        return self.cfg.status_poll > 0 and self.lang.status is not None

    def _poll_interval(self) -> float:
        """How long to wait before asking a printer in trouble again."""
        return self.cfg.status_poll if self.cfg.status_poll > 0 else self._next_backoff()

    def _query(self) -> Any:
        from ..status import query_status

        return query_status(self.transport, self.cfg.spec.lang, min(self.cfg.timeout, 2.0))

    def _printer_ready(self) -> bool:
        """Ask the printer for its status when due. False (and trouble set) when it cannot print."""
        if not self._status_enabled():
            return True
        self._probe_only = False  # a job is here: from now on its status is asked as usual
        if self._trouble is None and time.monotonic() - self._status_ok_at < STATUS_FRESH:
            return True
        st = self._query()
        if st.state in ("idle", "printing"):
            self._status_ok_at = time.monotonic()
            if self._trouble is not None:
                log.info("printer %s: status clear, resuming", self.name)
            self._trouble = None
            self._backoff.reset()
            return True
        if not self.transport.is_open:  # could not connect / connection broke
            self._in_trouble("transport", st.state, st.reason or st.state, self._next_backoff())
        else:
            self._in_trouble("status", st.state, st.reason or st.state, self._poll_interval())
        return False

    def _confirm(self) -> str | None:
        """After a write: a status round trip proves the printer received every byte before it
        (TCP keeps order). None when confirmed (or not checkable), else why not."""
        if not self._status_enabled() or not self.transport.can_read:
            return None
        st = self._query()
        if not self.transport.is_open:
            return st.reason or "connection lost after the write"
        if st.state in ("idle", "printing"):
            self._status_ok_at = time.monotonic()
        else:  # the bytes are there; the printer needs a hand before the next job
            self._in_trouble("status", st.state, st.reason or st.state, self.cfg.status_poll)
        return None

    def _in_trouble(self, kind: str, state: str, reason: str, retry_in: float) -> None:
        self._trouble = kind
        self._next_try = time.monotonic() + retry_in
        self._set(state, reason)

    def _next_backoff(self) -> float:
        return self._backoff.next()

    def _prepare(self, job: Job) -> bytes | None:
        """The job's printer bytes (converted once, kept beside the job); None if it failed."""
        data = self.store.converted(job.id, self.ext)
        if data:
            return data
        payload = self.store.payload(job.id)  # StoreUnavailable: not the label's fault, tried again
        try:
            data = b"".join(self._convert(payload, stream.job_spec(self.cfg.spec, job)))
            if not data:
                raise PrintstationError("the label converts to nothing")
        except Exception as exc:  # noqa: BLE001 - poison never blocks the queue: this job fails
            self.conversion_failed(job, exc)
            return None
        trouble.keep_converted(self, job.id, data)
        return data

    def conversion_failed(self, job: Job, exc: Exception) -> None:
        """The job fails with the one-line reason (shutting down: it stays queued for the restart)."""
        if isinstance(exc, ConversionAborted):
            self._wait(0.5)
            return
        log.warning("job %s (%s): %s", job.id, job.name or job.source, stream.reason_of(exc))
        self.store.fail(job.id, stream.reason_of(exc))

    def _store_back(self) -> None:
        if self._away:
            self._away = False
            self._store_backoff.reset()
            log.info("printer %s: the job store is back", self.name)

    def _store_away(self, exc: Exception) -> float:
        """The job store is away: one warning per outage; the wait before trying again (≤ 5 s)."""
        if not self._away:
            log.warning("printer %s: %s; waiting for it", self.name, exc)
        self._away = True
        return self._store_backoff.next()

    def _send(self, job: Job, data: Iterable[bytes]) -> None:  # (stream.Pages: as they convert)
        try:
            # Connect before the send boundary: an unreachable printer received nothing (job stays queued).
            self.transport.open()
        except TransportError as exc:
            TRANSPORT_ERRORS.inc(printer=self.name, transient=str(exc.transient).lower())
            if exc.transient:
                self.store.note_attempt(job.id, str(exc))
                self._in_trouble("transport", "offline", str(exc), self._next_backoff())
            else:
                self.store.fail(job.id, str(exc))
                self._set("error", str(exc))
            log.warning("printer %s: job %s: %s", self.name, job.id, exc)
            return
        if self.store.mark_sending(job.id) is None:  # canceled meanwhile
            return
        self.current = job.id
        self._set("printing", None)
        t0 = time.monotonic()
        try:
            for chunk in data:
                self.transport.write(chunk, job_id=str(job.id), ext=self.ext)
            SEND_SECONDS.observe(time.monotonic() - t0, printer=self.name)
            lost = self._confirm()
            if lost is not None:
                raise TransportError(f"{self.transport.uri}: {lost}", transient=True)
        except stream._PageFailed as exc:
            exc.record(self, job)
            return
        except TransportError as exc:
            TRANSPORT_ERRORS.inc(printer=self.name, transient=str(exc.transient).lower())
            if exc.transient and self.transport.atomic_write and not getattr(exc, "maybe_delivered", False):
                # nothing was delivered (cups:// says why: the queue's state now)
                self.store.requeue(job.id, str(exc))
                self._in_trouble("transport", getattr(exc, "printer_state", "offline"), str(exc),
                                 self._next_backoff())
            elif exc.transient:
                # Bytes may have reached the printer: sending it again could print a WB sticker
                # twice, so this is handled like a crash on the wire.
                self.store.interrupt(job.id, str(exc), resend=self.cfg.on_interrupted == "resend")
                self._in_trouble("transport", "offline", str(exc), self._next_backoff())
            else:
                self.store.fail(job.id, str(exc))
                self._set("error", str(exc))
                self._trouble = None
            log.warning("printer %s: job %s: %s", self.name, job.id, exc)
            return
        finally:
            self.current = None
            self._last_work = time.monotonic()
        done = self.store.mark_done(job.id)
        SENT.inc(printer=self.name)
        if done is not None:
            JOB_SECONDS.observe(max(0.0, (done.done or 0) - done.created), printer=self.name)
        if self._trouble == "transport":
            log.info("printer %s: back online", self.name)
            self._trouble = None
        if self._trouble is None:
            self._backoff.reset()
            self._set("printing", None)
