"""One backoff helper for every retry in the station, and the retry loop of a call.

:class:`Backoff` gives the waits between tries: ``base``, ``base * factor``, … capped at ``cap``;
with ``jitter`` each wait is drawn from ``[d/2, d]`` ("equal jitter": never 0, never more than
the capped ``d``) using ``rng``. ``next()`` hands out the next wait, ``reset()`` starts over after
a success. Used by the marketplace clients (calls and label downloads), the printer workers (an
offline printer), the scanner readers (reopening a port) and the PostgreSQL pool (``Database.run``).

:func:`call_with_retries` runs a call, retrying the exceptions it is told are retryable with such
waits, and raises what ``give_up`` makes of the last one when the tries run out.
"""

from __future__ import annotations

import random
from typing import Callable, TypeVar

T = TypeVar("T")

#: Exponents above this would overflow a float; every cap is reached long before.
_MAX_EXP = 512


class Backoff:
    """Exponential backoff: waits ``min(cap, base * factor**n)`` for the n-th retry (0-based)."""

    def __init__(self, base: float, cap: float, *, factor: float = 2.0, jitter: bool = False,
                 rng: random.Random | None = None) -> None:
        if base < 0 or cap < 0 or factor < 1:
            raise ValueError("backoff needs base >= 0, cap >= 0 and factor >= 1")
        self.base, self.cap, self.factor = base, cap, factor
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.attempt = 0

    def delay(self, attempt: int) -> float:
        """The wait before retry ``attempt`` (0-based), jittered when asked; moves nothing."""
        d = min(self.cap, self.base * self.factor ** min(attempt, _MAX_EXP))
        if self.jitter:
            return d / 2 + self.rng.random() * d / 2
        return d

    def next(self) -> float:
        """The next wait; the one after it is longer (until the cap)."""
        d = self.delay(self.attempt)
        self.attempt = min(self.attempt + 1, _MAX_EXP)
        return d

    def reset(self) -> None:
        """After a success: the next wait is ``base`` again."""
        self.attempt = 0

    def __repr__(self) -> str:
        return (f"Backoff(base={self.base:g}, cap={self.cap:g}, factor={self.factor:g}, "
                f"jitter={self.jitter}, attempt={self.attempt})")


def call_with_retries(fn: Callable[[], T], *, retryable: tuple[type[BaseException], ...], retries: int,
                      backoff: Backoff, sleep: Callable[[float], None],
                      give_up: Callable[[BaseException, int], BaseException],
                      on_retry: Callable[[BaseException, int, float], None] | None = None,
                      wait_for: Callable[[BaseException], float | None] | None = None) -> T:
    """``fn()``; a ``retryable`` exception is retried up to ``retries`` more times, waiting
    ``backoff.next()`` (with ``sleep``) before each — or ``wait_for(exc)`` when that is not None
    (a wait the server asked for). ``on_retry(exc, retry_number, wait)`` is told
    before a wait (for the log). When the tries run out, ``give_up(last_exc, tries_made)`` is
    raised (its cause suppressed). Other exceptions pass through at once."""
    backoff.reset()
    tries = 0
    while True:
        try:
            return fn()
        except retryable as exc:
            if tries >= retries:
                raise give_up(exc, tries + 1) from None
            delay = backoff.next()
            asked = wait_for(exc) if wait_for is not None else None
            if asked is not None:
                delay = asked
            tries += 1
            if on_retry is not None:
                on_retry(exc, tries, delay)
            sleep(delay)


__all__ = ["Backoff", "call_with_retries"]
