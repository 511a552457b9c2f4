"""Bounded storage for the queue: the queued-payload quota, a full data dir, and retention.

- ``[station] max_queue_mb`` (default 512): the label bytes of ``queued``/``sending`` jobs plus the
  uploads being received may not exceed it; a submit over it is refused (:class:`StorageFull`,
  HTTP 507) with a one-line reason — before an API body is even read.
- A submit that cannot be stored because the data dir's filesystem is full is refused the same
  way, ``data dir full: …``; SQLite rolls the transaction back, so nothing is half-written. The
  state shows as ``"disk": "full"`` in ``/healthz`` until space returns (a write succeeds again
  or the free space grew); nothing needs a restart.
- Retention: finished jobs (``done``, ``failed``, ``canceled``) older than ``[station] keep_days``
  (default 14; 0 keeps everything) are removed with their ``jobs/<id>.*`` files by a background
  thread (shortly after start, then hourly), with one log line saying what went. ``interrupted``
  jobs are never removed automatically: somebody must decide whether they printed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterator

from .errors import PrintstationError

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger(__name__)

MB = 1024 * 1024
#: Free space below this counts as a full data dir even before a write fails.
MIN_FREE = 1 * MB
#: Seconds between retention runs (the first one runs :data:`FIRST_PURGE` s after start).
PURGE_EVERY = 3600.0
FIRST_PURGE = 1.0
#: Extensions of the converted files beside a job (``jobs/<id>.<ext>``).
JOB_FILE_EXTS = ("zpl", "tspl", "escpos", "epl2", "png")
SQLITE_FULL = 13


class StorageFull(PrintstationError):
    """The queue quota is used up or the data dir is full (API: 507)."""


def is_disk_full(exc: BaseException | None) -> bool:
    """True when ``exc`` (or an exception it replaced) is "no space left on the device"."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.Error):
            code = getattr(exc, "sqlite_errorcode", None)
            if (code is not None and code & 0xFF == SQLITE_FULL) or "disk is full" in str(exc):
                return True
        exc = exc.__cause__ or exc.__context__
    return False


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def mb(n: float) -> str:
    return f"{n / MB:.1f} MB"


class Storage:
    """The daemon's storage bookkeeping (one per daemon)."""

    def __init__(self, daemon: "Daemon") -> None:
        self.daemon = daemon
        st = daemon.config.station
        self.max_queue_mb: float = getattr(st, "max_queue_mb", 512)
        self.max_queue = int(self.max_queue_mb * MB)
        self.keep_days: int = getattr(st, "keep_days", 14)
        self._lock = threading.Lock()
        self._inflight = 0
        #: (free bytes when a write failed, bytes that write needed) while the data dir is full
        self._full: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- quota -----------------------------------------------------------------------------------

    def _over_quota(self, n: int, inflight: int) -> str | None:
        queued = self.daemon.store.queued_bytes()
        if queued + inflight + n <= self.max_queue:
            return None
        pending = f" (+ {mb(inflight)} being uploaded)" if inflight else ""
        return (f"queue full: {mb(queued)} of labels waiting{pending}, this one {mb(n)}, at most "
                f"{self.max_queue_mb:g} MB ([station] max_queue_mb); retry when the printers caught up")

    @contextlib.contextmanager
    def reserve(self, n: int) -> Iterator[None]:
        """Hold ``n`` bytes of the quota while an upload is received; :class:`StorageFull` when
        the queue (with the uploads in flight) has no room or the data dir is known to be full."""
        self.check_disk(n)
        with self._lock:
            why = self._over_quota(n, self._inflight)
            if why:
                raise StorageFull(why)
            self._inflight += n
        try:
            yield
        finally:
            with self._lock:
                self._inflight -= n

    def check_quota(self, n: int) -> None:
        why = self._over_quota(n, 0)
        if why:
            raise StorageFull(why)

    # -- a full data dir -----------------------------------------------------------------------------

    def _message(self, n: int) -> str:
        free = free_bytes(self.daemon.config.data_dir)
        have = f"{mb(free)} free" if free is not None else "free space unknown"
        return (f"data dir full: no space left in {self.daemon.config.data_dir} ({have}, the label "
                f"needs {mb(n)}); free some space, nothing needs a restart")

    def note_full(self, n: int) -> StorageFull:
        free = free_bytes(self.daemon.config.data_dir) or 0
        with self._lock:
            if self._full is None:
                log.error("data dir %s is full (%s free): refusing new jobs until space returns",
                          self.daemon.config.data_dir, mb(free))
            self._full = (free, n)
        return StorageFull(self._message(n))

    def note_ok(self) -> None:
        if self._full is not None:
            with self._lock:
                if self._full is not None:
                    log.info("data dir %s has space again", self.daemon.config.data_dir)
                self._full = None

    def disk_full(self) -> bool:
        """Whether the data dir counts as full now (re-checked against the free space)."""
        free = free_bytes(self.daemon.config.data_dir)
        if free is None:
            return self._full is not None
        full = self._full
        if full is not None and free >= full[0] + max(full[1], MIN_FREE):
            self.note_ok()
            full = None
        return full is not None or free < MIN_FREE

    def check_disk(self, n: int) -> None:
        if self.disk_full():
            raise StorageFull(self._message(n))

    # -- retention -----------------------------------------------------------------------------------

    def start(self) -> None:
        if self.keep_days > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def _run(self) -> None:
        wait = FIRST_PURGE
        while not self._stop.wait(wait):
            try:
                self.purge()
            except Exception:  # noqa: BLE001 - retention must never take the daemon down
                log.exception("retention run failed")
            wait = PURGE_EVERY

    def purge(self, now: float | None = None) -> list[int]:
        """Remove finished jobs older than ``keep_days`` and their files; the removed ids."""
        if self.keep_days <= 0:
            return []
        before = (time.time() if now is None else now) - self.keep_days * 86400
        store = self.daemon.store
        removed: list[tuple[int, str]] = []
        while not self._stop.is_set():
            batch = store.purge_finished(before)
            if not batch:
                break
            removed += batch
        files = 0
        for job_id, _ in removed:
            for ext in JOB_FILE_EXTS:
                try:
                    os.unlink(store.jobs_dir / f"{job_id}.{ext}")
                    files += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("retention: cannot remove jobs/%s.%s: %s", job_id, ext, exc.strerror or exc)
        if removed:
            by_state: dict[str, int] = {}
            for _, state in removed:
                by_state[state] = by_state.get(state, 0) + 1
            ids = [str(i) for i, _ in removed]
            shown = ", ".join(ids[:20]) + (f", … ({len(ids) - 20} more)" if len(ids) > 20 else "")
            day = datetime.fromtimestamp(before, timezone.utc).strftime("%Y-%m-%d %H:%M")
            log.info("retention: removed %d finished job(s) older than %d day(s) (before %s UTC): %s; "
                     "%d converted file(s); job ids %s", len(removed), self.keep_days, day,
                     ", ".join(f"{s} {n}" for s, n in sorted(by_state.items())), files, shown)
        return [i for i, _ in removed]


__all__ = ["Storage", "StorageFull", "free_bytes", "is_disk_full"]
