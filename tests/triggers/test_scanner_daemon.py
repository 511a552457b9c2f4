"""A serial scanner in the real daemon: a pty configured as ``[[scanners]] device`` bound to a
printer, sending what scanners really send (AIM identifiers, a Tab suffix, a GS1 DataMatrix
with GS separators, a double read) — the printed bytes render back to the expected barcodes."""

from __future__ import annotations

import datetime as dt
import os
import pty

import httpx
import pytest

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from support.daemon_harness import wait_until, write_config
from support.fakes.fake_ali import FakeAli
from support.fakes.fake_wb import FakeWB
from support.printer_sinks import RecordingSink
from support.render_back import decode, render_back

from .conftest import fake_markets

pytestmark = pytest.mark.slow


def test_serial_scanner_payloads_print_on_its_printer(tmp_path):
    wb = FakeWB(rate_per_min=60_000, burst=1000).start()
    ali = FakeAli().start()
    sink, other = RecordingSink(), RecordingSink()
    master, slave = pty.openpty()
    sku = "4006381333931"
    now = dt.datetime.now(dt.timezone.utc)
    first = wb.add_order(skus=[sku], created_at=now - dt.timedelta(hours=2))
    wb.add_supply(orders=[first["id"]])
    order = wb.add_order()
    scanner = f'[[scanners]]\ndevice = "serial://{os.ttyname(slave)}?baud=9600"\nprinter = "bench"\n'
    printers = [dict(name="other", uri=other.uri, lang="tspl", media="58x40"),
                dict(name="bench", uri=sink.uri, lang="tspl", media="58x40")]
    cfg = write_config(tmp_path / "ps.toml", tmp_path / "data", printers, api={"unix_socket": False},
                       extra=scanner + fake_markets(tmp_path, wb, ali))
    d = Daemon(configmod.load(cfg))
    d.start()
    try:
        wait_until(lambda: d.triggers.sync and d.triggers.sync.rounds >= 1, what="first WB sync")
        wait_until(lambda: d.triggers.scanners and d.triggers.scanners[0].opens >= 1, what="scanner open")
        # Code 128 with its AIM id and a Tab suffix, read twice at once (one print); then the
        # product's marking DataMatrix (AIM ]d2, GS separators) with CR LF
        os.write(master, f"]C0{order['id']}\t]C0{order['id']}\t".encode())
        os.write(master, b"]d2\x1d0104006381333931215Zx!q9\x1d93AbCd\r\n")

        def scans():
            return httpx.get(d.api.url + "/scans", params={"limit": 10}, timeout=10).json()["scans"][::-1]

        wait_until(lambda: len(scans()) >= 3, what="three scans")
        got = [(s["action"], s["outcome"], s["key"], s["printer"]) for s in scans()]
        assert got[0] == ("wb-order", "queued", f"wb-order-{order['id']}", "bench"), got
        # the double read: debounced (or, should the first take longer than debounce_ms on a
        # loaded box, a duplicate of its key) — never a second print
        assert got[1][1] in ("debounced", "duplicate") and got[1][3] == "bench", got
        assert got[2] == ("wb-product", "queued", f"wb-order-{first['id']}", "bench"), got
        jobs = [s["job"] for s in scans() if s["job"]]
        wait_until(lambda: all(d.store.get(j).state == "done" for j in jobs), what="printed")
        codes = [c for back in render_back("tspl", bytes(sink.data), 203) for c in decode(back.image)]
        assert codes.count(order["barcode"]) == 1 and first["barcode"] in codes
        assert not other.data
    finally:
        d.stop()
        os.close(master)
        os.close(slave)
        for s in (sink, other):
            s.close()
        wb.stop()
        ali.stop()
