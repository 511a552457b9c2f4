"""A 5xx carrying ``Retry-After`` (seconds or an HTTP date) is retried after that wait, as a 429
is; a wait past ``max_wait_429`` is cut to it (real HTTP against the fake WB server)."""

from __future__ import annotations

import email.utils
import time

import pytest

from printstation.markets import RetryPolicy, Unavailable, WBClient

from conftest import FAST_BURST, FAST_RATE

#: The default backoff (0.5 s doubling): a wait of 7 s is not one of its waits.
POLICY = RetryPolicy(retries=2, base=0.5, cap=8.0, max_wait_429=60.0)


def client(fake_wb, fake_clock, retry: RetryPolicy = POLICY) -> WBClient:
    return WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=retry,
                    timeout=5, clock=fake_clock, sleep=fake_clock.sleep)


@pytest.mark.parametrize("status", [503, 500, 502])
def test_5xx_retry_after_seconds_is_the_wait(fake_wb, fake_clock, status):
    sid = fake_wb.add_supply()["id"]
    fake_wb.fail_next(1, status=status, headers={"Retry-After": "7"}, path="/api/v3/supplies")
    with client(fake_wb, fake_clock) as c:
        assert [s["id"] for s in c.supplies()] == [sid]
    assert [call.status for call in fake_wb.calls] == [status, 200]
    assert fake_clock.sleeps.count(7.0) == 1
    assert sum(fake_clock.sleeps) < 7.5  # the header's wait, not the header's plus a backoff


def test_5xx_retry_after_http_date_is_the_wait(fake_wb, fake_clock):
    fake_wb.add_supply()
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    fake_wb.fail_next(1, status=503, headers={"Retry-After": when}, path="/api/v3/supplies")
    with client(fake_wb, fake_clock) as c:
        c.supplies()
    waits = [s for s in fake_clock.sleeps if s > 1]
    assert len(waits) == 1 and 27 <= waits[0] <= 30


def test_5xx_retry_after_is_capped_by_max_wait(fake_wb, fake_clock):
    fake_wb.add_supply()
    fake_wb.fail_next(1, status=503, headers={"Retry-After": "86400"}, path="/api/v3/supplies")
    with client(fake_wb, fake_clock) as c:
        c.supplies()
    assert max(fake_clock.sleeps) == POLICY.max_wait_429


@pytest.mark.parametrize("value", ["soon", "", "-3", "nan"])
def test_5xx_bad_retry_after_falls_back_to_backoff(fake_wb, fake_clock, value):
    fake_wb.fail_next(3, status=503, headers={"Retry-After": value}, path="/api/v3/supplies")
    with client(fake_wb, fake_clock) as c:
        with pytest.raises(Unavailable):
            c.supplies()
    assert len(fake_wb.calls) == 3
    assert all(0.25 <= s <= 1.0 for s in fake_clock.sleeps[:2])  # 0.5 s, then 1 s, jittered


def test_429_with_bad_retry_date_is_still_a_429(fake_wb, fake_clock):
    fake_wb.add_supply()
    fake_wb.fail_next(1, status=429, headers={"Retry-After": "Thu, 99 Foo 2026 99:99:99 GMT"},
                      path="/api/v3/supplies")
    with client(fake_wb, fake_clock) as c:
        assert len(c.supplies()) == 1
    assert [call.status for call in fake_wb.calls] == [429, 200]
