"""The trigger-state contract, run against every backend (SQLite, PostgreSQL): scan log, WB
state, claims (atomic: concurrent product scans get different orders), meta, the sync leader, the
synced Ozon returns and the webhook records."""

from __future__ import annotations

import threading
import time

import pytest

from printstation.triggers.state import TriggerState
from printstation.triggers.statebase import STALE_CLAIM_S, TriggerStateBase
from support.daemon_harness import wait_until
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
    st.add_scan({"ts": time.time(), "scanner": "api", "printer": "p", "code": "Y", "outcome": "queued", "job": 17})
    got = st.scans()
    # the job is the job id, an int (null when the scan made none), on every backend
    assert [(s["code"], s["job"]) for s in got] == [("Y", 17), ("X", None)]
    assert type(got[0]["job"]) is int
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
    st.mark_printed(101, 7, "order", "zebra")
    assert st.claim_order(101, "order", "x")["job"] == 7
    st.unclaim(101)  # has a job: kept
    assert st.printed(101)
    assert st.claim_next_order("4600000000001", "product") == 102
    assert st.claim_next_order("4600000000001", "product") is None
    st.unclaim(102)
    assert st.claim_next_order("4600000000001", "product") == 102


def test_order_gone_from_its_supply_is_no_longer_waiting(open_state):
    """WB drops an order the seller cancels from its supply (the order list then gives it no
    ``supplyId``): the next sync's membership must take it out of the product rule, else every
    scan of that product claims it, WB sends no sticker, and the orders behind it never print."""
    st = open_state()
    _sync(st, n_orders=3)
    st.put_orders([{"id": 100, "supplyId": "", "createdAt": "2026-01-01", "skus": ["4600000000001"]}])
    st.set_supply_orders("WB-GI-1", [101, 102])  # 100 was cancelled: no longer in the supply
    assert st.claim_next_order("4600000000001", "product") == 101
    # an order moved to another open supply follows it
    st.put_supplies([{"id": "WB-GI-2", "done": False, "createdAt": "2026-01-02"}])
    st.set_supply_orders("WB-GI-1", [102])
    st.set_supply_orders("WB-GI-2", [100])
    assert st.claim_next_order("4600000000001", "product") == 100
    assert st.claim_next_order("4600000000001", "product") == 102
    assert st.claim_next_order("4600000000001", "product") is None
    st.unclaim(102)
    st.set_supply_orders("WB-GI-1", [])  # every order left it
    assert st.claim_next_order("4600000000001", "product") is None


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
    wait_until(lambda: b.lead("wbsync"), 10)  # b takes the lead once the server noticed
    assert b.get_meta("wbsync_station") == "b"


# -- Ozon FBS returns and webhook records (issue 16's state, on both backends) --------------------

def _ret(rid, barcode, offer, **kw):
    return {"id": rid, "return_barcode": barcode, "posting_number": f"{rid}-0001-1", "product_name": "Куртка",
            "product_offer_id": offer, "sku": 123456789, "quantity": 1, "return_reason_name": "Не подошёл размер",
            "return_date": "2026-01-05T10:00:00Z", "status": "returned_to_seller"} | kw


def test_ozon_returns(open_state):
    st = open_state("a")
    assert st.find_return("ii1") is None and st.returns() == [] and st.count_returns() == 0
    n = st.put_returns([_ret(1, "ii0000000001", "SHELF-1"), _ret(2, "ii0000000002", "SHELF-2", quantity="3"),
                        {"id": "not a number", "return_barcode": "x"}, {"return_barcode": "no id"}, "junk",
                        _ret(2**63, "ii0000000003", "TOO-BIG")])
    assert n == 2 and st.count_returns() == 2
    r = st.find_return("ii0000000001")
    assert r == {"id": 1, "return_barcode": "ii0000000001", "posting_number": "1-0001-1", "product_name": "Куртка",
                 "product_offer_id": "SHELF-1", "sku": "123456789", "quantity": 1,
                 "return_reason_name": "Не подошёл размер", "return_date": "2026-01-05T10:00:00Z",
                 "status": "returned_to_seller"}
    assert st.find_return("ii0000000002")["quantity"] == 3
    assert st.find_return("II0000000001")["id"] == 1  # a scanner in caps lock still finds it
    assert st.find_return("ii000000000") is None and st.find_return("%") is None
    # a re-sync updates in place; the newest return of a barcode used twice wins
    assert st.put_returns([_ret(1, "ii0000000001", "SHELF-1B", status="utilized", quantity=None),
                           _ret(7, "ii0000000002", "SHELF-7")]) == 2
    assert st.find_return("ii0000000001")["product_offer_id"] == "SHELF-1B"
    assert st.find_return("ii0000000001")["quantity"] is None
    assert st.find_return("ii0000000002")["id"] == 7
    assert [r["id"] for r in st.returns()] == [7, 2, 1] and [r["id"] for r in st.returns(1)] == [7]
    assert st.put_returns([]) == 0 and st.count_returns() == 3
    other = open_state("b")  # every station reads the one copy the leader syncs
    assert other.find_return("ii0000000002")["product_offer_id"] == "SHELF-7" and other.count_returns() == 3


def test_webhook_records(open_state):
    st = open_state("a")
    assert st.webhooks() == []
    base = {"ts": time.time(), "source": "lamoda", "remote": "127.0.0.1", "type": "statusChanged",
            "ref": "LM-1", "status": "confirmed", "outcome": "received"}
    r1 = st.add_webhook(base)
    r2 = st.add_webhook(base | {"ref": "LM-2", "type": None, "status": None})
    assert r2 > r1
    st.update_webhook(r1, outcome="queued", job=17, key="lamoda-pack-LM-1", detail="pack labels", id=99, nope=1)
    st.update_webhook(r2)  # nothing to set
    got = st.webhooks()
    assert [h["id"] for h in got] == [r2, r1] and [h["id"] for h in st.webhooks(1)] == [r2]
    assert got[1] == base | {"id": r1, "outcome": "queued", "job": 17, "key": "lamoda-pack-LM-1",
                             "detail": "pack labels"}
    assert got[0]["outcome"] == "received" and got[0]["type"] is None and got[0]["job"] is None
    if open_state.backend == "postgresql":  # each station lists its own notifications; ids never collide
        b = open_state("b")
        assert b.webhooks() == []
        rb = b.add_webhook(base | {"ref": "LM-3"})
        assert rb not in (r1, r2) and [h["ref"] for h in b.webhooks()] == ["LM-3"]
        assert [h["ref"] for h in st.webhooks()] == ["LM-2", "LM-1"]


def test_webhook_records_are_trimmed(open_state, monkeypatch):
    import printstation.triggers.pgstate as pgstate
    import printstation.triggers.state as sqlstate

    for mod in (pgstate, sqlstate):
        monkeypatch.setattr(mod, "MAX_WEBHOOKS", 100)
    st = open_state("a")
    base = {"ts": 1.0, "source": "lamoda", "outcome": "received"}
    ids = [st.add_webhook(base | {"ref": str(i)}) for i in range(500)]
    got = st.webhooks(1000)
    assert got[0]["id"] == ids[-1] and 100 <= len(got) < 500


def test_sqlite_file_of_an_earlier_version_keeps_its_returns_and_records(tmp_path):
    """``triggers.sqlite`` written before these tables moved into the state (the Ozon sync and
    the webhook listener created them themselves; or not at all): opened as it is."""
    import sqlite3

    old = tmp_path / "old.sqlite"
    db = sqlite3.connect(old)
    db.executescript("""
        create table ozon_returns (id integer primary key, return_barcode text, posting_number text,
            product_name text, product_offer_id text, sku text, quantity integer, return_reason_name text,
            return_date text, status text, synced real not null);
        create index ozon_returns_barcode on ozon_returns(return_barcode);
        create table webhooks (id integer primary key autoincrement, ts real not null, source text not null,
            remote text, type text, ref text, status text, outcome text not null, job text, key text, detail text);
        insert into ozon_returns values (5, 'ii5', '5-1-1', 'Шапка', 'HAT-5', '55', 1, 'брак', '2025-12-01', 'x', 1.0);
        insert into webhooks (ts, source, outcome, ref, job) values (1.0, 'lamoda', 'queued', 'LM-9', '9');
        create table scans (id integer primary key autoincrement, ts real not null, scanner text not null,
            printer text, code text not null, action text, ref text, outcome text not null,
            job text, key text, detail text);
        insert into scans (ts, scanner, code, outcome, job) values (1.0, 'api', 'WB-GI-1', 'queued', '12');
        insert into scans (ts, scanner, code, outcome, job) values (1.0, 'api', 'X', 'unmatched', '');
    """)
    db.close()
    st = TriggerState(old)
    try:
        assert st.find_return("ii5")["product_offer_id"] == "HAT-5" and st.count_returns() == 1
        assert st.put_returns([_ret(6, "ii6", "HAT-6")]) == 1 and st.count_returns() == 2
        assert [(h["ref"], h["job"]) for h in st.webhooks()] == [("LM-9", 9)]
        # job ids written as text by earlier versions read as ints; an empty one as null
        assert [(r["code"], r["job"]) for r in st.scans()] == [("X", None), ("WB-GI-1", 12)]
        rid = st.add_webhook({"ts": 2.0, "source": "lamoda", "outcome": "received", "ref": "LM-10"})
        assert rid == 2 and [h["ref"] for h in st.webhooks()] == ["LM-10", "LM-9"]
    finally:
        st.close()
    before = tmp_path / "before.sqlite"  # a file from before issue 16: no such tables at all
    db = sqlite3.connect(before)
    db.executescript("create table meta (key text primary key, value text); insert into meta values ('wb_synced', '1');")
    db.close()
    bare = TriggerState(before)
    try:
        assert bare.get_meta("wb_synced") == "1"
        assert bare.find_return("ii5") is None and bare.webhooks() == []
    finally:
        bare.close()
