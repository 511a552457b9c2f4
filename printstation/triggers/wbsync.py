"""Background sync of WB supplies, orders and boxes into the local trigger state.

One round (every ``interval_s``, default 60 s):

1. ``GET /api/v3/supplies`` (all pages) → which supplies are open;
2. ``GET /api/v3/orders`` for the last ``lookback_days`` (all pages) → order ids, SKUs, createdAt,
   supplyId;
3. per open supply: ``GET /api/marketplace/v3/supplies/{id}/order-ids`` (membership) and
   ``GET /api/v3/supplies/{id}/trbx`` (its boxes, for ``WB-TRBX-…`` scans);
4. ``POST /api/v3/orders/status`` for the orders of the open supplies: an order cancelled by the
   seller, the buyer or WB (``supplierStatus`` ``cancel``, ``wbStatus`` ``canceled``,
   ``canceled_by_client``, ``declined_by_client``, ``defect``) leaves its supply here, so a product
   scan never gets it. Orders no longer listed in their supply leave it too.

Calls are spaced at least ``min_gap_ms`` apart (default 500 ms: ≤ 120 a minute, well within
WB's 300/min bucket, which scans share) on top of the client's own token bucket. A product scan
then answers from local state without an API call. Which orders' stickers were printed is kept
in ``wb_printed`` (:mod:`printstation.triggers.state`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..errors import PrintstationError
from .statebase import TriggerStateBase

log = logging.getLogger("printstation.wbsync")

#: How many recently delivered supplies a box scan asks WB about before it fails.
DELIVERED_LOOKUP = 10
#: ``wbStatus`` values of an order that will never ship (the spec's status list).
CANCELLED = frozenset({"canceled", "canceled_by_client", "declined_by_client", "defect"})


class WBSync:
    #: Names the sync in its thread and log lines (subclasses sync other markets).
    name = "WB"
    #: The leader job (:meth:`TriggerStateBase.lead`): on a shared database one station syncs.
    lead_job = "wbsync"

    def __init__(self, client: Any, state: TriggerStateBase, *, interval_s: float = 60.0,
                 lookback_days: int = 14, min_gap_ms: int = 500) -> None:
        self.client = client
        self.state = state
        self.interval = interval_s
        self.lookback = lookback_days * 86400
        self.gap = min_gap_ms / 1000.0
        self._last_call = 0.0
        self._call_lock = threading.Lock()
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.last_error: str | None = None

    def _paced(self, fn: Any, *args: Any, **kw: Any) -> Any:
        with self._call_lock:
            wait = self._last_call + self.gap - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                raise PrintstationError("stopping")
            try:
                return fn(*args, **kw)
            finally:
                self._last_call = time.monotonic()

    def sync_once(self) -> None:
        supplies = self._paced(self.client.supplies)
        self.state.put_supplies(supplies)
        open_ids = [str(s["id"]) for s in supplies if not s.get("done")]
        orders = self._paced(self.client.orders, date_from=int(time.time() - self.lookback))
        self.state.put_orders(orders)
        members: dict[str, list[int]] = {}
        for sid in open_ids:
            members[sid] = [int(i) for i in self._paced(self.client.supply_order_ids, sid)]
            self.state.put_boxes(sid, self._paced(self.client.supply_boxes, sid))
        dropped = self._cancelled([i for ids in members.values() for i in ids])
        for sid, ids in members.items():  # a cancelled order is no longer waiting in its supply
            self.state.set_supply_orders(sid, [i for i in ids if i not in dropped])
        self.rounds += 1
        self.state.set_meta("wb_synced", str(time.time()))
        log.info("WB sync: %d supplies (%d open), %d orders", len(supplies), len(open_ids), len(orders))

    def _cancelled(self, order_ids: list[int]) -> set[int]:
        """The orders among ``order_ids`` that the seller, the buyer or WB cancelled
        (``POST /api/v3/orders/status``, ≤ 1000 a call). When WB cannot say, none are dropped."""
        if not order_ids:
            return set()
        try:
            rows = self._paced(self.client.order_statuses, order_ids)
        except PrintstationError as exc:
            if self._stop.is_set():
                raise
            log.warning("WB sync: order statuses unavailable (%s); cancelled orders not dropped this round", exc)
            return set()
        out = set()
        for r in rows:
            if isinstance(r, dict) and (r.get("supplierStatus") == "cancel" or r.get("wbStatus") in CANCELLED):
                try:
                    out.add(int(r["id"]))
                except (KeyError, TypeError, ValueError):
                    continue
        return out

    def find_box(self, trbx_id: str) -> str | None:
        """The supply holding a box not in local state yet (asks WB, paced): the open supplies
        first, then the :data:`DELIVERED_LOOKUP` most recently delivered ones — with the same
        call ``printstation wb boxes`` makes (``GET /api/v3/supplies/{id}/trbx``). When the
        local state knows no delivered supply yet, the supply list is fetched once first."""
        asked: set[str] = set()

        def look(ids: list[str]) -> str | None:
            for sid in ids:
                if sid in asked:
                    continue
                asked.add(sid)
                boxes = self._paced(self.client.supply_boxes, sid)
                self.state.put_boxes(sid, boxes)
                if trbx_id in boxes:
                    return sid
            return None

        found = look(self.state.open_supplies())
        if found is None:
            delivered = self.state.delivered_supplies(DELIVERED_LOOKUP)
            if not delivered:
                self.state.put_supplies(self._paced(self.client.supplies))
                delivered = self.state.delivered_supplies(DELIVERED_LOOKUP)
                found = look(self.state.open_supplies())
            found = found or look(delivered)
        if found is not None:
            log.info("box %s found in supply %s", trbx_id, found)
        return found

    def refresh(self) -> None:
        """Ask for a round now (e.g. a product scan found nothing)."""
        self._kick.set()

    # -- thread -------------------------------------------------------------------------------
    def start(self) -> "WBSync":
        self._thread = threading.Thread(target=self._run, name=f"{self.name.lower()}sync", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        delay = self.interval
        while not self._stop.is_set():
            try:
                if not self.state.lead(self.lead_job):  # a shared database: another station syncs
                    self._kick.wait(self.interval)  # and takes over within one interval if it dies
                    self._kick.clear()
                    continue
                self.sync_once()
                self.last_error = None
                delay = self.interval
            except Exception as exc:  # noqa: BLE001 - the sync must outlive any API trouble
                if self._stop.is_set():
                    break
                self.last_error = str(exc)
                delay = min(self.interval, 10.0) if self.rounds == 0 else self.interval
                log.warning("%s sync failed (%s); next try in %.0f s", self.name, exc, delay)
            self._kick.wait(delay)
            self._kick.clear()
