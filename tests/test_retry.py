"""retry.Backoff and call_with_retries: the one backoff of markets, workers, scanners and pg."""

from __future__ import annotations

import random

import pytest

from printstation.retry import Backoff, call_with_retries


def test_doubles_up_to_the_cap_and_stays_there():
    b = Backoff(0.5, 30.0)
    assert [b.next() for _ in range(9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_reset_starts_over():
    b = Backoff(0.1, 2.0)
    [b.next() for _ in range(4)]
    b.reset()
    assert b.next() == 0.1


def test_a_long_outage_never_overflows():
    b = Backoff(0.5, 10.0)
    for _ in range(5000):
        assert b.next() <= 10.0
    assert b.next() == 10.0


def test_equal_jitter_stays_between_half_and_the_full_wait():
    rng = random.Random(7)
    b = Backoff(0.5, 4.0, jitter=True, rng=rng)
    for n in range(8):
        d = min(4.0, 0.5 * 2 ** n)
        assert d / 2 <= b.next() <= d


def test_same_seed_same_waits():
    a = Backoff(0.5, 8.0, jitter=True, rng=random.Random(3))
    b = Backoff(0.5, 8.0, jitter=True, rng=random.Random(3))
    assert [a.next() for _ in range(6)] == [b.next() for _ in range(6)]


def test_bad_settings_refused():
    with pytest.raises(ValueError):
        Backoff(-1, 2)
    with pytest.raises(ValueError):
        Backoff(1, 2, factor=0.5)


class Flaky(Exception):
    pass


def test_retries_then_succeeds_with_growing_waits():
    sleeps: list[float] = []
    told: list[tuple[int, float]] = []
    left = [3]

    def fn() -> str:
        if left[0]:
            left[0] -= 1
            raise Flaky("not yet")
        return "ok"

    got = call_with_retries(fn, retryable=(Flaky,), retries=5, backoff=Backoff(0.1, 1.0), sleep=sleeps.append,
                            give_up=lambda exc, n: RuntimeError(n), on_retry=lambda e, n, d: told.append((n, d)))
    assert got == "ok"
    assert sleeps == [0.1, 0.2, 0.4]
    assert told == [(1, 0.1), (2, 0.2), (3, 0.4)]


def test_gives_up_after_the_retries_with_the_tries_made():
    sleeps: list[float] = []
    calls = []

    def fn() -> None:
        calls.append(1)
        raise Flaky("down")

    with pytest.raises(RuntimeError, match=r"after 3 tries: down") as exc:
        call_with_retries(fn, retryable=(Flaky,), retries=2, backoff=Backoff(0.5, 8.0), sleep=sleeps.append,
                          give_up=lambda e, n: RuntimeError(f"after {n} tries: {e}"))
    assert len(calls) == 3 and sleeps == [0.5, 1.0]
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_other_errors_pass_at_once():
    sleeps: list[float] = []

    def fn() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        call_with_retries(fn, retryable=(Flaky,), retries=4, backoff=Backoff(0.5, 8.0), sleep=sleeps.append,
                          give_up=lambda e, n: RuntimeError(n))
    assert sleeps == []


def test_the_backoff_restarts_with_each_call():
    b = Backoff(0.5, 8.0)
    sleeps: list[float] = []
    for _ in range(2):
        left = [2]

        def fn() -> None:
            if left[0]:
                left[0] -= 1
                raise Flaky()

        call_with_retries(fn, retryable=(Flaky,), retries=3, backoff=b, sleep=sleeps.append,
                          give_up=lambda e, n: RuntimeError(n))
    assert sleeps == [0.5, 1.0, 0.5, 1.0]
