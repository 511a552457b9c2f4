"""Where a station keeps its jobs: the embedded SQLite store, or a shared database named by
``[station] database`` (one backend module per URL scheme, imported only when used)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from ..errors import UsageError
from .base import JobBackend


#: Shared job-store backends by database URL scheme (``[station] database``). Each module, imported
#: only when a station names it, defines ``check_url(url) -> str`` (the URL's shape, no driver
#: import; a one-line :class:`UsageError`) and ``open_store(data_dir, url, station) -> JobBackend``.
#: No URL: the embedded SQLite store (:mod:`printstation.queue.store`). Adding a backend is its
#: module plus one line here (and its trigger state: ``STATE_BACKENDS`` in triggers/station.py).
STORE_BACKENDS: dict[str, str] = {
    "postgresql": "printstation.queue.pgstore",
    "postgres": "printstation.queue.pgstore",
}


def scheme_of(url: str) -> str:
    """A database URL's scheme, lower case (``""`` when it has none): the key of the backend tables."""
    return url.split(":", 1)[0].lower() if ":" in url else ""


def backend_of(url: str) -> ModuleType:
    """The job-store backend module for a database URL; :class:`UsageError` for another scheme."""
    name = STORE_BACKENDS.get(scheme_of(url))
    if name is None:
        shown = url.split("://", 1)[0] + "://…" if "://" in url else "…"
        first: dict[str, str] = {}  # one scheme per backend (its aliases unnamed)
        for key, module in STORE_BACKENDS.items():
            first.setdefault(module, key)
        kinds = ", ".join(f"{key}://…" for key in first.values())
        raise UsageError(f"database {shown!r}: only {kinds} URLs are supported "
                         "(leave it unset for the embedded SQLite store)")
    return importlib.import_module(name)


def check_database_url(url: str) -> str:
    """``url`` when a backend takes it (its shape only: no driver is imported), else UsageError."""
    return str(backend_of(url).check_url(url))


def open_store(data_dir: Path, database: str | None = None, station: str | None = None) -> JobBackend:
    """The job store for a station: embedded SQLite under ``data_dir`` unless ``database`` names a
    shared backend (:data:`STORE_BACKENDS`; its module is imported only then)."""
    if database:
        store: JobBackend = backend_of(database).open_store(data_dir, database, station or "station")
        return store
    from .store import JobStore

    return JobStore(data_dir)


__all__ = ["STORE_BACKENDS", "backend_of", "check_database_url", "open_store", "scheme_of"]
