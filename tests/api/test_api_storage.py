"""Bounded storage against the real daemon: the queue quota (507, uploads in flight count), the
retention purge, and a full data dir (a small tmpfs when mounting is permitted, else an injected
ENOSPC) with nothing lost after space returns."""

from __future__ import annotations

import errno
import logging
import os
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from support.daemon_harness import running, wait_until, write_config, zpl_values
from support.labelgen import wb_sticker_zpl
from support.printer_sinks import RecordingSink
from support.rawhttp import Responses, request

KB = 1024


def padded(value: str, size: int) -> bytes:
    """A ZPL sticker for ``value`` padded to about ``size`` bytes with a ``^FX`` comment."""
    label = wb_sticker_zpl(value)
    pad = b"^FX" + b"p" * max(0, size - len(label) - 3)
    return label.replace(b"^XZ", pad + b"^XZ", 1)


def test_queue_quota_is_507_with_one_line_reason(tmp_path):
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": sink.uri}],
                           extra="", api={"unix_socket": False})
        text = cfg.read_text().replace("[station]\n", "[station]\nmax_queue_mb = 0.25\n")
        cfg.write_text(text)
        with running(cfg) as d, httpx.Client(base_url=d.api.url, timeout=30) as http:
            http.post("/printers/a/pause")
            ids = [http.post("/jobs", content=padded(f"!q{i}", 80 * KB)).json()["id"] for i in range(3)]
            over = http.post("/jobs", content=padded("!over", 80 * KB))
            assert over.status_code == 507
            msg = over.json()["error"]
            assert msg.startswith("queue full:") and "max_queue_mb" in msg and "\n" not in msg
            assert len(d.store.list_jobs()) == 3
            # refused from the head alone: a client asking "100-continue" never sends the body
            with socket.create_connection(("127.0.0.1", d.api.port), timeout=30) as s:
                s.sendall(request("POST", "/jobs", {"Content-Length": str(80 * KB), "Expect": "100-continue"},
                                  length=False))
                status, headers, _ = Responses(s).next()
            assert status == 507 and headers["connection"] == "close"
            # a client that sends a big body first still reads the 507, and may go on using the connection
            big = padded("!big", 3 * 1024 * KB)
            r = http.post("/jobs", content=big)
            assert r.status_code == 507 and r.json()["error"].startswith("queue full:")
            assert http.get("/healthz").status_code == 200
            # a canceled job frees its share; an upload still in flight holds its share
            http.post(f"/jobs/{ids[0]}/cancel")
            with socket.create_connection(("127.0.0.1", d.api.port), timeout=30) as slow:
                body = padded("!slow", 60 * KB)
                slow.sendall(request("POST", "/jobs", {"Content-Length": str(len(body))}, length=False) + body[:100])
                wait_until(lambda: d.storage._inflight == len(body))
                assert http.post("/jobs", content=padded("!race", 60 * KB)).status_code == 507
                slow.sendall(body[100:])
                status, _, _ = Responses(slow).next()
                assert status == 201
            assert d.storage._inflight == 0
            http.post("/printers/a/resume")
            wait_until(lambda: all(j.state in ("done", "canceled") for j in d.store.list_jobs()), 30)
            assert sorted(zpl_values(sink.data)) == ["!q1", "!q2", "!slow"]


def test_retention_purges_old_finished_jobs_only(tmp_path, caplog):
    out = tmp_path / "out"
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": f"dir://{out}"}],
                       api={"unix_socket": False})
    with running(cfg) as d, httpx.Client(base_url=d.api.url, timeout=30) as http:
        done = [http.post("/jobs", content=wb_sticker_zpl(f"!d{i}")).json()["id"] for i in range(3)]
        recent = http.post("/jobs", content=wb_sticker_zpl("!recent")).json()["id"]
        failed = http.post("/jobs", content=b"%PDF-1.7 truncated").json()["id"]
        wait_until(lambda: all(d.store.get(i).state in ("done", "failed") for i in done + [recent, failed]), 60)
        http.post("/printers/a/pause")
        canceled = http.post("/jobs", content=wb_sticker_zpl("!c")).json()["id"]
        http.post(f"/jobs/{canceled}/cancel")
        queued = http.post("/jobs", content=wb_sticker_zpl("!q")).json()["id"]
        interrupted = http.post("/jobs", content=wb_sticker_zpl("!i")).json()["id"]
    data = tmp_path / "data"
    assert (data / "jobs" / f"{done[0]}.zpl").exists()
    old = time.time() - 15 * 86400
    with sqlite3.connect(data / "queue.sqlite3") as db:
        db.execute("UPDATE jobs SET state='interrupted', done=? WHERE id=?", (old, interrupted))
        db.execute("UPDATE jobs SET done=?, updated=?, created=? WHERE id<>?", (old, old, old, recent))
        db.execute("UPDATE jobs SET updated=? WHERE state='queued'", (old,))
    with caplog.at_level(logging.INFO, logger="printstation.storage"):
        d = Daemon(configmod.load(cfg))
        d.start()
        try:
            gone = set(done + [failed, canceled])
            line = wait_until(lambda: next((r.getMessage() for r in caplog.records
                                            if r.getMessage().startswith("retention: removed")), None), 30)
            left = {j.id: j.state for j in d.store.list_jobs(limit=1000)}
            assert left == {recent: "done", queued: "queued", interrupted: "interrupted"}
            for i in gone:
                assert not (data / "jobs" / f"{i}.zpl").exists()
                with pytest.raises(Exception, match="has no stored label"):
                    d.store.payload(i)
            assert (data / "jobs" / f"{recent}.zpl").exists()
            assert "removed 5 finished job(s) older than 14 day(s)" in line
            assert "canceled 1, done 3, failed 1" in line and str(done[0]) in line
        finally:
            d.stop()


# -- a full data dir --------------------------------------------------------------------------------


def mount_tmpfs(path: Path, size_mb: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(path)],
                           capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def fill(path: Path, leave: int = 0) -> Path:
    """Write a filler file in ``path`` until the filesystem has only ``leave`` bytes free."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * (64 * KB)
        while True:
            st = os.statvfs(path)
            if leave and st.f_bavail * st.f_frsize - len(block) < leave:
                break
            try:
                os.write(fd, block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    break
                block = block[: len(block) // 2]
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """``(data_dir, make_full, make_free, mode)``: a tmpfs when mounting is permitted, else an
    injected ENOSPC on every write of the data dir (SQLite and files)."""
    mnt = tmp_path / "mnt"
    if mount_tmpfs(mnt, 16):
        state: dict[str, Path] = {}
        try:
            # 2 MB stay free: SQLite itself runs out of room storing the 3 MB label
            yield mnt / "data", lambda: state.setdefault("filler", fill(mnt, leave=2048 * KB)), \
                lambda: state.pop("filler").unlink(), "tmpfs"
        finally:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)
        return
    from printstation import fsutil
    from printstation.queue import store as storemod

    full = {"on": False}
    real_submit, real_write = storemod.JobStore.submit, fsutil.atomic_write

    def submit(self, *a, **kw):
        if full["on"]:
            raise sqlite3.OperationalError("database or disk is full")
        return real_submit(self, *a, **kw)

    def atomic_write(*a, **kw):
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(*a, **kw)

    monkeypatch.setattr(storemod.JobStore, "submit", submit)
    monkeypatch.setattr(storemod, "atomic_write", atomic_write)
    monkeypatch.setattr("printstation.storage.free_bytes", lambda p: 0 if full["on"] else 1 << 30)
    yield tmp_path / "data", lambda: full.update(on=True), lambda: full.update(on=False), "injected"


def test_full_data_dir_gives_507_keeps_printing_and_loses_nothing(tmp_path, full_disk):
    data, make_full, make_free, mode = full_disk
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", data, [{"name": "a", "uri": sink.uri}], api={"unix_socket": False})
        with running(cfg) as d, httpx.Client(base_url=d.api.url, timeout=30) as http:
            assert http.get("/healthz").json()["disk"] == "ok"
            http.post("/printers/a/pause")
            queued = [http.post("/jobs", content=wb_sticker_zpl(f"!f{i}")).json()["id"] for i in range(4)]
            jobs_before = {j.id for j in d.store.list_jobs()}
            make_full()
            big = padded("!big", 3072 * KB)
            refused = http.post("/jobs", content=big)
            assert refused.status_code == 507, refused.text
            assert refused.json()["error"].startswith("data dir full: ")
            assert {j.id for j in d.store.list_jobs()} == jobs_before, "a refused submit left a job behind"
            assert not [p for p in (data / "jobs").iterdir() if p.name.endswith(".tmp")]
            assert http.get("/healthz").json()["disk"] == "full"
            # already queued jobs print on: the converted files cannot be written, memory serves
            http.post("/printers/a/resume")
            wait_until(lambda: all(d.store.get(i).state == "done" for i in queued), 60)
            assert sorted(zpl_values(sink.data)) == [f"!f{i}" for i in range(4)]
            assert http.get("/healthz").json()["disk"] == "full"
            # space returns: no restart needed
            make_free()
            wait_until(lambda: http.get("/healthz").json()["disk"] == "ok")
            again = http.post("/jobs", content=big)
            assert again.status_code == 201, again.text
            wait_until(lambda: d.store.get(again.json()["id"]).state == "done", 60)
            assert sorted(zpl_values(sink.data)) == sorted([f"!f{i}" for i in range(4)] + ["!big"])
            assert all(j.state == "done" for j in d.store.list_jobs())
