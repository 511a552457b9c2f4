"""A malformed item in a WB answer is skipped with one WARNING line; the rest of the round syncs.
A wholly malformed answer (not an object, its list not a list, nothing usable in it) still fails
the round. Real HTTP against the fake WB server, a real sqlite state file."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from printstation.errors import PrintstationError
from printstation.markets import RetryPolicy, WBClient
from printstation.triggers.state import TriggerState
from printstation.triggers.wbsync import WBSync
from support.fakes import FakeWB


@pytest.fixture
def sync(tmp_path):
    with FakeWB(rate_per_min=600_000, burst=10_000) as wb:
        client = WBClient(wb.url, wb.token, rate_per_min=600_000, burst=10_000,
                          retry=RetryPolicy(retries=1, base=0.001, cap=0.002), timeout=5)
        state = TriggerState(tmp_path / "triggers.sqlite")
        yield wb, WBSync(client, state, min_gap_ms=0), tmp_path / "triggers.sqlite"
        state.close()
        client.close()


def rows(db, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def seed(wb) -> tuple[str, list[int]]:
    sid = wb.add_supply()["id"]
    ids = [wb.add_order(supply_id=sid, skus=[f"4600000000{i}"])["id"] for i in range(3)]
    return sid, ids


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def round_with_junk(sync, caplog, key: str, bad) -> tuple[str, list[int], str]:
    """One round with ``bad`` added to the ``key`` list of WB's answers: (supply, its orders, the
    one WARNING line it gave)."""
    wb, s, db = sync
    sid, ids = seed(wb)
    wb.junk[key] = [bad]
    with caplog.at_level(logging.WARNING):
        s.sync_once()
    warned = [w for w in warnings(caplog) if "skipped" in w]
    assert len(warned) == 1, warnings(caplog)
    return sid, ids, warned[0]


BAD_ORDERS = [
    ({"article": "no-id", "skus": ["4600000000099"], "secret": "x" * 500}, "no id"),
    ({"id": "abc", "skus": []}, "'abc' is not a number"),
    ({"id": 1.5}, "is not a number"),
    ({"id": True}, "is not a number"),
    ({"id": -4}, "out of range"),
    ({"id": 2**70}, "out of range"),
    ({"id": 77, "skus": "46000"}, "skus"),
    ({"id": 78, "supplyId": {"x": 1}}, "supplyId"),
    ({"id": 79, "article": ["a"]}, "article"),
    ("just a string", "not an object"),
]


@pytest.mark.parametrize("bad,why", BAD_ORDERS, ids=[w for _, w in BAD_ORDERS])
def test_one_bad_order_is_skipped_the_round_syncs(sync, caplog, bad, why):
    db = sync[2]
    sid, ids, warned = round_with_junk(sync, caplog, "orders", bad)
    assert sorted(r[0] for r in rows(db, "select id from wb_orders where supply_id is not null")) == sorted(ids)
    assert rows(db, "select count(*) from wb_orders")[0][0] == 3
    assert why in warned and "/api/v3/orders" in warned
    assert "x" * 50 not in warned  # what was wrong, not the whole item


@pytest.mark.parametrize("bad", ["abc", None, 0, 2**64, {"id": 1}, 3.5])
def test_one_bad_supply_order_id_is_skipped(sync, caplog, bad):
    sid, ids, warned = round_with_junk(sync, caplog, "orderIds", bad)
    assert sorted(r[0] for r in rows(sync[2], f"select id from wb_orders where supply_id = '{sid}'")) == sorted(ids)
    assert "order-ids" in warned


@pytest.mark.parametrize("bad", [{"name": "no id"}, {"id": ""}, {"id": ["x"]}, 42])
def test_one_bad_supply_is_skipped(sync, caplog, bad):
    sid, ids, warned = round_with_junk(sync, caplog, "supplies", bad)
    assert rows(sync[2], "select id from wb_supplies") == [(sid,)]
    assert len(rows(sync[2], f"select id from wb_orders where supply_id = '{sid}'")) == 3
    assert "/api/v3/supplies" in warned


@pytest.mark.parametrize("path,body", [
    ("/api/v3/orders", {"orders": "garbage", "next": 0}),
    ("/api/v3/orders", {"orders": {"id": 1}, "next": 0}),
    ("/api/v3/orders", {"orders": [1, "two", None], "next": 0}),
    ("/api/v3/orders", ["not", "an", "object"]),
    ("/api/v3/orders", "<html>proxy</html>"),
    ("/api/marketplace/v3/supplies/", {"orderIds": "1,2,3"}),
    ("/api/marketplace/v3/supplies/", {"orderIds": ["x", "y"]}),
    ("/api/v3/supplies", {"supplies": 5, "next": 0}),
])
def test_wholly_malformed_answer_fails_the_round(sync, path, body):
    wb, s, db = sync
    sid, ids = seed(wb)
    wb.fail_next(1, status=200, body=body, path=path)
    with pytest.raises(PrintstationError):
        s.sync_once()
    assert s.rounds == 0
