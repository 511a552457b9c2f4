"""The client-side rate limit of the marketplace clients: one token bucket per token.

WB (and the others) limit a seller account, not a connection: every client of one token in the
process shares one :class:`TokenBucket` (:func:`shared_bucket`). A 429 blocks the bucket for the
server's wait; ``X-Ratelimit-Remaining`` lowers it when the server knows better.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .base import Secret

Clock = Callable[[], float]
Sleep = Callable[[float], None]


_EPS = 1e-9


class TokenBucket:
    """A thread-safe token bucket: ``burst`` calls at once, then ``rate_per_min`` a minute.

    ``acquire()`` blocks (with the injectable ``sleep``) until a call may go out. ``block(s)``
    forbids any call for ``s`` seconds (a 429's ``X-Ratelimit-Retry``), ``charge(n)`` takes extra
    tokens (WB charges a 4xx as 10 calls) and ``sync(remaining)`` lowers the level to what the
    server reported.
    """

    def __init__(self, rate_per_min: float, burst: int, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        if rate_per_min <= 0 or burst < 1:
            raise ValueError("rate_per_min must be > 0 and burst ≥ 1")
        self.rate = rate_per_min / 60.0  # tokens per second
        self.burst = int(burst)
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()
        self._blocked_until = 0.0

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now

    def delay(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there (0 = now); takes nothing."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            return self._delay(now, cost)

    def _delay(self, now: float, cost: float) -> float:
        if self._blocked_until > now:
            return self._blocked_until - now
        if self._tokens + _EPS >= cost:  # float rounding must not leave a 1e-17 s wait forever
            return 0.0
        return (cost - self._tokens) / self.rate

    def acquire(self, cost: float = 1.0) -> float:
        """Wait for and take ``cost`` tokens. Returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                self._refill(now)
                wait = self._delay(now, cost)
                if wait <= 0:
                    self._tokens -= cost
                    return waited
            self.sleep(wait)
            waited += wait

    def charge(self, cost: float) -> None:
        with self._lock:
            self._refill(self.clock())
            self._tokens -= cost

    def sync(self, remaining: float) -> None:
        with self._lock:
            self._refill(self.clock())
            self._tokens = min(self._tokens, float(remaining))

    def block(self, seconds: float) -> None:
        """No call for ``seconds`` from now; the bucket restarts empty."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            self._blocked_until = max(self._blocked_until, now + max(0.0, seconds))
            self._tokens = min(self._tokens, 0.0)

    @property
    def blocked_until(self) -> float:
        return self._blocked_until

    def __repr__(self) -> str:
        return f"TokenBucket(rate_per_min={self.rate * 60:g}, burst={self.burst})"


_BUCKETS: dict[tuple[str, str, str], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def shared_bucket(market: str, token: Secret, rate_per_min: float, burst: int, *,
                  clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> TokenBucket:
    """The process-wide bucket of one token (WB limits a seller account, not a connection)."""
    key = (market, token.fingerprint(), f"{rate_per_min}/{burst}")
    with _BUCKETS_LOCK:
        b = _BUCKETS.get(key)
        if b is None or b.clock is not clock:
            b = _BUCKETS[key] = TokenBucket(rate_per_min, burst, clock=clock, sleep=sleep)
        return b


__all__ = ["Clock", "Sleep", "TokenBucket", "shared_bucket"]
