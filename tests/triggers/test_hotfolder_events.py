"""The hot folder's own reading never floods its inotify watch: the folder asks only for the
events it uses (create, write, close-write, move), not for every open and read-only close. Else
the rescan's walk and every file read came back as events, and a writer who made 20,000 folders
kept the inotify queue overflowing and the daemon's CPU near 100 % for as long as they stayed.
And the walk of the tree is paced by its own cost, also when folders are moved about."""

from __future__ import annotations

import os
import threading

from watchdog.events import DirModifiedEvent, FileClosedNoWriteEvent, FileOpenedEvent

from printstation.triggers import hotwatch
from support.daemon_harness import wait_until

from .conftest import zpl
from .test_hotfolder import handled_so_far, labels, make


def test_the_folder_never_receives_the_events_of_its_own_reads(tmp_path, store, printers, monkeypatch):
    got: list[type] = []
    lock = threading.Lock()

    def record(self, event):
        with lock:
            got.append(type(event))

    monkeypatch.setattr(hotwatch.Handler, "on_any_event", record, raising=False)
    hot, folder = make(tmp_path, store, printers, polling=False)
    hot.mkdir(parents=True, exist_ok=True)
    for i in range(50):
        os.makedirs(hot / "p3" / f"d{i}")  # each rescan walks (opens) every folder
    walks: list[int] = []
    real_walk = folder._rescan
    monkeypatch.setattr(folder, "_rescan", lambda: (real_walk(), walks.append(1)))
    folder.start()
    try:
        assert folder._inotify
        (hot / "one.zpl").write_bytes(zpl("ONE1"))
        wait_until(lambda: len(labels(store)) == 1, what="the file queued")
        done = len(walks)
        folder.rescan_soon()
        wait_until(lambda: len(walks) > done, what="a rescan")
        handled_so_far(hot, store)  # events arrive in order: the rescan's would be in by now
    finally:
        folder.stop()
    with lock:
        kinds = set(got)
    assert kinds, "no event reached the folder"
    assert not kinds & {FileOpenedEvent, FileClosedNoWriteEvent, DirModifiedEvent}, kinds


def test_folders_moved_about_in_a_loop_do_not_walk_the_tree_each_time(tmp_path, store, printers, monkeypatch):
    """A folder moved in asks for a rescan (its files sent no events), but no sooner than the
    last walk allows: a writer renaming a folder back and forth over a tree of 20,000 folders
    kept the daemon walking it (60–100 % CPU). Here the gap is an hour: one walk, at start."""
    from printstation.triggers import hotfolder

    monkeypatch.setattr(hotfolder, "RESCAN_S", 3600.0)
    monkeypatch.setattr(hotfolder, "MIN_RESCAN_GAP", 3600.0, raising=False)
    hot, folder = make(tmp_path, store, printers, polling=False)
    (hot / "p3" / "d").mkdir(parents=True)
    walks, asked = [], []
    real_walk, real_soon = folder._rescan, folder.rescan_soon
    monkeypatch.setattr(folder, "_rescan", lambda: (walks.append(1), real_walk()))
    monkeypatch.setattr(folder, "rescan_soon", lambda: (asked.append(1), real_soon()))
    folder.start()
    try:
        wait_until(lambda: walks, what="the walk at start")
        for i in range(10):
            os.rename(hot / "p3" / ("d" if i % 2 == 0 else "e"), hot / "p3" / ("e" if i % 2 == 0 else "d"))
            wait_until(lambda: len(asked) > i, what=f"move {i} seen")
        handled_so_far(hot, store)  # the loop has run since the last move
    finally:
        folder.stop()
    assert len(walks) == 1, f"{len(walks)} walks for {len(asked)} moves"
