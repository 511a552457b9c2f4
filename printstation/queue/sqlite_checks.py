"""Start-up checks of the embedded SQLite queue: the ``jobs/`` folder is a real directory, and
the database is sound (``PRAGMA quick_check``), not newer than this code, and not silently
missing while job files remain. Each refusal is one line (:class:`QueueDamaged`, exit 1)."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path

from ..errors import UsageError
from ..fsutil import file_kind
from .base import QueueDamaged


def check_jobs_dir(jobs_dir: Path) -> None:
    """``jobs/`` must be a real directory: converted bytes are read from and written to it, so
    a symlink to another folder would print (or sweep) files the station never wrote."""
    try:
        st = os.lstat(jobs_dir)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot use {jobs_dir}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise QueueDamaged(f"{jobs_dir} is a {file_kind(st.st_mode)}, not a directory: refusing to "
                           "use it (move it aside; the station makes a new one)")


def check_db(path: Path, jobs_dir: Path, schema_version: int) -> None:
    """Before opening: a damaged database, or a missing (emptied) one while ``jobs/`` still
    holds job files, is refused with one line instead of a traceback or an empty queue; a
    new one is created 0600."""
    try:
        fresh = not path.exists() or path.stat().st_size == 0
        if fresh:
            own = {path.name + x for x in ("", "-wal", "-shm", "-journal")}
            # A database moved aside next to it (queue.sqlite3.bad): the operator chose to start empty.
            moved = [f for f in path.parent.glob(path.name + "*") if f.name not in own]
            left = [f for f in jobs_dir.iterdir() if f.name.split(".", 1)[0].isdigit()]
            if left and not moved:
                raise QueueDamaged(
                    f"queue database {path} is missing or empty but {jobs_dir} still holds "
                    f"{len(left)} job file(s): refusing to start with an empty queue (restore the "
                    f"database, or move {jobs_dir} aside to start empty)")
            for x in ("-wal", "-shm", "-journal"):  # the old database's journal: never replayed
                stale = path.with_name(path.name + x)
                if stale.exists():
                    stale.rename(stale.with_name(f"{stale.name}.stale-{int(time.time())}"))
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
            return
        db = sqlite3.connect(path, isolation_level=None, timeout=10)
        try:
            check = [r[0] for r in db.execute("PRAGMA quick_check").fetchall()]
            if check != ["ok"]:
                raise sqlite3.DatabaseError("; ".join(str(c) for c in check[:3]))
            version = db.execute("PRAGMA user_version").fetchone()[0]
        finally:
            db.close()
        if version > schema_version:
            raise QueueDamaged(f"queue database {path} has schema version {version}, newer than this "
                               f"printstation ({schema_version}): upgrade printstation or move it aside")
    except sqlite3.DatabaseError as exc:
        raise QueueDamaged(f"queue database {path} is damaged: {exc} (move it aside to start empty)") from None
