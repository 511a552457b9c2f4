"""The real daemon against hostile input: poison ZPL (API and hot folder), a slow SVG on one of
two raster printers, a slow SVG in the hot folder, a damaged or missing queue database, two
daemons on one hot folder, escaped job names in ``printstation jobs``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import httpx
import pytest

from support.daemon_harness import FINAL, REPO, running, wait_until
from support.daemon_harness import dir_printers_config as config
from support.labelgen import slow_svg, wb_sticker_png, wb_sticker_zpl
from support.render_back import decode, render_back


def out_files(tmp_path, printer):
    d = tmp_path / "out" / printer
    return sorted(d.iterdir()) if d.exists() else []


def test_poison_zpl_fails_alone_via_api_and_hot_folder(tmp_path):
    cfg = config(tmp_path, {"z": "zpl"})
    with running(cfg) as d:
        http = httpx.Client(base_url=d.api.url, timeout=30)
        poison = [b"~XA^XZ", b"^XA^FO" + b"5" * 5000 + b"^XZ", b"^XA^FO10,10^FDok^FS^XZ^XA^FO10,",
                  b"^XA^FO0,0^GFB,5000,5000,50,\x00\x01^XZ"]
        ids = [http.post("/jobs", params={"printer": "z"}, content=p).json()["id"] for p in poison]
        good = http.post("/jobs", params={"printer": "z"}, content=wb_sticker_zpl("AFTER1")).json()["id"]
        wait_until(lambda: all(http.get(f"/jobs/{i}").json()["state"] in FINAL for i in ids + [good]), 30)
        jobs = [http.get(f"/jobs/{i}").json() for i in ids]
        assert [j["state"] for j in jobs] == ["failed"] * 4
        assert "no ^XA" in jobs[0]["error"] and "5000 digits" in jobs[1]["error"]
        assert "truncated ZPL" in jobs[2]["error"] and "truncated ^GF" in jobs[3]["error"]
        assert all("\n" not in j["error"] for j in jobs)
        assert http.get(f"/jobs/{good}").json()["state"] == "done"
        assert b"AFTER1" in (tmp_path / "out" / "z" / f"{good}.zpl").read_bytes()
        # The same poison dropped in the hot folder: .failed with the reason, the folder goes on.
        hot = tmp_path / "hot"
        (hot / "p1.zpl").write_bytes(b"~XA^XZ")
        (hot / "p2.zpl").write_bytes(b"^XA^FO" + b"5" * 5000 + b"^XZ")
        (hot / "ok.zpl").write_bytes(wb_sticker_zpl("HOTOK1"))
        err = hot / ".failed"
        wait_until(lambda: (err / "p1.zpl.error.txt").exists() and (err / "p2.zpl.error.txt").exists(), 30)
        assert "no ^XA" in (err / "p1.zpl.error.txt").read_text()
        assert "5000 digits" in (err / "p2.zpl.error.txt").read_text()
        wait_until(lambda: any(j["name"] == "ok.zpl" and j["state"] == "done"
                               for j in http.get("/jobs").json()["jobs"]), 30)
        http.close()


@pytest.mark.slow
def test_a_slow_svg_on_one_printer_does_not_hold_the_other(tmp_path):
    cfg = config(tmp_path, {"a": "tspl", "b": "tspl"}, hot=False)
    with running(cfg, convert_timeout=15) as d:
        http = httpx.Client(base_url=d.api.url, timeout=30)
        slow = http.post("/jobs", params={"printer": "a"}, content=slow_svg(60000)).json()["id"]
        wait_until(lambda: d.workers["a"].current_job == slow, 30)  # a's renderer is busy with it
        fast = http.post("/jobs", params={"printer": "b"}, content=wb_sticker_png("FAST123")).json()["id"]
        wait_until(lambda: http.get(f"/jobs/{fast}").json()["state"] in FINAL, 30)
        assert http.get(f"/jobs/{fast}").json()["state"] == "done"
        assert http.get(f"/jobs/{slow}").json()["state"] == "queued", "b waited for a's slow label"
        backs = render_back("tspl", (tmp_path / "out" / "b" / f"{fast}.tspl").read_bytes(), 203)
        assert "FAST123" in decode(backs[0].image)
        wait_until(lambda: http.get(f"/jobs/{slow}").json()["state"] in FINAL, 60)
        assert http.get(f"/jobs/{slow}").json()["error"] == "rendering timed out"
        http.close()


@pytest.mark.slow
def test_a_slow_svg_in_the_hot_folder_is_checked_in_a_renderer_with_a_time_limit(tmp_path):
    cfg = config(tmp_path, {"a": "tspl"})
    with running(cfg, convert_timeout=3) as d:
        hot = tmp_path / "hot"
        (hot / "slow.svg").write_bytes(slow_svg(60000))
        err = hot / ".failed" / "slow.svg.error.txt"
        wait_until(err.exists, 60)
        assert "rendering timed out" in err.read_text()
        (hot / "ok.png").write_bytes(wb_sticker_png("OKHOT1"))
        wait_until(lambda: d.store.list_jobs() and d.store.list_jobs()[0].state == "done", 60)
        assert d.store.list_jobs()[0].name == "ok.png" and len(d.store.list_jobs()) == 1
        # Rendered once, in a renderer child: the daemon never imported the SVG renderer for it.
        assert d.converter.isolate.restarts >= 1


def test_the_hot_folder_label_is_rendered_once(tmp_path):
    cfg = config(tmp_path, {"a": "tspl"})
    with running(cfg) as d:
        calls = []
        pool = d.converter.isolate
        real = pool.iter_convert  # (what convert and the printer workers' page-by-page sends use)
        pool.iter_convert = lambda data, spec, timeout=None: calls.append(1) or real(data, spec, timeout)
        (tmp_path / "hot" / "once.png").write_bytes(wb_sticker_png("ONCE123"))
        wait_until(lambda: d.store.list_jobs() and d.store.list_jobs()[0].state == "done", 60)
        assert len(calls) == 1


def children(pid: int) -> set[int]:
    """The child processes of ``pid`` (started by any of its threads)."""
    out: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out.update(int(x) for x in fh.read().split())
        except OSError:
            continue
    return out


def run_cli(*args, cwd=None, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "printstation", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def test_a_damaged_queue_database_is_one_line_and_exit_1(tmp_path):
    cfg = config(tmp_path, {"z": "zpl"}, hot=False)
    with running(cfg) as d:
        d.store.submit("z", wb_sticker_zpl("KEEP1"))
    db = tmp_path / "data" / "queue.sqlite3"
    assert db.stat().st_mode & 0o077 == 0  # created 0600
    blob = bytearray(db.read_bytes())
    blob[100:4096] = os.urandom(3996)  # header intact, schema page garbage
    db.write_bytes(bytes(blob))
    r = run_cli("run", "--config", str(cfg))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr
    assert lines[-1].startswith(f"printstation: error: queue database {db} is damaged: ")
    assert lines[-1].endswith("(move it aside to start empty)")
    db.write_bytes(b"not a database at all" * 100)
    r = run_cli("run", "--config", str(cfg))
    assert r.returncode == 1 and "is damaged" in r.stderr and "Traceback" not in r.stderr


def test_a_missing_queue_database_with_job_files_refuses_to_start(tmp_path):
    cfg = config(tmp_path, {"z": "zpl"}, hot=False)
    with running(cfg) as d:
        job = d.store.submit("z", wb_sticker_zpl("KEEP2"))[0]
        wait_until(lambda: d.store.get(job.id).state == "done", 30)
    assert (tmp_path / "data" / "jobs" / f"{job.id}.zpl").exists()
    for f in (tmp_path / "data").glob("queue.sqlite3*"):
        f.unlink()
    r = run_cli("run", "--config", str(cfg))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "printstation: error: queue database" in r.stderr and "still holds 1 job file" in r.stderr
    (tmp_path / "data" / "queue.sqlite3").write_bytes(b"")  # an emptied file: the same
    r = run_cli("run", "--config", str(cfg))
    assert r.returncode == 1 and "still holds 1 job file" in r.stderr
    with sqlite3.connect(tmp_path / "data" / "queue.sqlite3") as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == 0  # refused: nothing written
    # Moved aside as the damaged-database line says: it starts empty, old job files swept.
    (tmp_path / "data" / "queue.sqlite3").rename(tmp_path / "data" / "queue.sqlite3.bad")
    with running(cfg) as d:
        assert d.store.list_jobs() == []
        new = d.store.submit("z", wb_sticker_zpl("FRESH1"))[0]
        wait_until(lambda: d.store.get(new.id).state == "done", 30)
    # the ids start again: the earlier queue's label of that id, still in the printer folder, is
    # kept (never replaced); the new one goes beside it
    assert new.id == job.id and b"KEEP2" in (tmp_path / "out" / "z" / f"{job.id}.zpl").read_bytes()
    assert b"FRESH1" in (tmp_path / "out" / "z" / f"{new.id}-1.zpl").read_bytes()


def test_schema_version_recorded(tmp_path):
    cfg = config(tmp_path, {"z": "zpl"}, hot=False)
    with running(cfg):
        pass
    with sqlite3.connect(tmp_path / "data" / "queue.sqlite3") as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert (tmp_path / "data" / "printstation.lock").stat().st_mode & 0o077 == 0
    assert (tmp_path / "data" / "triggers.sqlite").stat().st_mode & 0o077 == 0


def test_two_daemons_on_one_hot_folder(tmp_path, caplog):
    one = config(tmp_path / "one", {"z": "zpl"})
    two_dir = tmp_path / "two"
    two = config(two_dir, {"z": "zpl"}, hot=False)
    two.write_text(two.read_text() + f'\n[hotfolder]\npath = "{tmp_path / "one" / "hot"}"\nsettle_ms = 100\n')
    with running(one) as d1:
        with running(two) as d2:
            assert d1.triggers.hotfolder is not None and d2.triggers.hotfolder is None
            assert any("already watched by another printstation" in r.getMessage() for r in caplog.records)
            assert httpx.get(d2.api.url + "/printers").status_code == 200  # the second daemon runs on
            hot = tmp_path / "one" / "hot"
            for i in range(20):
                (hot / f"f{i:02d}.zpl").write_bytes(wb_sticker_zpl(f"TWO{i:03d}"))
            wait_until(lambda: len(d1.store.list_jobs()) == 20, 60)
            assert d2.store.list_jobs() == []


def test_jobs_listing_escapes_names(tmp_path):
    cfg = config(tmp_path, {"z": "zpl"}, hot=False)
    raw = os.path.join(os.fsencode(tmp_path), b"lbl-\xff\xfe.zpl")
    with open(raw, "wb") as fh:
        fh.write(wb_sticker_zpl("RAW1"))
    with running(cfg) as d:
        d.store.submit("z", wb_sticker_zpl("ESC1"), name="evil\x1b]0;owned\x07\r\nname.zpl")
        p = run_cli("print", os.fsdecode(raw), "--api", d.api.url)
        assert p.returncode == 0, p.stderr
        r = run_cli("jobs", "--api", d.api.url)
    assert r.returncode == 0, r.stderr
    assert "lbl-\\xff\\xfe.zpl" in r.stdout
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\r" not in r.stdout
    assert "evil\\x1b]0;owned\\x07\\r\\nname.zpl" in r.stdout


@pytest.mark.slow
def test_the_daemon_process_against_a_hostile_hot_folder(tmp_path):
    """``printstation run`` as systemd runs it: `.failed` planted as a symlink to the job store,
    files named like job files dropped for a missing printer, a symlink to a private file, a
    FIFO — then genuine jobs print their own bytes and SIGTERM stops it at once."""
    import signal

    from support.daemon_harness import DaemonProcess

    cfg = config(tmp_path, {"z": "zpl"})
    hot, jobs = tmp_path / "hot", tmp_path / "data" / "jobs"
    jobs.mkdir(parents=True)
    hot.mkdir()
    os.symlink(jobs, hot / ".failed")
    (hot / "nosuch").mkdir()
    for n in (1, 2, 3):
        (hot / "nosuch" / f"{n}.zpl").write_bytes(wb_sticker_zpl(f"PLANTED{n}"))
    secret = tmp_path / "secret.zpl"
    secret.write_bytes(wb_sticker_zpl("SECRET01"))
    secret.chmod(0o600)
    os.symlink(secret, hot / "steal.zpl")
    os.mkfifo(hot / "pipe.zpl")
    proc = DaemonProcess(cfg, tmp_path / "notify.sock")
    try:
        proc.wait_ready(60)
        failed = hot / ".failed"
        wait_until(lambda: failed.is_dir() and not failed.is_symlink()
                   and all((failed / f"{n}.zpl.error.txt").exists() for n in (1, 2, 3))
                   and (failed / "steal.zpl.error.txt").exists() and (failed / "pipe.zpl.error.txt").exists(), 60)
        assert "not a regular file (symlink)" in (failed / "steal.zpl.error.txt").read_text()
        assert "not a regular file (FIFO)" in (failed / "pipe.zpl.error.txt").read_text()
        assert not any(p.name.endswith(".zpl") for p in jobs.iterdir())  # nothing planted in the store
        http = httpx.Client(base_url=proc.api_url(), timeout=30)
        ids = [http.post("/jobs", content=wb_sticker_zpl(f"GENUINE{n}")).json()["id"] for n in (1, 2, 3)]
        wait_until(lambda: all(http.get(f"/jobs/{i}").json()["state"] == "done" for i in ids), 60)
        for n, i in zip((1, 2, 3), ids):
            out = (tmp_path / "out" / "z" / f"{i}.zpl").read_bytes()
            assert f"GENUINE{n}".encode() in out and b"PLANTED" not in out and b"SECRET" not in out
        http.close()
        proc.signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "not the station's folder" in proc.log()
    finally:
        proc.close()


@pytest.mark.slow
def test_sigterm_while_slow_labels_render_stops_now_and_keeps_them(tmp_path):
    """Slow labels in conversion (a job and a hot-folder file) do not hold SIGTERM for their
    render_timeout: the renderers are killed, the job stays queued, the file stays in the folder."""
    import signal

    from support.daemon_harness import DaemonProcess

    cfg = config(tmp_path, {"a": "tspl"})
    proc = DaemonProcess(cfg, tmp_path / "notify.sock")
    try:
        proc.wait_ready(60)
        http = httpx.Client(base_url=proc.api_url(), timeout=30)
        job = http.post("/jobs", content=slow_svg(80000)).json()["id"]
        (tmp_path / "hot" / "slow.svg").write_bytes(slow_svg(80001))

        wait_until(lambda: len(children(proc.proc.pid)) >= 2, 60)  # the job's conversion and the folder's check
        http.close()
        proc.signal(signal.SIGTERM)
        assert proc.wait(15) == 0  # not the 20 s render_timeout of either label
    finally:
        proc.close()
    assert (tmp_path / "hot" / "slow.svg").exists()
    assert not (tmp_path / "hot" / ".failed" / "slow.svg.error.txt").exists()
    with sqlite3.connect(tmp_path / "data" / "queue.sqlite3") as c:
        assert c.execute("SELECT state FROM jobs WHERE id=?", (job,)).fetchone()[0] == "queued"


@pytest.mark.slow
def test_renderers_end_with_a_killed_daemon(tmp_path):
    """SIGKILL of the daemon mid-render: its renderer children do not render on, orphaned."""
    import signal

    from support.daemon_harness import DaemonProcess

    cfg = config(tmp_path, {"a": "tspl"}, hot=False)
    proc = DaemonProcess(cfg, tmp_path / "notify.sock")
    try:
        proc.wait_ready(60)
        httpx.post(proc.api_url() + "/jobs", content=slow_svg(80000), timeout=30)
        def cpu_ticks(pid: int) -> int:
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().split(") ")[-1].split()
                return int(fields[11]) + int(fields[12])  # utime + stime
            except (OSError, IndexError, ValueError):
                return 0

        # A renderer busy with the label: well past its start-up (imports) in CPU time.
        kids = wait_until(lambda: {k for k in children(proc.proc.pid)
                                   if cpu_ticks(k) > os.sysconf("SC_CLK_TCK") * 3}, 60)
        proc.signal(signal.SIGKILL)
        proc.wait(30)

        def gone() -> bool:
            for k in kids:
                try:
                    with open(f"/proc/{k}/stat") as fh:
                        if fh.read().split(") ")[-1].split()[0] != "Z":
                            return False
                except OSError:
                    pass
            return True

        wait_until(gone, 15)
    finally:
        proc.close()


@pytest.mark.parametrize("planted", ["symlink", "file"])
def test_a_planted_jobs_folder_refuses_to_start(tmp_path, planted):
    """``jobs/`` replaced by a symlink to another folder (whose ``<id>.zpl`` files would print
    in place of the real jobs) or by a file: one line, exit 1, nothing followed or written."""
    cfg = config(tmp_path, {"z": "zpl"}, hot=False)
    jobs = tmp_path / "data" / "jobs"
    jobs.parent.mkdir(parents=True, exist_ok=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "1.zpl").write_bytes(b"^XA^FDPLANTED^FS^XZ")
    if planted == "symlink":
        jobs.symlink_to(elsewhere)
    else:
        jobs.write_bytes(b"x")
    r = run_cli("run", "--config", str(cfg))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    kind = "symlink" if planted == "symlink" else "regular file"
    assert r.stderr.strip().splitlines()[-1] == (
        f"printstation: error: {jobs} is a {kind}, not a directory: refusing to use it "
        "(move it aside; the station makes a new one)")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["1.zpl"]
    assert not (tmp_path / "data" / "queue.sqlite3").exists()
