"""The shared PostgreSQL database of several stations (``[station] database = "postgresql://…"``).

* :class:`Database` — a psycopg 3 connection pool (:mod:`psycopg_pool`) with the station's error
  handling: an unreachable server raises :class:`~printstation.errors.StoreUnavailable` (API 503)
  with the password never in the message; :meth:`Database.run` retries with backoff when asked.
* Schema migrations: the ordered SQL files in ``printstation/pg/migrations/NNNN_name.sql``, each
  applied once in its own transaction and recorded in ``schema_migrations`` (version, name,
  applied), under an advisory lock so stations starting together do not race.
  ``printstation db migrate`` / ``db check``.

psycopg is imported only here (and only when a database URL is configured): the embedded SQLite
station never loads it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from ..errors import PrintstationError, StoreUnavailable, UsageError
from ..retry import Backoff
from .urls import Scrubber, check_url, redact_url, url_secrets
from .watchdog import Watchdog

log = logging.getLogger("printstation.pg")

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: Advisory lock keys (``pg_advisory_lock``): migrations, and the WB sync leader.
MIGRATE_LOCK = 0x7072_6E74_0001
SYNC_LOCK = 0x7072_6E74_0002
#: The systemd credential (``LoadCredential=database-password:/path``) read when the URL has no password.
CREDENTIAL = "database-password"
#: How long a statement waits for a lock another session holds (``lock_timeout``) before the
#: station answers 503 — the migrations wait as long as it takes.
LOCK_TIMEOUT_MS = 5000
#: Seconds a call to the database may go without an answer before its connection is cut
#: (:mod:`.watchdog`: a frozen server, or a host gone without a reset); ``/healthz`` waits 5 s at most.
DEADLINE_S = 30.0
HEALTH_DEADLINE_S = 5.0
MAX_PASSWORD_FILE = 4096


def _read_credential() -> str | None:
    """The password from the systemd credential ``database-password``, if there is one."""
    cdir = os.environ.get("CREDENTIALS_DIRECTORY")
    if not cdir:
        return None
    path = Path(cdir) / CREDENTIAL
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read the database password credential {path}: {exc.strerror or exc}") from None
    try:
        data = os.read(fd, MAX_PASSWORD_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_PASSWORD_FILE:
        raise UsageError(f"database password credential {path} is too large")
    return data.decode("utf-8", "replace").strip() or None


class Database:
    """A pool of connections to the shared database. Thread-safe."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 16, timeout: float = 5.0,
                 name: str = "printstation") -> None:
        check_url(url)
        import psycopg  # noqa: F401 - only a station with a database loads the driver
        from psycopg.conninfo import conninfo_to_dict
        from psycopg_pool import ConnectionPool

        self.url = url
        self.shown = redact_url(url)
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise UsageError(f"database {self.shown!r}: {Scrubber(tuple(url_secrets(url))).scrub(str(exc))}") from None
        secrets = [str(params["password"])] if params.get("password") else []
        secrets += [str(params["sslpassword"])] if params.get("sslpassword") else []
        if not params.get("password"):
            cred = _read_credential()
            if cred:  # else libpq reads PGPASSWORD / PGPASSFILE (~/.pgpass) by itself
                params["password"] = cred
                secrets.append(cred)
        self._secrets = Scrubber(tuple(s for s in secrets if len(s) >= 3))
        from ..logs import register_secret

        for s in secrets:
            register_secret(s)
        params.setdefault("connect_timeout", "3")
        if "lock_timeout" not in str(params.get("options", "")):  # a lock held elsewhere: 503, not a hung request
            params["options"] = f"{params.get('options', '')} -c lock_timeout={LOCK_TIMEOUT_MS}".strip()
        params.setdefault("application_name", name[:60])
        #: The connection parameters (pool and :meth:`connect_direct` alike).
        self.params: dict[str, Any] = params
        self.timeout = timeout
        self.closing = threading.Event()
        self._psycopg = psycopg
        # The pool logs every failed connect (a flood in an outage): the station logs once per outage.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
        self._watchdog = Watchdog()
        self.pool = ConnectionPool(kwargs=params, min_size=min_size, max_size=max_size, open=False,
                                   timeout=timeout, check=self._check, reconnect_timeout=0, name=name[:40])
        self.pool.open(wait=False)
        self.last_error: str | None = None
        self._local = threading.local()
        #: Run once, in order, when the server is first reached: the migrations, then the hooks
        #: of :meth:`when_ready` (a station started while the database was away catches up).
        self._hooks: list[Callable[[], None]] = []
        self._ready = False
        self._preparing = False
        self._ready_lock = threading.RLock()

    def when_ready(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once the schema is up to date (now, if it is)."""
        with self._ready_lock:
            if not self._ready:
                self._hooks.append(fn)
                return
        fn()

    @property
    def ready(self) -> bool:
        return self._ready

    def ensure_ready(self) -> None:
        """Apply the migrations and run the :meth:`when_ready` hooks, once; raises
        :class:`StoreUnavailable` (tried again at the next call) while the server is away."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready or self._preparing:  # done meanwhile, or a hook's own query
                return
            self._preparing = True
            try:
                migrate(self)
                while self._hooks:
                    self._hooks[0]()
                    self._hooks.pop(0)
                self._ready = True
            finally:
                self._preparing = False

    def retrying(self) -> bool:
        """True inside :meth:`run` on a second or later attempt (an earlier commit may have landed)."""
        return getattr(self._local, "attempt", 1) > 1

    # -- errors -----------------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        return self._secrets.scrub(str(text))

    def unavailable(self, exc: BaseException) -> StoreUnavailable:
        from psycopg_pool import PoolTimeout

        if isinstance(exc, PoolTimeout):  # the pool says only "no connection in time": ask the server why
            try:
                self.connect_direct(connect_timeout="2").close()
            except self._psycopg.Error as real:
                exc = real
        why = " ".join(self.scrub(str(exc) or type(exc).__name__).split())
        why = why.removeprefix("connection failed: ")
        if isinstance(exc, self._psycopg.errors.LockNotAvailable):  # reachable, but held by another session
            return StoreUnavailable(f"database {self.shown} is locked by another session for more than "
                                    f"{LOCK_TIMEOUT_MS // 1000} s ({why})")
        self.last_error = why
        return StoreUnavailable(f"database {self.shown} unreachable: {why}")

    def connect_direct(self, **extra: Any) -> Any:
        """A connection of its own outside the pool (a session-long advisory lock, a probe), with
        the pool's parameters overridden by ``extra``; raises the driver's errors."""
        return self._psycopg.connect(**{**self.params, **extra})

    def _transient(self, exc: BaseException) -> bool:
        from psycopg_pool import PoolTimeout

        return isinstance(exc, (self._psycopg.OperationalError, PoolTimeout)) and not isinstance(
            exc, self._psycopg.errors.SerializationFailure)

    # -- connections ------------------------------------------------------------------------------

    def _check(self, conn: Any) -> None:
        """The pool's check of an idle connection before it is lent, under a deadline (a server
        that froze would hold it forever; cut, the pool drops it and connects anew)."""
        from psycopg_pool import ConnectionPool

        with self.watched(conn, min(HEALTH_DEADLINE_S, DEADLINE_S)):
            ConnectionPool.check_connection(conn)

    @contextmanager
    def watched(self, conn: Any, seconds: float | None = None) -> Iterator[list[bool]]:
        """Cut ``conn`` when the block runs past ``seconds`` (default :data:`DEADLINE_S`); yields
        ``fired`` (``fired[0]``: it was cut)."""
        key, fired = self._watchdog.arm(conn, DEADLINE_S if seconds is None else seconds)
        try:
            yield fired
        finally:
            self._watchdog.disarm(key)

    @contextmanager
    def connection(self, deadline: float | None = None, *, watch: bool = True) -> Iterator[Any]:
        """A pooled connection in a transaction (committed when the block ends, rolled back on an
        error), cut when it runs past ``deadline`` (default :data:`DEADLINE_S`; ``watch=False``:
        never, for migrations); an unreachable or silent server raises :class:`StoreUnavailable`."""
        fired = [False]
        try:
            # while the server is known to be away, answer fast (the pool keeps trying behind)
            with self.pool.connection(timeout=1.0 if self.last_error else self.timeout) as conn:
                if not watch:
                    yield conn
                else:
                    with self.watched(conn, deadline) as fired:
                        yield conn
                        conn.commit()  # under the deadline too (the pool's own commit finds nothing left)
        except StoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - sorted below
            if fired[0]:
                self.last_error = f"no answer within {DEADLINE_S if deadline is None else deadline:g} s"
                raise StoreUnavailable(f"database {self.shown} unreachable: {self.last_error}") from None
            if self._transient(exc):
                raise self.unavailable(exc) from None
            if isinstance(exc, self._psycopg.Error):
                raise PrintstationError(f"database error: {self.scrub(str(exc))}") from None
            raise
        self.last_error = None

    def run(self, fn: Callable[[Any], T], retry_s: float = 0.0, *, until_closed: str | None = None) -> T:
        """``fn(conn)`` in one transaction; with ``retry_s``, an unreachable server is retried
        with backoff (0.1 s doubling to 2 s) for up to that long before it raises. With
        ``until_closed`` (what is waiting, for the log) it is retried past ``retry_s`` too, until
        the server is back or the station stops: one ERROR line says so once ``retry_s`` is over."""
        deadline = time.monotonic() + retry_s
        backoff = Backoff(0.1, 2.0)
        attempt = 0
        late = False
        while True:
            attempt += 1
            try:
                self._local.attempt = attempt
                self.ensure_ready()
                with self.connection() as conn:
                    return fn(conn)
            except StoreUnavailable as exc:
                delay = backoff.next()
                if self.closing.is_set():
                    raise
                if time.monotonic() + delay > deadline:
                    if until_closed is None:
                        raise
                    if not late:
                        late = True
                        log.error("%s: still unreachable after %.0f s; %s waits for it (retrying until it is "
                                  "back)", exc, retry_s, until_closed)
                elif attempt == 1:
                    log.warning("%s; retrying", exc)
                if self.closing.wait(delay):
                    raise

    def health(self) -> str | None:
        """None when a round trip works, else why not."""
        try:
            with self.connection(min(HEALTH_DEADLINE_S, DEADLINE_S)) as conn:
                conn.execute("SELECT 1")
            return None
        except PrintstationError as exc:
            return str(exc)

    def close(self) -> None:
        self.closing.set()
        self.pool.close(timeout=2.0)


# -- migrations ------------------------------------------------------------------------------------

_MIGRATION = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


def migrations() -> list[tuple[int, str, str]]:
    """``[(version, name, sql)]`` in order, from :data:`MIGRATIONS_DIR`."""
    out = []
    for f in sorted(MIGRATIONS_DIR.iterdir()):
        m = _MIGRATION.fullmatch(f.name)
        if m:
            out.append((int(m.group(1)), m.group(2), f.read_text(encoding="utf-8")))
    versions = [v for v, _, _ in out]
    if versions != list(range(1, len(out) + 1)):
        raise PrintstationError(f"migrations are not numbered 1..n: {versions}")
    return out


_VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                  " applied DOUBLE PRECISION NOT NULL)")


def applied(conn: Any) -> list[int]:
    row = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if row[0] is None:
        return []
    return [int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def migrate(db: Database) -> list[str]:
    """Apply the migrations not applied yet (each in its own transaction, under an advisory
    lock); the names applied. A database newer than this printstation is refused."""
    done: list[str] = []
    known = migrations()
    with db.connection(watch=False) as conn:  # a migration takes as long as it takes
        conn.execute("SET lock_timeout = 0")  # a migration waits for the locks it needs
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
        conn.commit()
        try:
            conn.execute(_VERSION_TABLE)
            conn.commit()
            have = set(applied(conn))
            newer = [v for v in have if v > len(known)]
            if newer:
                raise PrintstationError(
                    f"database {db.shown} has schema version {max(newer)}, newer than this printstation "
                    f"({len(known)}): upgrade printstation")
            for version, name, sql in known:
                if version in have:
                    continue
                with conn.transaction():
                    conn.execute(sql)  # our own files, no parameters
                    conn.execute("INSERT INTO schema_migrations (version, name, applied) VALUES (%s, %s, %s)",
                                 (version, name, time.time()))
                done.append(f"{version:04d}_{name}")
                log.info("database %s: applied migration %04d_%s", db.shown, version, name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))
            conn.execute("RESET lock_timeout")
            conn.commit()
    return done


def check(db: Database) -> dict[str, Any]:
    """``{"version", "latest", "pending": [...], "ok"}`` without changing anything."""
    known = migrations()
    with db.connection() as conn:
        have = applied(conn)
    pending = [f"{v:04d}_{n}" for v, n, _ in known if v not in have]
    newer = [v for v in have if v > len(known)]
    return {"database": db.shown, "version": max(have, default=0), "latest": len(known), "pending": pending,
            "ok": not pending and not newer}


def diagnose(url: str, timeout: float = 3.0) -> tuple[bool, str, str]:
    """``(ok, detail, hint)`` for ``printstation doctor``: the server answers, the schema is current."""
    try:
        db = Database(url, name="printstation doctor", timeout=timeout, max_size=1)
    except PrintstationError as exc:
        return False, str(exc), "fix [station] database (or PRINTSTATION_DATABASE)"
    except ImportError:
        return False, "the PostgreSQL driver is not installed", "pip install 'printstation[postgres]'"
    try:
        state = check(db)
    except PrintstationError as exc:
        return False, str(exc), ("start the server or check host, port, user and password (URL, PGPASSFILE "
                                 "or the database-password credential)")
    finally:
        db.close()
    if state["pending"]:
        return True, f"{db.shown}: schema version {state['version']}, pending {', '.join(state['pending'])}", \
            "the station applies them at start (or run `printstation db migrate`)"
    if not state["ok"]:
        return False, f"{db.shown}: schema version {state['version']} is newer than this printstation", \
            "upgrade printstation"
    return True, f"{db.shown}: schema version {state['version']}", ""


def open_database(url: str, name: str = "printstation", *, max_size: int = 16) -> Database:
    """Connect and bring the schema up to date (``printstation run`` does this at start)."""
    db = Database(url, name=name, max_size=max_size)
    try:
        db.ensure_ready()
    except BaseException:
        db.close()
        raise
    return db


__all__ = ["CREDENTIAL", "Database", "SYNC_LOCK", "Scrubber", "check", "check_url", "migrate", "migrations",
           "open_database", "redact_url", "url_secrets"]
