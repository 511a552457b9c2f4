"""The persistent job queue: SQLite (WAL) plus the converted printer bytes as files.

Layout under the data dir::

    queue.sqlite3            jobs, their label bytes as submitted (payloads), printer flags
    jobs/<id>.<ext>          the converted printer bytes (zpl, tspl, escpos, epl2), written to a
                             temp name and renamed; a missing one is converted again

Durability: a submit commits the job row and its bytes in one transaction with the WAL fsynced
(one fsync), so an accepted job survives a crash or a power cut. ``queued → sending`` is
committed the same way before the first byte goes out; so are requeue, cancel and crash
recovery. ``done``/``failed`` commit without an fsync (``synchronous=NORMAL``): lost in a power
cut they read back as ``sending`` → ``interrupted`` (never resent silently) or as a queued job
that is converted and fails again.

States::

    queued → sending → done
       │        ├──→ queued        (transient transport error: attempts + 1)
       │        ├──→ failed        (permanent transport error)
       │        └──→ interrupted   (found in `sending` after a crash; or queued once when the
       │                            printer says on_interrupted = "resend")
       ├──→ failed                 (conversion failed: the reason is kept)
       └──→ canceled               (also from interrupted)
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from .base import (COLUMNS, FINAL_STATES, MAX_COPIES, MAX_PAYLOAD, PENDING_STATES, PURGEABLE_STATES, STATES,
                   Conflict, Job, JobBackend, JobState, NotFound, QueueDamaged, StoreLocked, StoreUnavailable,
                   check_submit, clean_fields, iso, job_from, lock_data_dir)
from .sql import job_filters, set_clause
from .sqlite_checks import check_db, check_jobs_dir

log = logging.getLogger(__name__)

#: ``PRAGMA user_version`` of the queue database this code writes.
SCHEMA_VERSION = 1

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    printer     TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT 'api',
    source_ref  TEXT,
    name        TEXT,
    key         TEXT,
    copies      INTEGER,
    state       TEXT NOT NULL DEFAULT '{JobState.QUEUED}',
    attempts    INTEGER NOT NULL DEFAULT 0,
    resends     INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    size        INTEGER NOT NULL DEFAULT 0,
    created     REAL NOT NULL,
    updated     REAL NOT NULL,
    sent        REAL,
    done        REAL,
    reprint_of  INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_key ON jobs(key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_fifo ON jobs(printer, state, id);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS payloads (
    id      INTEGER PRIMARY KEY,
    data    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS printers (
    name    TEXT PRIMARY KEY,
    paused  INTEGER NOT NULL DEFAULT 0
);
"""

class JobStore(JobBackend):
    """The embedded SQLite backend (the default). Thread-safe: one SQLite connection guarded by
    a lock (every call is short)."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.jobs_dir = self.data_dir / "jobs"
        check_jobs_dir(self.jobs_dir)  # a planted symlink or file in its place: refused, never followed
        self._lockfile = lock_data_dir(self.data_dir)
        self.path = self.data_dir / "queue.sqlite3"
        try:
            check_db(self.path, self.jobs_dir, SCHEMA_VERSION)  # damaged, or missing while job files remain
        except BaseException:
            self._lockfile.close()
            raise
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL by default (a lost "done" after a power cut reads back as "interrupted": safe);
        # transitions that must survive one (submit, sending, requeue, cancel) commit FULL.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(SCHEMA)
        if "fit" not in {r[1] for r in self._db.execute("PRAGMA table_info(jobs)")}:  # older queue
            self._db.execute("ALTER TABLE jobs ADD COLUMN fit INTEGER NOT NULL DEFAULT 0")
        self._remove_orphans()
        if self._db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")  # the schema this code wrote

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        self._closing.set()  # an outcome waiting for a lock gives up (the job is recovered at the next start)
        with self._lock:
            try:
                self._db.close()
            finally:
                self._lockfile.close()

    def _row(self, row: sqlite3.Row | None) -> Job | None:
        return None if row is None else job_from(row)

    def _get(self, job_id: int) -> Job | None:
        return self._row(self._db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone())

    def _remove_orphans(self) -> None:
        with self._lock:
            top = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM jobs").fetchone()[0]
            ids = {r[0] for r in self._db.execute("SELECT id FROM jobs WHERE id > ?", (top - 1000,))}
        self.remove_orphan_files(top, ids)

    # -- submit -------------------------------------------------------------------------------

    def submit(self, printer: str, data: bytes, *, copies: int | None = None, key: str | None = None,
               name: str | None = None, source: str = "api", source_ref: str | None = None,
               reprint: bool = False, reprint_of: int | None = None, fit: bool = False) -> tuple[Job, bool]:
        """Queue a job. Returns ``(job, created)``; an existing idempotency ``key`` returns the
        existing job with ``created=False`` unless ``reprint`` (then a new job, ``reprint_of``
        the existing one)."""
        check_submit(data, copies, key)
        name, source_ref = clean_fields(name, source_ref)
        with self._lock:
            if key is not None:
                existing = self.find_key(key)
                if existing is not None:
                    if not reprint:
                        return existing, False
                    reprint_of, key = existing.id, None
            now = time.time()
            with self._txn(durable=True):  # one fsync: the row and its bytes together
                cur = self._db.execute(
                    "INSERT INTO jobs (printer, source, source_ref, name, key, copies, size, created,"
                    " updated, reprint_of, fit) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (printer, source, source_ref, name, key, copies, len(data), now, now, reprint_of, int(fit)))
                job_id = cur.lastrowid
                assert job_id is not None  # a row was inserted
                self._db.execute("INSERT INTO payloads (id, data) VALUES (?, ?)", (job_id, data))
            job = self.get(job_id)  # under the lock (re-entrant): the row just written
        self._notify(job)
        return job, True

    @contextlib.contextmanager
    def _txn(self, durable: bool) -> Iterator[None]:
        """One write transaction; ``durable`` commits with the WAL fsynced (synchronous=FULL)."""
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        try:
            self._begin()
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back by itself (disk full)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            if durable:
                self._db.execute("PRAGMA synchronous=NORMAL")

    def _begin(self) -> None:
        """BEGIN IMMEDIATE; the queue locked by another process for longer than the busy timeout
        (an open ``sqlite3`` shell in a write transaction, a backup) is :class:`StoreUnavailable`
        (API 503, the worker waits) with one clear line, not an internal error."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreUnavailable(f"queue database {self.path} is locked by another process ({exc})") from None
            raise

    # -- reads -----------------------------------------------------------------------------------

    def get(self, job_id: int) -> Job:
        with self._lock:
            job = self._get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        return job

    def find_key(self, key: str) -> Job | None:
        with self._lock:
            return self._row(self._db.execute("SELECT * FROM jobs WHERE key=?", (key,)).fetchone())

    def list_jobs(self, printer: str | None = None, state: str | None = None, limit: int = 100,
                  station: str | None = None) -> list[Job]:
        """Jobs, newest first (one station's store: ``station`` does not narrow it)."""
        where, args = job_filters(printer, state, "?")
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, int(limit))).fetchall()
        return [job_from(r) for r in rows]

    def next_queued(self, printer: str) -> Job | None:
        """The oldest queued job of ``printer`` (FIFO)."""
        with self._lock:
            return self._row(self._db.execute(
                "SELECT * FROM jobs WHERE printer=? AND state=? ORDER BY id LIMIT 1",
                (printer, str(JobState.QUEUED))).fetchone())

    def counts(self) -> dict[tuple[str, str], int]:
        with self._lock:
            rows = self._db.execute("SELECT printer, state, COUNT(*) FROM jobs GROUP BY printer, state")
            return {(r[0], r[1]): r[2] for r in rows}

    def counts_since(self, since: float) -> dict[str, dict[str, int]]:
        """Per printer, jobs that ended ``done``/``failed`` at or after ``since`` (epoch seconds)
        and reprints made since then: ``{printer: {"done": n, "failed": n, "reprints": n}}``."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            rows = self._db.execute(
                "SELECT printer, state, COUNT(*) FROM jobs WHERE state IN (?,?) AND updated >= ?"
                " GROUP BY printer, state", (str(JobState.DONE), str(JobState.FAILED), since)).fetchall()
            rows += self._db.execute(
                "SELECT printer, 'reprints', COUNT(*) FROM jobs WHERE reprint_of IS NOT NULL AND created >= ?"
                " GROUP BY printer", (since,)).fetchall()
        for printer, what, n in rows:
            out.setdefault(printer, {JobState.DONE: 0, JobState.FAILED: 0, "reprints": 0})[what] = n
        return out

    def payload(self, job_id: int) -> bytes:
        """The label bytes as submitted."""
        with self._lock:
            row = self._db.execute("SELECT data FROM payloads WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"job {job_id} has no stored label")
        return bytes(row[0])

    # -- transitions -------------------------------------------------------------------------------

    def _update(self, job_id: int, to: JobState | None, allowed: tuple[JobState, ...],
                values: dict[str, Any], *, durable: bool, retry: bool) -> Job | None:
        """An UPDATE guarded by the current state; the updated job, or None if not allowed.
        With ``retry`` (the job's bytes went out) a queue locked by another process is waited
        for, until the lock is gone or the store closes: the outcome is never dropped (one
        local SQLite call either ran or raised, so a retry cannot apply it twice)."""
        from ..retry import Backoff

        backoff, waited = Backoff(0.1, 2.0), False
        while True:
            try:
                return self._update_once(job_id, to, allowed, values, durable=durable)
            except StoreUnavailable as exc:
                if not retry or self._closing.is_set():
                    raise
                if not waited:
                    waited = True
                    log.warning("%s: the outcome of job %s waits for it", exc, job_id)
                if self._closing.wait(backoff.next()):
                    raise

    def _update_once(self, job_id: int, to: JobState | None, allowed: tuple[JobState, ...],
                     values: dict[str, Any], *, durable: bool) -> Job | None:
        sets, args = set_clause(to, values, "?")
        marks = ",".join("?" * len(allowed))
        with self._lock:
            with self._txn(durable):
                cur = self._db.execute(
                    f"UPDATE jobs SET {sets}, updated=? WHERE id=? AND state IN ({marks})",
                    (*args, time.time(), job_id, *map(str, allowed)))
            job = self._get(job_id) if cur.rowcount else None
        self._notify(job)
        return job

    # -- bounded storage ------------------------------------------------------------------------

    def queued_bytes(self) -> int:
        """Label bytes of the jobs still to print (``queued`` and ``sending``)."""
        with self._lock:
            return int(self._db.execute(
                "SELECT COALESCE(SUM(size), 0) FROM jobs WHERE state IN (?,?)",
                tuple(map(str, PENDING_STATES))).fetchone()[0])

    def purge_finished(self, before: float, limit: int = 500) -> list[tuple[int, str]]:
        """Delete up to ``limit`` done/failed/canceled jobs (row and payload) that finished before
        ``before``; ``[(id, state)]``. Never ``interrupted`` ones. The caller removes their files."""
        with self._lock:
            with self._txn(durable=False):
                rows = [(int(r[0]), str(r[1])) for r in self._db.execute(
                    "SELECT id, state FROM jobs WHERE state IN (?,?,?) AND COALESCE(done, updated) < ?"
                    " ORDER BY id LIMIT ?", (*map(str, PURGEABLE_STATES), before, int(limit)))]
                ids = [(i,) for i, _ in rows]
                self._db.executemany("DELETE FROM payloads WHERE id=?", ids)
                self._db.executemany("DELETE FROM jobs WHERE id=?", ids)
        return rows

    # -- printers -----------------------------------------------------------------------------

    def set_paused(self, printer: str, paused: bool) -> None:
        with self._lock, self._txn(durable=True):
            self._db.execute(
                "INSERT INTO printers (name, paused) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET paused=excluded.paused", (printer, int(paused)))

    def paused(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT name FROM printers WHERE paused=1")}


__all__ = ["COLUMNS", "Conflict", "FINAL_STATES", "Job", "JobStore", "MAX_COPIES", "MAX_PAYLOAD", "NotFound",
           "QueueDamaged", "STATES", "StoreLocked", "StoreUnavailable", "iso"]
