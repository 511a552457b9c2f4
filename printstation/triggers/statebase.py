"""The storage interface of the trigger state: the scan log, the synced WB supplies, orders and
boxes, which orders' stickers were printed (claims), and small meta values.

:class:`printstation.triggers.state.TriggerState` is the embedded SQLite backend (one station);
:class:`printstation.triggers.pgstate.PgTriggerState` keeps the same state in the PostgreSQL
database several stations share, where a claim is atomic across them. The contract tests in
``tests/triggers/test_state_contract.py`` run against both.
"""

from __future__ import annotations

import abc
from typing import Any, Iterable

#: A claim with no job yet (a scan fetching its label) older than this is taken over: the
#: station that made it died before it could queue the job.
STALE_CLAIM_S = 120.0


class TriggerStateBase(abc.ABC):
    """Thread-safe. Method names are the contract (the daemon, the sync and the scan path use them)."""

    #: This station's name in a shared database; None on the embedded store.
    station: str | None = None

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- scan log -----------------------------------------------------------------------------
    @abc.abstractmethod
    def add_scan(self, rec: dict[str, Any]) -> dict[str, Any]: ...

    @abc.abstractmethod
    def scans(self, limit: int = 50) -> list[dict[str, Any]]: ...

    # -- WB state (written by the sync) --------------------------------------------------------
    @abc.abstractmethod
    def put_supplies(self, supplies: Iterable[dict[str, Any]]) -> None: ...

    @abc.abstractmethod
    def put_orders(self, orders: Iterable[dict[str, Any]]) -> None: ...

    @abc.abstractmethod
    def set_supply_orders(self, supply_id: str, order_ids: Iterable[int]) -> None: ...

    @abc.abstractmethod
    def put_boxes(self, supply_id: str, box_ids: Iterable[str]) -> None: ...

    @abc.abstractmethod
    def box_supply(self, box_id: str) -> str | None: ...

    @abc.abstractmethod
    def open_supplies(self) -> list[str]: ...

    @abc.abstractmethod
    def delivered_supplies(self, limit: int = 10) -> list[str]: ...

    @abc.abstractmethod
    def sku_known(self, sku: str) -> bool: ...

    # -- claims: which orders' stickers are printed or being printed ---------------------------
    @abc.abstractmethod
    def claim_next_order(self, sku: str, via: str, printer: str | None = None) -> int | None:
        """Atomically claim the oldest order with ``sku`` in an open supply that nobody claimed;
        its id, or None when there is none."""

    @abc.abstractmethod
    def claim_order(self, order_id: int, via: str, printer: str | None = None) -> dict[str, Any] | None:
        """Atomically claim ``order_id``: None when claimed now, else the claim that holds it
        (``{"order_id", "job", "via", "station", "printer", "ts"}``). A claim without a job
        older than :data:`STALE_CLAIM_S` is taken over."""

    @abc.abstractmethod
    def mark_printed(self, order_id: int, job: str | None, via: str, printer: str | None = None) -> None: ...

    @abc.abstractmethod
    def unclaim(self, order_id: int) -> None:
        """Drop a claim that got no job (the label could not be fetched or queued)."""

    @abc.abstractmethod
    def printed(self, order_id: int) -> bool: ...

    # -- meta ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    def lead(self, job: str) -> bool:
        """True when this station does ``job`` (e.g. ``"wbsync"``) now; on a shared database one
        station at a time (the others read what it writes). The embedded store always leads."""
        return True

    def health(self) -> str | None:
        return None


__all__ = ["STALE_CLAIM_S", "TriggerStateBase"]
