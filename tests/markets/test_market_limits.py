"""Rate limits and retries: the token bucket (fake clock), 429 handling (real clock against the
fake), 5xx/timeout/dropped-connection retries with bounded backoff, 4xx not retried."""

from __future__ import annotations

import random
import time

import httpx

import pytest

from printstation import metrics
from printstation.markets import ApiError, RetryPolicy, TokenBucket, Unavailable, WBClient
from printstation.markets.base import PACING_MARGIN
from support.fakes import FakeWB

from conftest import FAST_BURST, FAST_RATE, QUICK_RETRY


# -- the bucket alone, deterministic ------------------------------------------------------------

def test_bucket_burst_then_one_per_interval(fake_clock):
    b = TokenBucket(300, 20, clock=fake_clock, sleep=fake_clock.sleep)
    start = fake_clock.now
    times = []
    for _ in range(25):
        b.acquire()
        times.append(fake_clock.now - start)
    assert times[:20] == [0.0] * 20
    gaps = [round(t2 - t1, 6) for t1, t2 in zip(times[19:], times[20:])]
    assert gaps == [0.2] * 5


def test_bucket_refills_up_to_burst_only(fake_clock):
    b = TokenBucket(60, 3, clock=fake_clock, sleep=fake_clock.sleep)
    for _ in range(3):
        b.acquire()
    fake_clock.now += 100  # long idle: back to 3, not 100
    for _ in range(3):
        assert b.acquire() == 0
    assert b.delay() == pytest.approx(1.0)


def test_bucket_block_and_charge(fake_clock):
    b = TokenBucket(300, 20, clock=fake_clock, sleep=fake_clock.sleep)
    b.block(2.5)
    assert b.acquire() == pytest.approx(2.5)
    # the 4xx charge: 10 tokens gone at once
    b2 = TokenBucket(300, 20, clock=fake_clock, sleep=fake_clock.sleep)
    b2.charge(19)
    assert b2.delay() == 0
    b2.acquire()
    assert b2.delay() == pytest.approx(0.2)
    b2.sync(0)
    assert b2.delay() == pytest.approx(0.2)


def test_backoff_is_exponential_jittered_and_bounded():
    p = RetryPolicy(retries=6, base=0.5, cap=4.0)
    rng = random.Random(1)
    for n in range(8):
        d = min(4.0, 0.5 * 2 ** n)
        for _ in range(50):
            assert d / 2 <= p.backoff(n, rng) <= d


# -- against the fake ---------------------------------------------------------------------------

def test_5xx_retried_with_growing_backoff(fake_wb, fake_clock):
    fake_wb.fail_next(3, status=503)
    c = WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST,
                 retry=RetryPolicy(retries=4, base=0.1, cap=0.3), clock=fake_clock, sleep=fake_clock.sleep)
    assert c.new_orders() == []
    assert [x.status for x in fake_wb.calls] == [503, 503, 503, 200]
    s = fake_clock.sleeps
    assert len(s) == 3 and 0.05 <= s[0] <= 0.1 and 0.1 <= s[1] <= 0.2 and 0.15 <= s[2] <= 0.3


def test_5xx_retries_are_bounded(wb, fake_wb):
    fake_wb.fail_next(10, status=502)
    with pytest.raises(Unavailable) as ei:
        wb.new_orders()
    assert ei.value.status == 502 and ei.value.transient
    assert len(fake_wb.calls) == QUICK_RETRY.retries + 1


def test_dropped_connections_retried_then_bounded(wb, fake_wb):
    fake_wb.drop_next(2)
    assert wb.new_orders() == []
    assert [x.status for x in fake_wb.calls] == [0, 0, 200]
    fake_wb.drop_next(10)
    with pytest.raises(Unavailable) as ei:
        wb.new_orders()
    assert ei.value.status == 0 and "RemoteProtocolError" in str(ei.value)


def test_timeout_retried(fake_wb):
    c = WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY,
                 timeout=0.2)
    fake_wb.delay_next(0.6)
    assert c.new_orders() == []
    assert len(fake_wb.calls) == 2


def test_4xx_not_retried_and_charged_like_the_server(fake_clock):
    with FakeWB(rate_per_min=300, burst=20) as f:
        c = WBClient(f.url, f.token, retry=QUICK_RETRY, clock=fake_clock, sleep=fake_clock.sleep)
        with pytest.raises(ApiError):
            c.supply_boxes("WB-GI-missing")
        assert len(f.calls) == 1
        # the server charged 10 and said so; the client's bucket follows
        assert int(f.calls[0].headers["X-Ratelimit-Remaining"]) == 10
        assert c.bucket.delay(11) > 0 and c.bucket.delay(10) == 0


def test_429_waits_retry_header_never_sooner_real_clock():
    """Client bucket far too generous: the fake's bucket (2 burst, 0.5 s/token) answers 429s."""
    before = metrics.counter("printstation_market_429_total", "", ("market",)).value(market="wb")
    with FakeWB(rate_per_min=120, burst=2, integer_headers=False) as f:
        c = WBClient(f.url, f.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY)
        for _ in range(5):
            assert c.new_orders() == []
        calls = list(f.calls)
    limited = [i for i, x in enumerate(calls) if x.status == 429]
    assert limited, "the test needs the fake to answer 429"
    for i in limited:
        assert calls[i].headers["X-Ratelimit-Limit"] == "2"
        assert "X-Ratelimit-Remaining" not in calls[i].headers
        wait = float(calls[i].headers["X-Ratelimit-Retry"])
        assert calls[i + 1].t - calls[i].t >= wait, (i, calls[i + 1].t - calls[i].t, wait)
    assert sum(x.status == 200 for x in calls) == 5
    after = metrics.counter("printstation_market_429_total", "", ("market",)).value(market="wb")
    assert after - before == len(limited)


def test_429_without_retry_header_waits_reset(fake_wb, fake_clock):
    fake_wb.fail_next(1, status=429, body={"title": "too many requests"}, headers={"X-Ratelimit-Reset": "3"})
    c = WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY,
                 clock=fake_clock, sleep=fake_clock.sleep)
    assert c.new_orders() == []
    assert fake_clock.sleeps == [pytest.approx(3.0)]
    fake_wb.fail_next(1, status=429, headers={"X-Ratelimit-Retry": "2", "X-Ratelimit-Reset": "30"})
    assert c.new_orders() == []
    assert fake_clock.sleeps[1:] == [pytest.approx(2.0)]


def test_429_forever_is_bounded(fake_wb, fake_clock):
    fake_wb.fail_next(100, status=429, headers={"X-Ratelimit-Retry": "1"})
    c = WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST,
                 retry=RetryPolicy(max_429=3), clock=fake_clock, sleep=fake_clock.sleep)
    with pytest.raises(ApiError) as ei:
        c.new_orders()
    assert ei.value.status == 429 and ei.value.transient
    assert len(fake_wb.calls) == 4


class _SendTimes(httpx.HTTPTransport):
    """A real transport that notes when each request leaves the client."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.times.append(time.monotonic())
        return super().handle_request(request)


def test_client_paces_itself_real_clock():
    """Same limits on both sides (600/min, burst 3): the client spaces its calls by itself."""
    with FakeWB(rate_per_min=600, burst=3, integer_headers=False) as f:
        transport = _SendTimes()
        t_before = time.monotonic()
        c = WBClient(f.url, f.token, rate_per_min=600, burst=3, retry=QUICK_RETRY, transport=transport)
        for _ in range(8):
            c.new_orders()
        assert sum(x.status == 200 for x in f.calls) == 8
    interval = 60 / 600 / PACING_MARGIN
    sends = transport.times
    assert len(sends) >= 8
    for k in range(3, len(sends)):
        # after the burst of 3, send k never leaves before (k - 2) intervals from a full bucket
        assert sends[k] - t_before >= (k - 2) * interval - 1e-6


def test_calls_counter_by_status(fake_wb, wb):
    ctr = metrics.counter("printstation_market_calls_total", "", ("market", "status"))
    b200, b503 = ctr.value(market="wb", status="200"), ctr.value(market="wb", status="503")
    fake_wb.fail_next(1)
    wb.new_orders()
    assert ctr.value(market="wb", status="200") - b200 == 1
    assert ctr.value(market="wb", status="503") - b503 == 1
    assert "printstation_market_calls_total{market=\"wb\",status=\"200\"}" in metrics.render()


def test_429_longer_than_we_wait_raises_and_still_blocks(fake_wb, fake_clock):
    fake_wb.fail_next(1, status=429, headers={"X-Ratelimit-Retry": "500"})
    c = WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST,
                 retry=RetryPolicy(max_wait_429=60), clock=fake_clock, sleep=fake_clock.sleep)
    with pytest.raises(ApiError, match="retry in 500 s") as ei:
        c.new_orders()
    assert ei.value.status == 429 and len(fake_wb.calls) == 1
    assert c.bucket.delay() == pytest.approx(500)  # the next call, from any caller, waits it out


def test_429_reset_given_as_a_unix_time_or_absurd_is_not_a_lifetime_block(fake_wb, fake_clock):
    """Gateways often send ``X-Ratelimit-Reset`` as a Unix time, not seconds: taken as seconds it
    blocked the token's bucket for 56 years (every later call of the daemon waits it out). A Unix
    time is read as one; any wait is bounded (an hour)."""
    import time as _time

    from printstation.markets.base import MAX_BLOCK_S

    fake_wb.fail_next(1, status=429, headers={"X-Ratelimit-Reset": str(int(_time.time()) + 5)})
    c = WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST,
                 retry=RetryPolicy(max_wait_429=60), clock=fake_clock, sleep=fake_clock.sleep)
    c.new_orders()
    assert 3 <= fake_clock.sleeps[0] <= 6 and len(fake_wb.calls) == 2
    fake_wb.fail_next(1, status=429, headers={"X-Ratelimit-Retry": "1e12"})
    with pytest.raises(ApiError):
        c.new_orders()
    assert c.bucket.delay() == pytest.approx(MAX_BLOCK_S)
