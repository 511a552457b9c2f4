"""What real scanners send, through a pty serial scanner into the scan path against the fake WB
server: AIM symbology identifiers (``]C0``, ``]E0``, ``]Q1`` …) before the data, UPC-A / EAN-13 /
GTIN-14 forms of one product barcode, and the GS1 DataMatrix on marked goods (``01`` + GTIN-14,
then serial and crypto fields split by GS)."""

from __future__ import annotations

import datetime as dt
import os
import pty

import pytest

from printstation.markets import RetryPolicy, WBClient
from printstation.markets.fetcher import LabelFetcher
from printstation.spec import PrinterSpec
from printstation.triggers.rules import ScanSettings, normalize
from printstation.triggers.scanner import ScannerThread, SerialSource
from printstation.triggers.service import ScanService
from printstation.triggers.state import TriggerState
from printstation.triggers.wbsync import WBSync
from support.daemon_harness import wait_until
from support.fakes import FakeWB

from .conftest import StoreSubmitter

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def bench(tmp_path, store):
    with FakeWB(rate_per_min=600_000, burst=10_000) as wb:
        client = WBClient(wb.url, wb.token, rate_per_min=600_000, burst=10_000,
                          retry=RetryPolicy(retries=1, base=0.001, cap=0.002), timeout=5)
        state = TriggerState(tmp_path / "triggers.sqlite")
        svc = ScanService(ScanSettings(debounce_ms=0), state, StoreSubmitter(store),
                          printers={"default": PrinterSpec()}, default_printer="default",
                          labels=LabelFetcher(wb=client))
        yield {"wb": wb, "svc": svc, "sync": WBSync(client, state, min_gap_ms=0), "state": state}
        state.close()
        client.close()


def _orders(wb, sku: str, n: int) -> list[int]:
    ids = [wb.add_order(skus=[sku], created_at=NOW - dt.timedelta(hours=10 - i))["id"] for i in range(n)]
    wb.add_supply(orders=ids)
    return ids


@pytest.mark.parametrize("raw,clean", [
    ("]C0WB-GI-1234567", "WB-GI-1234567"),      # Code 128
    ("]Q1WB-GI-1234567", "WB-GI-1234567"),      # QR
    ("]E04006381333931", "4006381333931"),      # EAN-13
    ("]E496385074", "96385074"),                # EAN-8
    ("]C01234567890", "1234567890"),
    ("]d2\x1d0104006381333931215abc\x1d93XyZ", "0104006381333931215abc93XyZ"),  # GS1 DataMatrix
    ("RU123456789CN", "RU123456789CN"),         # no identifier: as it was
    ("]", "]"),
])
def test_normalize_drops_an_aim_symbology_identifier(raw, clean):
    assert normalize(raw) == clean


def test_scans_with_aim_identifiers_from_a_serial_scanner_print(bench):
    """A scanner set to send AIM identifiers: the same codes must do what they do without."""
    wb, svc = bench["wb"], bench["svc"]
    supply = wb.add_supply(done=True)
    order = wb.add_order()
    sku = "4006381333931"
    first, _ = _orders(wb, sku, 2)
    bench["sync"].sync_once()
    master, slave = pty.openpty()
    seen: list[dict] = []
    t = ScannerThread(SerialSource(os.ttyname(slave), 9600),
                      lambda code, name: seen.append(svc.scan(code, scanner=name))).start()
    try:
        wait_until(lambda: t.opens >= 1, what="serial open")
        os.write(master, f"]Q1{supply['id']}\r\n]C0{order['id']}\r\n]E0{sku}\r\n".encode())
        wait_until(lambda: len(seen) >= 3, what="three scans")
    finally:
        t.stop()
        os.close(master)
        os.close(slave)
    assert [(r["action"], r["outcome"], r["key"]) for r in seen] == [
        ("wb-supply-qr", "queued", f"wb-supply-{supply['id']}"),
        ("wb-order", "queued", f"wb-order-{order['id']}"),
        ("wb-product", "queued", f"wb-order-{first}")]
