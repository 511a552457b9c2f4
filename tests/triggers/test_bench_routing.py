"""Issue 13 at the pack bench: rules that name their printer, the max_downscale refusal, duplicates
that name the job and printer that really printed, PS:REPRINT after a duplicate, and box stickers of
delivered supplies. The real daemon, fake WB and LAliExpress servers, TCP printer sinks; printed
bytes are rendered back and their barcodes decoded."""

from __future__ import annotations

import httpx
import pytest

from printstation.face import config as configmod
from printstation.face.cli import main
from printstation.face.daemon import Daemon
from printstation.errors import ConfigError
from support.daemon_harness import wait_until, write_config
from support.printer_sinks import RecordingSink
from support.fakes.fake_ali import FakeAli
from support.fakes.fake_wb import FakeWB

from .conftest import fake_markets
from .test_e2e import codes_of as codes
from .test_e2e import printed as finished
from .test_e2e import scan as e2e_scan


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    wb = FakeWB(rate_per_min=60_000, burst=1000).start()
    ali = FakeAli().start()
    small, big, zebra = RecordingSink(), RecordingSink(), RecordingSink()
    printers = [dict(name="bench", uri=small.uri, lang="tspl", media="58x40"),
                dict(name="big", uri=big.uri, lang="tspl", media="100x150"),
                dict(name="zebra", uri=zebra.uri, lang="zpl")]
    write_config(tmp / "ps.toml", tmp / "data", printers, api={"unix_socket": False}, extra=f"""
[[rules]]
match = "^(?:RU\\\\d{{9}}CN)$"
action = "ali-tracking"
printer = "big"
[[rules]]
match = "^ALI(\\\\d+)$"
action = "ali-label"
[sync]
interval_s = 3600
min_gap_ms = 200
""" + fake_markets(tmp, wb, ali))
    d = Daemon(configmod.load(tmp / "ps.toml"))
    d.start()
    wait_until(lambda: d.triggers.sync and d.triggers.sync.rounds >= 1, what="first WB sync")
    yield dict(d=d, wb=wb, ali=ali, small=small, big=big, zebra=zebra, api=d.api.url, tmp=tmp)
    d.stop()
    for s in (small, big, zebra):
        s.close()
    wb.stop()
    ali.stop()


def scan(b, code, printer=None, scanner="bench-scanner"):
    return e2e_scan(b, code, printer=printer, scanner=scanner)


def test_rule_printer_routes_the_label_whatever_scanner_read_it(bench):
    b = bench
    o = b["ali"].add_order(tracking="RU123456785CN")
    before_small, before_big = len(b["small"].data), len(b["big"].data)
    rec = scan(b, "RU123456785CN", printer="bench")  # read by the 58×40 bench's scanner
    assert rec["outcome"] == "queued" and rec["printer"] == "big", rec
    job = finished(b, rec["job"])
    assert job.state == "done" and job.printer == "big"
    assert "RU123456785CN" in codes(b["big"].data[before_big:])
    assert len(b["small"].data) == before_small  # nothing on the small printer
    assert o["logistic_order_id"]


def test_large_label_on_small_media_is_refused_with_sizes(bench):
    b = bench
    o = b["ali"].add_order(tracking="RU223456781CN")
    before = len(b["small"].data)
    rec = scan(b, f"ALI{o['logistic_order_id']}", printer="bench")  # a rule without a printer
    assert rec["outcome"] == "failed", rec
    assert "label is 100×150 mm, printer bench has 58×40 mm media" in rec["detail"]
    assert len(b["small"].data) == before
    job = b["d"].store.get(int(rec["job"]))
    assert job.state == "failed" and "label is 100×150 mm, printer bench has 58×40 mm media" in job.error
    # fit=1 over the API prints it shrunk anyway
    pdf = b["d"].store.payload(job.id)
    r = httpx.post(b["api"] + "/jobs", params={"printer": "bench", "fit": "1"}, content=pdf, timeout=30)
    assert r.status_code == 201 and r.json()["fit"] is True
    assert finished(b, r.json()["id"]).state == "done"
    assert "RU223456781CN" in codes(b["small"].data[before:])


def test_duplicate_names_the_job_and_printer_that_printed_and_reprint_follows_the_scanner(bench, capsys):
    b = bench
    o = b["wb"].add_order()
    first = scan(b, str(o["id"]), printer="zebra", scanner="zebra-scanner")
    assert first["outcome"] == "queued" and first["printer"] == "zebra"
    assert finished(b, first["job"]).state == "done"
    assert o["barcode"].encode() in b["zebra"].data
    dup = scan(b, str(o["id"]), printer="bench", scanner="bench-scanner")
    assert dup["outcome"] == "duplicate" and dup["job"] == first["job"] and dup["printer"] == "zebra"
    assert dup["detail"] == f"order {o['id']} already printed as job {first['job']} on zebra"
    # the CLI says the same
    assert main(["scan", str(o["id"]), "--printer", "bench", "--api", b["api"]]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"duplicate: order {o['id']} already printed as job {first['job']} on zebra")
    # PS:REPRINT right after the duplicate: that label, on the scanner's own printer (TSPL here:
    # fetched again in the type this printer takes)
    before = len(b["small"].data)
    rep = scan(b, "PS:REPRINT", printer="bench", scanner="bench-scanner")
    assert rep["outcome"] == "reprinted" and rep["printer"] == "bench", rep
    job = finished(b, rep["job"])
    assert job.state == "done" and job.printer == "bench" and job.reprint_of == int(first["job"])
    assert o["barcode"] in codes(b["small"].data[before:])


def test_box_of_a_delivered_supply_is_found(bench):
    b = bench
    s = b["wb"].add_supply(done=True, boxes=2)  # delivered after the last sync: unknown locally
    box = s["boxes"][1]
    before = len(b["small"].data)
    rec = scan(b, box, printer="bench")
    assert rec["outcome"] == "queued", rec
    assert rec["detail"].startswith(f"supply {s['id']}")
    assert finished(b, rec["job"]).state == "done"
    assert b["wb"].box_barcodes[box] in codes(b["small"].data[before:])
    trbx = [c for c in b["wb"].calls if c.path == f"/api/v3/supplies/{s['id']}/trbx"]
    assert trbx  # asked WB with the call `printstation wb boxes` makes
    # a box no supply holds still fails, naming where it looked
    nope = scan(b, "WB-TRBX-999999999", printer="bench")
    assert nope["outcome"] == "failed" and "no open or recently delivered WB supply" in nope["detail"]


def test_rule_printer_must_exist(tmp_path):
    base = '[[printers]]\nname = "zebra"\nuri = "dir://./out"\n'
    with pytest.raises(ConfigError, match=r"rules\[0\]\.printer: no printer named 'nope'"):
        configmod.loads(base + '[[rules]]\nmatch = "^X$"\naction = "ignore"\nprinter = "nope"\n')
    with pytest.raises(ConfigError, match=r"rules\[0\]\.printer: expected a printer name"):
        configmod.loads(base + '[[rules]]\nmatch = "^X$"\naction = "ignore"\nprinter = 5\n')
    with pytest.raises(ConfigError, match=r"printers\[0\]\.max_downscale"):
        configmod.loads(base + "max_downscale = 1.5\n")
    c = configmod.loads(base + '[[rules]]\nmatch = "^X$"\naction = "ignore"\nprinter = "zebra"\n')
    assert c.rules[0].options["printer"] == "zebra" and c.printers[0].spec.max_downscale == 0.8


def test_scan_answer_names_a_paused_printer(bench, capsys):
    b = bench
    o = b["wb"].add_order()
    b["d"].pause("bench")
    try:
        rec = scan(b, str(o["id"]), printer="bench")
        assert rec["outcome"] == "queued"
        assert rec["printer_state"] == "paused" and rec["printer_reason"] == "paused by operator"
        o2 = b["wb"].add_order()
        assert main(["scan", str(o2["id"]), "--printer", "bench", "--api", b["api"]]) == 0
        out = capsys.readouterr().out.strip()
        assert out.startswith("queued wb-order job ") and out.endswith(
            "on bench — printer bench: paused: paused by operator"), out
    finally:
        b["d"].resume("bench")
    assert finished(b, rec["job"]).state == "done"


def test_hot_folder_refuses_a_large_label_for_small_media(tmp_path):
    from printstation.pipeline import convert
    from printstation.queue.store import JobStore
    from printstation.spec import Media, PrinterSpec
    from printstation.triggers.hotfolder import HotFolder
    from support.labelgen import pdf_label

    from .conftest import StoreSubmitter

    store = JobStore(tmp_path / "data")
    printers = {"bench": PrinterSpec(lang="tspl", media=Media(58, 40), max_downscale=0.8, name="bench")}
    hot = tmp_path / "hot"
    (hot / "bench").mkdir(parents=True)
    (hot / "bench" / "ali.pdf").write_bytes(pdf_label("RU123456785CN"))
    folder = HotFolder(hot, StoreSubmitter(store), printers=printers, default_printer="bench", scans=None,
                       validate=convert, settle_ms=100)
    folder.start()
    try:
        why = wait_until(lambda: next((hot / ".failed").glob("*.error.txt"), None)
                       if (hot / ".failed").exists() else None, what="the refusal")
    finally:
        folder.stop()
        store.close()
    assert "label is 100×150 mm, printer bench has 58×40 mm media" in why.read_text()


def test_same_code_for_another_printer_is_not_a_double_read(bench):
    b = bench
    o = b["wb"].add_order()
    first = scan(b, str(o["id"]), printer="zebra", scanner="api")
    again = scan(b, str(o["id"]), printer="zebra", scanner="api")
    assert first["outcome"] == "queued" and again["outcome"] == "debounced"
    other = scan(b, str(o["id"]), printer="bench", scanner="api")  # at once, another printer
    assert other["outcome"] == "duplicate" and other["printer"] == "zebra"
    assert other["detail"].startswith(f"order {o['id']} already ") and f"as job {first['job']} on zebra" in other["detail"]
