"""A shared PostgreSQL database in trouble, against a real daemon and a real server: a long
outage while a label is on the wire, the API while the database is away.

The stations must keep every job's true state: a label the printer took is recorded ``done``
once the database is back, however long it was away (never left in ``sending``, where the next
start would call it ``interrupted`` — and print it again under ``on_interrupted = "resend"``).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from support.daemon_harness import wait_until, zpl_values
from support.pg_server import pg  # noqa: F401 (fixture)
from support.printer_sinks import RecordingSink
from test_stations_pg import SlowSink, all_done, big_label, own_pg, station_toml  # noqa: F401 (fixture)


@pytest.mark.slow
def test_an_outage_longer_than_the_retry_window_still_records_the_outcome(tmp_path, own_pg, monkeypatch, caplog):
    from printstation.queue import pgstore

    monkeypatch.setattr(pgstore, "RETRY_S", 1.0)  # the window an outcome is retried quietly
    sink = SlowSink()
    url = own_pg.new_database()
    cfg = station_toml(tmp_path, "a", url, [dict(name="zebra", uri=sink.uri, lang="zpl", on_interrupted="resend")])
    d = Daemon(configmod.load(cfg))
    d.start()
    try:
        job = httpx.post(d.api.url + "/jobs?printer=zebra", content=big_label("W"), timeout=30).json()["id"]
        wait_until(lambda: d.workers["zebra"].current == job, 30)
        with caplog.at_level(logging.WARNING):
            own_pg.stop()  # while the label is on the wire
            assert sink.wait_for(lambda s: s.data.endswith(b"^FS^XZ"), 60)  # the printer took it all
            # the worker keeps the outcome past the window (it cannot take another job anyway)
            wait_until(lambda: "still unreachable" in caplog.text, 30)
            own_pg.start()
            wait_until(lambda: httpx.get(d.api.url + "/healthz", timeout=30).json().get("database") == "ok", 60)
            all_done(d, [job], 30)
        after = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDnext^FS^XZ", timeout=30).json()["id"]
        all_done(d, [after], 30)
        assert sink.data.count(b"^FDW^FS") == 1
        faults = [r for r in caplog.records if r.levelno >= logging.ERROR and "still unreachable" in r.getMessage()]
        assert len(faults) == 1, [r.getMessage() for r in faults]  # one line, not one per retry
    finally:
        d.stop(grace=5)
        sink.close()
    # the next start finds nothing on the wire: nothing is interrupted, nothing printed again
    later = RecordingSink()
    d2 = Daemon(configmod.load(station_toml(tmp_path, "a", url, [dict(name="zebra", uri=later.uri, lang="zpl",
                                                                         on_interrupted="resend")])))
    d2.start()
    try:
        assert d2.store.get(job).state == "done"
        assert d2.store.list_jobs(state="interrupted") == [] and d2.store.list_jobs(state="queued") == []
    finally:
        d2.stop(grace=5)
        later.close()


@pytest.mark.slow
def test_printers_and_metrics_answer_while_the_database_is_away(tmp_path, own_pg, caplog, monkeypatch):
    import subprocess
    import sys

    from printstation import storage

    monkeypatch.setattr(storage, "PURGE_EVERY", 0.2)  # the hourly retention run, often

    sink = RecordingSink(state="paper_out")
    url = own_pg.new_database()
    d = Daemon(configmod.load(station_toml(tmp_path, "a", url, [dict(name="zebra", uri=sink.uri, lang="zpl",
                                                                       status_poll=0.2)])))
    d.start()
    try:
        job = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDq^FS^XZ", timeout=30).json()["id"]
        wait_until(lambda: d.workers["zebra"].reason == "paper out", 30)
        before = caplog.text.count("Traceback")
        own_pg.stop()
        # what the station knows by itself stays visible: its printers and their trouble
        r = httpx.get(d.api.url + "/printers", timeout=30)
        assert r.status_code == 200, r.text
        (p,) = r.json()["printers"]
        assert p["name"] == "zebra" and p["state"] == "error" and p["reason"] == "paper out"
        assert p["queued"] is None  # not known while the database is away (not 0)
        m = httpx.get(d.api.url + "/metrics", timeout=30)
        assert m.status_code == 200 and 'printstation_printer_up{printer="zebra"}' in m.text
        cli = subprocess.run([sys.executable, "-m", "printstation", "printers", "--api", d.api.url],
                             capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0 and "paper out" in cli.stdout and "None" not in cli.stdout, cli
        # a pause cannot be recorded (it survives restarts): refused, and nothing changed
        r = httpx.post(d.api.url + "/printers/zebra/pause", timeout=30)
        assert r.status_code == 503 and "unreachable" in r.json()["error"]
        assert httpx.get(d.api.url + "/printers", timeout=30).json()["printers"][0]["paused"] is False
        # the retention run waits for the database: one line, no traceback
        wait_until(lambda: "retention run skipped" in caplog.text, 30)
        assert caplog.text.count("Traceback") == before
        own_pg.start()
        wait_until(lambda: httpx.get(d.api.url + "/printers", timeout=30).json()["printers"][0]["queued"] == 1, 60)
        sink.set_state("ready")
        all_done(d, [job], 60)
    finally:
        d.stop(grace=5)
        sink.close()


# -- a connection lost right after a scan queued its label ----------------------------------------

#: A trigger that ends its own connection, as a server restart or a network cut at that moment would.
_DROP = """CREATE OR REPLACE FUNCTION ps_test_drop() RETURNS trigger AS $$
BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER ps_test_drop BEFORE {what} ON {table} FOR EACH ROW EXECUTE FUNCTION ps_test_drop();"""


@pytest.mark.slow
@pytest.mark.parametrize("what, table", [("UPDATE", "wb_printed"), ("INSERT", "scans")],
                         ids=["marking-the-claim", "logging-the-scan"])
def test_a_scan_whose_label_was_queued_answers_queued_when_the_connection_drops_after(tmp_path, pg, what, table):
    from support.fakes.fake_wb import FakeWB
    from test_stations_pg import wb_toml

    wb = FakeWB(rate_per_min=60_000, burst=1000).start()
    order = wb.add_order()
    sink = RecordingSink()
    url = pg.new_database()
    d = Daemon(configmod.load(station_toml(tmp_path, "a", url, [dict(name="zebra", uri=sink.uri, lang="zpl")],
                                           wb_toml(tmp_path, wb))))
    d.start()
    try:
        pg.psql(_DROP.format(what=what, table=table), db=url.rsplit("/", 1)[1])
        r = httpx.post(d.api.url + "/scan", json={"code": str(order["id"]), "scanner": "gun"}, timeout=60)
        # the label is queued and prints: the answer says so (not "database unreachable")
        assert r.status_code == 200 and r.json()["outcome"] == "queued", r.text
        all_done(d, [int(r.json()["job"])], 60)
        pg.psql(f"DROP TRIGGER ps_test_drop ON {table}", db=url.rsplit("/", 1)[1])
        again = httpx.post(d.api.url + "/scan", json={"code": str(order["id"]), "scanner": "gun2"}, timeout=60)
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate", again.text
        assert zpl_values(sink.data).count(order["barcode"]) == 1
    finally:
        d.stop(grace=5)
        sink.close()
        wb.stop()


# -- the station's name after a database restart -------------------------------------------------


@pytest.mark.slow
def test_a_station_holds_its_name_again_after_the_database_restarts(tmp_path, own_pg, caplog):
    from support.daemon_harness import DaemonProcess

    sink = RecordingSink()
    url = own_pg.new_database()
    d = Daemon(configmod.load(station_toml(tmp_path, "a", url, [dict(name="zebra", uri=sink.uri, lang="zpl")])))
    d.start()
    clone = None
    try:
        own_pg.stop()  # the session that held the name ends with the server
        own_pg.start()
        with caplog.at_level(logging.INFO):
            wait_until(lambda: "holds its name again" in caplog.text, 60)
        # a bench cloned with the same name is still refused: it would take a's jobs for its printers
        clone_cfg = station_toml(tmp_path / "clone", "a", url, [dict(name="zebra", uri=sink.uri, lang="zpl")]) \
            if (tmp_path / "clone").mkdir() is None else None
        clone = DaemonProcess(clone_cfg, tmp_path / "clone.sock")
        assert clone.wait(60) == 1
        assert "station name 'a' is in use by another running station" in clone.log()
        job = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDstill^FS^XZ", timeout=30).json()["id"]
        all_done(d, [job], 60)
    finally:
        if clone is not None:
            clone.close()
        d.stop(grace=5)
        sink.close()


@pytest.mark.slow
def test_a_station_whose_name_was_taken_meanwhile_takes_no_more_jobs(tmp_path, own_pg, monkeypatch, caplog):
    from printstation.errors import StoreUnavailable
    from printstation.queue import pgstore

    monkeypatch.setattr(pgstore, "NAME_CHECK_S", 3600.0)  # the check runs when the test says
    url = own_pg.new_database()
    a = pgstore.PgJobStore(tmp_path / "a", url, "a")
    try:
        job = a.submit("zebra", b"^XA^FDq^FS^XZ")[0]
        own_pg.stop()
        own_pg.start()
        clone = pgstore.PgJobStore(tmp_path / "clone", url, "a")  # started in the gap: it got the name
        try:
            with caplog.at_level(logging.ERROR):
                a._check_name()
            assert "in use by another running station" in caplog.text and "takes no more jobs" in caplog.text
            with pytest.raises(StoreUnavailable, match="in use by another running station"):
                a.mark_sending(job.id)
            assert a.get(job.id).state == "queued"
        finally:
            clone.close()
        a._check_name()  # the clone is gone: the name is a's again
        assert a.mark_sending(job.id).state == "sending"
    finally:
        a.close()


@pytest.mark.slow
def test_an_idle_printer_says_once_that_the_database_is_away_and_once_that_it_is_back(tmp_path, own_pg, caplog):
    sinks = [RecordingSink(), RecordingSink()]
    url = own_pg.new_database()
    d = Daemon(configmod.load(station_toml(tmp_path, "a", url, [dict(name=f"p{i}", uri=s.uri, lang="zpl")
                                                               for i, s in enumerate(sinks)])))
    d.start()
    try:
        ids = [httpx.post(d.api.url + f"/jobs?printer=p{i}", content=b"^XA^FDx^FS^XZ", timeout=30).json()["id"]
               for i in range(2)]
        all_done(d, ids, 30)
        with caplog.at_level(logging.INFO):
            own_pg.stop()
            for i in range(2):  # the printer learns of it when it next looks at its queue
                d.workers[f"p{i}"].wake()
            wait_until(lambda: all(f"printer p{i}: database" in caplog.text for i in range(2)), 30)
            own_pg.start()
            # said when it is back, not at the next job or at shutdown
            wait_until(lambda: all(f"printer p{i}: the job store is back" in caplog.text for i in range(2)), 30)
        for i in range(2):
            lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"printer p{i}: ")]
            assert len(lines) == 2, lines
    finally:
        d.stop(grace=5)
        for s in sinks:
            s.close()


# -- a locked database ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_locked_job_table_answers_503_instead_of_holding_the_request(tmp_path, pg):
    """An admin's session holding a lock on the jobs (a forgotten ``BEGIN; LOCK TABLE jobs …``,
    a ``VACUUM FULL``): a submit waits a few seconds for it, then answers 503 and leaves nothing
    behind — never a request held open until the client gives up while the job is queued behind
    its back (the client would submit it again: printed twice)."""
    import psycopg

    sink = RecordingSink()
    url = pg.new_database()
    d = Daemon(configmod.load(station_toml(tmp_path, "a", url, [dict(name="zebra", uri=sink.uri, lang="zpl")])))
    d.start()
    admin = psycopg.connect(url)
    try:
        admin.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")  # held until the rollback below
        r = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDheld^FS^XZ", timeout=120)
        assert r.status_code == 503 and "lock" in r.json()["error"], r.text
        admin.rollback()
        job = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDafter^FS^XZ", timeout=30).json()["id"]
        all_done(d, [job], 60)
        assert b"^FDheld^FS" not in sink.data and d.store.list_jobs() == [d.store.get(job)]
    finally:
        admin.close()
        d.stop(grace=5)
        sink.close()


# -- a database that stops answering (frozen, or its host gone without a reset) -------------------


def _server_pids(server: Any) -> list[int]:
    import subprocess

    master = int((server.data / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [master, *map(int, children)]


@pytest.mark.slow
def test_a_database_that_stops_answering_is_degraded_not_a_hung_station(tmp_path, own_pg, monkeypatch):
    """The server freezes with the station's connections open (SIGSTOP: the kernel still takes
    the bytes, nothing answers — like a host gone without a reset): a call that gets no answer
    within the deadline is cut, so /healthz says degraded and submits answer 503 instead of
    hanging for as long as TCP retransmits; when it answers again the station goes on."""
    import os
    import signal

    from printstation import pg as pgmod

    monkeypatch.setattr(pgmod, "DEADLINE_S", 3.0)
    sink = RecordingSink()
    url = own_pg.new_database()
    d = Daemon(configmod.load(station_toml(tmp_path, "a", url, [dict(name="zebra", uri=sink.uri, lang="zpl")])))
    d.start()
    pids: list[int] = []
    try:
        first = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDa^FS^XZ", timeout=30).json()["id"]
        all_done(d, [first], 30)
        pids = _server_pids(own_pg)
        for p in pids:
            os.kill(p, signal.SIGSTOP)
        health = httpx.get(d.api.url + "/healthz", timeout=120).json()
        assert health["status"] == "degraded" and health["database"] == "unreachable", health
        r = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDfrozen^FS^XZ", timeout=120)
        assert r.status_code == 503, r.text
        for p in pids:
            os.kill(p, signal.SIGCONT)
        pids = []
        wait_until(lambda: httpx.get(d.api.url + "/healthz", timeout=120).json()["database"] == "ok", 60)
        after = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDb^FS^XZ", timeout=30).json()["id"]
        all_done(d, [after], 60)
        assert b"^FDfrozen^FS" not in sink.data and sink.data.count(b"^FDb^FS") == 1
    finally:
        for p in pids:
            os.kill(p, signal.SIGCONT)
        d.stop(grace=5)
        sink.close()


def test_the_web_console_state_works_on_a_shared_database(tmp_path, pg):
    """``GET /console/state`` (the operator page) on a station of a shared database: today's
    counts are this station's own, like its job list."""
    sink = RecordingSink()
    url = pg.new_database()
    stations = {}
    try:
        for name in ("a", "b"):
            stations[name] = Daemon(configmod.load(station_toml(tmp_path, name, url,
                                                                [dict(name="zebra", uri=sink.uri, lang="zpl")])))
            stations[name].start()
        a, b = stations["a"], stations["b"]
        ja = httpx.post(a.api.url + "/jobs?printer=zebra", content=b"^XA^FDa^FS^XZ", timeout=30).json()["id"]
        jb = [httpx.post(b.api.url + "/jobs?printer=zebra", content=b"^XA^FDb^FS^XZ", timeout=30).json()["id"]
              for _ in range(2)]
        all_done(a, [ja], 30)
        all_done(b, jb, 30)
        rep = httpx.post(f"{a.api.url}/jobs/{ja}/reprint", timeout=30).json()["id"]
        all_done(a, [rep], 30)
        r = httpx.get(a.api.url + "/console/state", timeout=30)
        assert r.status_code == 200, r.text
        state = r.json()
        assert state["today"]["zebra"] == {"done": 2, "failed": 0, "reprints": 1}
        assert {j["id"] for j in state["jobs"]} == {ja, rep}
    finally:
        for d in stations.values():
            d.stop(grace=5)
        sink.close()


@pytest.mark.parametrize("shared", [False, True], ids=["sqlite", "postgresql"])
def test_a_claim_this_station_left_behind_is_not_called_being_printed(tmp_path, pg, shared):
    """The station died (or lost its database) between claiming an order and queueing its
    sticker; restarted, a scan of that order here must print it — not answer "is being printed
    on zebra at station a" for two minutes while nothing is. A claim another station holds
    still answers so (see test_stations_pg)."""
    from support.daemon_harness import write_config
    from support.fakes.fake_wb import FakeWB
    from test_stations_pg import wb_toml

    wb = FakeWB(rate_per_min=60_000, burst=1000).start()
    order = wb.add_order()
    sink = RecordingSink()
    printers = [dict(name="zebra", uri=sink.uri, lang="zpl")]
    cfg = (station_toml(tmp_path, "a", pg.new_database(), printers, wb_toml(tmp_path, wb)) if shared else
           write_config(tmp_path / "c.toml", tmp_path / "data", printers, extra=wb_toml(tmp_path, wb)))
    d = Daemon(configmod.load(cfg))
    d.start()
    try:
        assert d.triggers.state.claim_order(order["id"], "order", "zebra") is None  # the run that died
        r = httpx.post(d.api.url + "/scan", json={"code": str(order["id"]), "scanner": "gun"}, timeout=60).json()
        assert r["outcome"] == "queued", r
        all_done(d, [int(r["job"])], 60)
        again = httpx.post(d.api.url + "/scan", json={"code": str(order["id"]), "scanner": "gun2"}, timeout=60).json()
        assert again["outcome"] == "duplicate" and "already" in again["detail"], again
        assert zpl_values(sink.data).count(order["barcode"]) == 1
    finally:
        d.stop(grace=5)
        sink.close()
        wb.stop()
