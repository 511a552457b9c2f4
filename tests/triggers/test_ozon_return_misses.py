"""Junk return scans do not hammer Ozon: a code a lookup round did not find is answered from the
state for a while (per code, bounded), yet a real return under that code prints once the sync
brings it in or the miss expires. A real daemon against the fake Ozon server, which counts the
calls; the printed label is rendered back and its barcode decoded."""

from __future__ import annotations

import itertools
import threading

import httpx
import pytest

from printstation.markets.ozon import OzonClient
from printstation.triggers import ozonsync
from printstation.triggers.ozonsync import OzonSync
from printstation.triggers.state import TriggerState
from support.daemon_harness import running, wait_until, write_config
from support.ol_markets import ol_markets_toml
from support.printer_sinks import RecordingSink
from support.render_back import decode, render_back
from support.fakes import FakeLamoda, FakeOzon

RETURNS = "/v3/returns"


@pytest.fixture()
def station(tmp_path):
    oz = FakeOzon(label_shape="json").start()
    lm = FakeLamoda().start()
    sink = RecordingSink()
    oz.add_return(product_offer_id="SHELF-1")
    write_config(tmp_path / "ps.toml", tmp_path / "data",
                 [dict(name="tspl", uri=sink.uri, lang="tspl", media="58x40")], api={"unix_socket": False},
                 extra=f"[sync]\ninterval_s = 3600\nmin_gap_ms = 200\n{ol_markets_toml(tmp_path, oz, lm, [], 'tspl')}")
    try:
        with running(tmp_path / "ps.toml") as d:
            wait_until(lambda: d.triggers.ozon_sync is not None and d.triggers.ozon_sync.rounds >= 1, 30)
            yield d, oz, sink
    finally:
        sink.close()
        oz.stop()
        lm.stop()


_benches = itertools.count()


def scan(d, code):
    """One scan, from a bench of its own (a repeat from one scanner would be debounced)."""
    body = {"code": code, "printer": "tspl", "scanner": f"bench-{next(_benches)}"}
    r = httpx.post(d.api.url + "/scan", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def rounds(oz) -> int:
    """Lookup/sync rounds Ozon has seen (the fake has one page of returns: one call a round)."""
    return len(oz.calls_to(RETURNS))


def test_a_junk_code_costs_one_lookup_and_a_real_return_still_prints(station, monkeypatch):
    d, oz, sink = station
    n = rounds(oz)
    first = scan(d, "ii5550001112")
    assert first["outcome"] == "failed" and "looked up in Ozon just now" in first["detail"]
    assert rounds(oz) == n + 1
    for code in ("ii5550001112", "II5550001112", "ii5550001112"):  # the same code again (any case)
        rec = scan(d, code)
        assert rec["outcome"] == "failed" and "not among the FBS returns" in rec["detail"]
    assert rounds(oz) == n + 1  # no more calls for it
    assert scan(d, "ii5550003334")["outcome"] == "failed"  # another code: its own lookup
    assert rounds(oz) == n + 2

    # The return appears at Ozon under the first code: the miss holds until the sync brings it in.
    late = oz.add_return(return_barcode="ii5550001112", product_offer_id="LATE-42")
    assert scan(d, "ii5550001112")["outcome"] == "failed" and rounds(oz) == n + 2
    d.triggers.ozon_sync.sync_once()  # the background round
    rec = scan(d, "ii5550001112")
    assert rec["outcome"] == "queued" and rec["key"] == f"ozon-return-{late['id']}", rec
    wait_until(lambda: d.store.get(rec["job"]).state == "done", 30)
    assert [c for b in render_back("tspl", sink.data, 203) for c in decode(b.image)] == ["LATE-42"]

    # Or the miss expires: the next scan asks Ozon again and prints.
    monkeypatch.setattr(ozonsync, "MISS_TTL_S", 0.2)
    other = oz.add_return(return_barcode="ii5550003334", product_offer_id="LATE-43")
    sync = d.triggers.ozon_sync
    wait_until(lambda: sync.missed_ago("ii5550003334") is None, 10)
    before = rounds(oz)
    rec = scan(d, "ii5550003334")
    assert rec["outcome"] == "queued" and rec["key"] == f"ozon-return-{other['id']}", rec
    assert rounds(oz) == before + 1


@pytest.fixture()
def sync(tmp_path):
    oz = FakeOzon().start()
    oz.add_return(product_offer_id="A-1")
    client = OzonClient(oz.url, oz.api_key, client_id=oz.client_id, rate_per_min=60000, burst=1000)
    state = TriggerState(tmp_path / "t.sqlite")
    try:
        yield OzonSync(client, state, min_gap_ms=0), oz
    finally:
        client.close()
        state.close()
        oz.stop()


def test_the_remembered_misses_are_bounded(sync, monkeypatch):
    s, oz = sync
    monkeypatch.setattr(ozonsync, "MISS_MAX", 3)
    for i in range(5):
        assert s.lookup(f"ii{i}") is None
    assert rounds(oz) == 5 and len(s._misses) == 3
    s.lookup("ii4")  # still remembered: no call
    assert rounds(oz) == 5
    s.lookup("ii0")  # forgotten (the oldest): asked again
    assert rounds(oz) == 6
    assert s.missed_ago("ii0") is not None and s.missed_ago("ii1") is None


class CountingLock:
    """A lock that counts who came for it (to know the waiting lookups are queued)."""

    def __init__(self) -> None:
        self._lock, self.came = threading.Lock(), 0

    def __enter__(self) -> "CountingLock":
        self.came += 1
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_lookups_waiting_for_a_round_share_the_next_one(sync):
    """Scans of different unknown codes arriving while a round runs wait for it; the first of
    them asks Ozon again (its code could be newer than that round), the rest use that round."""
    s, oz = sync
    gate, entered = threading.Event(), threading.Event()
    real = s.client.returns
    s._lookup_lock = lock = CountingLock()

    def slow_returns(*a, **kw):
        entered.set()
        assert gate.wait(30)
        return real(*a, **kw)

    s.client.returns = slow_returns
    first = threading.Thread(target=s.lookup, args=("ii900",))
    first.start()
    assert entered.wait(30)
    others = [threading.Thread(target=s.lookup, args=(f"ii90{i}",)) for i in range(1, 4)]
    for t in others:
        t.start()
    wait_until(lambda: lock.came == 4, 10)
    gate.set()
    for t in [first, *others]:
        t.join(30)
    assert rounds(oz) == 2  # not 4
    assert all(s.missed_ago(f"ii90{i}") is not None for i in range(4))
