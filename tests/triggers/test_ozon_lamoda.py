"""Ozon and Lamoda through the real daemon: scans of return barcodes and posting numbers, the
Lamoda webhook listener. Fake Ozon/Lamoda servers and TCP printer sinks on 127.0.0.1; printed
bytes are rendered back independently and their barcodes decoded."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from printstation.triggers.rules import ScanSettings
from printstation.triggers.settings import parse_scan
from printstation.errors import ConfigError
from support.daemon_harness import wait_until, write_config
from support.ol_markets import ol_markets_toml
from support.printer_sinks import RecordingSink
from support.render_back import decode, render_back
from support.fakes import FakeLamoda, FakeOzon

from .test_e2e import printed as done

SECRET = "hook-" + "7f3a9c" * 6


def test_rules_for_ozon_codes():
    s = ScanSettings()
    assert (s.classify("ii1234567890").action, s.classify("ii1234567890").ref) == ("ozon-return", "ii1234567890")
    assert s.classify("87654321-0012-3").action == "ozon-label"
    assert s.classify("1234567890").action == "wb-order"  # unchanged
    custom = parse_scan({"ozon_return": r"^RET(?P<id>\d+)$"})
    assert custom.classify("RET42").action == "ozon-return" and custom.classify("RET42").ref == "42"
    assert custom.classify("ii1234567890") is None
    with pytest.raises(ConfigError, match="scan.ozon_return"):
        parse_scan({"ozon_return": "("})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ol")
    oz = FakeOzon(label_shape="json").start()
    lm = FakeLamoda().start()
    (tmp / "hook.secret").write_text(SECRET + "\n")
    tspl, narrow, zpl, packs = RecordingSink(), RecordingSink(), RecordingSink(), RecordingSink()
    printers = [dict(name="tspl", uri=tspl.uri, lang="tspl", media="58x40"),
                dict(name="narrow", uri=narrow.uri, lang="tspl", media="40x30", dpi=300),
                dict(name="zpl", uri=zpl.uri, lang="zpl", media="58x40"),
                dict(name="packs", uri=packs.uri, lang="tspl", media="100x150")]
    known = oz.add_return(product_offer_id="SHELF-0042", product_name="Куртка зимняя, синяя, размер L")
    by_printer = {"narrow": oz.add_return(product_offer_id="N-300-7"),
                  "zpl": oz.add_return(product_offer_id="Z0000123456")}
    write_config(tmp / "ps.toml", tmp / "data", printers, api={"unix_socket": False}, extra=f"""
[sync]
interval_s = 3600
min_gap_ms = 200
[[rules]]
match = "^LMO:(?P<id>.+)$"
action = "lamoda-pack"
[[rules]]
match = "^LMS:(?P<id>.+)$"
action = "lamoda-pallet"
{ol_markets_toml(tmp, oz, lm, ["Confirmed", "ready_to_ship"])}[webhooks]
listen = "127.0.0.1:0"
secret_file = "{tmp / 'hook.secret'}"
max_body_kb = 4
read_timeout_s = 2
""")
    d = Daemon(configmod.load(tmp / "ps.toml"))
    d.start()
    wait_until(lambda: d.triggers.ozon_sync and d.triggers.ozon_sync.rounds >= 1, what="first Ozon sync")
    w = dict(tmp=tmp, by_printer=by_printer, oz=oz, lm=lm, tspl=tspl, narrow=narrow, zpl=zpl, packs=packs, d=d, api=d.api.url,
             known=known, hooks=d.triggers.webhooks.url)
    yield w
    d.stop()
    for s in (tspl, narrow, zpl, packs):
        s.close()
    oz.stop()
    lm.stop()


def scan(w, code, printer=None, scanner=None):
    body = {"code": code, "scanner": scanner or f"t-{code}-{printer}"}
    if printer:
        body["printer"] = printer
    r = httpx.post(w["api"] + "/scan", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()



def codes(sink_bytes: bytes, lang: str, dpi: int) -> list[str]:
    out = []
    for back in render_back(lang, sink_bytes, dpi):
        out += decode(back.image)
    return out


@pytest.mark.parametrize("printer,lang,dpi", [("tspl", "tspl", 203), ("narrow", "tspl", 300), ("zpl", "zpl", 203)])
def test_return_scan_prints_our_label_whose_barcode_is_the_article(world, printer, lang, dpi):
    w = world
    sink = w[printer]
    ret = w["known"] if printer == "tspl" else w["by_printer"][printer]
    before = len(sink.data)
    rec = scan(w, ret["return_barcode"], printer)
    assert rec["outcome"] == "queued", rec
    assert rec["action"] == "ozon-return" and rec["key"] == f"ozon-return-{ret['id']}"
    assert ret["product_offer_id"] in rec["detail"]
    assert done(w, rec["job"]).state == "done"
    assert codes(sink.data[before:], lang, dpi) == [ret["product_offer_id"]]
    jobs = len(w["d"].store.list_jobs(limit=100000))
    again = scan(w, ret["return_barcode"], printer, scanner="another-bench")
    assert again["outcome"] == "duplicate" and again["job"] == rec["job"]
    assert len(w["d"].store.list_jobs(limit=100000)) == jobs


def test_return_not_synced_yet_is_looked_up_once(world):
    w = world
    late = w["oz"].add_return(product_offer_id="LATE-7")
    n = len(w["oz"].calls_to("/v3/returns"))
    before = len(w["tspl"].data)
    rec = scan(w, late["return_barcode"].upper(), "tspl")
    assert rec["outcome"] == "queued" and rec["key"] == f"ozon-return-{late['id']}", rec
    assert len(w["oz"].calls_to("/v3/returns")) == n + 1
    done(w, rec["job"])
    assert codes(w["tspl"].data[before:], "tspl", 203) == ["LATE-7"]
    rec = scan(w, "ii99999999999", "tspl")
    assert rec["outcome"] == "failed" and "not among the FBS returns" in rec["detail"]
    assert "looked up" in rec["detail"] and rec["job"] is None


def test_synced_return_barcode_of_another_format_still_matches(world):
    w = world
    odd = w["oz"].add_return(return_barcode="RETURN-ABC-77", product_offer_id="ODD-1")
    w["d"].triggers.ozon_sync.sync_once()
    rec = scan(w, "RETURN-ABC-77", "tspl")
    assert rec["action"] == "ozon-return" and rec["outcome"] == "queued" and rec["key"] == f"ozon-return-{odd['id']}"
    assert scan(w, "RETURN-ABC-78", "tspl")["outcome"] == "unmatched"


def test_synced_return_barcode_that_looks_like_a_wb_code_is_a_return(world):
    """Digits-only return barcodes (a WB order id's shape, a GTIN) go to the return when synced."""
    w = world
    digits = [w["oz"].add_return(return_barcode=code, product_offer_id=f"DIG-{i}")
              for i, code in enumerate(("4711002233", "4006381333931"))]
    w["d"].triggers.ozon_sync.sync_once()
    for ret in digits:
        rec = scan(w, ret["return_barcode"], "tspl")
        assert rec["action"] == "ozon-return" and rec["key"] == f"ozon-return-{ret['id']}", rec
        assert rec["outcome"] == "queued"
        done(w, rec["job"])  # printed before the next test reads the sink from its own start
    rec = scan(w, "4711002234", "tspl")
    assert rec["action"] == "wb-order"  # not a return: the WB rule as before
    if rec.get("job") is not None:
        done(w, rec["job"])


def test_article_with_stray_spaces_prints_its_cleaned_code(world):
    w = world
    ret = w["oz"].add_return(product_offer_id="  SP  42 ")
    w["d"].triggers.ozon_sync.sync_once()
    before = len(w["tspl"].data)
    rec = scan(w, ret["return_barcode"], "tspl")
    assert rec["outcome"] == "queued", rec
    done(w, rec["job"])
    assert codes(w["tspl"].data[before:], "tspl", 203) == ["SP 42"]


def test_posting_scan_prints_the_package_label(world):
    w = world
    p = w["oz"].add_posting()["posting_number"]
    before = len(w["packs"].data)
    rec = scan(w, p, "packs")  # Ozon labels are 75×120 mm: a 100×150 printer
    assert rec["outcome"] == "queued" and rec["action"] == "ozon-label" and rec["key"] == f"ozon-{p}", rec
    assert done(w, rec["job"]).state == "done"
    assert codes(w["packs"].data[before:], "tspl", 203) == [p]
    bad = w["oz"].add_posting(status="delivered")["posting_number"]
    rec = scan(w, bad, "packs")
    assert rec["outcome"] == "failed" and "POSTING_NOT_AWAITING_DELIVER" in rec["detail"]


def post_hook(w, body, secret=SECRET, **kw):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{w['hooks']}/hooks/lamoda/{secret}", content=data,
                      headers={"Content-Type": "application/json"}, timeout=30, **kw)


def hook_records(w, n=10):
    r = httpx.get(w["api"] + f"/webhooks?limit={n}", timeout=10)
    assert r.status_code == 200
    return r.json()["webhooks"]


def test_webhook_status_queues_pack_labels_on_the_configured_printer_once(world):
    w = world
    packs = w["lm"].add_order("LM-5001", packs=2)
    hooks = w["d"].triggers.webhooks.hooks
    seen = hooks.processed
    note = {"type": "statusChanged", "trackingId": "LM-5001", "status": "confirmed"}
    r = post_hook(w, note)
    assert r.status_code == 200 and r.json()["received"] == 1
    assert hooks.wait_processed(seen + 1, 30)
    rec = hook_records(w, 1)[0]
    assert rec["outcome"] == "queued" and rec["key"] == "lamoda-pack-LM-5001" and rec["ref"] == "LM-5001", rec
    assert type(rec["job"]) is int  # the job id, as in the scan records
    job = done(w, rec["job"])
    assert job.state == "done" and job.printer == "packs"
    assert codes(w["packs"].data, "tspl", 203).count(packs[0]) == 1
    assert sorted(c for c in codes(w["packs"].data, "tspl", 203) if c.startswith("PACK-LM-5001")) == sorted(packs)
    n_bytes = len(w["packs"].data)
    r = post_hook(w, [note])  # Lamoda re-sends
    assert r.status_code == 200 and hooks.wait_processed(seen + 2, 30)
    rec2 = hook_records(w, 1)[0]
    assert rec2["outcome"] == "duplicate" and rec2["job"] == rec["job"]
    assert len(w["packs"].data) == n_bytes


def test_lamoda_rules_print_packs_and_pallets(world):
    w = world
    packs = w["lm"].add_order("LM-7007", packs=1)
    pallets = w["lm"].add_shipment("SH-31", pallets=2)
    before = len(w["packs"].data)
    a = scan(w, "LMO:LM-7007", "packs")
    b = scan(w, "LMS:SH-31", "packs")
    assert (a["outcome"], a["key"], b["outcome"], b["key"]) == ("queued", "lamoda-pack-LM-7007", "queued",
                                                                "lamoda-pallet-SH-31"), (a, b)
    done(w, a["job"])
    done(w, b["job"])
    assert sorted(codes(w["packs"].data[before:], "tspl", 203)) == sorted(packs + pallets)
    c = scan(w, "LMO:NOPE-1", "packs")
    assert c["outcome"] == "failed" and "lamoda order NOPE-1" in c["detail"] and "404" in c["detail"]


def test_webhook_other_notifications_recorded_only(world):
    w = world
    hooks = w["d"].triggers.webhooks.hooks
    seen = hooks.processed
    r = post_hook(w, [{"type": "statusChanged", "trackingId": "LM-1", "status": "Delivered"},
                      {"type": "itemStatusChanged", "trackingId": "LM-1", "items": [{"id": 1, "status": "Claimed ok"}]}])
    assert r.status_code == 200 and hooks.wait_processed(seen + 2, 30)
    a, b = hook_records(w, 2)
    assert a["outcome"] == "ignored" and a["type"] == "itemStatusChanged"
    assert b["outcome"] == "ignored" and "not in [markets.lamoda] print_on_status" in b["detail"]


def test_webhook_refuses_what_it_must(world):
    w = world
    n = len(hook_records(w, 1000))
    note = {"type": "statusChanged", "trackingId": "LM-5001", "status": "Confirmed"}
    for secret in ("wrong-" + SECRET[6:], SECRET[:-1], SECRET + "x", ""):
        r = post_hook(w, note, secret=secret)
        assert r.status_code == 404
    assert httpx.post(w["hooks"] + "/scan", json={"code": "x"}, timeout=10).status_code == 404
    assert httpx.get(w["hooks"] + f"/hooks/lamoda/{SECRET}", timeout=10).status_code == 404
    assert httpx.get(w["hooks"] + "/jobs", timeout=10).status_code == 404
    assert httpx.get(w["hooks"] + "/healthz", timeout=10).json() == {"ok": True}
    assert post_hook(w, b"{not json").status_code == 400
    assert post_hook(w, b"\xff\xfe").status_code == 400
    assert post_hook(w, b'"a string"').status_code == 400
    assert post_hook(w, b"[" * 1900 + b"]" * 1900).status_code == 400  # nesting deeper than the parser goes
    assert post_hook(w, [{"type": "statusChanged"}] * 101).status_code == 400
    assert post_hook(w, b"x" * 5000).status_code == 413
    assert len(hook_records(w, 1000)) == n  # nothing recorded


def test_webhook_without_length_and_slow_client(world):
    w = world
    host, port = w["d"].triggers.webhooks.address
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"POST /hooks/lamoda/{SECRET} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.0 411")
    with socket.create_connection((host, port), timeout=10) as s:  # promises 100 bytes, sends 5
        s.sendall(f"POST /hooks/lamoda/{SECRET} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"a\"".encode())
        assert s.recv(100) == b""  # closed after read_timeout_s, no answer
    assert httpx.get(w["hooks"] + "/healthz", timeout=10).status_code == 200


def test_secret_never_in_logs_or_records(world, caplog):
    w = world
    post_hook(w, {"type": "x"}, secret="nope-" + SECRET)
    recs = json.dumps(hook_records(w, 1000))
    assert SECRET not in caplog.text and SECRET[5:] not in caplog.text
    assert SECRET not in recs and w["oz"].api_key not in recs and w["lm"].client_secret not in recs
    log_path = w["tmp"] / "data"
    for p in log_path.rglob("*"):
        if p.is_file() and p.stat().st_size < 5_000_000:
            blob = p.read_bytes()
            assert SECRET.encode() not in blob and w["oz"].api_key.encode() not in blob
