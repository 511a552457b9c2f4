"""Ozon returns and Lamoda webhooks on two stations sharing one PostgreSQL database, end to end:
real daemons in process, a real PostgreSQL server started by the tests, fake Ozon and Lamoda
servers and TCP printer sinks on 127.0.0.1. Printed bytes are rendered back and decoded.

* one station leads the Ozon returns sync (``ozonsync``); a return it synced is scanned at the
  other station, which prints our returns label (its Code128 is the ``product_offer_id``) without
  asking Ozon; a scan of it at the leader is a duplicate of that job;
* one Lamoda notification delivered to both stations' webhook listeners at once is recorded at
  each and its pack labels print once (key ``lamoda-pack-<order>`` unique across stations).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from support.daemon_harness import toml_value, wait_until
from support.ol_markets import ol_markets_toml
from support.optional import missing
from support.pg_server import pg, pg_url  # noqa: F401 - fixtures
from support.printer_sinks import RecordingSink
from support.render_back import decode, render_back
from support.fakes import FakeLamoda, FakeOzon

SECRET = "hook-" + "5e1d0a" * 6


def station_toml(tmp: Path, name: str, url: str, sinks: dict[str, RecordingSink], oz: FakeOzon,
                 lm: FakeLamoda) -> Path:
    lines = ["[station]", f"name = {toml_value(name)}", f"data_dir = {toml_value(str(tmp / f'data-{name}'))}",
             f"database = {toml_value(url)}", "", "[api]", 'listen = "127.0.0.1:0"', "unix_socket = false"]
    media = {"tspl": "58x40", "packs": "100x150"}
    for p, sink in sinks.items():
        lines += ["", "[[printers]]", f"name = {toml_value(p)}", f"uri = {toml_value(sink.uri)}", 'lang = "tspl"',
                  f"media = {toml_value(media[p])}"]
    path = tmp / f"{name}.toml"
    path.write_text("\n".join(lines) + f"""

[sync]
interval_s = 3600
min_gap_ms = 200
[scan]
debounce_ms = 0
{ol_markets_toml(tmp, oz, lm, ["confirmed"])}[webhooks]
listen = "127.0.0.1:0"
secret_file = "{tmp / 'hook.secret'}"
""")
    return path


def codes(data: bytes) -> list[str]:
    return [c for back in render_back("tspl", data, 203) for c in decode(back.image)]


def finished(d: Daemon, job: Any) -> Any:
    return wait_until(lambda: d.store.get(int(job)).state in ("done", "failed") and d.store.get(int(job)), 60)


def post_scan(d: Daemon, code: str, printer: str) -> dict[str, Any]:
    r = httpx.post(d.api.url + "/scan", json={"code": code, "scanner": f"gun-{d.config.station.name}",
                                              "printer": printer}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def benches(tmp_path, pg_url):
    oz = FakeOzon(label_shape="json").start()
    lm = FakeLamoda().start()
    (tmp_path / "hook.secret").write_text(SECRET + "\n")
    ret = oz.add_return(product_offer_id="SHELF-PG-0042", product_name="Куртка зимняя, синяя, размер L")
    sinks = {s: {p: RecordingSink() for p in ("tspl", "packs")} for s in "ab"}
    daemons: dict[str, Daemon] = {}
    try:
        for s in "ab":
            d = Daemon(configmod.load(station_toml(tmp_path, s, pg_url, sinks[s], oz, lm)))
            d.start()
            daemons[s] = d
        yield dict(oz=oz, lm=lm, ret=ret, sinks=sinks, **daemons)
    finally:
        for d in daemons.values():
            d.stop(grace=5)
        for by in sinks.values():
            for sink in by.values():
                sink.close()
        oz.stop()
        lm.stop()


@pytest.mark.slow
def test_return_synced_by_the_leader_prints_at_the_other_station(benches):
    a, b, oz, ret = benches["a"], benches["b"], benches["oz"], benches["ret"]
    # exactly one station leads the Ozon sync; the other reads what it writes
    lead_name = wait_until(lambda: a.triggers.state.get_meta("ozonsync_station"), 30)
    leader, other = (a, b) if lead_name == "a" else (b, a)
    wait_until(lambda: leader.triggers.ozon_sync.rounds >= 1, 30)
    assert other.triggers.ozon_sync.rounds == 0 and other.triggers.state.lead("ozonsync") is False
    assert other.triggers.state.find_return(ret["return_barcode"])["product_offer_id"] == "SHELF-PG-0042"
    calls = len(oz.calls_to("/v3/returns"))
    sink = benches["sinks"][other.config.station.name]["tspl"]

    rec = post_scan(other, ret["return_barcode"], "tspl")
    assert rec["outcome"] == "queued" and rec["action"] == "ozon-return", rec
    assert rec["key"] == f"ozon-return-{ret['id']}" and "SHELF-PG-0042" in rec["detail"]
    assert finished(other, rec["job"]).state == "done"
    assert codes(sink.data) == ["SHELF-PG-0042"]  # our returns label: Code128 of the article
    assert len(oz.calls_to("/v3/returns")) == calls  # found in the shared state, not asked again

    again = post_scan(leader, ret["return_barcode"].upper(), "tspl")  # the same parcel at the other bench
    assert again["outcome"] == "duplicate" and again["job"] == rec["job"], again
    assert f"at station {other.config.station.name}" in again["detail"]
    assert benches["sinks"][leader.config.station.name]["tspl"].data == b""
    scans = httpx.get(other.api.url + "/scans", timeout=10).json()["scans"]
    assert scans[0]["key"] == f"ozon-return-{ret['id']}" and scans[0]["outcome"] == "queued"


@pytest.mark.slow
def test_lamoda_notification_at_both_stations_prints_its_packs_once(benches):
    a, b, lm, sinks = benches["a"], benches["b"], benches["lm"], benches["sinks"]
    packs = lm.add_order("LM-8001", packs=2)
    note = json.dumps({"type": "statusChanged", "trackingId": "LM-8001", "status": "Confirmed"}).encode()
    go = threading.Barrier(2)
    answers: dict[str, int] = {}

    def deliver(d: Daemon) -> None:  # Lamoda's delivery and its re-send reach both benches at once
        go.wait()
        r = httpx.post(f"{d.triggers.webhooks.url}/hooks/lamoda/{SECRET}", content=note,
                       headers={"Content-Type": "application/json"}, timeout=60)
        answers[d.config.station.name] = r.status_code

    threads = [threading.Thread(target=deliver, args=(d,)) for d in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == {"a": 200, "b": 200}
    for d in (a, b):
        assert d.triggers.webhooks.hooks.wait_processed(1, 60)
    recs = {}
    for d in (a, b):  # each station lists the notification it received, and what it did
        got = httpx.get(d.api.url + "/webhooks", timeout=10).json()["webhooks"]
        assert len(got) == 1 and got[0]["ref"] == "LM-8001" and got[0]["key"] == "lamoda-pack-LM-8001", got
        recs[d.config.station.name] = got[0]
    assert sorted(r["outcome"] for r in recs.values()) == ["duplicate", "queued"], recs
    assert recs["a"]["job"] == recs["b"]["job"]
    printer_station = a if recs["a"]["outcome"] == "queued" else b
    job = finished(printer_station, recs["a"]["job"])
    assert job.state == "done" and job.printer == "packs"
    printed = codes(sinks["a"]["packs"].data) + codes(sinks["b"]["packs"].data)
    assert sorted(printed) == sorted(packs)  # every pack label once, at one bench
    assert sinks[printer_station.config.station.name]["packs"].data
    # one job with that key in the whole warehouse
    every = httpx.get(a.api.url + "/jobs?station=all&limit=1000", timeout=10).json()["jobs"]
    assert [j["key"] for j in every].count("lamoda-pack-LM-8001") == 1


@pytest.mark.slow
def test_webhook_answers_503_while_the_database_is_away_and_records_after(tmp_path):
    """A notification that cannot be recorded is not acknowledged: Lamoda sends it again."""
    from printstation.pg import open_database
    from printstation.triggers.pgstate import PgTriggerState
    from printstation.triggers.webhooks import HookLog, LamodaHooks, WebhookListener, WebhookSettings
    from support.pg_server import PgServer, pg_bin

    if pg_bin() is None:
        missing("PostgreSQL server not installed (apt-get install postgresql)")
    with PgServer() as server:
        state = PgTriggerState(open_database(server.new_database(), "a", max_size=4), "a", own_db=True)
        hooks = LamodaHooks(HookLog(state), print_on_status=("confirmed",), printer="packs", printers={},
                            labels=None, queue_label=lambda *a: None)
        lst = WebhookListener(WebhookSettings(listen=("127.0.0.1", 0)), SECRET, hooks).start()
        note = {"type": "itemStatusChanged", "trackingId": "LM-9"}
        try:
            server.stop()
            r = httpx.post(f"{lst.url}/hooks/lamoda/{SECRET}", json=note, timeout=60)
            assert r.status_code == 503 and r.json() == {"error": "cannot record the notification now, send again later"}
            assert server.url().split("@")[0].split(":")[-1] not in r.text
            server.start()
            r = wait_until(lambda: (x := httpx.post(f"{lst.url}/hooks/lamoda/{SECRET}", json=note, timeout=60))
                           .status_code == 200 and x, 30, interval=0.2)
            assert hooks.wait_processed(1, 30)
            got = state.webhooks()
            assert [(h["ref"], h["outcome"]) for h in got] == [("LM-9", "ignored")] and r.json()["ids"] == [got[0]["id"]]
        finally:
            lst.stop()
            state.close()
