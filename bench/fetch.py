"""Benchmark: fetch WB stickers from the fake WB server under WB's real limits.

1,000 order stickers (zplv, 10 calls of 100 ids) and 50 supply/box stickers (25 supply QRs =
25 calls; 25 box stickers of 5 supplies = 5 box lists + 5 sticker calls) against
``tests/support/fakes/fake_wb.FakeWB`` on 127.0.0.1 with the real bucket (300 requests/min = one per
200 ms, burst 20). The theoretical floor of a run of N calls from a full bucket is
``max(0, N - burst) × 0.2 s``: no client can be faster without a 429. Prints wall time next to it.

    .venv/bin/python bench/fetch.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from printstation import metrics  # noqa: E402
from printstation.markets import LabelCache, LabelFetcher, WBClient  # noqa: E402
from support.fakes import FakeWB  # noqa: E402

RATE, BURST = 300, 20
INTERVAL = 60 / RATE
N_ORDERS, N_SUPPLIES, N_BOX_SUPPLIES, BOXES_EACH = 1000, 25, 5, 5


def floor(calls: int) -> float:
    return max(0, calls - BURST) * INTERVAL


def seed(fake: FakeWB) -> tuple[list[int], list[str], list[dict]]:
    orders = fake.add_orders(N_ORDERS)
    supplies = [fake.add_supply(done=True)["id"] for _ in range(N_SUPPLIES)]
    box_supplies = [fake.add_supply(boxes=BOXES_EACH) for _ in range(N_BOX_SUPPLIES)]
    # Pre-render what the fake serves, so the run measures the client, not the fake's renderer.
    for o in orders:
        fake.sticker_file(o, "zplv")
    for s in supplies:
        fake.supply_file(s, "png")
    for s in box_supplies:
        for b in s["boxes"]:
            fake.box_file(b, "png")
    return orders, supplies, box_supplies


def phase_orders(c: WBClient, orders: list[int]) -> int:
    res = c.order_stickers(orders, "zplv")
    assert all(r.ok for r in res), [r.error for r in res if not r.ok][:3]
    return len(res)


def phase_qr(c: WBClient, supplies: list[str], box_supplies: list[dict]) -> int:
    n = 0
    for s in supplies:
        assert c.supply_barcode(s, "png").data
        n += 1
    for s in box_supplies:
        boxes = c.supply_boxes(s["id"])
        res = c.box_stickers(s["id"], boxes, "png")
        assert all(b.ok for b in res)
        n += len(res)
    return n


def run(name: str, fn, calls: int) -> list[str]:
    with FakeWB(rate_per_min=RATE, burst=BURST) as fake:
        orders, supplies, box_supplies = seed(fake)
        c = WBClient(fake.url, fake.token, rate_per_min=RATE, burst=BURST)
        r429 = metrics.counter("printstation_market_429_total", "", ("market",))
        before = r429.value(market="wb")
        t0 = time.perf_counter()
        labels = fn(c, orders, supplies, box_supplies)
        wall = time.perf_counter() - t0
        c.close()
        seen = len(fake.calls)
        got429 = int(r429.value(market="wb") - before)
    assert seen == calls + got429, (seen, calls)
    return [name, str(labels), str(calls), f"{wall:.2f}", f"{floor(calls):.2f}",
            f"{wall - floor(calls):+.2f}", str(got429)]


def cached_rerun() -> list[str]:
    with FakeWB(rate_per_min=RATE, burst=BURST) as fake, tempfile.TemporaryDirectory() as d:
        orders, _, _ = seed(fake)
        c = WBClient(fake.url, fake.token, rate_per_min=RATE, burst=BURST)
        f = LabelFetcher(wb=c, cache=LabelCache(d))
        f.wb_order_stickers(orders, "zplv")
        fake.reset_calls()
        t0 = time.perf_counter()
        res = f.wb_order_stickers(orders, "zplv")
        wall = time.perf_counter() - t0
        assert all(r.ok for r in res)
        c.close()
        return ["1000 order stickers again, cached", str(len(res)), str(len(fake.calls)), f"{wall:.2f}",
                "0.00", f"{wall:+.2f}", "0"]


def main() -> int:
    qr_calls = N_SUPPLIES + 2 * N_BOX_SUPPLIES
    rows = [
        run("1000 order stickers (zplv)", lambda c, o, s, b: phase_orders(c, o), N_ORDERS // 100),
        run("50 supply QR + box stickers (png)", lambda c, o, s, b: phase_qr(c, s, b), qr_calls),
        run("both, one bucket", lambda c, o, s, b: phase_orders(c, o) + phase_qr(c, s, b),
            N_ORDERS // 100 + qr_calls),
        cached_rerun(),
    ]
    head = ["run (fake WB, 300/min, burst 20)", "labels", "calls", "wall s", "floor s", "over floor", "429s"]
    print(f"bench/fetch.py — WB limits {RATE}/min (one per {INTERVAL * 1000:.0f} ms), burst {BURST}; "
          f"floor = max(0, calls - {BURST}) × {INTERVAL:g} s")
    print()
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
