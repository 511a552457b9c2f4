"""A toy shared-storage backend for ``toy://NAME`` database URLs: proof that a backend is one
module plus one line in ``queue.backends.STORE_BACKENDS`` (and ``triggers.station.STATE_BACKENDS``).

It keeps the station's jobs and trigger state in SQLite files named after the URL, inside the data
dir (``toy-NAME/``), so a test can see that the station really used it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from printstation.errors import UsageError
from printstation.queue.store import JobStore
from printstation.triggers.state import TriggerState

_URL = re.compile(r"toy://([a-z]{1,20})")
#: Every store and state this module opened: (kind, path).
OPENED: list[tuple[str, Path]] = []


def check_url(url: str) -> str:
    if not _URL.fullmatch(url):
        raise UsageError(f"database {url!r}: a toy URL is toy://NAME (a-z)")
    return url


def _shelf(data_dir: str | os.PathLike[str], url: str) -> Path:
    m = _URL.fullmatch(url)
    assert m is not None
    return Path(data_dir) / f"toy-{m.group(1)}"


class ToyJobStore(JobStore):
    pass


def open_store(data_dir: str | os.PathLike[str], url: str, station: str) -> ToyJobStore:
    shelf = _shelf(data_dir, url)
    OPENED.append(("store", shelf))
    return ToyJobStore(shelf)


def open_state(url: str, station: str, store: Any = None) -> TriggerState:
    assert store is not None, "the toy state lives beside its job store"
    shelf = Path(store.data_dir)  # the store's own shelf
    OPENED.append(("state", shelf))
    return TriggerState(shelf / "triggers.sqlite")
