"""Scan rules end to end: the real daemon (queue, workers, API), fake WB/Ali servers, TCP printer
sinks; the printed TSPL bytes are rendered back independently and their barcodes decoded."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import httpx
import pytest

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from support.daemon_harness import wait_until, write_config
from support.printer_sinks import RecordingSink
from support.render_back import decode, render_back
from support.fakes.fake_ali import FakeAli
from support.fakes.fake_wb import FakeWB

from .conftest import fake_markets


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    wb = FakeWB(rate_per_min=60_000, burst=1000).start()
    ali = FakeAli().start()
    tspl, zpl = RecordingSink(), RecordingSink()
    # max_downscale = 0: this bench prints the 100×150 Ali label shrunk (see test_routing.py for
    # the default refusal and [[rules]] printer routing)
    printers = [dict(name="tspl", uri=tspl.uri, lang="tspl", media="58x40", max_downscale=0.0),
                dict(name="zpl", uri=zpl.uri, lang="zpl")]
    write_config(tmp / "ps.toml", tmp / "data", printers, api={"unix_socket": False}, extra=f"""
[hotfolder]
path = "{tmp / 'hot'}"
settle_ms = 200
[scan]
debounce_ms = 1500
[sync]
interval_s = 5
min_gap_ms = 200
""" + fake_markets(tmp, wb, ali))
    # seed before the daemon starts so its first WB sync sees it
    sku = "4006381333931"
    now = dt.datetime.now(dt.timezone.utc)
    new = wb.add_order(skus=[sku], created_at=now - dt.timedelta(hours=1))
    old = wb.add_order(skus=[sku], created_at=now - dt.timedelta(hours=3))  # higher id, older
    open_supply = wb.add_supply(orders=[old["id"], new["id"]], boxes=2)
    cfg = configmod.load(tmp / "ps.toml")
    d = Daemon(cfg)
    d.start()
    wait_until(lambda: d.triggers.sync and d.triggers.sync.rounds >= 1, what="first WB sync")
    w = dict(tmp=tmp, wb=wb, ali=ali, tspl=tspl, zpl=zpl, d=d, api=d.api.url, sku=sku,
             old=old, new=new, supply=open_supply)
    yield w
    d.stop()
    for s in (tspl, zpl):
        s.close()
    wb.stop()
    ali.stop()


def scan(w, code, printer=None, scanner=None):
    body = {"code": code}
    if printer:
        body["printer"] = printer
    if scanner:
        body["scanner"] = scanner
    r = httpx.post(w["api"] + "/scan", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def printed(w, job_id):
    d = w["d"]
    return wait_until(lambda: d.store.get(int(job_id)).state in ("done", "failed") and d.store.get(int(job_id)),
                    what=f"job {job_id} done")


def codes_of(data: bytes) -> list[str]:
    out = []
    for back in render_back("tspl", data, 203):
        out += decode(back.image)
    return out


def test_order_scan_prints_decodable_sticker_double_scan_once_reprint_twice(world):
    w = world
    o = w["wb"].add_order()
    before = len(w["tspl"].data)
    rec = scan(w, str(o["id"]), scanner="bench-1")
    assert rec["outcome"] == "queued" and rec["action"] == "wb-order" and rec["key"] == f"wb-order-{o['id']}"
    assert type(rec["job"]) is int  # the job id, as GET /jobs/{id} takes it
    logged = httpx.get(w["api"] + "/scans", params={"limit": 5}, timeout=30).json()["scans"]
    assert [(r["id"], r["job"]) for r in logged if r["id"] == rec["id"]] == [(rec["id"], rec["job"])]
    assert httpx.get(w["api"] + f"/jobs/{rec['job']}", timeout=30).json()["id"] == rec["job"]
    assert printed(w, rec["job"]).state == "done"
    first = w["tspl"].data[before:]
    assert o["barcode"] in codes_of(first)
    again = scan(w, str(o["id"]), scanner="bench-2")  # another scanner: not debounced, still once
    assert again["outcome"] == "duplicate" and again["job"] == rec["job"]
    rep = scan(w, "PS:REPRINT", scanner="bench-2")
    assert rep["outcome"] == "reprinted"
    printed(w, rep["job"])
    # the reprint came after the duplicate through the same FIFO printer: the printer got the
    # sticker twice (scan + reprint), so the duplicate printed nothing
    assert w["tspl"].data[before:] == first + first


def test_debounce_same_scanner(world):
    o = world["wb"].add_order()
    a = scan(world, str(o["id"]), scanner="deb")
    b = scan(world, str(o["id"]), scanner="deb")
    assert a["outcome"] == "queued" and b["outcome"] == "debounced"


def test_supply_qr(world):
    w = world
    s = w["wb"].add_supply(done=True)
    before = len(w["tspl"].data)
    rec = scan(w, s["id"])
    assert rec["outcome"] == "queued" and rec["key"] == f"wb-supply-{s['id']}"
    printed(w, rec["job"])
    assert s["id"] in codes_of(w["tspl"].data[before:])


def test_box_sticker_found_through_synced_supply(world):
    w = world
    box = w["supply"]["boxes"][1]
    before = len(w["tspl"].data)
    rec = scan(w, box)
    assert rec["outcome"] == "queued", rec
    assert rec["key"] == f"wb-box-{box}" and w["supply"]["id"] in rec["detail"]
    printed(w, rec["job"])
    assert w["wb"].box_barcodes[box] in codes_of(w["tspl"].data[before:])


def test_product_barcode_gives_oldest_unprinted_order_then_next(world):
    w = world
    first = scan(w, w["sku"], scanner="p1")
    second = scan(w, w["sku"], scanner="p2")
    third = scan(w, w["sku"], scanner="p3")
    assert first["outcome"] == "queued" and first["key"] == f"wb-order-{w['old']['id']}"
    assert second["outcome"] == "queued" and second["key"] == f"wb-order-{w['new']['id']}"
    assert third["outcome"] == "failed" and "no order waiting" in third["detail"]
    before = len(w["tspl"].data)
    printed(w, first["job"])
    printed(w, second["job"])
    assert w["old"]["barcode"] in codes_of(w["tspl"].data) and w["new"]["barcode"] in codes_of(w["tspl"].data)
    assert before <= len(w["tspl"].data)


def test_ali_tracking(world):
    w = world
    o = w["ali"].add_order(tracking="RU123456785CN")
    before = len(w["tspl"].data)
    rec = scan(w, "RU123456785CN")
    assert rec["outcome"] == "queued" and rec["key"] == f"ali-{o['logistic_order_id']}", rec
    assert printed(w, rec["job"]).state == "done"
    assert "RU123456785CN" in codes_of(w["tspl"].data[before:])


def test_zpl_printer_gets_wb_zpl(world):
    w = world
    o = w["wb"].add_order()
    rec = scan(w, str(o["id"]), printer="zpl")
    printed(w, rec["job"])
    assert o["barcode"].encode() in w["zpl"].data


def test_unmatched_recorded_nothing_printed_and_scans_listed(world):
    w = world
    n = len(w["d"].store.list_jobs(limit=10000))
    rec = scan(w, "hello-world")
    assert rec["outcome"] == "unmatched" and rec["job"] is None
    assert len(w["d"].store.list_jobs(limit=10000)) == n
    r = httpx.get(w["api"] + "/scans?limit=3", timeout=10).json()["scans"]
    assert r[0]["code"] == "hello-world" and r[0]["outcome"] == "unmatched" and len(r) <= 3
    bad = httpx.post(w["api"] + "/scan", json={"code": ""}, timeout=10)
    assert bad.status_code == 400 and "error" in bad.json()
    assert httpx.post(w["api"] + "/scan", json={"code": "x", "printer": "nope"}, timeout=10).status_code == 404


def test_pause_resume_commands(world):
    w = world
    assert scan(w, "PS:PAUSE", printer="zpl")["outcome"] == "paused"
    assert w["d"].workers["zpl"].state == "paused"
    assert scan(w, "PS:RESUME", printer="zpl")["outcome"] == "resumed"
    wait_until(lambda: w["d"].workers["zpl"].state != "paused", what="resumed")


def test_hotfolder_txt_list_through_rules(world):
    w = world
    a, b = w["wb"].add_order(), w["wb"].add_order()
    hot = w["tmp"] / "hot"
    (hot / "batch.txt").write_text(f"{a['id']}\n{b['id']}\n")
    wait_until(lambda: list((hot / ".done").rglob("batch.txt")), what="list done")
    jobs = {j.key: j for j in w["d"].store.list_jobs(limit=10000)}
    assert f"wb-order-{a['id']}" in jobs and f"wb-order-{b['id']}" in jobs


def test_cli_scan(world):
    w = world
    o = w["wb"].add_order()
    cmd = [sys.executable, "-m", "printstation", "scan", str(o["id"]), "--api", w["api"]]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("queued wb-order job"), r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-m", "printstation", "scan", "zzz", "--api", w["api"], "--json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and '"outcome": "unmatched"' in r.stdout
    r = subprocess.run([sys.executable, "-m", "printstation", "scan", "x", "--printer", "nope", "--api", w["api"]],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("printstation: error:")
