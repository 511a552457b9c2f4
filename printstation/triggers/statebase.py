"""The storage interface of the trigger state: the scan log, the synced WB supplies, orders and
boxes, which orders' stickers were printed (claims), the synced Ozon FBS returns, the webhook
records (Lamoda notifications), and small meta values.

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

#: The fields of a synced Ozon FBS return (seed 002 names), ``id`` first.
RETURN_COLUMNS = ("id", "return_barcode", "posting_number", "product_name", "product_offer_id", "sku",
                  "quantity", "return_reason_name", "return_date", "status")
#: The fields of a webhook record (``GET /webhooks``), ``id`` first.
WEBHOOK_FIELDS = ("id", "ts", "source", "remote", "type", "ref", "status", "outcome", "job", "key", "detail")
#: Webhook records kept (per station), like the scan log.
MAX_WEBHOOKS = 10_000
MAX_TEXT = 1000  # a synced field longer than this is cut (the label shows a line of it at most)
_INT64 = 2**63


def return_row(r: Any) -> tuple[Any, ...] | None:
    """One Ozon return as the values of :data:`RETURN_COLUMNS`; None without a usable ``id``.
    ``quantity`` is an integer or None, the other fields text or None."""
    if not isinstance(r, dict):
        return None
    rid = _int(r.get("id"))
    if rid is None:
        return None
    vals: list[Any] = [rid]
    for c in RETURN_COLUMNS[1:]:
        v = r.get(c)
        if c == "quantity":
            vals.append(_int(v))
        else:
            vals.append(None if v is None or isinstance(v, (dict, list)) else str(v)[:MAX_TEXT])
    return tuple(vals)


def job_number(v: Any) -> int | None:
    """A record's ``job`` as the job id: an int, or None when there is no job (the trigger
    tables keep it as text; a row written before it was a number reads the same)."""
    n = _int(v)
    return n if n is not None and n > 0 else None


def record(fields: tuple[str, ...], row: Any) -> dict[str, Any]:
    """A scan, webhook or claim row as its record: ``job`` is the job id (int) or None."""
    rec = dict(zip(fields, row))
    if "job" in rec:
        rec["job"] = job_number(rec["job"])
    return rec


def _int(v: Any) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        if isinstance(v, float):
            if not v.is_integer():
                return None
            v = int(v)
        n = int(v) if isinstance(v, int) else int(str(v).strip())
    except (ValueError, OverflowError):
        return None
    return n if -_INT64 <= n < _INT64 else None


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
    def take_own_claim(self, order_id: int, via: str, printer: str | None = None) -> bool:
        """Take over this station's own claim of ``order_id`` that has no job (left behind by a
        run that died, or a database lost between claim and job); False if there is none."""

    @abc.abstractmethod
    def mark_printed(self, order_id: int, job: int | None, via: str, printer: str | None = None) -> None: ...

    @abc.abstractmethod
    def unclaim(self, order_id: int) -> None:
        """Drop a claim that got no job (the label could not be fetched or queued)."""

    @abc.abstractmethod
    def printed(self, order_id: int) -> bool: ...

    # -- Ozon FBS returns (written by the Ozon sync, read by return scans) -----------------------
    @abc.abstractmethod
    def put_returns(self, returns: Iterable[dict[str, Any]]) -> int:
        """Insert or update returns by ``id`` (fields :data:`RETURN_COLUMNS`; rows without a
        usable id are skipped); how many were written."""

    @abc.abstractmethod
    def find_return(self, barcode: str) -> dict[str, Any] | None:
        """The newest return (highest ``id``) with this ``return_barcode``: exact, else
        case-insensitive; None when there is none."""

    @abc.abstractmethod
    def returns(self, limit: int = 50) -> list[dict[str, Any]]:
        """The synced returns, newest (highest ``id``) first."""

    @abc.abstractmethod
    def count_returns(self) -> int: ...

    # -- webhook records (every notification received and what it did) ------------------------
    @abc.abstractmethod
    def add_webhook(self, rec: dict[str, Any]) -> int:
        """Record a notification (fields :data:`WEBHOOK_FIELDS` but ``id``); its record id.
        The newest :data:`MAX_WEBHOOKS` (of this station) are kept."""

    @abc.abstractmethod
    def update_webhook(self, rid: int, **fields: Any) -> None:
        """Set fields of a record (what the notification did); unknown names are ignored."""

    @abc.abstractmethod
    def webhooks(self, limit: int = 50) -> list[dict[str, Any]]:
        """This station's records, newest first."""

    # -- meta ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    def lead(self, job: str) -> bool:
        """True when this station does ``job`` (``"wbsync"``, ``"ozonsync"``) now; on a shared database one
        station at a time (the others read what it writes). The embedded store always leads."""
        return True

    def health(self) -> str | None:
        return None


__all__ = ["MAX_WEBHOOKS", "RETURN_COLUMNS", "STALE_CLAIM_S", "TriggerStateBase", "WEBHOOK_FIELDS", "return_row"]
