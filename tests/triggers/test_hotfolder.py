"""Hot folder with real directories and a real queue."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest

from printstation.pipeline import convert
from printstation.triggers.hotfolder import HotFolder, copies_of, ignored_name
from printstation.triggers.rules import ScanSettings
from printstation.triggers.service import ScanService
from printstation.triggers.state import TriggerState
from support import labelgen
from support.daemon_harness import wait_until

from .conftest import StoreSubmitter, zpl


def make(tmp_path, store, printers, **kw):
    hot = tmp_path / "hot"
    state = TriggerState(tmp_path / "data" / "triggers.sqlite")
    sub = StoreSubmitter(store)
    scans = ScanService(ScanSettings(), state, sub, printers=printers, default_printer="default")
    kw.setdefault("settle_ms", 300)
    folder = HotFolder(hot, sub, printers=printers, default_printer="default", scans=scans,
                       validate=convert, **kw)
    return hot, folder


def done_files(hot):
    d = hot / ".done"
    return sorted(p.name for p in d.rglob("*") if p.is_file()) if d.exists() else []


MARKER = "zz-marker-"


def handled_so_far(hot, store) -> None:
    """Proof that the folder has handled every event that came before now, in place of a pause:
    a file dropped now is queued, and events arrive in order and due files are taken in name
    order (a marker's name sorts last), so anything an earlier event would queue is queued."""
    marker = hot / f"{MARKER}{len(store.list_jobs(limit=1000))}.zpl"
    marker.write_bytes(zpl("MARKER"))
    wait_until(lambda: any(j.name == marker.name for j in store.list_jobs(limit=1000)), what="the marker file")
    wait_until(lambda: not marker.exists(), what="the marker file moved to .done")


def labels(store) -> list:
    """The queued jobs but the markers."""
    return [j for j in store.list_jobs(limit=1000) if not j.name.startswith(MARKER)]


@pytest.fixture(params=["inotify", "polling"])
def mode(request):
    return request.param


def test_names():
    assert copies_of("a.x3.pdf") == 3 and copies_of("a.pdf") is None and copies_of("lbl.X12.zpl") == 12
    for n in (".hidden.pdf", "a.tmp", "a.pdf.part", "a.crdownload", "a.pdf~"):
        assert ignored_name(n)
    assert not ignored_name("a.pdf")


def test_present_at_start_printer_dirs_copies(tmp_path, store, printers, mode):
    hot = tmp_path / "hot"
    (hot / "p2").mkdir(parents=True)
    (hot / "root.zpl").write_bytes(zpl("ROOT1"))
    (hot / "p2" / "two.x3.png").write_bytes(labelgen.wb_sticker_png("TWO2"))
    hot, folder = make(tmp_path, store, printers, polling=(mode == "polling"))
    folder.start()
    try:
        wait_until(lambda: len(store.list_jobs()) == 2, what="2 jobs")
        wait_until(lambda: len(done_files(hot)) == 2, what="files moved to .done")
    finally:
        folder.stop()
    jobs = {j.name: j for j in store.list_jobs()}
    assert jobs["root.zpl"].printer == "default" and jobs["root.zpl"].source == "hotfolder"
    assert jobs["two.x3.png"].printer == "p2" and jobs["two.x3.png"].copies == 3
    assert store.payload(jobs["root.zpl"].id) == zpl("ROOT1")
    today = dt.date.today().isoformat()
    assert (hot / ".done" / today / "root.zpl").exists()
    assert not (hot / "root.zpl").exists()


def test_half_written_file_taken_only_when_complete(tmp_path, store, printers, mode):
    hot, folder = make(tmp_path, store, printers, polling=(mode == "polling"))
    folder.start()
    data = labelgen.wb_sticker_png("SLOW123456")
    try:
        with open(hot / "slow.png", "wb") as fh:  # written in chunks, pauses shorter than settle
            step = len(data) // 8 + 1
            for i in range(0, len(data), step):
                fh.write(data[i:i + step])
                fh.flush()
                time.sleep(0.12)
                assert store.list_jobs() == [], "taken while still being written"
        job = wait_until(lambda: store.list_jobs(), what="the job")
        handled_so_far(hot, store)  # late events must not queue it again
    finally:
        folder.stop()
    assert len(labels(store)) == 1
    assert store.payload(job[0].id) == data


def test_part_files_ignored_until_renamed(tmp_path, store, printers, mode):
    hot, folder = make(tmp_path, store, printers, polling=(mode == "polling"))
    folder.start()
    try:
        for ext in (".part", ".tmp", ".crdownload", "~"):
            (hot / f"dl.zpl{ext}").write_bytes(zpl("PART"))
        (hot / ".hidden.zpl").write_bytes(zpl("HIDDEN"))
        handled_so_far(hot, store)
        assert labels(store) == []
        os.rename(hot / "dl.zpl.part", hot / "dl.zpl")
        wait_until(lambda: labels(store), what="renamed file queued")
        handled_so_far(hot, store)
    finally:
        folder.stop()
    assert [j.name for j in labels(store)] == ["dl.zpl"]
    assert (hot / "dl.zpl.tmp").exists() and (hot / ".hidden.zpl").exists()


def test_burst_of_200(tmp_path, store, printers):
    hot, folder = make(tmp_path, store, printers)
    folder.start()
    try:
        for i in range(200):
            sub = hot / ("p3" if i % 2 else "")
            sub.mkdir(exist_ok=True)
            (sub / f"b{i:03d}.zpl").write_bytes(zpl(f"B{i:03d}"))
        wait_until(lambda: len(done_files(hot)) == 200, timeout=60, what="200 files done")
        handled_so_far(hot, store)
    finally:
        folder.stop()
    jobs = labels(store)
    names = sorted(j.name for j in jobs)
    assert names == [f"b{i:03d}.zpl" for i in range(200)]  # each exactly once
    assert sum(j.printer == "p3" for j in jobs) == 100


def test_bad_files_go_to_failed_with_reason(tmp_path, store, printers):
    hot, folder = make(tmp_path, store, printers)
    (hot / "nosuch").mkdir(parents=True)
    (hot / "nosuch" / "x.zpl").write_bytes(zpl("X"))
    (hot / "junk.pdf").write_bytes(b"this is not a label at all")
    (hot / "empty.zpl").write_bytes(b"")
    (hot / "p2" ).mkdir()
    (hot / "p2" / "zpl-for-tspl.zpl").write_bytes(zpl("Z"))  # ZPL cannot go to a TSPL printer
    folder.start()
    try:
        wait_until(lambda: len(list((hot / ".failed").glob("*.error.txt"))) == 4 if (hot / ".failed").exists() else False,
                 what="4 failed files")
    finally:
        folder.stop()
    assert store.list_jobs() == []
    failed = hot / ".failed"
    assert "no printer named 'nosuch'" in (failed / "x.zpl.error.txt").read_text()
    assert (failed / "junk.pdf").read_bytes() == b"this is not a label at all"
    assert (failed / "junk.pdf.error.txt").read_text().strip()
    assert "empty" in (failed / "empty.zpl.error.txt").read_text()
    assert "TSPL" in (failed / "zpl-for-tspl.zpl.error.txt").read_text()


def test_repeated_events_print_once(tmp_path, store, printers):
    hot, folder = make(tmp_path, store, printers)
    folder.start()
    try:
        p = hot / "rep.zpl"
        p.write_bytes(zpl("REP"))
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                folder.notice(str(p), complete=True)
                folder.notice(str(p))
                folder.rescan_soon()

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: done_files(hot), what="done")
        handled_so_far(hot, store)  # the hammering goes on meanwhile
        stop.set()
        for t in threads:
            t.join()
    finally:
        folder.stop()
    assert len(labels(store)) == 1


def test_same_name_again_prints_again_and_keeps_both(tmp_path, store, printers):
    hot, folder = make(tmp_path, store, printers)
    folder.start()
    try:
        (hot / "again.zpl").write_bytes(zpl("A1"))
        wait_until(lambda: len(done_files(hot)) == 1, what="first")
        (hot / "again.zpl").write_bytes(zpl("A2"))
        wait_until(lambda: len(done_files(hot)) == 2, what="second")
    finally:
        folder.stop()
    assert len(store.list_jobs()) == 2
    assert done_files(hot) == ["again-1.zpl", "again.zpl"]


# Notepad/Excel save code lists with a byte-order mark (UTF-8 or UTF-16): read, mark dropped.
@pytest.mark.parametrize("enc", ["utf-8", "utf-8-sig", "utf-16"])  # utf-16 writes its mark
def test_txt_list_unmatched_lines_reported(tmp_path, store, printers, enc):
    hot, folder = make(tmp_path, store, printers)
    hot.mkdir(parents=True)
    (hot / "list.txt").write_bytes("# exported\n\nhello world\nPS:PAUSE\n".encode(enc))
    folder.start()
    try:
        wait_until(lambda: (hot / ".failed" / "list.txt.error.txt").exists(), what="list failed")
    finally:
        folder.stop()
    text = (hot / ".failed" / "list.txt.error.txt").read_text()
    # Lines are named by number and a redacted preview, never copied in full.
    assert "line 3: 'hell…' (11 chars): unmatched" in text and "line 4: 'PS:P…' (8 chars)" in text
    assert "hello world" not in text and "PS:PAUSE" not in text
    recs = folder.scans.recent()
    assert [r["code"] for r in recs] == ["'PS:P…' (8 chars)", "'hell…' (11 chars)"]


def test_keep_days_cleanup(tmp_path, store, printers):
    hot, folder = make(tmp_path, store, printers, keep_days=7)
    old = hot / ".done" / "2000-01-01"
    old.mkdir(parents=True)
    (old / "x.zpl").write_bytes(b"x")
    recent = hot / ".done" / dt.date.today().isoformat()
    recent.mkdir()
    folder.start()
    try:
        wait_until(lambda: not old.exists(), what="old day removed")
    finally:
        folder.stop()
    assert recent.exists()


def test_zpl_file_with_a_bom_prints_without_it(tmp_path, store, printers):
    hot, folder = make(tmp_path, store, printers)
    hot.mkdir(parents=True)
    (hot / "notepad.zpl").write_bytes(b"\xef\xbb\xbf" + zpl("BOM1234"))
    folder.start()
    try:
        wait_until(lambda: len(done_files(hot)) == 1, what="file done")
    finally:
        folder.stop()
    (job,) = store.list_jobs()
    out = convert(store.payload(job.id), printers[job.printer])
    assert out == [zpl("BOM1234")[:3] + b"^PW464^LL320" + zpl("BOM1234")[3:]]
