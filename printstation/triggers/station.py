"""Wiring of the triggers inside the daemon: scan service, hot folder, scanners, WB sync.

:func:`printstation.triggers.service.daemon_service` calls :meth:`Triggers.start_for` when the
daemon starts; the object is kept as ``daemon.triggers`` for the ``/scan`` endpoints. Each part
fails alone: a hot folder that cannot start, a scanner that is unplugged or a marketplace that
is not configured is logged and the rest runs.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import PrintstationError
from ..queue.backends import scheme_of
from ..queue.base import JobState
from .rules import ScanSettings
from .scanner import ScannerThread, StreamSource, source_for
from .service import Control, ScanService, Submitter
from .settings import SyncSettings, user_rules
from .state import TriggerState
from .statebase import TriggerStateBase

if TYPE_CHECKING:
    from .webhooks import HookLog, WebhookListener
    from .hotfolder import HotFolder
    from .ozonsync import OzonSync
    from .wbsync import WBSync

log = logging.getLogger("printstation.triggers")


def _labels(config: Any) -> tuple[Any, Any]:
    """``(LabelFetcher or None, WBClient or None)`` from ``[markets]`` / env / credentials."""
    try:
        from ..markets import LabelCache, LabelFetcher
        from ..markets.settings import MarketsSettings, ali_client, wb_client
    except ImportError as exc:  # pragma: no cover - markets is part of the package
        log.warning("marketplace labels unavailable: %s", exc)
        return None, None
    settings = config.markets if isinstance(config.markets, MarketsSettings) else None
    wb = ali = None
    try:
        wb = wb_client(settings)
    except PrintstationError as exc:
        log.log(_off_level(settings, "wb"), "WB labels off: %s", exc)
    try:
        ali = ali_client(settings)
    except PrintstationError as exc:
        log.log(_off_level(settings, "ali"), "LAliExpress labels off: %s", exc)
    if wb is None and ali is None:
        return None, None
    return LabelFetcher(wb=wb, ali=ali, cache=LabelCache(config.data_dir)), wb


def _off_level(settings: Any, market: str) -> int:
    """A marketplace left off on purpose (no token anywhere) is INFO; a configured ``token_file``
    that cannot be used (missing, unreadable, empty) is a WARNING."""
    try:
        configured = settings is not None and settings[market].token_file is not None
    except (KeyError, AttributeError, TypeError):
        configured = False
    return logging.WARNING if configured else logging.INFO


#: Shared trigger-state backends by database URL scheme, beside the job stores of
#: ``queue.base.STORE_BACKENDS``: each module defines ``open_state(url, station, store) ->
#: TriggerStateBase`` (``store``: the job store opened on the same URL, to share its connections).
STATE_BACKENDS: dict[str, str] = {
    "postgresql": "printstation.triggers.pgstate",
    "postgres": "printstation.triggers.pgstate",
}


def open_state(cfg: Any, store: Any = None) -> TriggerStateBase:
    """The trigger state: ``triggers.sqlite`` in the data dir, or the shared database of
    ``[station] database`` (the URL was checked with the config: its scheme has a backend)."""
    database = getattr(cfg.station, "database", None)
    if not database:
        return TriggerState(cfg.data_dir / "triggers.sqlite")
    module = importlib.import_module(STATE_BACKENDS[scheme_of(database)])
    state: TriggerStateBase = module.open_state(database, cfg.station.name, store)
    return state


class TriggerHost(Submitter, Control, Protocol):
    """What the triggers need from the station that runs them (the face's ``Daemon``): its
    config and start options, queueing and ``PS:`` commands; ``triggers`` is set to the running
    :class:`Triggers` (the face's ``/scan`` endpoints use it). The job store, renderer pool and
    workers are read with ``getattr`` where a stand-in may lack them."""

    config: Any
    options: dict[str, Any]
    triggers: Any


class Triggers:
    def __init__(self, daemon: TriggerHost) -> None:
        self.daemon = daemon
        cfg = daemon.config
        self.state = open_state(cfg, getattr(daemon, "store", None))
        base: ScanSettings = cfg.sections.get("scan") or ScanSettings()
        user = user_rules(cfg.rules or ())
        self.settings = ScanSettings(debounce_ms=base.debounce_ms, wb_order_digits=base.wb_order_digits,
                                     ali_tracking=base.ali_tracking, ozon_return=base.ozon_return,
                                     user_rules=user)
        self.fetcher, wb = _labels(cfg)
        from .ozon import add_clients  # issue 16: the Ozon and Lamoda clients join the fetcher

        self.fetcher = add_clients(self.fetcher, cfg)
        self.sync: WBSync | None = None
        sync: SyncSettings = cfg.sections.get("sync") or SyncSettings()
        if wb is not None and sync.enabled is not False:
            from .wbsync import WBSync

            self.sync = WBSync(wb, self.state, interval_s=sync.interval_s, lookback_days=sync.lookback_days,
                               min_gap_ms=sync.min_gap_ms)
        printers = {p.name: p.spec for p in cfg.printers}
        self.scans = ScanService(self.settings, self.state, daemon, printers=printers,
                                 default_printer=cfg.default_printer, labels=self.fetcher, control=daemon,
                                 find_box=self.sync.find_box if self.sync else None)
        self.ozon_sync: OzonSync | None = None  # Ozon returns (issue 16): synced like WB, looked up by return scans
        if getattr(self.fetcher, "ozon", None) is not None:
            from .ozonsync import OzonSync

            self.ozon_sync = OzonSync(self.fetcher.ozon, self.state, interval_s=sync.interval_s,
                                      min_gap_ms=sync.min_gap_ms)
            self.scans.ozon_sync = self.ozon_sync
        self.webhooks: WebhookListener | None = None
        self.hook_log: HookLog | None = None
        self.hotfolder: HotFolder | None = None
        self._own_converter: Any = None
        self.scanners: list[ScannerThread] = []

    @classmethod
    def start_for(cls, daemon: TriggerHost) -> "Triggers":
        t = cls(daemon)
        daemon.triggers = t
        t.start()
        return t

    def start(self) -> None:
        cfg = self.daemon.config
        hf = cfg.hotfolder
        if hf.enabled:
            from .hotfolder import HotFolder

            try:
                # The check runs in the daemon's renderer children under render_timeout, and its
                # result is kept for the job (the label is rendered once).
                self.hotfolder = HotFolder(hf.path, self.daemon, printers=self.scans.printers,
                                           default_printer=cfg.default_printer, scans=self.scans,
                                           settle_ms=hf.settle_ms, keep_days=hf.keep_days,
                                           max_mb=getattr(hf, "max_mb", 32), validate=self._converter().convert,
                                           keep=self._keep_converted)
                self.hotfolder.start()
            except Exception as exc:  # noqa: BLE001
                log.error("hot folder %s not started: %s", hf.path, exc)
                self.hotfolder = None
        for i, sc in enumerate(cfg.scanners or ()):
            try:
                src = source_for(sc.device)
            except PrintstationError as exc:
                log.error("scanners[%d]: %s", i, exc)
                continue
            self._add_scanner(src, sc.printer, sc.debounce_ms, sc.device)
        if self.daemon.options.get("scanner_stdin"):
            self._add_scanner(StreamSource(), None, self.settings.debounce_ms, "stdin")
        if self.sync is not None:
            self.sync.start()
        sync: SyncSettings = cfg.sections.get("sync") or SyncSettings()
        if self.ozon_sync is not None and sync.enabled is not False:
            self.ozon_sync.start()
        self._start_webhooks()

    def _stop_ozon_lamoda(self) -> None:
        """Issue 16's parts: the webhook listener, the Ozon returns sync, their clients."""
        if self.webhooks is not None:
            self.webhooks.stop()
        if self.ozon_sync is not None:
            self.ozon_sync.stop()
        for c in (getattr(self.fetcher, "ozon", None), getattr(self.fetcher, "lamoda", None)):
            if c is not None:
                try:
                    c.close()
                except Exception:  # noqa: BLE001
                    pass

    def _start_webhooks(self) -> None:
        from . import webhooks

        try:
            self.webhooks = webhooks.start_for(self)
        except PrintstationError as exc:
            log.error("webhook listener not started: %s", exc)
        if self.webhooks is not None:
            self.hook_log = self.webhooks.hooks.hooks

    def _converter(self) -> Any:
        conv = getattr(self.daemon, "converter", None)
        if conv is None:  # a daemon stand-in without renderers: isolate anyway
            from ..isolate import Converter

            conv = self._own_converter = Converter()
        return conv

    def _keep_converted(self, job: Any, printer: str, labels: list[bytes]) -> None:
        """Store the hot folder's conversion as the job's printer bytes (unless the worker did)."""
        store = getattr(self.daemon, "store", None)
        worker = getattr(self.daemon, "workers", {}).get(printer)
        data = b"".join(labels)
        if store is None or worker is None or not data or getattr(job, "state", None) != JobState.QUEUED:
            return
        if store.converted(job.id, worker.ext) is None:
            store.save_converted(job.id, worker.ext, data)

    def _add_scanner(self, src: Any, printer: str | None, debounce_ms: int, name: str) -> None:
        def on_code(code: str, scanner: str) -> None:
            self.scans.scan(code, printer=printer, scanner=scanner, debounce_ms=debounce_ms)

        self.scanners.append(ScannerThread(src, on_code, name=name).start())

    def reload(self, config: Any) -> None:
        """SIGHUP: the printers as reloaded (added, changed, removed) and the default printer reach
        the scan rules and the hot folder (a new printer gets its folder); the other trigger
        settings keep their start-time values until a restart."""
        printers = {p.name: p.spec for p in config.printers}
        self.scans.printers, self.scans.default_printer = printers, config.default_printer
        if self.hotfolder is not None:
            self.hotfolder.set_printers(printers, config.default_printer)

    def scan(self, code: str, printer: str | None = None, scanner: str = "api") -> dict[str, Any]:
        return self.scans.scan(code, printer=printer, scanner=scanner)

    def stop(self) -> None:
        self._stop_ozon_lamoda()
        for s in self.scanners:
            s.stop(timeout=1.0)
        if self.hotfolder is not None:
            self.hotfolder.stop()
        if self.sync is not None:
            self.sync.stop()
        if self._own_converter is not None:
            self._own_converter.close()
        for c in (getattr(self.fetcher, "wb", None), getattr(self.fetcher, "ali", None)):
            close = getattr(c, "close", None)
            if close:
                try:
                    close()
                except Exception:  # noqa: BLE001
                    pass
        self.state.close()
