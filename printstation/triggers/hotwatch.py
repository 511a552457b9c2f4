"""Watching the hot folder and knowing when a file is written whole.

A file is taken only after ``settle_ms`` with no change *and* with no writer holding it open:
inotify tells (written, not yet closed); for files seen without events (polling, files present
at start) :func:`open_for_writing` reads the ``/proc/*/fd`` table.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from watchdog.events import (DirCreatedEvent, DirMovedEvent, FileClosedEvent, FileCreatedEvent, FileModifiedEvent,
                             FileMovedEvent, FileSystemEvent, FileSystemEventHandler)

from .hotfiles import Sig, sig_of

log = logging.getLogger("printstation.hotfolder")

#: A writer seen by inotify (written, never closed) is trusted this long without any change.
STALE_WRITER_S = 30.0

FileIds = set[tuple[int, int]]  # (st_dev, st_ino)


def open_for_writing(ids: FileIds) -> FileIds:
    """Which of the files ``(st_dev, st_ino)`` some process holds open for writing, from
    ``/proc/*/fd`` (the processes this user may inspect)."""
    found: set[tuple[int, int]] = set()
    if not ids:
        return found
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        base = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(base)
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat(f"{base}/{fd}")
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key not in ids or key in found:
                continue
            if _writes(pid, fd):
                found.add(key)
    return found


def _writes(pid: str, fd: str) -> bool:
    """Whether the process's fd is open for writing (``/proc/<pid>/fdinfo``)."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as fh:
            flags = next((int(line.split()[1], 8) for line in fh if line.startswith("flags:")), 0)
    except (OSError, ValueError, IndexError):
        return False
    return flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)


@dataclass
class Seen:
    """A file waiting to settle."""

    sig: Sig  # inode, size, mtime_ns
    since: float
    #: inotify: True after a write event, False after close-write / move-in; None: not known.
    writing: bool | None = None


def settled(seen: dict[str, Seen], handled: Mapping[str, Sig], cv: threading.Condition, settle: float,
            busy_of: Callable[[FileIds], FileIds] = open_for_writing) -> list[str]:
    """The files of ``seen`` (guarded by ``cv``) due to be taken, sorted: unchanged for
    ``settle`` seconds and held open by no writer (``busy_of``); not regular: at once (refused
    unread). A file gone is forgotten; one that failed to move away (``handled``) is skipped."""
    now = time.monotonic()
    due: list[str] = []
    quiet: dict[str, tuple[int, int]] = {}
    with cv:
        items = list(seen.items())
    for path, file in items:
        try:
            st = os.lstat(path)
        except OSError:
            with cv:
                seen.pop(path, None)
            continue
        sig = sig_of(st)
        if handled.get(path) == sig:
            continue  # moved away failed earlier; never twice
        if not stat.S_ISREG(st.st_mode):
            due.append(path)  # refused unread: nothing to wait for
            continue
        with cv:
            if sig != file.sig:
                if file.sig[1] >= 0:
                    file.since = now  # it changed since the last look: still being written
                file.sig = sig
            idle = now - file.since
            if idle < settle or (file.writing and idle < STALE_WRITER_S):
                continue
        quiet[path] = (st.st_dev, st.st_ino)
    busy = busy_of(set(quiet.values())) if quiet else set()
    for path, key in quiet.items():
        if key not in busy:
            due.append(path)
            continue
        with cv:  # a writer holds it: look again after another settle_ms (not every tick)
            waiting = seen.get(path)
            if waiting is not None:
                waiting.since = now
    due.sort()
    return due


def tree_files(root: Path, skip: Callable[[str], bool], max_depth: int) -> Iterator[str]:
    """Every file under ``root`` (folders ``skip`` names are not entered; nor is a folder
    nested deeper than ``max_depth`` levels — a nesting bomb). A symlink to a folder is given
    as a file: it is refused like any symlink, never followed."""
    top = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        if len(Path(dirpath).parts) - top >= max_depth:
            dirnames[:] = []
        keep = []
        for d in dirnames:
            if skip(d):
                continue
            if os.path.islink(os.path.join(dirpath, d)):
                filenames.append(d)
            else:
                keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            yield os.path.join(dirpath, f)


class Watched(Protocol):
    """What the watcher tells the folder."""

    def notice(self, path: str, complete: bool = False, writing: bool | None = None) -> None: ...
    def rescan_soon(self) -> None: ...


class Handler(FileSystemEventHandler):
    def __init__(self, folder: Watched) -> None:
        self.folder = folder

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.folder.notice(os.fsdecode(event.src_path))

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.folder.notice(os.fsdecode(event.src_path), writing=True)

    def on_closed(self, event: FileSystemEvent) -> None:  # IN_CLOSE_WRITE
        if not event.is_directory:
            self.folder.notice(os.fsdecode(event.src_path), writing=False)

    def on_moved(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            self.folder.rescan_soon()
        else:
            self.folder.notice(os.fsdecode(event.dest_path), writing=False)


#: The events the folder uses. Without a filter watchdog also asks inotify for every open and
#: read-only close — the folder's own rescan walk and reads came back as events, and 20,000
#: folders kept the inotify queue overflowing (and a core busy) for as long as they stayed.
EVENTS = [FileCreatedEvent, DirCreatedEvent, FileModifiedEvent, FileClosedEvent, FileMovedEvent, DirMovedEvent]


def start_observer(folder: Watched, root: Path, polling: bool | None, settle: float) -> tuple[Any, bool]:
    """A started watchdog observer of ``root`` and whether it is inotify (else polling)."""
    from watchdog.observers.polling import PollingObserver

    if not polling:
        try:
            from watchdog.observers import Observer

            obs = Observer()
            obs.schedule(Handler(folder), str(root), recursive=True, event_filter=EVENTS)
            obs.start()
            return obs, type(obs).__name__.startswith("Inotify")
        except Exception as exc:  # inotify missing or out of watches
            log.warning("inotify unavailable (%s); polling %s", exc, root)
    obs = PollingObserver(timeout=max(0.2, min(1.0, settle)))
    obs.schedule(Handler(folder), str(root), recursive=True, event_filter=EVENTS)
    obs.start()
    return obs, False
