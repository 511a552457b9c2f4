"""The trigger-state contract, run against every backend (SQLite, PostgreSQL): scan log, WB
state, claims (atomic: concurrent product scans get different orders), meta, the sync leader."""

from __future__ import annotations

import threading
import time

import pytest

from printstation.triggers.state import TriggerState
from printstation.triggers.statebase import STALE_CLAIM_S, TriggerStateBase
from support.pg_server import pg, pg_url  # noqa: F401 - fixtures


@pytest.fixture(params=("sqlite", "postgresql"))
def open_state(request, tmp_path):
    opened: list[TriggerStateBase] = []
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None

    def open_(station: str = "s1") -> TriggerStateBase:
        if url is None:
            st: TriggerStateBase = TriggerState(tmp_path / "triggers.sqlite")
        else:
            from printstation.pg import open_database
            from printstation.triggers.pgstate import PgTriggerState

            st = PgTriggerState(open_database(url, station, max_size=12), station, own_db=True)
        opened.append(st)
        return st

    open_.backend = request.param
    yield open_
    for s in opened:
        s.close()


def _sync(st: TriggerStateBase, n_orders: int = 3, sku: str = "4600000000001") -> None:
    st.put_supplies([{"id": "WB-GI-1", "done": False, "createdAt": "2026-01-01"},
                     {"id": "WB-GI-0", "done": True, "closedAt": "2025-12-01"}])
    st.put_orders([{"id": 100 + i, "supplyId": "WB-GI-1", "createdAt": f"2026-01-0{i + 1}", "skus": [sku]}
                   for i in range(n_orders)])
    st.set_supply_orders("WB-GI-1", [100 + i for i in range(n_orders)])
    st.put_boxes("WB-GI-1", ["WB-TRBX-1"])


def test_scan_log_and_meta(open_state):
    st = open_state()
    rec = st.add_scan({"ts": time.time(), "scanner": "api", "printer": "p", "code": "X", "outcome": "queued"})
    assert rec["id"]
    assert [s["code"] for s in st.scans()] == ["X"]
    assert st.get_meta("k") is None
    st.set_meta("k", "v")
    st.set_meta("k", "w")
    assert st.get_meta("k") == "w"


def test_wb_state_and_claims(open_state):
    st = open_state()
    _sync(st)
    assert st.open_supplies() == ["WB-GI-1"] and st.delivered_supplies() == ["WB-GI-0"]
    assert st.box_supply("WB-TRBX-1") == "WB-GI-1" and st.box_supply("nope") is None
    assert st.sku_known("4600000000001") and not st.sku_known("1")
    assert st.claim_next_order("4600000000001", "product", "zebra") == 100  # oldest first
    assert st.claim_order(101, "order", "zebra") is None  # claimed now
    held = st.claim_order(101, "order", "other")
    assert held["printer"] == "zebra" and held["job"] is None
    st.mark_printed(101, "7", "order", "zebra")
    assert st.claim_order(101, "order", "x")["job"] == "7"
    st.unclaim(101)  # has a job: kept
    assert st.printed(101)
    assert st.claim_next_order("4600000000001", "product") == 102
    assert st.claim_next_order("4600000000001", "product") is None
    st.unclaim(102)
    assert st.claim_next_order("4600000000001", "product") == 102


def test_stale_claim_is_taken_over(open_state):
    st = open_state()
    assert st.claim_order(5, "order", "a") is None
    assert st.claim_order(5, "order", "b")["printer"] == "a"
    # the station that claimed it died before queueing: its claim ages past STALE_CLAIM_S
    if isinstance(st, TriggerState):
        with st.tx() as db:
            db.execute("update wb_printed set ts = ts - ?", (STALE_CLAIM_S + 1,))
    else:
        st._exec("UPDATE wb_printed SET ts = ts - %s", (STALE_CLAIM_S + 1,))
    assert st.claim_order(5, "order", "b") is None


def test_concurrent_product_scans_get_different_orders(open_state):
    """Many scanners (threads; for PostgreSQL two stations) scan the same EAN at once: every
    order is claimed exactly once, the rest get None."""
    stations = [open_state("a")] if open_state.backend == "sqlite" else [open_state("a"), open_state("b")]
    _sync(stations[0], n_orders=20)
    got: list[int | None] = []
    lock = threading.Lock()
    go = threading.Barrier(16)

    def scan(i: int) -> None:
        go.wait()
        for _ in range(2):
            oid = stations[i % len(stations)].claim_next_order("4600000000001", "product")
            with lock:
                got.append(oid)

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    orders = [o for o in got if o is not None]
    assert sorted(orders) == list(range(100, 120))  # each order once, none twice
    assert got.count(None) == 12


def test_one_sync_leader_at_a_time(open_state):
    a = open_state("a")
    assert a.lead("wbsync") and a.lead("wbsync")
    if open_state.backend == "sqlite":
        return
    b = open_state("b")
    assert not b.lead("wbsync")
    assert b.lead("ozonsync") and not a.lead("ozonsync")  # each sync job has its own leader
    assert b.get_meta("wbsync_station") == "a"
    a.close()  # station a dies: its session ends (the server notices a moment later), the lock is free
    deadline = time.monotonic() + 10
    while not b.lead("wbsync"):
        assert time.monotonic() < deadline, "b never took the lead"
        time.sleep(0.02)
    assert b.get_meta("wbsync_station") == "b"
