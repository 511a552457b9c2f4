"""Wrong API tokens cost time, per client address (``Authorization: Bearer`` and ``POST /login``).

The first :data:`FREE_GUESSES` wrong tokens from an address answer 401 at once (typos). Each further
one is held before its 401: 0.25 s, then doubling up to :data:`MAX_DELAY` s, and the holds of one
address run one after another, so parallel connections do not guess faster. While more than
:data:`MAX_BACKLOG` s of holds are queued for an address (a parallel flood), its token-bearing
requests answer ``429`` with ``Retry-After`` before the token is even compared. A right token is
never held: it is compared first and passes at once (the loopback CLI, the unix socket needs none).
An address's record is forgotten :data:`QUIET` s after its last wrong token; the table keeps at most
:data:`MAX_ADDRESSES` addresses (expired ones first, then the oldest). One log line per burst (when
an address starts being slowed), never the token.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("printstation.face.api")

FREE_GUESSES = 3
FIRST_DELAY = 0.25
MAX_DELAY = 8.0
MAX_BACKLOG = 10.0
QUIET = 600.0
MAX_ADDRESSES = 4096


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    busy_until: float = 0.0


class GuessThrottle:
    def __init__(self, max_addresses: int = MAX_ADDRESSES) -> None:
        self.max_addresses = max_addresses
        self._table: dict[str, _Record] = {}
        self._lock = threading.Lock()
        #: Set when the API stops: held answers are sent at once (a stop never waits for them).
        self.stopping = threading.Event()

    def __len__(self) -> int:
        return len(self._table)

    def flooded(self, addr: str) -> float:
        """Seconds until ``addr`` may guess again when its queued holds exceed the backlog, else 0."""
        now = time.monotonic()
        with self._lock:
            rec = self._table.get(addr)
            wait = rec.busy_until - now if rec is not None else 0.0
        return wait if wait > MAX_BACKLOG else 0.0

    def failed(self, addr: str) -> float:
        """Count a wrong token from ``addr``; the seconds its answer must be held."""
        now = time.monotonic()
        with self._lock:
            rec = self._table.get(addr)
            if rec is not None and now - rec.last > QUIET:
                rec = None  # a new burst
            if rec is None:
                self._make_room(now)
                rec = self._table[addr] = _Record()
            rec.failures += 1
            rec.last = now
            if rec.failures <= FREE_GUESSES:
                return 0.0
            delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (rec.failures - FREE_GUESSES - 1))
            rec.busy_until = max(now, rec.busy_until) + delay
            hold = rec.busy_until - now
            first = rec.failures == FREE_GUESSES + 1
        if first:
            log.warning("API: %d wrong tokens in a row from %s: its further guesses are slowed "
                        "(logged once per burst)", FREE_GUESSES + 1, addr)
        return hold

    def _make_room(self, now: float) -> None:
        if len(self._table) < self.max_addresses:
            return
        self._table = {a: r for a, r in self._table.items() if now - r.last <= QUIET}
        while len(self._table) >= self.max_addresses:
            del self._table[min(self._table, key=lambda a: self._table[a].last)]


def peer(addr: object) -> str:
    """A connection's client address (the host part only; ``"unix"`` for the unix socket)."""
    if isinstance(addr, tuple) and addr:
        return str(addr[0])
    return "unix"
