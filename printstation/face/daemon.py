"""Wiring: config → queue store → printer workers → control API (+ triggers), and signals.

Signal handlers only set flags; the main loop (:mod:`printstation.face.daemon_loop`, woken
through ``signal.set_wakeup_fd``) acts:

- SIGTERM / SIGINT: stop accepting (API closed, triggers stopped), let every printer finish the
  job on the wire for up to ``STOP_GRACE`` seconds, then break the write (the job goes back to
  ``queued``), exit 0. A job still in ``sending`` after that is ``interrupted`` at the next start.
- SIGHUP: reload the config file; printers whose settings changed are restarted between jobs.
  A bad file is logged and the running config stays.

Other parts of the station hook in through :data:`SERVICE_MODULES` (a module with
``daemon_service(daemon)`` returning an object with ``stop()`` and optionally
``reload(config)``, or None; a listed module that is missing, or has no ``daemon_service``, stops
the start with an error) and enqueue with :meth:`Daemon.submit`. The API's router is built here
from the face modules' route tables (:mod:`printstation.face.routes`).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from . import config as configmod
from .config import Config
from ..errors import PrintstationError, StoreUnavailable
from ..isolate import Converter
from ..lang.registry import get as get_lang
from ..queue.backends import open_store
from ..queue.base import FINAL_STATES, Job, JobBackend, JobState, NotFound
from ..queue.worker import PrinterWorker
from ..sdnotify import Notifier
from ..storage import Storage
from .quota import submit_guard

log = logging.getLogger(__name__)

#: Seconds a printer may take to finish the job on the wire at shutdown.
STOP_GRACE = 10.0
#: Seconds a submit/scan answer waits for the printer to take its new job or show trouble
#: (a status query's timeout is at most 2 s), so the answer can tell the packer at once.
LOOK_WAIT = 2.5
#: Modules started with the daemon; each defines ``daemon_service(daemon) -> obj with stop() | None``.
#: Every one must exist: a missing module fails the start (a typo never hides a service).
SERVICE_MODULES: tuple[str, ...] = (
    "printstation.triggers.service",
)


class Daemon:
    def __init__(self, config: Config, *, options: dict[str, Any] | None = None,
                 notifier: Notifier | None = None, convert_timeout: float = 30.0) -> None:
        self.config = config
        #: Command-line options of ``printstation run`` (for triggers, e.g. ``scanner_stdin``).
        self.options = dict(options or {})
        self.notifier = notifier or Notifier()
        # Renderer children: [station] renderers warm, up to one per printer (+ the hot folder,
        # + one for previews: at most one preview renders at a time, so the web console's
        # thumbnails never hold a printer's label back).
        self.converter = Converter(convert_timeout, renderers=getattr(config.station, "renderers", 2),
                                   max_renderers=len(config.printers) + 2)
        self._preview_slot = threading.Lock()
        self.store: JobBackend = None  # type: ignore[assignment]
        self.workers: dict[str, PrinterWorker] = {}
        self.api: Any = None
        self.services: list[Any] = []
        #: The running triggers (printstation.triggers.station.Triggers), set when they start.
        self.triggers: Any = None
        self.stopping = False
        self.started_at = time.time()
        self._lock = threading.RLock()
        self._changed = threading.Condition()
        #: Queue quota, full-disk state and retention (printstation/storage.py).
        self.storage = Storage(self)

    # -- start / stop ------------------------------------------------------------------------

    def open_queue(self) -> None:
        cfg = self.config
        # Embedded SQLite under the data dir, or the database several stations share.
        self.store = open_store(cfg.data_dir, cfg.station.database, cfg.station.name)
        resend = {p.name for p in cfg.printers if p.on_interrupted == "resend"}
        for job in self.store.recover(lambda name: name in resend):
            log.warning("job %s on %s was on the wire at the last stop: %s", job.id, job.printer, job.state)
        self.store.on_change(self._job_changed)
        from ..queue.joblog import log_job

        self.store.on_change(log_job)  # one key=value line per job state change
        try:
            paused = self.store.paused()
        except PrintstationError as exc:  # a shared database away at start: runs degraded
            log.warning("printers' pause flags unknown: %s", exc)
            paused = set()
        for p in cfg.printers:
            self._start_worker(p, p.name in paused)

    def _start_worker(self, p: configmod.PrinterConfig, paused: bool) -> None:
        w = PrinterWorker(p, self.store, self.converter.convert, paused=paused)
        self.workers[p.name] = w
        w.start()

    def _job_changed(self, job: Job) -> None:
        with self._changed:
            self._changed.notify_all()
        if job.state == JobState.QUEUED:
            w = self.workers.get(job.printer)
            if w is not None:
                w.wake()

    def start_api(self) -> None:
        from .routes import build_router
        from .server import SOCKET_NAME, ApiServer

        api = self.config.api
        sock = None
        if api.unix_socket:
            rd = self.config.runtime_dir()
            rd.mkdir(parents=True, exist_ok=True)
            sock = rd / SOCKET_NAME
        self.api = ApiServer(self, build_router(), api.host, api.port, api.token, sock)
        self.api.start()

    def start_services(self) -> None:
        for name in SERVICE_MODULES:
            module = importlib.import_module(name)  # a missing module is an error, never skipped
            factory = getattr(module, "daemon_service", None)
            if factory is None:
                raise AttributeError(f"service module {name} has no daemon_service(daemon)")
            svc = factory(self)
            if svc is not None:
                self.services.append(svc)

    def start(self) -> None:
        """Open the queue, start printers and the API, then tell systemd we are ready."""
        t0 = time.monotonic()
        for line in getattr(self.config, "warnings", ()):  # loads, but may not work now
            log.warning("config: %s", line)
        self.open_queue()
        self.storage.start()  # disk space reserve; retention in the background
        try:
            self.start_api()
            self.start_services()
        except BaseException:
            self.stop()
            raise
        log.info("printstation ready in %.0f ms: %d printer(s), API %s%s", (time.monotonic() - t0) * 1000,
                 len(self.workers), self.api.url, f" and {self.api.unix.sock_path}" if self.api.unix else "")
        from .daemon_loop import cli_api_url, where_labels_go

        for line in where_labels_go(self.config, cli_api_url(self.config, self.api.port)):
            log.info("%s", line)
        self.notifier.ready(f"API {self.api.url}; {self.status_line()}")
        threading.Thread(target=self._warm, name="convert-warmup", daemon=True).start()

    def _warm(self) -> None:
        # Only printers that need the renderer (a ZPL printer gets native ZPL in-process).
        if any(not get_lang(p.spec.lang).passes_zpl for p in self.config.printers) and not self.stopping:
            try:
                self.converter.isolate.start()
            except PrintstationError as exc:
                log.warning("conversion process: %s", exc)
            except (EOFError, OSError) as exc:  # stopped while the child was starting: it starts on demand
                if not self.stopping:
                    log.warning("conversion process: warm-up failed (%s): it starts with the first label",
                                type(exc).__name__)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop accepting, finish the jobs on the wire or cut them off (bounded: interrupted), close the queue."""
        if self.stopping and self.store is None:
            return
        self.stopping = True
        self.notifier.stopping("stopping")
        self.converter.abort()  # a label being rendered does not hold the stop (it converts again later)
        if self.api is not None:
            self.api.stop()
        for svc in reversed(self.services):
            try:
                svc.stop()
            except Exception:  # noqa: BLE001
                log.exception("stopping %s", type(svc).__name__)
        self.services.clear()
        self.storage.stop()
        self._stop_workers(list(self.workers.values()), grace)
        self.converter.close()
        if self.store is not None:
            self.store.close()
            self.store = None  # type: ignore[assignment]

    @staticmethod
    def _stop_workers(workers: list[PrinterWorker], grace: float) -> None:
        for w in workers:
            w.stop()
        deadline = time.monotonic() + grace
        for w in workers:
            if not w.join(max(0.0, deadline - time.monotonic())):
                log.warning("printer %s: job %s still on the wire after %.0f s: cutting the write off (the job is interrupted)",
                            w.name, w.current, grace)
                w.abort()
                w.join(2.0)

    # -- the Python API (triggers and HTTP both go through here) -----------------------------

    def _printer_name(self, printer: str | None) -> str:
        name = printer or self.config.default_printer
        if name not in self.workers:
            raise NotFound(f"no printer named {name!r} (configured printers: {', '.join(self.workers)})")
        return name

    @submit_guard  # queue quota, full data dir → StorageFull (507); see printstation/face/quota.py
    def submit_ex(self, printer: str | None, data: bytes, *, copies: int | None = None,
                  key: str | None = None, name: str | None = None, source: str = "api",
                  source_ref: str | None = None, reprint: bool = False, fit: bool = False) -> tuple[Job, bool]:
        """Queue label bytes; ``(job, created)``. An existing ``key`` returns its job unless
        ``reprint``. ``fit``: shrink to the media even past the printer's ``max_downscale``."""
        if self.stopping:
            raise PrintstationError("the daemon is shutting down")
        return self.store.submit(self._printer_name(printer), data, copies=copies, key=key, name=name,
                                 source=source, source_ref=source_ref, reprint=reprint, fit=fit)

    def submit(self, printer: str | None, data: bytes, *, copies: int | None = None,
               key: str | None = None, name: str | None = None, source: str = "api",
               source_ref: str | None = None, reprint: bool = False) -> Job:
        """Queue label bytes on ``printer`` (None: the default printer) and return the job."""
        return self.submit_ex(printer, data, copies=copies, key=key, name=name, source=source,
                              source_ref=source_ref, reprint=reprint)[0]

    def reprint(self, job_id: int) -> Job:
        old = self.store.get(job_id)
        self._printer_name(old.printer)
        # a reprint stores the label again: the same quota and full-disk checks as a submit (507)
        return self.storage.guarded(old.size, lambda: self.store.reprint(job_id))

    def cancel(self, job_id: int) -> Job:
        return self.store.cancel(job_id)

    def reprint_last(self, printer: str | None) -> Job:
        """Reprint the newest job of ``printer`` that left the queue (scanner ``PS:REPRINT``)."""
        name = self._printer_name(printer)
        for job in self.store.list_jobs(printer=name, limit=50):
            if job.state in FINAL_STATES:
                return self.reprint(job.id)
        raise NotFound(f"printer {name} has no finished job to reprint")

    def cancel_last(self, printer: str | None) -> Job:
        """Cancel the newest queued (or interrupted) job of ``printer`` (scanner ``PS:CANCEL``)."""
        name = self._printer_name(printer)
        for job in self.store.list_jobs(printer=name, limit=1000):
            if job.state in (JobState.QUEUED, JobState.INTERRUPTED):
                return self.store.cancel(job.id)
        raise NotFound(f"printer {name} has no queued job to cancel")

    def pause(self, printer: str) -> dict[str, Any]:
        w = self.workers[self._printer_name(printer)]
        w.pause()
        return self._printer_info(w)

    def resume(self, printer: str) -> dict[str, Any]:
        w = self.workers[self._printer_name(printer)]
        w.resume()
        return self._printer_info(w)

    def _printer_info(self, w: PrinterWorker, counts: dict[tuple[str, str], int] | None = None) -> dict[str, Any]:
        counts = self.job_counts() if counts is None else counts
        info = w.info()
        info["queued"] = None if counts is None else counts.get((w.name, JobState.QUEUED), 0)
        info["default"] = w.name == self.config.default_printer
        return info

    def printer_note(self, printer: str, job_id: int | None = None, wait: float = LOOK_WAIT) -> dict[str, Any]:
        """``{"printer_state", "printer_reason", "warning"}`` when ``printer`` is not idle/printing,
        else ``{}``. With ``job_id`` (a job just queued on an idle printer, which the worker is
        about to ask for its status) waits up to ``wait`` seconds until the printer took the job
        or shows trouble; a printer that is printing is known to work and answers at once."""
        w = self.workers.get(printer)
        if w is None:
            return {}
        deadline = time.monotonic() + (wait if job_id is not None else 0.0)
        while w.state == "idle" and time.monotonic() < deadline and not self.stopping:
            if w.current is not None and w.current != job_id:
                break  # busy with an earlier job: no news about this one yet
            try:
                if self.store.get(job_id).state != JobState.QUEUED:  # type: ignore[arg-type]
                    break
            except PrintstationError:
                break
            with self._changed:  # woken by every job change; worker states are polled
                self._changed.wait(0.02)
        state, reason = w.state, w.reason
        if state in ("idle", "printing"):
            return {}
        return {"printer_state": state, "printer_reason": reason,
                "warning": f"printer {printer}: {state}" + (f": {reason}" if reason else "")}

    def job_counts(self) -> dict[tuple[str, str], int] | None:
        """The job counts, or None while a shared database is away (the printers' own state is
        still known: ``queued`` is then ``null``, not 0)."""
        try:
            return self.store.counts()
        except StoreUnavailable:
            return None

    def printers(self) -> list[dict[str, Any]]:
        counts = self.job_counts()
        return [self._printer_info(w, counts) for w in list(self.workers.values())]

    def preview(self, job_id: int, page: int = 1) -> bytes:
        """The job's label as the 1-bit PNG its printer prints (page ``page``)."""
        from .console import job_labels

        pages = job_labels(self, job_id)
        if not 1 <= page <= len(pages):
            raise NotFound(f"job {job_id} has {len(pages)} page(s), no page {page}")
        return pages[page - 1]

    def health(self) -> dict[str, Any]:
        out = {"ok": True, "printers": len(self.workers), "uptime": round(time.time() - self.started_at, 3),
               "pid": os.getpid(), "disk": "full" if self.storage.disk_full() else "ok"}
        if self.config.station.database and self.store is not None:  # a shared database: is it there?
            trouble = self.store.health()
            out.update(station=self.config.station.name, database="unreachable" if trouble else "ok")
            if trouble:
                out.update(status="degraded", reason=trouble)
        return out

    def status_line(self) -> str:
        try:
            counts = self.store.counts() if self.store is not None else {}
        except PrintstationError:  # a shared database away: the daemon runs on (see /healthz)
            return f"{len(self.workers)} printer(s); database unreachable"
        queued = sum(n for (_, s), n in counts.items() if s == JobState.QUEUED)
        trouble = [f"{w.name} {w.state}" for w in self.workers.values() if w.state in ("offline", "error", "paused")]
        return f"{len(self.workers)} printer(s), {queued} queued" + (f"; {', '.join(trouble)}" if trouble else "")

    # -- reload --------------------------------------------------------------------------------

    def reload(self) -> bool:
        """Re-read the config file. Printers added/changed/removed are applied between jobs."""
        from .daemon_loop import reload_config

        return reload_config(self)

    def apply_config(self, new: Config) -> None:
        """Run ``new`` (api and station kept): restart the printers whose settings changed, start
        new ones, stop removed ones (between jobs), then let the services reload."""
        old = self.config
        with self._lock:
            old_printers = {p.name: p for p in old.printers}
            new_printers = {p.name: p for p in new.printers}
            changed = [n for n in old_printers if new_printers.get(n) != old_printers[n]]
            self._stop_workers([self.workers[n] for n in changed if n in self.workers], STOP_GRACE)
            for n in changed:
                self.workers.pop(n, None)
            self.config = new
            paused = self.store.paused()
            for n, p in new_printers.items():
                if n not in self.workers:
                    self._start_worker(p, n in paused)
            self.workers = {n: self.workers[n] for n in new_printers if n in self.workers}  # the file's order
        for svc in self.services:
            if hasattr(svc, "reload"):
                try:
                    svc.reload(new)
                except Exception:  # noqa: BLE001
                    log.exception("reloading %s", type(svc).__name__)

    # -- the foreground loop ----------------------------------------------------------------

    def run(self) -> int:
        """Run in the foreground until SIGTERM/SIGINT. Returns the exit code (0)."""
        from .daemon_loop import run_foreground

        return run_foreground(self)

def run(config_path: str | os.PathLike[str] | None = None, options: dict[str, Any] | None = None) -> int:
    """``printstation run``: load (and fully validate) the config, then run in the foreground."""
    cfg = configmod.load(config_path)
    from ..logs import set_config_level

    set_config_level(cfg.station.log_level)
    return Daemon(cfg, options=options).run()


if TYPE_CHECKING:  # mypy checks that the Daemon is what the triggers take
    from ..triggers.station import TriggerHost

    def _trigger_host(d: Daemon) -> TriggerHost:
        return d


__all__ = ["Daemon", "SERVICE_MODULES", "run"]
