"""Ozon FBS returns in the trigger state, synced in the background like the WB sync.

The returns live in the trigger state (:meth:`~printstation.triggers.statebase.TriggerStateBase.put_returns`,
``find_return``): table ``ozon_returns`` of ``triggers.sqlite``, or of the shared PostgreSQL
database, where one station at a time syncs them (leader job ``ozonsync``) and every station's
return scans read them. A round (every ``[sync] interval_s``) lists every return
(``POST /v3/returns/company/fbs``, all pages by ``last_id``), paced ``min_gap_ms`` apart on top of
the client's own bucket. Ozon has no filter by ``return_barcode``, so a scanned return barcode is
matched in the state; one that is not there yet triggers one paced round (:meth:`OzonSync.lookup`,
at whichever station scanned it).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from .statebase import RETURN_COLUMNS as COLUMNS
from .wbsync import WBSync

log = logging.getLogger("printstation.ozonsync")


class OzonSync(WBSync):
    """Background sync of Ozon FBS returns (``[sync]`` interval and pacing)."""

    name = "Ozon"
    lead_job = "ozonsync"

    def sync_once(self) -> None:
        rows = self._paced(self.client.returns)
        n = self.state.put_returns(rows)
        self.rounds += 1
        self.state.set_meta("ozon_synced", str(time.time()))
        log.info("Ozon sync: %d returns", n)

    def lookup(self, barcode: str) -> dict[str, Any] | None:
        """A return barcode not in local state: one paced round, then look again."""
        self.sync_once()
        return self.state.find_return(barcode)

    def find(self, barcode: str) -> dict[str, Any] | None:
        """The synced return with this ``return_barcode`` (no API call)."""
        return self.state.find_return(barcode)


__all__ = ["OzonSync", "COLUMNS"]
