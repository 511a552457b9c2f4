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
from typing import Any, Callable, Iterable, Iterator

from .base import (COLUMNS, FINAL_STATES, INTERRUPTED_MSG, MAX_COPIES, MAX_PAYLOAD, RESENT_MSG, STATES, Conflict,
                   Job, JobBackend, NotFound, QueueDamaged, StoreLocked, StoreUnavailable, check_submit, clean_fields,
                   interrupted_msg, iso, job_filters, job_from, lock_data_dir)
from .sqlite_checks import check_db, check_jobs_dir

log = logging.getLogger(__name__)

#: ``PRAGMA user_version`` of the queue database this code writes.
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    printer     TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT 'api',
    source_ref  TEXT,
    name        TEXT,
    key         TEXT,
    copies      INTEGER,
    state       TEXT NOT NULL DEFAULT 'queued',
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
            self._db.execute("BEGIN IMMEDIATE")
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
                "SELECT * FROM jobs WHERE printer=? AND state='queued' ORDER BY id LIMIT 1",
                (printer,)).fetchone())

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
                "SELECT printer, state, COUNT(*) FROM jobs WHERE state IN ('done','failed') AND updated >= ?"
                " GROUP BY printer, state", (since,)).fetchall()
            rows += self._db.execute(
                "SELECT printer, 'reprints', COUNT(*) FROM jobs WHERE reprint_of IS NOT NULL AND created >= ?"
                " GROUP BY printer", (since,)).fetchall()
        for printer, what, n in rows:
            out.setdefault(printer, {"done": 0, "failed": 0, "reprints": 0})[what] = n
        return out

    def payload(self, job_id: int) -> bytes:
        """The label bytes as submitted."""
        with self._lock:
            row = self._db.execute("SELECT data FROM payloads WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise NotFound(f"job {job_id} has no stored label")
        return bytes(row[0])

    # -- transitions -------------------------------------------------------------------------------

    def _transition(self, job_id: int, sql: str, args: Iterable[Any], allowed: tuple[str, ...],
                    durable: bool = False) -> Job | None:
        """Run an UPDATE guarded by the current state; the updated job, or None if not allowed."""
        now = time.time()
        marks = ",".join("?" * len(allowed))
        with self._lock:
            with self._txn(durable):
                cur = self._db.execute(
                    f"UPDATE jobs SET {sql}, updated=? WHERE id=? AND state IN ({marks})",
                    (*args, now, job_id, *allowed))
            job = self._get(job_id) if cur.rowcount else None
        self._notify(job)
        return job

    def mark_sending(self, job_id: int) -> Job | None:
        """queued → sending, committed durably before the first byte; None if no longer queued."""
        return self._transition(job_id, "state='sending', sent=?", (time.time(),), ("queued",), durable=True)

    def mark_done(self, job_id: int) -> Job | None:
        return self._transition(job_id, "state='done', done=?, error=NULL", (time.time(),), ("sending",))

    def note_attempt(self, job_id: int, error: str) -> Job | None:
        """A queued job could not be sent (printer unreachable): attempts + 1, why it waits."""
        return self._transition(job_id, "attempts=attempts+1, error=?", (error,), ("queued",))

    def requeue(self, job_id: int, error: str) -> Job | None:
        """sending → queued after a transient error (attempts + 1)."""
        return self._transition(job_id, "state='queued', attempts=attempts+1, error=?", (error,),
                                ("sending",), durable=True)

    def interrupt(self, job_id: int, reason: str, *, resend: bool) -> Job | None:
        """sending → ``interrupted`` when bytes may have reached the printer before an error
        (a reset mid-job, no confirmation after the write) — or ``queued`` once more when the
        printer says ``on_interrupted = "resend"`` and the job was not resent before."""
        job = self.get(job_id)
        if resend and job.resends == 0:
            return self._transition(
                job_id, "state='queued', resends=resends+1, attempts=attempts+1, error=?",
                (f"{reason}; sent again (on_interrupted = resend)",), ("sending",), durable=True)
        return self._transition(
            job_id, "state='interrupted', done=?, error=?",
            (time.time(), interrupted_msg(reason)), ("sending",), durable=True)

    def fail(self, job_id: int, reason: str) -> Job | None:
        return self._transition(job_id, "state='failed', error=?, done=?", (reason, time.time()),
                                ("queued", "sending"))

    def cancel(self, job_id: int) -> Job:
        job = self._transition(job_id, "state='canceled', done=?", (time.time(),), ("queued", "interrupted"),
                               durable=True)
        if job is None:
            cur = self.get(job_id)
            raise Conflict(f"job {job_id} is {cur.state}: only queued or interrupted jobs can be canceled")
        return job

    def recover(self, resend: Callable[[str], bool]) -> list[Job]:
        """After a crash: every job left in ``sending`` becomes ``interrupted`` — or ``queued``
        once more when ``resend(printer)`` says so and it was not resent before."""
        with self._lock:
            rows = [self._row(r) for r in self._db.execute("SELECT * FROM jobs WHERE state='sending'")]
        out = []
        for job in rows:
            assert job is not None
            if resend(job.printer) and job.resends == 0:
                new = self._transition(
                    job.id, "state='queued', resends=resends+1, error=?",
                    (RESENT_MSG,), ("sending",), durable=True)
            else:
                new = self._transition(
                    job.id, "state='interrupted', done=?, error=?",
                    (time.time(), INTERRUPTED_MSG), ("sending",), durable=True)
            if new is not None:
                out.append(new)
        return out

    # -- bounded storage ------------------------------------------------------------------------

    def queued_bytes(self) -> int:
        """Label bytes of the jobs still to print (``queued`` and ``sending``)."""
        with self._lock:
            return int(self._db.execute(
                "SELECT COALESCE(SUM(size), 0) FROM jobs WHERE state IN ('queued', 'sending')").fetchone()[0])

    def purge_finished(self, before: float, limit: int = 500) -> list[tuple[int, str]]:
        """Delete up to ``limit`` done/failed/canceled jobs (row and payload) that finished before
        ``before``; ``[(id, state)]``. Never ``interrupted`` ones. The caller removes their files."""
        with self._lock:
            with self._txn(durable=False):
                rows = [(int(r[0]), str(r[1])) for r in self._db.execute(
                    "SELECT id, state FROM jobs WHERE state IN ('done', 'failed', 'canceled')"
                    " AND COALESCE(done, updated) < ? ORDER BY id LIMIT ?", (before, int(limit)))]
                ids = [(i,) for i, _ in rows]
                self._db.executemany("DELETE FROM payloads WHERE id=?", ids)
                self._db.executemany("DELETE FROM jobs WHERE id=?", ids)
        return rows

    # -- printers -----------------------------------------------------------------------------

    def set_paused(self, printer: str, paused: bool) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO printers (name, paused) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET paused=excluded.paused", (printer, int(paused)))

    def paused(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT name FROM printers WHERE paused=1")}


__all__ = ["COLUMNS", "Conflict", "FINAL_STATES", "Job", "JobStore", "MAX_COPIES", "MAX_PAYLOAD", "NotFound",
           "QueueDamaged", "STATES", "StoreLocked", "StoreUnavailable", "iso"]
