"""Claims across stations whose clocks disagree (real PostgreSQL): a claim still being fetched
at one bench is "being printed" for every other bench, whatever their clocks say. Only the
database's clock dates a claim, so a bench whose clock runs minutes ahead does not take over a
fresh claim as if its station had died (nor does one running behind see a stale claim as fresh)."""

from __future__ import annotations

import time
import types

import pytest

from printstation.triggers import pgstate
from printstation.triggers.statebase import STALE_CLAIM_S
from support.pg_server import pg, pg_url  # noqa: F401 - fixtures


def skewed(seconds: float) -> types.SimpleNamespace:
    """A ``time`` module whose clock is ``seconds`` off."""
    return types.SimpleNamespace(time=lambda: time.time() + seconds, monotonic=time.monotonic)


@pytest.fixture
def benches(pg_url):
    from printstation.pg import open_database

    dbs = [open_database(pg_url, f"bench {n}") for n in "ab"]
    yield [pgstate.PgTriggerState(db, n) for db, n in zip(dbs, "ab")]
    for db in dbs:
        db.close()


@pytest.mark.parametrize("skew", [STALE_CLAIM_S + 300, -(STALE_CLAIM_S + 300)], ids=["b-ahead", "a-behind"])
def test_a_fresh_claim_holds_whatever_the_benches_clocks_say(benches, monkeypatch, skew):
    a, b = benches
    oid = 500_000_123
    # bench a claims the order and is fetching its sticker (a's clock behind, or b's ahead)
    monkeypatch.setattr(pgstate, "time", skewed(skew if skew < 0 else 0))
    assert a.claim_order(oid, "order", "zebra") is None
    monkeypatch.setattr(pgstate, "time", skewed(skew if skew > 0 else 0))
    held = b.claim_order(oid, "order", "zebra2")
    assert held is not None and held["station"] == "a" and held["printer"] == "zebra" and held["job"] is None


def test_a_claim_whose_station_died_is_still_taken_over(benches, pg):
    a, b = benches
    oid = 500_000_124
    assert a.claim_order(oid, "order", "zebra") is None
    # a died before it queued the job, long ago (by the database's clock)
    a._exec("UPDATE wb_printed SET ts = ts - %s WHERE order_id = %s", (STALE_CLAIM_S + 1, oid))
    assert b.claim_order(oid, "order", "zebra2") is None  # b takes it over
    row = b._one("SELECT station, printer FROM wb_printed WHERE order_id = %s", (oid,))
    assert tuple(row) == ("b", "zebra2")
