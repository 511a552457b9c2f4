"""The hot folder's own reading never floods its inotify watch: the folder asks only for the
events it uses (create, write, close-write, move), not for every open and read-only close. Else
the rescan's walk and every file read came back as events, and a writer who made 20,000 folders
kept the inotify queue overflowing and the daemon's CPU near 100 % for as long as they stayed."""

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
    folder.start()
    try:
        assert folder._inotify
        (hot / "one.zpl").write_bytes(zpl("ONE1"))
        wait_until(lambda: len(labels(store)) == 1, what="the file queued")
        folder.rescan_soon()
        wait_until(lambda: folder._rescan_at > 0, what="a rescan")
        handled_so_far(hot, store)  # events arrive in order: the rescan's would be in by now
    finally:
        folder.stop()
    with lock:
        kinds = set(got)
    assert kinds, "no event reached the folder"
    assert not kinds & {FileOpenedEvent, FileClosedNoWriteEvent, DirModifiedEvent}, kinds
