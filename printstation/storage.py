"""Bounded storage for the queue: the queued-payload quota, a full data dir, and retention.

- ``[station] max_queue_mb`` (default 512): the label bytes of ``queued``/``sending`` jobs plus the
  uploads being received may not exceed it; a submit over it is refused (:class:`StorageFull`,
  HTTP 507) with a one-line reason — before an API body is even read.
- A submit that cannot be stored because the data dir's filesystem is full is refused the same
  way, ``data dir full: …``; SQLite rolls the transaction back, so nothing is half-written. The
  state shows as ``"disk": "full"`` in ``/healthz`` until space returns (the free space grew
  enough); nothing needs a restart.
- Already queued jobs keep printing on a full disk: the daemon keeps a :data:`RESERVE` bytes
  file (``<data_dir>/.space-reserve``) and lets it go the moment the disk is found full, so the
  queue's own state changes (``sending``, ``done``) still have room; new jobs are refused until
  there is room for the reserve again, which is then taken back.
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
from typing import Any, Callable, Iterator, Protocol, TypeVar

from .errors import StorageFull, StoreUnavailable

log = logging.getLogger(__name__)

MB = 1024 * 1024
#: Free space below this counts as a full data dir even before a write fails.
MIN_FREE = 1 * MB
#: Space held back for the queue's state changes while the disk is full.
RESERVE = 4 * MB
RESERVE_NAME = ".space-reserve"
#: Seconds between retention runs (the first one runs :data:`FIRST_PURGE` s after start).
PURGE_EVERY = 3600.0
FIRST_PURGE = 1.0
SQLITE_FULL = 13


T = TypeVar("T")


def job_file_exts() -> tuple[str, ...]:
    """Extensions of the converted files beside a job (``jobs/<id>.<ext>``): every language's."""
    from .lang.registry import LANGUAGES

    return tuple(dict.fromkeys(lang.ext for lang in LANGUAGES.values()))


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
    """A size for messages: MB, or KB below 1 MB (a label is a few KB: never "0.0 MB")."""
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.{0 if n >= 10 * 1024 else 1}f} KB"


class StorageOwner(Protocol):
    """What :class:`Storage` needs of the daemon that owns it: its config (``station`` with
    ``max_queue_mb``/``keep_days``, ``data_dir``), its job store (``queued_bytes``,
    ``purge_finished``, ``jobs_dir``; None while closed) and whether it is stopping."""

    @property
    def config(self) -> Any: ...

    @property
    def store(self) -> Any: ...

    @property
    def stopping(self) -> bool: ...


class Storage:
    """The daemon's storage bookkeeping (one per daemon)."""

    def __init__(self, daemon: StorageOwner) -> None:
        self.daemon = daemon
        st = daemon.config.station
        self.max_queue_mb: float = getattr(st, "max_queue_mb", 512)
        self.max_queue = int(self.max_queue_mb * MB)
        self.keep_days: int = getattr(st, "keep_days", 14)
        self._lock = threading.Lock()
        #: Held while a submit checks the quota and stores its label.
        self.submit_lock = threading.Lock()
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

    def guarded(self, n: int, store: Callable[[], T], check: Callable[[], bool] = lambda: True) -> T:
        """``store()`` — which stores ``n`` new label bytes (a submit, a reprint) — run under
        :attr:`submit_lock` after the quota and full-disk checks (skipped when ``check()``, called
        under the lock, says nothing new is stored); "disk full" from it → :class:`StorageFull`."""
        with self.submit_lock:
            if not self.daemon.stopping and check():
                self.check_quota(n)
                self.check_disk(n)
            try:
                return store()
            except Exception as exc:
                if is_disk_full(exc):
                    raise self.note_full(n) from None
                raise

    def check_quota(self, n: int) -> None:
        why = self._over_quota(n, 0)
        if why:
            raise StorageFull(why)

    # -- a full data dir -----------------------------------------------------------------------------

    def _message(self, n: int) -> str:
        free = free_bytes(self.daemon.config.data_dir)
        if self._full is None:
            have = f"{mb(free)} free" if free is not None else "free space unknown"
        else:  # what is left is kept for the jobs already queued
            want = RESERVE + max(self._full[1], MIN_FREE) + MIN_FREE
            have = (f"{mb(free or 0)} left, kept for the queued jobs; new jobs are taken again from "
                    f"{mb(want)} free")
        return (f"data dir full: no space left in {self.daemon.config.data_dir} ({have}, the label "
                f"needs {mb(n)}); free some space, nothing needs a restart")

    @property
    def reserve_path(self) -> "os.PathLike[str]":
        from pathlib import Path

        return Path(self.daemon.config.data_dir) / RESERVE_NAME

    def take_reserve(self) -> bool:
        """Create the reserve file (once; never through a symlink); False when there is no room."""
        path = self.reserve_path
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            pass
        except OSError:
            return False
        else:
            import stat

            if not stat.S_ISREG(st.st_mode):
                log.warning("%s is not a regular file: no disk space reserve", path)
            return True
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return True
        except OSError as exc:
            log.warning("cannot create the disk space reserve %s: %s", path, exc.strerror or exc)
            return not is_disk_full(exc)
        try:
            try:
                os.posix_fallocate(fd, 0, RESERVE)
            except OSError as exc:
                if is_disk_full(exc):
                    raise
                block = b"\0" * (64 * 1024)  # a filesystem without fallocate
                for _ in range(RESERVE // len(block)):
                    os.write(fd, block)
        except OSError as exc:
            os.close(fd)
            os.unlink(path)
            return not is_disk_full(exc)
        os.close(fd)
        return True

    def _release_reserve(self) -> None:
        import stat

        path = self.reserve_path
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
                log.warning("data dir full: released the %s reserve so queued jobs keep printing", mb(RESERVE))
        except OSError:
            pass

    def note_full(self, n: int) -> StorageFull:
        """The data dir was found full (a write needing ``n`` bytes failed): refuse new jobs,
        free the reserve for the queue's own writes; the error to raise."""
        err = StorageFull(self._message(n))  # the free space as the failed write saw it
        with self._lock:
            first = self._full is None
            self._full = (0, n)
        if first:
            log.error("data dir %s is full: refusing new jobs until space returns", self.daemon.config.data_dir)
            self._release_reserve()
        return err

    def disk_full(self) -> bool:
        """Whether the data dir counts as full now (re-checked against the free space)."""
        free = free_bytes(self.daemon.config.data_dir)
        if free is None:
            return self._full is not None
        full = self._full
        if full is None:
            if free < MIN_FREE:
                self.note_full(0)
                return True
            return False
        if free >= RESERVE + max(full[1], MIN_FREE) + MIN_FREE and self.take_reserve():
            with self._lock:
                if self._full is not None:
                    log.info("data dir %s has space again (%s free): accepting jobs",
                             self.daemon.config.data_dir, mb(free))
                self._full = None
            return False
        return True

    def check_disk(self, n: int) -> None:
        if self.disk_full():
            raise StorageFull(self._message(n))

    # -- retention -----------------------------------------------------------------------------------

    def start(self) -> None:
        if not self.take_reserve():
            self.note_full(0)
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
            except StoreUnavailable as exc:  # a shared database away: the next run purges
                log.warning("retention run skipped: %s", exc)
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
            for ext in job_file_exts():
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


__all__ = ["Storage", "StorageFull", "StorageOwner", "free_bytes", "is_disk_full", "job_file_exts"]
