"""Ozon FBS returns in local trigger state, synced in the background like the WB sync.

Table ``ozon_returns`` in ``triggers.sqlite``: one row per return (``id``) with the fields the
returns label needs (seed 002 names). A round (every ``[sync] interval_s``) lists every return
(``POST /v3/returns/company/fbs``, all pages by ``last_id``), paced ``min_gap_ms`` apart on top of
the client's own bucket. Ozon has no filter by ``return_barcode``, so a scanned return barcode is
matched here; one that is not here yet triggers one paced round (:meth:`OzonSync.lookup`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Iterable

from .state import TriggerState
from .wbsync import WBSync

log = logging.getLogger("printstation.ozonsync")

COLUMNS = ("id", "return_barcode", "posting_number", "product_name", "product_offer_id", "sku", "quantity",
           "return_reason_name", "return_date", "status")
DDL = (
    """create table if not exists ozon_returns (
        id integer primary key, return_barcode text, posting_number text, product_name text,
        product_offer_id text, sku text, quantity integer, return_reason_name text, return_date text,
        status text, synced real not null)""",
    "create index if not exists ozon_returns_barcode on ozon_returns(return_barcode)",
)


class OzonReturns:
    """The ``ozon_returns`` table of a :class:`TriggerState`."""

    def __init__(self, state: TriggerState) -> None:
        self.state = state
        with state.tx() as db:
            for stmt in DDL:
                db.execute(stmt)

    def put(self, returns: Iterable[dict[str, Any]]) -> int:
        now, n = time.time(), 0
        with self.state.tx() as db:
            for r in returns:
                try:
                    rid = int(r["id"])
                except (KeyError, TypeError, ValueError):
                    continue
                vals = [rid] + [None if r.get(c) is None else (int(r[c]) if c == "quantity" and
                                                              isinstance(r[c], int) else str(r[c]))
                                for c in COLUMNS[1:]]
                db.execute(
                    f"insert into ozon_returns ({', '.join(COLUMNS)}, synced) values ({', '.join('?' * len(COLUMNS))}, ?)"
                    f" on conflict(id) do update set {', '.join(f'{c}=excluded.{c}' for c in COLUMNS[1:])},"
                    " synced=excluded.synced", (*vals, now))
                n += 1
        return n

    def by_barcode(self, barcode: str) -> dict[str, Any] | None:
        """The newest return with this ``return_barcode`` (exact, then case-insensitive)."""
        with self.state.tx() as db:
            row = db.execute(f"select {', '.join(COLUMNS)} from ozon_returns where return_barcode=?"
                             " order by id desc limit 1", (barcode,)).fetchone()
            if row is None:
                row = db.execute(f"select {', '.join(COLUMNS)} from ozon_returns where lower(return_barcode)=lower(?)"
                                 " order by id desc limit 1", (barcode,)).fetchone()
        return dict(zip(COLUMNS, row)) if row else None

    def count(self) -> int:
        with self.state.tx() as db:
            return int(db.execute("select count(*) from ozon_returns").fetchone()[0])


class OzonSync(WBSync):
    """Background sync of Ozon FBS returns (``[sync]`` interval and pacing)."""

    name = "Ozon"

    def __init__(self, client: Any, state: TriggerState, **kw: Any) -> None:
        super().__init__(client, state, **kw)
        self.returns = OzonReturns(state)

    def sync_once(self) -> None:
        rows = self._paced(self.client.returns)
        n = self.returns.put(rows)
        self.rounds += 1
        self.state.set_meta("ozon_synced", str(time.time()))
        log.info("Ozon sync: %d returns", n)

    def lookup(self, barcode: str) -> dict[str, Any] | None:
        """A return barcode not in local state: one paced round, then look again."""
        self.sync_once()
        return self.returns.by_barcode(barcode)


__all__ = ["OzonReturns", "OzonSync", "COLUMNS"]
