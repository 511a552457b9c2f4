"""Several stations on one PostgreSQL database, end to end: real daemons (in process and as
subprocesses), a real PostgreSQL server started by the tests, a fake WB, TCP printer sinks.

Each order's sticker is printed by exactly one bench however the scans race; a second scan
anywhere answers ``duplicate`` naming the station and printer; each station prints only its own
printers' jobs; killing one station mid-batch leaves its job ``interrupted`` (never resent) while
the other keeps printing; a database outage answers 503 and resumes without a restart.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from support.daemon_harness import DaemonProcess, toml_value, wait_until, zpl_values
from support.optional import missing
from support.pg_server import PgServer, pg, pg_bin, pg_url  # noqa: F401 - fixtures
from support.printer_sinks import RecordingSink
from support.fakes.fake_wb import FakeWB

SKU = "4006381333931"


def station_toml(tmp: Path, name: str, url: str, printers: list[dict[str, Any]], extra: str = "") -> Path:
    lines = ["[station]", f"name = {toml_value(name)}", f"data_dir = {toml_value(str(tmp / f'data-{name}'))}",
             f"database = {toml_value(url)}", "", "[api]", 'listen = "127.0.0.1:0"', "unix_socket = false"]
    for p in printers:
        lines += ["", "[[printers]]"] + [f"{k} = {toml_value(v)}" for k, v in p.items()]
    path = tmp / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def wb_toml(tmp: Path, wb: FakeWB, interval: float = 5.0) -> str:
    (tmp / "wb.tok").write_text(wb.token)
    return (f"[sync]\ninterval_s = {interval}\nmin_gap_ms = 200\n[scan]\ndebounce_ms = 0\n"
            f"[markets.wb]\nbase_url = {toml_value(wb.url)}\ntoken_file = {toml_value(str(tmp / 'wb.tok'))}\n"
            "rate_per_min = 60000\nburst = 1000\n")


def post_scan(d: Daemon, code: str, scanner: str, printer: str | None = None) -> dict[str, Any]:
    body = {"code": code, "scanner": scanner}
    if printer:
        body["printer"] = printer
    r = httpx.post(d.api.url + "/scan", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def all_done(d: Daemon, ids: list[int], timeout: float = 60.0) -> None:
    wait_until(lambda: all(d.store.get(i).state == "done" for i in ids), timeout)


@pytest.fixture
def benches(tmp_path, pg_url):
    """Stations ``a`` and ``b`` (two ZPL printers each, same names on both) on one database and
    one fake WB with ten orders of one product in an open supply."""
    wb = FakeWB(rate_per_min=60_000, burst=1000).start()
    now = dt.datetime.now(dt.timezone.utc)
    orders = [wb.add_order(skus=[SKU], created_at=now - dt.timedelta(minutes=60 - i)) for i in range(10)]
    wb.add_supply(orders=[o["id"] for o in orders])
    sinks = {(s, p): RecordingSink() for s in "ab" for p in ("zebra", "zebra2")}
    daemons: dict[str, Daemon] = {}
    try:
        for s in "ab":
            printers = [dict(name=p, uri=sinks[(s, p)].uri, lang="zpl") for p in ("zebra", "zebra2")]
            d = Daemon(configmod.load(station_toml(tmp_path, s, pg_url, printers, wb_toml(tmp_path, wb))))
            d.start()
            daemons[s] = d
        wait_until(lambda: daemons["a"].triggers.state.sku_known(SKU), 30)
        yield dict(wb=wb, orders=orders, sinks=sinks, url=pg_url, tmp=tmp_path, **daemons)
    finally:
        for d in daemons.values():
            d.stop(grace=5)
        for sink in sinks.values():
            sink.close()
        wb.stop()


def test_concurrent_product_scans_on_two_benches_print_each_order_once(benches):
    a, b, sinks = benches["a"], benches["b"], benches["sinks"]
    go = threading.Barrier(24)

    def scan(i: int) -> dict[str, Any]:
        d = a if i % 2 else b
        go.wait()
        return post_scan(d, SKU, scanner=f"gun-{i}", printer="zebra" if i % 4 < 2 else "zebra2") | {"at": d}

    with ThreadPoolExecutor(24) as pool:
        recs = list(pool.map(scan, range(24)))
    queued = [r for r in recs if r["outcome"] == "queued"]
    assert len(queued) == 10, [r["outcome"] + ": " + (r["detail"] or "") for r in recs]
    assert all(r["outcome"] == "failed" and "no order waiting" in r["detail"] for r in recs if r not in queued)
    assert sorted(r["key"] for r in queued) == sorted(f"wb-order-{o['id']}" for o in benches["orders"])
    for r in queued:
        all_done(r["at"], [int(r["job"])])
    # every sticker's barcode is on exactly one printer of one bench
    printed = [v for sink in sinks.values() for v in zpl_values(sink.data)]
    want = sorted(o["barcode"] for o in benches["orders"])
    assert sorted(printed) == want, printed


def test_second_scan_anywhere_is_a_duplicate_naming_station_and_printer(benches):
    a, b, sinks = benches["a"], benches["b"], benches["sinks"]
    order = benches["wb"].add_order()
    first = post_scan(a, str(order["id"]), "gun-a", printer="zebra2")
    assert first["outcome"] == "queued"
    all_done(a, [int(first["job"])])
    again = post_scan(b, str(order["id"]), "gun-b")
    assert again["outcome"] == "duplicate", again
    assert "at station a" in again["detail"] and "zebra2" in again["detail"] and again["job"] == first["job"]
    assert zpl_values(sinks[("b", "zebra")].data) == []  # nothing printed at b
    rep = post_scan(b, "PS:REPRINT", "gun-b")  # on purpose: printed again, at b
    assert rep["outcome"] == "reprinted", rep
    all_done(b, [int(rep["job"])])
    assert order["barcode"] in zpl_values(sinks[("b", "zebra")].data)
    assert zpl_values(sinks[("a", "zebra2")].data).count(order["barcode"]) == 1


def test_order_claimed_in_flight_elsewhere_is_a_duplicate(benches):
    a, b = benches["a"], benches["b"]
    order = benches["wb"].add_order()
    # bench a has claimed the order and is fetching its label right now
    assert a.triggers.state.claim_order(order["id"], "order", "zebra") is None
    rec = post_scan(b, str(order["id"]), "gun-b")
    assert rec["outcome"] == "duplicate" and "being printed on zebra at station a" in rec["detail"], rec
    assert b.store.list_jobs() == [] or all(j.key != f"wb-order-{order['id']}" for j in b.store.list_jobs())


def test_each_station_prints_and_shows_its_own_jobs(benches):
    a, b, sinks = benches["a"], benches["b"], benches["sinks"]
    ja = [httpx.post(a.api.url + "/jobs?printer=zebra", content=b"^XA^FO9,9^FDa%d^FS^XZ" % i).json()["id"]
          for i in range(3)]
    jb = [httpx.post(b.api.url + "/jobs?printer=zebra", content=b"^XA^FO9,9^FDb%d^FS^XZ" % i).json()["id"]
          for i in range(3)]
    all_done(a, ja)
    all_done(b, jb)
    assert b"^FDa" in sinks[("a", "zebra")].data and b"^FDb" not in sinks[("a", "zebra")].data
    assert b"^FDb" in sinks[("b", "zebra")].data and b"^FDa" not in sinks[("b", "zebra")].data
    own = httpx.get(a.api.url + "/jobs").json()["jobs"]
    assert {j["id"] for j in own} == set(ja) and {j["station"] for j in own} == {"a"}
    every = httpx.get(a.api.url + "/jobs?station=all").json()["jobs"]
    assert set(ja) | set(jb) <= {j["id"] for j in every}
    theirs = httpx.get(a.api.url + "/jobs?station=b&printer=zebra").json()["jobs"]
    assert {j["id"] for j in theirs} == set(jb)
    # an idempotency key is one job across stations
    r1 = httpx.post(a.api.url + "/jobs?printer=zebra&key=shared-1", content=b"^XA^FDk^FS^XZ")
    r2 = httpx.post(b.api.url + "/jobs?printer=zebra&key=shared-1", content=b"^XA^FDk^FS^XZ")
    assert (r1.status_code, r2.status_code) == (201, 200) and r2.json()["id"] == r1.json()["id"]
    assert r2.json()["station"] == "a"
    health = httpx.get(b.api.url + "/healthz").json()
    assert health["database"] == "ok" and health["station"] == "b" and "status" not in health


def test_one_station_syncs_and_another_takes_over(benches):
    a, b = benches["a"], benches["b"]
    wait_until(lambda: a.triggers.sync.rounds + b.triggers.sync.rounds >= 1, 30)
    leader, other = (a, b) if a.triggers.sync.rounds else (b, a)
    assert other.triggers.sync.rounds == 0  # the other reads what the leader writes
    leader.stop(grace=5)  # the leader goes away (its session, and the advisory lock, end)
    t0 = time.monotonic()
    wait_until(lambda: other.triggers.sync.rounds >= 1, 30)
    assert time.monotonic() - t0 < 12  # within one interval (5 s) plus slack for a loaded box


# -- a station killed mid-batch; a database outage ----------------------------------------------


class SlowSink(RecordingSink):
    """A printer that takes its bytes slowly (1 KB every 5 ms): a big label stays on the wire."""

    def _listen(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        return s

    def _serve(self, conn: socket.socket, index: int) -> None:
        from support.printer_sinks import StatusResponder

        responder = StatusResponder(self._status_state)
        while not self._stopped:
            chunk = conn.recv(1024)
            if not chunk:
                return
            if not self._on_chunk(conn, index, chunk, responder):
                return
            time.sleep(0.005)


def big_label(tag: str) -> bytes:
    return b"^XA^FO20,20^A0N,30,30^FD" + tag.encode() + b"^FS^FX" + b"x" * 200_000 + b"^FS^XZ"


@pytest.mark.slow
def test_killing_one_station_mid_batch_while_the_other_keeps_printing(tmp_path, pg_url):
    slow, fast, later = SlowSink(), RecordingSink(), RecordingSink()
    procs: list[DaemonProcess] = []
    try:
        pa = DaemonProcess(station_toml(tmp_path, "a", pg_url, [dict(name="zebra", uri=slow.uri, lang="zpl")]),
                           tmp_path / "na.sock")
        pb = DaemonProcess(station_toml(tmp_path, "b", pg_url, [dict(name="zebra", uri=fast.uri, lang="zpl")]),
                           tmp_path / "nb.sock")
        procs += [pa, pb]
        pa.wait_ready(60)
        pb.wait_ready(60)
        ua, ub = pa.api_url(), pb.api_url()
        ids_a = [httpx.post(ua + "/jobs?printer=zebra", content=big_label(f"A{i}"), timeout=30).json()["id"]
                 for i in range(4)]
        ids_b: list[int] = []
        stop = threading.Event()

        def feed_b() -> None:  # bench b keeps printing through it all
            i = 0
            while not stop.is_set():
                ids_b.append(httpx.post(ub + "/jobs?printer=zebra", content=b"^XA^FDB%d^FS^XZ" % i,
                                        timeout=30).json()["id"])
                i += 1
                time.sleep(0.02)

        feeder = threading.Thread(target=feed_b)
        feeder.start()
        # kill a while its second label is on the wire (sending is committed before the first byte)
        assert slow.wait_for(lambda s: s.data.count(b"^FDA1^FS") == 1, 60)
        pa.kill()  # returns once a is dead
        # b keeps printing while a is gone: a label the feeder queues after the kill prints
        after_kill = len(ids_b) + 1
        assert fast.wait_for(lambda s: b"^FDB%d^FS" % after_kill in s.data, 60)
        stop.set()
        feeder.join()
        assert len(ids_b) > after_kill
        jobs = {j["id"]: j for j in httpx.get(ub + "/jobs?station=all&limit=1000").json()["jobs"]}
        assert jobs[ids_a[0]]["state"] == "done" and jobs[ids_a[1]]["state"] == "sending"
        assert [jobs[i]["state"] for i in ids_a[2:]] == ["queued", "queued"]
        wait_until(lambda: all(httpx.get(f"{ub}/jobs/{i}").json()["state"] == "done" for i in ids_b), 60)
        # bench a comes back (its printer swapped for a fast one): the job on the wire is
        # interrupted, never sent again; the rest print once
        pa.close()
        pa2 = DaemonProcess(station_toml(tmp_path, "a", pg_url, [dict(name="zebra", uri=later.uri, lang="zpl")]),
                            tmp_path / "na2.sock")
        procs.append(pa2)
        pa2.wait_ready(60)
        ua2 = pa2.api_url()
        wait_until(lambda: all(httpx.get(f"{ua2}/jobs/{i}").json()["state"] == "done" for i in ids_a[2:]), 60)
        assert httpx.get(f"{ua2}/jobs/{ids_a[1]}").json()["state"] == "interrupted"
        assert later.data.count(b"^FDA2^FS") == 1 and later.data.count(b"^FDA3^FS") == 1
        assert b"^FDA1^FS" not in later.data and b"^FDA0^FS" not in later.data
        for i in range(len(ids_b)):  # each of b's labels printed once
            assert fast.data.count(b"^FDB%d^FS" % i) == 1
    finally:
        for p in procs:
            p.close()
        for s in (slow, fast, later):
            s.close()


@pytest.fixture
def own_pg():
    """A PostgreSQL server of this test alone (it is stopped and started again)."""
    if pg_bin() is None:
        missing("PostgreSQL server not installed (apt-get install postgresql)")
    server = PgServer()
    yield server
    server.close()


@pytest.mark.slow
def test_database_outage_degrades_and_resumes_without_a_restart(tmp_path, own_pg):
    sink = RecordingSink()
    url = own_pg.new_database()
    d = Daemon(configmod.load(station_toml(tmp_path, "a", url, [dict(name="zebra", uri=sink.uri, lang="zpl")])))
    d.start()
    try:
        before = [httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDpre%d^FS^XZ" % i).json()["id"]
                  for i in range(3)]
        all_done(d, before)
        mid = [httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDmid%d^FS^XZ" % i).json()["id"]
               for i in range(6)]
        own_pg.stop()  # while those are being printed
        health = httpx.get(d.api.url + "/healthz", timeout=30).json()
        assert health["status"] == "degraded" and health["database"] == "unreachable"
        assert "database unreachable" in d.status_line()  # the foreground loop's status runs on
        r = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDlost^FS^XZ", timeout=30)
        assert r.status_code == 503 and "unreachable" in r.json()["error"]
        assert own_pg.url().split("@")[0].split(":")[-1] not in r.text  # never the password
        scan = httpx.post(d.api.url + "/scan", json={"code": "no-rule-matches-this"}, timeout=30)
        assert scan.status_code == 503 and "unreachable" in scan.json()["error"]
        own_pg.start()
        wait_until(lambda: httpx.get(d.api.url + "/healthz", timeout=30).json().get("database") == "ok", 30)
        after = [httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDpost%d^FS^XZ" % i).json()["id"]
                 for i in range(3)]
        all_done(d, after + mid)
        for i in range(6):
            assert sink.data.count(b"^FDmid%d^FS" % i) == 1
        for i in range(3):  # each label printed once: nothing lost, nothing doubled
            assert sink.data.count(b"^FDpre%d^FS" % i) == 1 and sink.data.count(b"^FDpost%d^FS" % i) == 1
        assert b"lost" not in sink.data
    finally:
        d.stop(grace=5)
        sink.close()


@pytest.mark.slow
def test_a_station_started_while_the_database_is_away_catches_up(tmp_path, own_pg):
    from printstation.queue.pgstore import PgJobStore

    sink = RecordingSink()
    url = own_pg.new_database()
    crashed = PgJobStore(tmp_path / "data-a", url, "a")  # the station's last run died mid-job
    job = crashed.submit("zebra", b"^XA^FDwire^FS^XZ")[0]
    crashed.mark_sending(job.id)
    waiting = crashed.submit("zebra", b"^XA^FDwaiting^FS^XZ")[0]
    crashed.close()
    own_pg.stop()
    d = Daemon(configmod.load(station_toml(tmp_path, "a", url, [dict(name="zebra", uri=sink.uri, lang="zpl")])))
    d.start()  # the API comes up without the database
    try:
        health = httpx.get(d.api.url + "/healthz", timeout=30).json()
        assert health["status"] == "degraded"
        r = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDno^FS^XZ", timeout=30)
        assert r.status_code == 503 and "unreachable" in r.json()["error"]
        own_pg.start()
        wait_until(lambda: httpx.get(d.api.url + "/healthz", timeout=30).json().get("database") == "ok", 30)
        new = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDnew^FS^XZ", timeout=30).json()["id"]
        all_done(d, [new, waiting.id])
        assert d.store.get(job.id).state == "interrupted"  # recovered before any job was taken
        assert b"^FDwire^FS" not in sink.data and sink.data.count(b"^FDwaiting^FS") == 1
    finally:
        d.stop(grace=5)
        sink.close()
