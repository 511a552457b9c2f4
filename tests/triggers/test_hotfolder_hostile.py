"""The hot folder against hostile and broken input: symlinks, FIFOs, devices, planted folder
symlinks, huge files, secret-bearing code lists, forged names, append cycles, a second watcher.
Real directories, a real queue, real inotify / polling."""

from __future__ import annotations

import logging
import os
import threading

import pytest

from printstation.errors import PrintstationError
from printstation.triggers.hotfolder import HotFolder
from support.daemon_harness import wait_until

from .conftest import StoreSubmitter, zpl
from .test_hotfolder import handled_so_far, labels
from .test_hotfolder import make as make_folder


def make(tmp_path, store, printers, **kw):
    kw.setdefault("settle_ms", 200)
    (tmp_path / "hot").mkdir(exist_ok=True)
    return make_folder(tmp_path, store, printers, **kw)


def error_of(hot, name):
    p = hot / ".failed" / f"{name}.error.txt"
    return p.read_text() if p.exists() else None


@pytest.fixture(params=["inotify", "polling"])
def mode(request):
    return request.param


def test_symlinks_fifo_and_big_files_go_to_failed_unread(tmp_path, store, printers, mode):
    secret = tmp_path / "private.zpl"
    secret.write_bytes(zpl("SECRET0600"))
    secret.chmod(0o600)
    hot, folder = make(tmp_path, store, printers, polling=(mode == "polling"), max_mb=1)
    os.symlink(secret, hot / "link.zpl")
    os.symlink("/dev/zero", hot / "zero.zpl")
    os.mkfifo(hot / "pipe.zpl")
    (hot / "big.zpl").write_bytes(b"^XA" + b"0" * (1024 * 1024) + b"^XZ")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", hot / "dirlink")
    folder.start()
    try:
        for name in ("link.zpl", "zero.zpl", "pipe.zpl", "big.zpl", "dirlink"):
            wait_until(lambda: error_of(hot, name), what=f"{name} failed")
        (hot / "good.zpl").write_bytes(zpl("GOOD1"))  # the folder goes on
        wait_until(lambda: store.list_jobs(), what="the good file queued")
    finally:
        folder.stop()
    assert error_of(hot, "link.zpl").strip() == "not a regular file (symlink)"
    assert error_of(hot, "zero.zpl").strip() == "not a regular file (symlink)"
    assert error_of(hot, "pipe.zpl").strip() == "not a regular file (FIFO)"
    assert error_of(hot, "dirlink").strip() == "not a regular file (symlink)"
    assert "too large" in error_of(hot, "big.zpl")
    # The links themselves were moved, never followed: the targets are untouched.
    assert os.path.islink(hot / ".failed" / "link.zpl") and secret.read_bytes() == zpl("SECRET0600")
    assert os.path.islink(hot / ".failed" / "zero.zpl")
    assert (hot / ".failed" / "pipe.zpl").is_fifo()
    assert [j.name for j in store.list_jobs()] == ["good.zpl"]
    assert b"SECRET0600" not in store.payload(store.list_jobs()[0].id)


def test_a_hard_link_is_refused(tmp_path, store, printers):
    secret = tmp_path / "private.zpl"
    secret.write_bytes(zpl("HARDLINKED"))
    hot, folder = make(tmp_path, store, printers)
    os.link(secret, hot / "hard.zpl")
    folder.start()
    try:
        wait_until(lambda: error_of(hot, "hard.zpl"), what="hard link failed")
    finally:
        folder.stop()
    assert "hard link" in error_of(hot, "hard.zpl") and store.list_jobs() == []


@pytest.mark.parametrize("planted", [(".failed",), (".done", "TODAY")])
def test_a_planted_folder_symlink_is_set_aside_never_followed(tmp_path, store, printers, planted, caplog):
    import datetime as dt

    jobs = tmp_path / "victim-jobs"
    jobs.mkdir()
    hot, folder = make(tmp_path, store, printers)
    parts = [dt.date.today().isoformat() if p == "TODAY" else p for p in planted]
    link = hot.joinpath(*parts)
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(jobs, link)
    (hot / "nosuch").mkdir()
    (hot / "nosuch" / "7.zpl").write_bytes(zpl("PLANTED7"))  # no such printer: → .failed
    (hot / "ok.zpl").write_bytes(zpl("OK1"))  # → .done/<today>
    caplog.set_level(logging.ERROR, "printstation.hotfolder")
    folder.start()
    try:
        wait_until(lambda: error_of(hot, "7.zpl") and store.list_jobs(), what="both files handled")
        wait_until(lambda: link.is_dir() and not link.is_symlink() and any(link.iterdir()), what="moved")
    finally:
        folder.stop()
    assert list(jobs.iterdir()) == []  # nothing went through the planted link
    assert not link.is_symlink() and link.is_dir()
    aside = [p for p in link.parent.iterdir() if p.name.startswith(link.name + ".suspect-")]
    assert len(aside) == 1 and aside[0].is_symlink()
    assert any("not the station's folder" in r.getMessage() for r in caplog.records)


def drop_failing(tmp_path, store, printers, name, data):
    """Drop one file that fails; the folder and the text of its ``.error.txt``."""
    hot, folder = make(tmp_path, store, printers)
    (hot / name).write_bytes(data)
    folder.start()
    try:
        wait_until(lambda: error_of(hot, name), what=f"{name} failed")
    finally:
        folder.stop()
    return folder, error_of(hot, name)


def test_a_code_list_never_copies_its_lines(tmp_path, store, printers):
    token = "eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjQxMDE2djEiLCJ0eXAiOiJKV1QifQ.SECRETPAYLOAD.sig"
    folder, text = drop_failing(tmp_path, store, printers, "x.txt",
                                f"# header\n{token}\nAnother secret line\n".encode())
    assert "line 2: 'eyJh…' (" in text and f"({len(token)} chars)" in text and "line 3: 'Anot…'" in text
    assert "SECRETPAYLOAD" not in text and "Another secret" not in text
    recs = folder.scans.recent()
    assert recs and all("SECRET" not in str(r) and "Another" not in str(r) for r in recs)
    folder.scans.state.close()
    for f in (tmp_path / "data").glob("triggers.sqlite*"):
        assert b"SECRETPAYLOAD" not in f.read_bytes() and b"Another secret" not in f.read_bytes()


def test_an_unknown_format_error_does_not_quote_the_file(tmp_path, store, printers):
    _, text = drop_failing(tmp_path, store, printers, "passwd.pdf", b"root:x:0:0:root:/root:/bin/bash\n")
    assert "unrecognised label format" in text and "root:" not in text


def test_hostile_names_are_escaped_in_jobs_and_logs(tmp_path, store, printers, caplog):
    hot, folder = make(tmp_path, store, printers)
    forged = "a\nINFO printstation: forged\x1b[31m.zpl"
    raw = b"bad-\xff\xfe.zpl"
    (hot / forged).write_bytes(zpl("NAME1"))
    with open(os.path.join(os.fsencode(hot), raw), "wb") as fh:
        fh.write(zpl("NAME2"))
    caplog.set_level(logging.INFO, "printstation.hotfolder")
    folder.start()
    try:
        wait_until(lambda: len(store.list_jobs()) == 2, what="2 jobs")
    finally:
        folder.stop()
    names = sorted(j.name for j in store.list_jobs())
    assert names == ["a\\nINFO printstation: forged\\x1b[31m.zpl", "bad-\\xff\\xfe.zpl"]
    for r in caplog.records:
        msg = r.getMessage()
        assert "\n" not in msg and "\x1b" not in msg and "\udcff" not in msg
    assert (hot / ".done").exists()


@pytest.mark.parametrize("polling", [False, True])
def test_open_append_close_cycles_make_one_job(tmp_path, store, printers, polling):
    hot, folder = make(tmp_path, store, printers, polling=polling, settle_ms=400)
    folder.start()
    data = zpl("CYCLES" + "9" * 8)  # fits 58×40 (Code 128 subset B, ^BY2)
    path = hot / "cycles.zpl"
    try:
        gate = threading.Event()
        for i in range(len(data)):  # 40+ separate open/append/close cycles
            with open(path, "ab") as fh:
                fh.write(data[i:i + 1])
            gate.wait(0.05)
        job = wait_until(lambda: store.list_jobs(), what="the job")
        wait_until(lambda: (hot / ".done").exists() and not path.exists(), what="moved")
        handled_so_far(hot, store)  # the cycles' late events queue nothing more
    finally:
        folder.stop()
    assert len(labels(store)) == 1 and store.payload(job[0].id) == data


def test_a_writer_holding_the_file_open_delays_the_take(tmp_path, store, printers, monkeypatch):
    """Polling (no inotify): a writer pausing longer than settle_ms keeps the file (``/proc``)."""
    from printstation.triggers import hotfolder as hf

    busy_answers = []
    real = hf.open_for_writing

    def spy(ids):
        found = real(ids)
        busy_answers.append(bool(found))
        return found

    monkeypatch.setattr(hf, "open_for_writing", spy)
    hot, folder = make(tmp_path, store, printers, polling=True, settle_ms=100)
    folder.start()
    data = zpl("HELD123")
    try:
        with open(hot / "held.zpl", "wb") as fh:
            fh.write(data[:10])
            fh.flush()
            # The file is quiet past settle_ms and was checked: the writer holds it, not taken.
            wait_until(lambda: busy_answers.count(True) >= 3, what="the writer seen three times")
            assert store.list_jobs() == [], "taken while a writer still held it open"
            fh.write(data[10:])
        job = wait_until(lambda: store.list_jobs(), what="the job")
    finally:
        folder.stop()
    assert store.payload(job[0].id) == data


def test_a_second_watcher_on_the_same_folder_is_refused(tmp_path, store, printers):
    hot, first = make(tmp_path, store, printers)
    first.start()
    try:
        second = HotFolder(hot, StoreSubmitter(store), printers=printers, default_printer="default")
        with pytest.raises(PrintstationError, match="already watched by another printstation"):
            second.start()
        (hot / "one.zpl").write_bytes(zpl("ONE"))
        wait_until(lambda: store.list_jobs(), what="queued by the first")
    finally:
        first.stop()
    again = HotFolder(hot, StoreSubmitter(store), printers=printers, default_printer="default")
    again.start()  # the lock went with the first watcher
    again.stop()
    assert len(store.list_jobs()) == 1


def test_a_long_code_list_is_read_up_to_its_limit(tmp_path, store, printers):
    from printstation.triggers.hotfolder import MAX_LINES

    folder, text = drop_failing(tmp_path, store, printers, "many.txt",
                                "".join(f"CODE{i}\n" for i in range(MAX_LINES + 500)).encode())
    assert f"lines {MAX_LINES + 1}…: not read: a code list is read up to line {MAX_LINES}" in text
    assert len(folder.scans.recent(limit=10 * MAX_LINES)) == MAX_LINES


def test_names_of_255_bytes_leave_the_folder(tmp_path, store, printers):
    """A name at the file-name limit is moved away (to a shorter name when a suffix or the
    ``.error.txt`` beside it would not fit), never left behind to be taken at every start."""
    hot, folder = make(tmp_path, store, printers)
    good = "g" * 251 + ".zpl"
    bad = "b" * 243 + ".x2.zpl"  # fails: its .error.txt would be 265 bytes
    cyr = "я" * 125 + ".zpl"  # 254 bytes: cut on a character boundary
    (hot / good).write_bytes(zpl("LONG1"))
    (hot / bad).write_bytes(b"%%not a label")
    (hot / cyr).write_bytes(zpl("LONG2"))
    folder.start()
    try:
        wait_until(lambda: not any(p.is_file() for p in hot.iterdir()), what="the folder emptied")
        (hot / good).write_bytes(zpl("LONG3"))  # the same name again: a second name in .done
        wait_until(lambda: not (hot / good).exists(), what="the second file moved")
    finally:
        folder.stop()
    done = [p.name for p in (hot / ".done").iterdir() for p in p.iterdir()]
    assert len(done) == 3 and all(len(os.fsencode(n)) <= 245 for n in done)
    assert all(n.endswith(".zpl") for n in done) and any(n.startswith("я" * 100) for n in done)
    errors = [p for p in (hot / ".failed").iterdir() if p.name.endswith(".error.txt")]
    assert len(errors) == 1 and "unrecognised label format" in errors[0].read_text()
    assert errors[0].name.startswith("b" * 200) and errors[0].name.endswith(".x2.zpl.error.txt")
    assert sorted(j.name for j in store.list_jobs()) == sorted([cyr, good, good])
