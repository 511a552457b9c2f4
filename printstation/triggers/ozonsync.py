"""Ozon FBS returns in the trigger state, synced in the background like the WB sync.

The returns live in the trigger state (:meth:`~printstation.triggers.statebase.TriggerStateBase.put_returns`,
``find_return``): table ``ozon_returns`` of ``triggers.sqlite``, or of the shared PostgreSQL
database, where one station at a time syncs them (leader job ``ozonsync``) and every station's
return scans read them. A round (every ``[sync] interval_s``) lists every return
(``POST /v3/returns/company/fbs``, all pages by ``last_id``), paced ``min_gap_ms`` apart on top of
the client's own bucket. Ozon has no filter by ``return_barcode``, so a scanned return barcode is
matched in the state; one that is not there yet triggers one paced round (:meth:`OzonSync.lookup`,
at whichever station scanned it). A code that round did not find is remembered for
:data:`MISS_TTL_S` (at most :data:`MISS_MAX` codes): scanned again meanwhile it fails from the
state without asking Ozon (junk scans cannot hammer the marketplace), yet a return the background
sync brings in prints at once, and after the expiry the code is looked up again. Lookups run one
at a time; one that waited for another's round uses that round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from .statebase import RETURN_COLUMNS as COLUMNS
from .wbsync import WBSync

log = logging.getLogger("printstation.ozonsync")

#: Seconds a code a lookup did not find is answered from the state without asking Ozon again.
MISS_TTL_S = 60.0
#: Most codes remembered as not found (the oldest is forgotten first).
MISS_MAX = 1024


class OzonSync(WBSync):
    """Background sync of Ozon FBS returns (``[sync]`` interval and pacing)."""

    name = "Ozon"
    lead_job = "ozonsync"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._misses: OrderedDict[str, float] = OrderedDict()  # code → when a round missed it
        self._lookup_lock = threading.Lock()
        self._round_at = float("-inf")  # when the last lookup round started (monotonic)

    def sync_once(self) -> None:
        rows = self._paced(self.client.returns)
        n = self.state.put_returns(rows)
        self.rounds += 1
        self.state.set_meta("ozon_synced", str(time.time()))
        log.info("Ozon sync: %d returns", n)

    def lookup(self, barcode: str) -> dict[str, Any] | None:
        """A return barcode not in local state: one paced round, then look again — unless a
        round missed this code less than :data:`MISS_TTL_S` ago (:meth:`missed_ago`)."""
        asked = time.monotonic()
        key = barcode.casefold()
        with self._lookup_lock:
            found = self.state.find_return(barcode)
            if found is not None or self.missed_ago(barcode) is not None:
                return found
            if self._round_at < asked:  # no round began since this scan came: ask Ozon
                self._round_at = time.monotonic()
                self.sync_once()
                found = self.state.find_return(barcode)
            if found is None:
                self._misses[key] = time.monotonic()
                self._misses.move_to_end(key)
                while len(self._misses) > MISS_MAX:
                    self._misses.popitem(last=False)
            return found

    def missed_ago(self, barcode: str) -> float | None:
        """Seconds since a lookup round did not find ``barcode``; None when none did lately."""
        key = barcode.casefold()
        at = self._misses.get(key)
        if at is None:
            return None
        ago = time.monotonic() - at
        if ago >= MISS_TTL_S:
            self._misses.pop(key, None)
            return None
        return ago

    def find(self, barcode: str) -> dict[str, Any] | None:
        """The synced return with this ``return_barcode`` (no API call)."""
        return self.state.find_return(barcode)


__all__ = ["OzonSync", "COLUMNS"]
