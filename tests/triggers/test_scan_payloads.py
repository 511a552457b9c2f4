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


@pytest.mark.parametrize("stored,scanned", [
    ("0036000291452", "036000291452"),     # WB holds the EAN-13 form; the scanner sends UPC-A
    ("036000291452", "0036000291452"),     # the other way round (a scanner set to UPC-A → EAN-13)
    ("4006381333931", "04006381333931"),   # GTIN-14 of an EAN-13
    ("96385074", "00000096385074"),        # GTIN-14 of an EAN-8
])
def test_product_barcode_in_another_gtin_form_finds_its_orders(bench, stored, scanned):
    wb = bench["wb"]
    first, second = _orders(wb, stored, 2)
    bench["sync"].sync_once()
    a = bench["svc"].scan(scanned, scanner="s1")
    b = bench["svc"].scan(scanned, scanner="s2")
    assert (a["action"], a["outcome"], a["key"]) == ("wb-product", "queued", f"wb-order-{first}"), a
    assert (b["outcome"], b["key"]) == ("queued", f"wb-order-{second}"), b


@pytest.mark.parametrize("payload", [
    "0104006381333931215Zx!q9\x1d93AbCd",            # Честный знак DataMatrix: 01 GTIN 21 serial GS 93 crypto
    "]d20104006381333931215Zx!q9\x1d91EE06\x1d92abc",
    "]C101040063813339311726013110LOT-7",             # GS1-128: 01 GTIN 17 expiry 10 batch
    "(01)04006381333931(21)5Zx!q9",                   # the human-readable form with parentheses
    "0104006381333931",
])
def test_gs1_code_on_marked_goods_is_a_product_scan(bench, payload):
    """A packer scans the product's marking DataMatrix (or a GS1-128) instead of its EAN: the
    GTIN in it (AI 01) is the product."""
    wb = bench["wb"]
    first, _ = _orders(wb, "4006381333931", 2)
    bench["sync"].sync_once()
    rec = bench["svc"].scan(payload, scanner="dm")
    assert (rec["action"], rec["outcome"], rec["key"]) == ("wb-product", "queued", f"wb-order-{first}"), rec


@pytest.mark.parametrize("code", ["0104006381333932215abc", "01040063813339", "0140063813339312",
                                  "(01)04006381333932(21)x"])
def test_gs1_like_code_with_a_bad_gtin_is_no_product(code):
    m = ScanSettings().classify(normalize(code))
    assert m is None or m.action != "wb-product"


def test_order_id_rule_longer_than_int64_fails_with_a_reason(tmp_path, store):
    """``[scan] wb_order_digits`` may go up to 20 digits: a 20-digit code past int64 is a failed
    scan that says why, not an internal OverflowError."""
    svc = ScanService(ScanSettings(wb_order_digits=(9, 20)), TriggerState(tmp_path / "t.sqlite"),
                      StoreSubmitter(store), printers={"default": PrinterSpec()}, default_printer="default",
                      labels=LabelFetcher())
    rec = svc.scan("99999999999999999999")
    assert (rec["action"], rec["outcome"]) == ("wb-order", "failed")
    assert "too large" in rec["detail"] and "internal error" not in rec["detail"]


@pytest.mark.parametrize("code,action", [
    ("21619418835187", "ali-tracking"),   # seed 003's platform_tracking_code
    ("80082364123454", "ali-tracking"),   # a Russian Post number (its check digit is GTIN-valid)
    ("04006381333931", "wb-product"),     # GTIN-14 of an EAN-13: still a product
    ("00012345600012", "wb-product"),
    ("4006381333931", "wb-product"),
])
def test_fourteen_digit_tracking_numbers_are_ali_tracking(code, action):
    """LAliExpress shipments carry 14-digit numeric tracking codes (seed 003's example, Russian
    Post): the built-in rules left them unmatched, or took them for a GTIN-14 product."""
    m = ScanSettings().classify(code)
    assert m is not None and (m.action, m.ref) == (action, code)


def test_fourteen_digit_code_that_is_a_synced_wb_sku_stays_a_product(bench):
    """A seller whose WB barcode is a GTIN-14 with a packing indicator (14006381333938): its scan
    is still the product, because the synced orders know it."""
    wb = bench["wb"]
    first, _ = _orders(wb, "14006381333938", 2)
    bench["sync"].sync_once()
    rec = bench["svc"].scan("14006381333938")
    assert (rec["action"], rec["outcome"], rec["key"]) == ("wb-product", "queued", f"wb-order-{first}"), rec


def test_seed_tracking_code_scan_prints_its_ali_label(tmp_path, store):
    from printstation.markets import AliClient
    from support.fakes import FakeAli

    with FakeAli() as ali:
        o = ali.add_order(tracking="21619418835187")
        client = AliClient(ali.url, ali.token, retry=RetryPolicy(retries=1, base=0.001, cap=0.002), timeout=5)
        svc = ScanService(ScanSettings(), TriggerState(tmp_path / "t.sqlite"), StoreSubmitter(store),
                          printers={"default": PrinterSpec()}, default_printer="default",
                          labels=LabelFetcher(ali=client))
        rec = svc.scan("21619418835187")
        client.close()
    assert (rec["action"], rec["outcome"], rec["key"]) == \
        ("ali-tracking", "queued", f"ali-{o['logistic_order_id']}"), rec


@pytest.mark.parametrize("status", [dict(wb_status="canceled"), dict(wb_status="canceled_by_client"),
                                    dict(wb_status="defect"), dict(status="cancel")])
def test_product_scan_skips_an_order_cancelled_in_its_open_supply(bench, status):
    """An order WB or the buyer cancelled can stay listed in its open supply: the sync reads the
    statuses of the waiting orders, so a product scan never hands out a cancelled order's sticker."""
    wb = bench["wb"]
    first, second = _orders(wb, "4006381333931", 2)
    wb.orders[first].update({"wbStatus": status.get("wb_status", "waiting"),
                             "status": status.get("status", "confirm")})
    bench["sync"].sync_once()
    assert len(wb.calls_to("/api/v3/orders/status")) == 1
    rec = bench["svc"].scan("4006381333931")
    assert (rec["outcome"], rec["key"]) == ("queued", f"wb-order-{second}"), rec
    again = bench["svc"].scan("4006381333931", scanner="other")
    assert again["outcome"] == "failed" and "no order waiting" in again["detail"]


def test_sync_keeps_memberships_when_the_status_call_fails(bench):
    wb = bench["wb"]
    first, _ = _orders(wb, "4006381333931", 2)
    wb.fail_next(10, status=500, path="/api/v3/orders/status")
    bench["sync"].sync_once()  # the round completes without the statuses
    rec = bench["svc"].scan("4006381333931")
    assert (rec["outcome"], rec["key"]) == ("queued", f"wb-order-{first}"), rec
