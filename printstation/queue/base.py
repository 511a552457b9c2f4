"""The storage interface of the job queue: what every backend provides.

:class:`JobBackend` is the contract (``submit``, claim the next job of a printer, the state
transitions, crash recovery, ``list``/``get``, ``cancel``, purge) that the workers, the daemon
and the API use; :mod:`.store` is the embedded SQLite backend (the default) and :mod:`.pgstore`
the PostgreSQL one for several stations sharing one database. The contract tests in
``tests/queue/test_store_contract.py`` run against every backend.

What a backend shares with the others lives here: the job record (:class:`Job`), the states
(:class:`JobState`), the errors, the converted printer bytes as files under
``<data_dir>/jobs/<id>.<ext>`` and the one-daemon-per-data-dir lock.
"""

from __future__ import annotations

import abc
import fcntl
import logging
import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Callable

from ..errors import Conflict, NotFound, QueueDamaged, StoreLocked, StoreUnavailable, UsageError
from ..fsutil import atomic_write, read_regular

log = logging.getLogger("printstation.queue.store")

MAX_PAYLOAD = 64 * 1024 * 1024
MAX_COPIES = 9999


class JobState(StrEnum):
    """A job's state (a ``str``: compares equal to ``"queued"`` …)."""

    QUEUED = "queued"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"


STATES: tuple[str, ...] = tuple(s.value for s in JobState)
#: States a job does not leave by itself.
FINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELED, JobState.INTERRUPTED})
#: States of a job still to print (its label counts against the queue's space).
PENDING_STATES = (JobState.QUEUED, JobState.SENDING)
#: Final states a purge may delete (never ``interrupted``: someone has to decide about it).
PURGEABLE_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELED)

COLUMNS = ("id", "printer", "source", "source_ref", "name", "key", "copies", "state", "attempts",
           "resends", "error", "size", "created", "updated", "sent", "done", "reprint_of", "fit")


INTERRUPTED_MSG = "interrupted while sending: it may or may not have printed; reprint or cancel it"
RESENT_MSG = "interrupted while sending; sent again (on_interrupted = resend)"


def interrupted_msg(reason: str) -> str:
    return f"interrupted while sending ({reason}): it may or may not have printed; reprint or cancel it"


class _Incr:
    def __repr__(self) -> str:
        return "INCR"


#: A transition's value meaning ``column = column + 1``.
INCR: Any = _Incr()


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Job:
    id: int
    printer: str
    source: str
    source_ref: str | None
    name: str | None
    key: str | None
    copies: int | None
    state: str
    attempts: int
    resends: int
    error: str | None
    size: int
    created: float
    updated: float
    sent: float | None
    done: float | None
    reprint_of: int | None
    #: Fit the label to the media even past the printer's ``max_downscale`` (``fit=1``).
    fit: bool = False
    #: The station whose printer prints it (a shared database); None on the embedded store.
    station: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["state"] = str(self.state)
        for k in ("created", "updated", "sent", "done"):
            d[k] = iso(d[k])
        if self.station is None:
            del d["station"]
        return d


def job_from(row: Any, station: str | None = None) -> Job:
    """A :class:`Job` from a row mapping with the :data:`COLUMNS`."""
    values = {k: row[k] for k in COLUMNS}
    values["fit"] = bool(values["fit"])
    values["state"] = JobState(values["state"])
    return Job(**values, station=station)


def check_submit(data: bytes, copies: int | None, key: str | None) -> None:
    """The checks every backend makes before queueing (one clear error each)."""
    from ..errors import BadInput

    if not data:
        raise BadInput("empty label: nothing to print")
    if len(data) > MAX_PAYLOAD:
        raise BadInput(f"label too large ({len(data)} bytes, at most {MAX_PAYLOAD})")
    if copies is not None and not 1 <= copies <= MAX_COPIES:
        raise UsageError(f"copies {copies} out of range (1..{MAX_COPIES})")
    if key is not None and not (0 < len(key) <= 200):
        raise UsageError("idempotency key must be 1..200 characters")


def clean_fields(name: str | None, source_ref: str | None) -> tuple[str | None, str | None]:
    """A job's file name and source reference as stored: control characters and undecodable
    bytes escaped (logs, terminals), bounded."""
    from ..names import base_name, printable

    if name is not None:
        name = printable(base_name(name))[:255] or None
    if source_ref is not None:
        source_ref = printable(source_ref)[:1024]
    return name, source_ref


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Create ``data_dir/jobs`` and hold ``printstation.lock`` (one daemon per data dir)."""
    try:
        (data_dir / "jobs").mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create data dir {data_dir}: {exc.strerror or exc}") from None
    lockfile = os.fdopen(os.open(data_dir / "printstation.lock",
                                 os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600), "a+")
    try:
        fcntl.flock(lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lockfile.close()
        raise StoreLocked(f"data dir {data_dir} is in use by another printstation daemon") from None
    return lockfile


class JobBackend(abc.ABC):
    """The job queue of one station. Thread-safe. Every transition is guarded by the job's
    current state and returns the updated job, or None when the job was no longer in a state
    that allows it. ``mark_sending`` (and requeue, cancel, recovery) are durable when they
    return: the crash-safe send boundary."""

    data_dir: Path
    jobs_dir: Path
    #: This station's name (a shared database); None on a store only one station uses.
    station: str | None = None

    def __init__(self) -> None:
        self._listeners: list[Callable[[Job], None]] = []

    # -- listeners ------------------------------------------------------------------------------

    def on_change(self, fn: Callable[[Job], None]) -> None:
        """Call ``fn(job)`` after every state change (metrics, worker wake-ups)."""
        self._listeners.append(fn)

    def _notify(self, job: Job | None) -> None:
        if job is None:
            return
        for fn in self._listeners:
            fn(job)

    # -- converted printer bytes: files of this station ------------------------------------------

    def converted_path(self, job_id: int, ext: str) -> Path:
        return self.jobs_dir / f"{job_id}.{ext}"

    def converted(self, job_id: int, ext: str) -> bytes | None:
        try:  # never through a planted symlink, FIFO or device: such a file is converted again
            return read_regular(self.converted_path(job_id, ext), MAX_PAYLOAD * 8)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("job %s: %s not used: %s", job_id, self.converted_path(job_id, ext), exc.strerror or exc)
            return None

    def save_converted(self, job_id: int, ext: str, data: bytes) -> None:
        # Not fsynced: after a crash a missing file is simply converted again (same bytes).
        atomic_write(self.converted_path(job_id, ext), data, fsync=False, mode=0o640)

    def remove_orphan_files(self, top: int, ids: set[int]) -> None:
        """Remove temp files and job files of ids ``top - 1000 < id`` not in ``ids``."""
        for f in self.jobs_dir.iterdir():
            if f.is_symlink() or not f.is_file():
                continue  # not a file the store wrote: never removed
            stem = f.name.split(".", 1)[0]
            if f.name.startswith(".") and f.name.endswith(".tmp"):
                f.unlink(missing_ok=True)
            elif stem.isdigit() and int(stem) > top - 1000 and int(stem) not in ids:
                f.unlink(missing_ok=True)

    # -- the contract -----------------------------------------------------------------------------

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def submit(self, printer: str, data: bytes, *, copies: int | None = None, key: str | None = None,
               name: str | None = None, source: str = "api", source_ref: str | None = None,
               reprint: bool = False, reprint_of: int | None = None, fit: bool = False) -> tuple[Job, bool]:
        """Queue a job; ``(job, created)``. An existing idempotency ``key`` (anywhere the store
        reaches) returns that job with ``created=False`` unless ``reprint``."""

    def reprint(self, job_id: int) -> Job:
        """A new queued job with the same bytes, printer, copies and fit (``reprint_of`` = ``job_id``)."""
        old = self.get(job_id)
        data = self.payload(job_id)
        job, _ = self.submit(old.printer, data, copies=old.copies, name=old.name, source=old.source,
                             source_ref=old.source_ref, reprint_of=old.id, fit=old.fit)
        return job

    @abc.abstractmethod
    def get(self, job_id: int) -> Job: ...

    @abc.abstractmethod
    def find_key(self, key: str) -> Job | None: ...

    @abc.abstractmethod
    def list_jobs(self, printer: str | None = None, state: str | None = None, limit: int = 100,
                  station: str | None = None) -> list[Job]:
        """Jobs, newest first (this station's; ``station="all"``: every station's)."""

    @abc.abstractmethod
    def next_queued(self, printer: str) -> Job | None:
        """The oldest queued job of this station's ``printer`` (FIFO)."""

    def claim_next(self, printer: str) -> Job | None:
        """Take the oldest queued job of ``printer`` into ``sending`` (durable before it returns)."""
        while True:
            job = self.next_queued(printer)
            if job is None:
                return None
            sent = self.mark_sending(job.id)
            if sent is not None:
                return sent

    @abc.abstractmethod
    def counts(self) -> dict[tuple[str, str], int]: ...

    @abc.abstractmethod
    def counts_since(self, since: float) -> dict[str, dict[str, int]]:
        """Per printer of this station, jobs that ended ``done``/``failed`` at or after ``since``
        (epoch seconds) and reprints made since then: ``{printer: {"done", "failed", "reprints"}}``
        (the web console's day counts)."""

    @abc.abstractmethod
    def payload(self, job_id: int) -> bytes: ...

    # -- transitions: written once, each backend renders :meth:`_update` -----------------------

    @abc.abstractmethod
    def _update(self, job_id: int, to: JobState | None, allowed: tuple[JobState, ...],
                values: dict[str, Any], *, durable: bool, retry: bool) -> Job | None:
        """Move the job to state ``to`` (None: keep it) setting ``values`` (column → value, or
        :data:`INCR` for ``column + 1``; SQL backends: :func:`.sql.set_clause`) when its state is one of
        ``allowed``; the updated job (listeners notified), or None. ``durable``: committed to
        survive a power cut; ``retry``: may be retried after a lost connection (a retry that
        finds the job already moved returns it)."""

    def _current(self, job_id: int) -> Job:
        """The job as it is now, before a transition that depends on it."""
        return self.get(job_id)

    def mark_sending(self, job_id: int) -> Job | None:
        """queued → sending, committed durably before the first byte; None if no longer queued."""
        return self._update(job_id, JobState.SENDING, (JobState.QUEUED,), {"sent": time.time()},
                            durable=True, retry=False)

    def mark_done(self, job_id: int) -> Job | None:
        return self._update(job_id, JobState.DONE, (JobState.SENDING,), {"done": time.time(), "error": None},
                            durable=False, retry=True)

    def note_attempt(self, job_id: int, error: str) -> Job | None:
        """A queued job could not be sent (printer unreachable): attempts + 1, why it waits."""
        return self._update(job_id, None, (JobState.QUEUED,), {"attempts": INCR, "error": error},
                            durable=False, retry=False)

    def requeue(self, job_id: int, error: str) -> Job | None:
        """sending → queued after a transient error (attempts + 1)."""
        return self._update(job_id, JobState.QUEUED, (JobState.SENDING,), {"attempts": INCR, "error": error},
                            durable=True, retry=True)

    def interrupt(self, job_id: int, reason: str, *, resend: bool) -> Job | None:
        """sending → ``interrupted`` when bytes may have reached the printer before an error
        (a reset mid-job, no confirmation after the write) — or ``queued`` once more when the
        printer says ``on_interrupted = "resend"`` and the job was not resent before."""
        return self._off_the_wire(self._current(job_id), resend, f"{reason}; sent again (on_interrupted = resend)",
                                  interrupted_msg(reason), attempt=True, retry=True)

    def fail(self, job_id: int, reason: str) -> Job | None:
        return self._update(job_id, JobState.FAILED, (JobState.QUEUED, JobState.SENDING),
                            {"error": reason, "done": time.time()}, durable=False, retry=True)

    def cancel(self, job_id: int) -> Job:
        job = self._update(job_id, JobState.CANCELED, (JobState.QUEUED, JobState.INTERRUPTED),
                           {"done": time.time()}, durable=True, retry=False)
        if job is None:
            cur = self.get(job_id)
            raise Conflict(f"job {job_id} is {cur.state}: only queued or interrupted jobs can be canceled")
        return job

    def recover(self, resend: Callable[[str], bool]) -> list[Job]:
        """At start: this station's jobs left in ``sending`` → ``interrupted`` (or ``queued`` once
        more when ``resend(printer)`` says so and it was not resent before)."""
        out = []
        for job in sorted(self.list_jobs(state=JobState.SENDING, limit=1_000_000), key=lambda j: j.id):
            new = self._off_the_wire(job, resend(job.printer), RESENT_MSG, INTERRUPTED_MSG, attempt=False, retry=False)
            if new is not None:
                out.append(new)
        return out

    def _off_the_wire(self, job: Job, resend: bool, resent: str, lost: str, *, attempt: bool,
                      retry: bool) -> Job | None:
        """A job whose bytes may have reached the printer leaves ``sending``: queued once more
        (``resend`` and never resent before; ``attempt``: counts as one) or ``interrupted``."""
        if resend and job.resends == 0:
            values: dict[str, Any] = {"resends": INCR, "error": resent}
            if attempt:
                values["attempts"] = INCR
            return self._update(job.id, JobState.QUEUED, (JobState.SENDING,), values, durable=True, retry=retry)
        return self._update(job.id, JobState.INTERRUPTED, (JobState.SENDING,), {"done": time.time(), "error": lost},
                            durable=True, retry=retry)

    @abc.abstractmethod
    def queued_bytes(self) -> int: ...

    @abc.abstractmethod
    def purge_finished(self, before: float, limit: int = 500) -> list[tuple[int, str]]: ...

    @abc.abstractmethod
    def set_paused(self, printer: str, paused: bool) -> None: ...

    @abc.abstractmethod
    def paused(self) -> set[str]: ...

    def health(self) -> str | None:
        """None when the store works, else why not (``/healthz`` degraded)."""
        return None


__all__ = ["COLUMNS", "Conflict", "FINAL_STATES", "INCR", "Job", "JobBackend", "JobState", "MAX_COPIES",
           "MAX_PAYLOAD", "NotFound", "PENDING_STATES", "PURGEABLE_STATES", "QueueDamaged", "STATES", "StoreLocked",
           "StoreUnavailable", "iso", "job_from"]
