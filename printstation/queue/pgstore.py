"""The PostgreSQL job store: several stations share one database (``[station] database``).

Every job row carries its ``station``; a station takes only its own printers' jobs
(``FOR UPDATE SKIP LOCKED``), recovers only its own ``sending`` jobs after a crash, counts,
pauses and purges only its own. Idempotency keys are unique across all stations (one unique
index), so the same marketplace label queued at two benches is one job. The converted printer
bytes stay files in the station's own data dir, which it still locks.

The send boundary is the same as with SQLite: ``queued → sending`` is committed (PostgreSQL
commits are durable) before the first byte goes out; a station killed mid-job finds its job in
``sending`` at the next start and marks it ``interrupted``. A transition after the bytes went out
(done, requeue, interrupted) is retried with backoff while the server is unreachable — however long
(one ERROR line after :data:`RETRY_S`), until it is back or the station stops — so an outage neither
loses the job's outcome nor prints it twice; a submit or a read fails at once with
:class:`~printstation.errors.StoreUnavailable` (API 503).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import StoreUnavailable
from ..pg import Database, check_url  # check_url: this backend's URL check (queue/backends.py)
from .base import (COLUMNS, PENDING_STATES, PURGEABLE_STATES, Job, JobBackend, JobState, NotFound, StoreLocked,
                   check_submit, clean_fields, job_from, lock_data_dir)
from .sql import job_filters, set_clause

log = logging.getLogger("printstation.queue.store")

#: Seconds a transition of a job whose bytes went out retries an unreachable server quietly; past
#: that one ERROR line, and it keeps retrying until the server is back or the station stops.
RETRY_S = 120.0
#: Seconds between checks that this station still holds the advisory lock on its name.
NAME_CHECK_S = 2.0
_SELECT = "SELECT " + ", ".join(COLUMNS) + ", station FROM jobs"
#: Written out (not a parameter) so the planner uses the partial FIFO index ``jobs_fifo``.
_QUEUED = f"state='{JobState.QUEUED}'"


def _job(row: dict[str, Any] | None) -> Job | None:
    return None if row is None else _job_of(row)


def _job_of(row: dict[str, Any]) -> Job:
    return job_from(row, row["station"])


class PgJobStore(JobBackend):
    """One station's view of the shared job table. Thread-safe (a connection pool)."""

    station: str  # a shared database always names the station

    def __init__(self, data_dir: str | os.PathLike[str], database: str | Database, station: str) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.jobs_dir = self.data_dir / "jobs"
        self.station = station
        self._lockfile = lock_data_dir(self.data_dir)
        try:
            self._own_db = not isinstance(database, Database)
            self.db = Database(database, name=f"printstation {station}") if isinstance(database, str) else database
        except BaseException:
            self._lockfile.close()
            raise
        self._name_conn: Any = None
        #: Why this station may not take jobs (its name is held by another station), else None.
        self._name_lost: str | None = None
        self._closing = threading.Event()
        self.db.when_ready(self._hold_name)
        self.db.when_ready(self._remove_orphans)
        try:
            self.db.ensure_ready()  # migrations; a database away at start is caught up with later
        except StoreUnavailable as exc:
            log.error("%s; the station starts degraded and catches up when it is back", exc)
        except BaseException:
            self.close()
            raise
        self._keeper = threading.Thread(target=self._keep_name, name=f"name-{station}", daemon=True)
        self._keeper.start()

    def _keep_name(self) -> None:
        """The name lock lives on one session: when the server restarts (or the connection
        breaks) it is gone, and a bench cloned with the same name could start and take this
        station's jobs. Checked every :data:`NAME_CHECK_S` and taken again; held by another
        station meanwhile → this one takes no more jobs (one ERROR line)."""
        while not self._closing.wait(NAME_CHECK_S):
            if self.db.ready:
                self._check_name()

    def _check_name(self) -> None:
        import psycopg

        conn = self._name_conn
        try:
            if conn is not None and not conn.closed and not conn.broken:
                with self.db.watched(conn):
                    conn.execute("SELECT 1")
                return
        except psycopg.Error:
            pass
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        self._name_conn = None
        try:
            self._hold_name()
        except StoreUnavailable:
            return  # the server is away: tried again at the next check
        except StoreLocked as exc:
            if self._name_lost is None:
                log.error("%s; this station takes no more jobs", exc)
            self._name_lost = str(exc)
            return
        if conn is not None or self._name_lost is not None:
            log.info("station %r holds its name again on %s", self.station, self.db.shown)
        self._name_lost = None

    def _hold_name(self) -> None:
        """Hold an advisory lock on this station's name for as long as it runs: a second station
        started with the same ``[station] name`` (e.g. two benches cloned with one host name)
        would take the first one's jobs for its own printers, so it is refused."""
        import zlib

        import psycopg

        try:
            conn = self.db.connect_direct(autocommit=True)
            key = zlib.crc32(self.station.encode()) - (1 << 31)  # a signed int4
            with self.db.watched(conn):
                got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (0x7073, key)).fetchone()[0]
        except psycopg.OperationalError as exc:
            raise self.db.unavailable(exc) from None
        if not got:
            conn.close()
            raise StoreLocked(f"station name {self.station!r} is in use by another running station on "
                              f"{self.db.shown}: give each station its own [station] name")
        self._name_conn = conn

    def _remove_orphans(self) -> None:
        top = self._one("SELECT COALESCE(MAX(id), 0) AS n FROM jobs WHERE station=%s", (self.station,))["n"]
        ids = {r["id"] for r in self._all("SELECT id FROM jobs WHERE station=%s AND id > %s",
                                          (self.station, top - 1000))}
        self.remove_orphan_files(int(top), ids)

    def close(self) -> None:
        self._closing.set()
        try:
            if self._name_conn is not None:  # the name is free the moment this returns
                with contextlib.suppress(Exception):
                    self._name_conn.execute("SELECT pg_advisory_unlock_all()")
                self._name_conn.close()
            if self._own_db:
                self.db.close()
        finally:
            self._lockfile.close()

    def health(self) -> str | None:
        return self.db.health()

    # -- plumbing ---------------------------------------------------------------------------------

    def _cur(self, conn: Any) -> Any:
        from psycopg.rows import dict_row

        return conn.cursor(row_factory=dict_row)

    def _one(self, sql: str, args: tuple[Any, ...] = (), retry_s: float = 0.0, *,
             until_closed: str | None = None) -> Any:
        """The first row of ``sql`` (``retry_s``, ``until_closed``: as :meth:`Database.run` takes them)."""
        return self.db.run(lambda conn: self._cur(conn).execute(sql, args).fetchone(), retry_s,
                           until_closed=until_closed)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return self.db.run(lambda conn: self._cur(conn).execute(sql, args).fetchall())

    # -- submit -----------------------------------------------------------------------------------

    def submit(self, printer: str, data: bytes, *, copies: int | None = None, key: str | None = None,
               name: str | None = None, source: str = "api", source_ref: str | None = None,
               reprint: bool = False, reprint_of: int | None = None, fit: bool = False) -> tuple[Job, bool]:
        check_submit(data, copies, key)
        name, source_ref = clean_fields(name, source_ref)

        def txn(conn: Any) -> tuple[Job, bool]:
            cur = self._cur(conn)
            nonlocal key, reprint_of
            if key is not None:
                row = cur.execute(_SELECT + " WHERE key=%s", (key,)).fetchone()
                if row is not None:
                    if not reprint:
                        return _job_of(row), False
                    reprint_of, key = row["id"], None
            now = time.time()
            row = cur.execute(
                "INSERT INTO jobs (station, printer, source, source_ref, name, key, copies, size, created, updated,"
                " reprint_of, fit) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                " ON CONFLICT (key) WHERE key IS NOT NULL DO NOTHING RETURNING " + ", ".join(COLUMNS) + ", station",
                (self.station, printer, source, source_ref, name, key, copies, len(data), now, now, reprint_of,
                 fit)).fetchone()
            if row is None:  # the same key queued by another station a moment ago
                conn.rollback()
                if reprint:
                    return txn(conn)
                existing = cur.execute(_SELECT + " WHERE key=%s", (key,)).fetchone()
                if existing is None:  # and purged since: queue it now
                    return txn(conn)
                return _job_of(existing), False
            cur.execute("INSERT INTO payloads (id, data) VALUES (%s, %s)", (row["id"], data))
            return _job_of(row), True

        job, created = self.db.run(txn)
        if created:
            self._notify(job)
        return job, created

    # -- reads ------------------------------------------------------------------------------------

    def get(self, job_id: int) -> Job:
        job = _job(self._one(_SELECT + " WHERE id=%s", (int(job_id),)))
        if job is None:
            raise NotFound(f"no job {job_id}")
        return job

    def find_key(self, key: str) -> Job | None:
        return _job(self._one(_SELECT + " WHERE key=%s", (key,)))

    def list_jobs(self, printer: str | None = None, state: str | None = None, limit: int = 100,
                  station: str | None = None) -> list[Job]:
        where, args = job_filters(printer, state, "%s")
        if station != "all":
            where.append("station=%s")
            args.append(station or self.station)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT %s"
        return [_job_of(r) for r in self._all(sql, (*args, int(limit)))]

    def next_queued(self, printer: str) -> Job | None:
        return _job(self._one(_SELECT + f" WHERE station=%s AND printer=%s AND {_QUEUED} ORDER BY id LIMIT 1",
                              (self.station, printer)))

    def _check_own_name(self) -> None:
        if self._name_lost is not None:  # another station runs under this name: its jobs are not ours to take
            raise StoreUnavailable(self._name_lost)

    def mark_sending(self, job_id: int) -> Job | None:
        self._check_own_name()
        return super().mark_sending(job_id)

    def claim_next(self, printer: str) -> Job | None:
        self._check_own_name()
        now = time.time()
        job = _job(self._one(
            f"UPDATE jobs SET state='{JobState.SENDING}', sent=%s, updated=%s WHERE id = (SELECT id FROM jobs"
            f" WHERE station=%s AND printer=%s AND {_QUEUED} ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " RETURNING " + ", ".join(COLUMNS) + ", station", (now, now, self.station, printer)))
        self._notify(job)
        return job

    def counts(self) -> dict[tuple[str, str], int]:
        rows = self._all("SELECT printer, state, COUNT(*) AS n FROM jobs WHERE station=%s GROUP BY printer, state",
                         (self.station,))
        return {(r["printer"], r["state"]): int(r["n"]) for r in rows}

    def counts_since(self, since: float) -> dict[str, dict[str, int]]:
        rows = self._all(
            "SELECT printer, state AS what, COUNT(*) AS n FROM jobs WHERE station=%s AND state = ANY(%s)"
            " AND updated >= %s GROUP BY printer, state UNION ALL SELECT printer, 'reprints', COUNT(*) FROM jobs"
            " WHERE station=%s AND reprint_of IS NOT NULL AND created >= %s GROUP BY printer",
            (self.station, [str(JobState.DONE), str(JobState.FAILED)], since, self.station, since))
        out: dict[str, dict[str, int]] = {}
        for r in rows:
            out.setdefault(r["printer"], {JobState.DONE: 0, JobState.FAILED: 0, "reprints": 0})[r["what"]] = int(r["n"])
        return out

    def payload(self, job_id: int) -> bytes:
        row = self._one("SELECT data FROM payloads WHERE id=%s", (int(job_id),))
        if row is None:
            raise NotFound(f"job {job_id} has no stored label")
        return bytes(row["data"])

    # -- transitions ------------------------------------------------------------------------------

    def _update(self, job_id: int, to: JobState | None, allowed: tuple[JobState, ...],
                values: dict[str, Any], *, durable: bool, retry: bool) -> Job | None:
        """An UPDATE guarded by the current state (every commit is durable here); the updated
        job, or None if not allowed. With ``retry``, a retry after a lost connection that finds
        the job already in ``to`` returns it."""
        sets, args = set_clause(to, values, "%s")
        target = str(to or allowed[0])

        def txn(conn: Any) -> Any:
            cur = self._cur(conn)
            row = cur.execute(
                f"UPDATE jobs SET {sets}, updated=%s WHERE id=%s AND state = ANY(%s)"
                " RETURNING " + ", ".join(COLUMNS) + ", station",
                (*args, time.time(), int(job_id), [str(s) for s in allowed])).fetchone()
            if row is None and self.db.retrying():
                row = cur.execute(_SELECT + " WHERE id=%s AND state=%s", (int(job_id), target)).fetchone()
            return row

        # its bytes went out: the outcome waits for the database however long it is away (a job
        # left in ``sending`` would be called interrupted at the next start, or printed again)
        job = _job(self.db.run(txn, RETRY_S, until_closed=f"the outcome of job {job_id} ({target})") if retry
                   else self.db.run(txn))
        self._notify(job)
        return job

    def _current(self, job_id: int) -> Job:
        job = _job(self._one(_SELECT + " WHERE id=%s", (int(job_id),), RETRY_S,
                             until_closed=f"the outcome of job {job_id}"))  # its bytes went out
        if job is None:
            raise NotFound(f"no job {job_id}")
        return job

    def recover(self, resend: Callable[[str], bool]) -> list[Job]:
        if not self.db.ready:  # the database was away at start: recovery runs before anything else
            self.db.when_ready(lambda: self._recover_late(resend))
            return []
        return super().recover(resend)

    def _recover_late(self, resend: Callable[[str], bool]) -> None:
        for job in super().recover(resend):
            log.warning("job %s on %s was on the wire at the last stop: %s", job.id, job.printer, job.state)

    # -- bounded storage --------------------------------------------------------------------------

    def queued_bytes(self) -> int:
        row = self._one("SELECT COALESCE(SUM(size), 0) AS n FROM jobs WHERE station=%s AND state = ANY(%s)",
                        (self.station, [str(s) for s in PENDING_STATES]))
        return int(row["n"])

    def purge_finished(self, before: float, limit: int = 500) -> list[tuple[int, str]]:
        rows = self._all(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE station=%s AND state = ANY(%s)"
            " AND COALESCE(done, updated) < %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
            " RETURNING id, state", (self.station, [str(s) for s in PURGEABLE_STATES], before, int(limit)))
        return sorted((int(r["id"]), str(r["state"])) for r in rows)

    # -- printers ---------------------------------------------------------------------------------

    def set_paused(self, printer: str, paused: bool) -> None:
        self.db.run(lambda conn: conn.execute(
            "INSERT INTO printers (station, name, paused) VALUES (%s, %s, %s)"
            " ON CONFLICT (station, name) DO UPDATE SET paused=excluded.paused", (self.station, printer, paused)))

    def paused(self) -> set[str]:
        return {r["name"] for r in self._all("SELECT name FROM printers WHERE station=%s AND paused", (self.station,))}




def open_store(data_dir: str | os.PathLike[str], url: str, station: str) -> PgJobStore:
    """The job store of ``[station] database = "postgresql://…"`` (queue/base.py STORE_BACKENDS)."""
    return PgJobStore(data_dir, url, station)


__all__ = ["PgJobStore", "check_url", "open_store"]
