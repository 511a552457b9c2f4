"""The daemon's submit guard: a label the queue quota or the data dir has no room for is refused
(:class:`~printstation.errors.StorageFull`, API 507) — the face's use of :mod:`printstation.storage`."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar, cast

from ..storage import Storage

F = TypeVar("F", bound=Callable[..., Any])


def submit_guard(submit_ex: F) -> F:
    """Wrap ``Daemon.submit_ex(printer, data, *, key, reprint, …)``: refuse a label the queue quota
    or the data dir has no room for (:class:`StorageFull`) — checked and stored under one lock, so
    parallel submits cannot pass the quota together — and turn "disk full" from the store into
    :class:`StorageFull`. A repeat of a known key stores nothing and is not refused."""

    @functools.wraps(submit_ex)
    def guarded(daemon: Any, printer: Any, data: bytes, *args: Any, **kw: Any) -> Any:
        st: Storage = daemon.storage
        key, reprint = kw.get("key"), kw.get("reprint", False)

        def new_label() -> bool:  # a repeat of a known key stores nothing
            if daemon.store is None or not (key is None or reprint or daemon.store.find_key(key) is None):
                return False
            daemon._printer_name(printer)  # a wrong printer is a 404 before any 507
            return True

        return st.guarded(len(data), lambda: submit_ex(daemon, printer, data, *args, **kw), new_label)

    return cast(F, guarded)


__all__ = ["submit_guard"]
