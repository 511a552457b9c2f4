"""Local trigger state in SQLite (``<data_dir>/triggers.sqlite``, WAL).

* ``scans`` — every scan and what it did (``GET /scans``), trimmed to the newest 10,000;
* ``wb_supplies``, ``wb_orders``, ``wb_order_skus``, ``wb_boxes`` — the WB orders and supplies
  synced by :mod:`printstation.triggers.wbsync`, so a product barcode answers from local state;
* ``wb_printed`` — orders whose sticker was printed (or claimed by a scan in flight);
* ``ozon_returns`` — the Ozon FBS returns synced by :mod:`printstation.triggers.ozonsync`;
* ``webhooks`` — every webhook notification and what it did (:mod:`printstation.triggers.webhooks`),
  trimmed to the newest 10,000.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from .statebase import (MAX_WEBHOOKS, RETURN_COLUMNS, STALE_CLAIM_S, WEBHOOK_FIELDS, TriggerStateBase,
                        record, return_row)

DDL = (
    """create table if not exists scans (
        id integer primary key autoincrement, ts real not null, scanner text not null,
        printer text, code text not null, action text, ref text, outcome text not null,
        job text, key text, detail text)""",
    """create table if not exists wb_supplies (
        id text primary key, done integer not null, created_at text, closed_at text,
        name text, synced real not null)""",
    """create table if not exists wb_orders (
        id integer primary key, supply_id text, created_at text, article text,
        skus text not null, synced real not null)""",
    "create index if not exists wb_orders_supply on wb_orders(supply_id)",
    """create table if not exists wb_order_skus (
        order_id integer not null, sku text not null, primary key (sku, order_id))""",
    """create table if not exists wb_boxes (
        id text primary key, supply_id text not null, synced real not null)""",
    """create table if not exists wb_printed (
        order_id integer primary key, ts real not null, job text, via text)""",
    # the printer a claim is for (duplicate answers name it)
    "alter table wb_printed add column printer text",
    "create table if not exists meta (key text primary key, value text)",
    """create table if not exists ozon_returns (
        id integer primary key, return_barcode text, posting_number text, product_name text,
        product_offer_id text, sku text, quantity integer, return_reason_name text, return_date text,
        status text, synced real not null)""",
    "create index if not exists ozon_returns_barcode on ozon_returns(return_barcode)",
    """create table if not exists webhooks (
        id integer primary key autoincrement, ts real not null, source text not null, remote text,
        type text, ref text, status text, outcome text not null, job text, key text, detail text)""",
)
SCAN_FIELDS = ("id", "ts", "scanner", "printer", "code", "action", "ref", "outcome", "job", "key", "detail")
MAX_SCANS = 10_000


class TriggerState(TriggerStateBase):
    """The embedded SQLite backend: thread-safe access to the trigger database (one
    connection, one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # scan log and orders: private to the daemon (SQLite keeps the mode)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                   timeout=10)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("pragma synchronous=normal")
        for stmt in DDL:
            try:
                self._db.execute(stmt)
            except sqlite3.OperationalError as exc:  # a column added before
                if "duplicate column" not in str(exc):
                    raise
        self._n_scans = 0
        self._n_hooks = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("begin immediate")
            try:
                yield self._db
            except BaseException:
                self._db.execute("rollback")
                raise
            self._db.execute("commit")

    # -- scan log -------------------------------------------------------------------------
    def add_scan(self, rec: dict[str, Any]) -> dict[str, Any]:
        with self.tx() as db:
            cur = db.execute(
                "insert into scans (ts, scanner, printer, code, action, ref, outcome, job, key, detail)"
                " values (?,?,?,?,?,?,?,?,?,?)",
                tuple(rec.get(k) for k in SCAN_FIELDS[1:]))
            rec = dict(rec, id=cur.lastrowid)
            self._n_scans += 1
            if self._n_scans % 500 == 0:
                db.execute("delete from scans where id <= ?", (rec["id"] - MAX_SCANS,))
        return rec

    def scans(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                f"select {', '.join(SCAN_FIELDS)} from scans order by id desc limit ?", (limit,)).fetchall()
        return [record(SCAN_FIELDS, r) for r in rows]

    # -- WB state -------------------------------------------------------------------------
    def put_supplies(self, supplies: Iterable[dict[str, Any]]) -> None:
        now = time.time()
        with self.tx() as db:
            for s in supplies:
                db.execute(
                    "insert into wb_supplies (id, done, created_at, closed_at, name, synced) values (?,?,?,?,?,?)"
                    " on conflict(id) do update set done=excluded.done, created_at=excluded.created_at,"
                    " closed_at=excluded.closed_at, name=excluded.name, synced=excluded.synced",
                    (str(s["id"]), 1 if s.get("done") else 0, s.get("createdAt"), s.get("closedAt"),
                     s.get("name"), now))

    def put_orders(self, orders: Iterable[dict[str, Any]]) -> None:
        now = time.time()
        with self.tx() as db:
            for o in orders:
                oid = int(o["id"])
                skus = [str(x) for x in (o.get("skus") or [])]
                db.execute(
                    "insert into wb_orders (id, supply_id, created_at, article, skus, synced) values (?,?,?,?,?,?)"
                    " on conflict(id) do update set supply_id=coalesce(excluded.supply_id, wb_orders.supply_id),"
                    " created_at=excluded.created_at, article=excluded.article, skus=excluded.skus,"
                    " synced=excluded.synced",
                    (oid, o.get("supplyId") or None, o.get("createdAt"), o.get("article"), json.dumps(skus), now))
                db.execute("delete from wb_order_skus where order_id=?", (oid,))
                db.executemany("insert or ignore into wb_order_skus (order_id, sku) values (?,?)",
                               [(oid, s) for s in skus])

    def set_supply_orders(self, supply_id: str, order_ids: Iterable[int]) -> None:
        """Membership from ``/supplies/{id}/order-ids`` (orders not yet known get a stub row);
        orders of this supply not listed any more (cancelled, moved) leave it."""
        now = time.time()
        ids = [int(o) for o in order_ids]
        with self.tx() as db:
            db.execute("create temp table if not exists _members (id integer primary key)")
            db.execute("delete from _members")
            db.executemany("insert or ignore into _members (id) values (?)", [(o,) for o in ids])
            db.execute("update wb_orders set supply_id = null where supply_id = ?"
                       " and id not in (select id from _members)", (supply_id,))
            for oid in ids:
                db.execute(
                    "insert into wb_orders (id, supply_id, skus, synced) values (?,?,'[]',?)"
                    " on conflict(id) do update set supply_id=excluded.supply_id", (int(oid), supply_id, now))

    def put_boxes(self, supply_id: str, box_ids: Iterable[str]) -> None:
        now = time.time()
        with self.tx() as db:
            for b in box_ids:
                db.execute("insert into wb_boxes (id, supply_id, synced) values (?,?,?)"
                           " on conflict(id) do update set supply_id=excluded.supply_id, synced=excluded.synced",
                           (str(b), supply_id, now))

    def box_supply(self, box_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("select supply_id from wb_boxes where id=?", (box_id,)).fetchone()
        return row[0] if row else None

    def open_supplies(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("select id from wb_supplies where done=0 order by created_at, id").fetchall()
        return [r[0] for r in rows]

    def delivered_supplies(self, limit: int = 10) -> list[str]:
        """Delivered (closed) supplies, most recently closed first."""
        with self._lock:
            rows = self._db.execute(
                "select id from wb_supplies where done=1 order by closed_at is null, closed_at desc,"
                " created_at desc, id desc limit ?", (limit,)).fetchall()
        return [r[0] for r in rows]

    def claim_next_order(self, sku: str, via: str, printer: str | None = None) -> int | None:
        """Atomically pick the oldest order with ``sku`` in an open supply whose sticker has not
        been printed, and mark it printed (claimed); ``None`` when there is none."""
        now = time.time()
        with self.tx() as db:  # a claim left without its job (the station died meanwhile) is free after a while
            row = db.execute(
                "select o.id from wb_order_skus k join wb_orders o on o.id = k.order_id"
                " join wb_supplies s on s.id = o.supply_id"
                " where k.sku = ? and s.done = 0 and o.id not in (select order_id from wb_printed"
                " where job is not null or ts >= ?) order by o.created_at, o.id limit 1",
                (sku, now - STALE_CLAIM_S)).fetchone()
            if row is None:
                return None
            db.execute("insert into wb_printed (order_id, ts, via, printer) values (?,?,?,?) on conflict(order_id)"
                       " do update set ts=excluded.ts, via=excluded.via, printer=excluded.printer",
                       (row[0], now, via, printer))
            return int(row[0])

    def claim_order(self, order_id: int, via: str, printer: str | None = None) -> dict[str, Any] | None:
        now = time.time()
        with self.tx() as db:
            cur = db.execute(
                "insert into wb_printed (order_id, ts, via, printer) values (?,?,?,?) on conflict(order_id) do update"
                " set ts=excluded.ts, via=excluded.via, printer=excluded.printer"
                " where wb_printed.job is null and wb_printed.ts < ?",
                (int(order_id), now, via, printer, now - STALE_CLAIM_S))
            if cur.rowcount:
                return None
            row = db.execute("select order_id, job, via, printer, ts from wb_printed where order_id=?",
                             (int(order_id),)).fetchone()
        return record(("order_id", "job", "via", "station", "printer", "ts"), (*row[:3], None, *row[3:5]))

    def take_own_claim(self, order_id: int, via: str, printer: str | None = None) -> bool:
        with self.tx() as db:
            return db.execute("update wb_printed set ts=?, via=?, printer=? where order_id=? and job is null",
                              (time.time(), via, printer, int(order_id))).rowcount > 0

    def sku_known(self, sku: str) -> bool:
        with self._lock:
            return self._db.execute("select 1 from wb_order_skus where sku=? limit 1", (sku,)).fetchone() is not None

    def mark_printed(self, order_id: int, job: int | None, via: str, printer: str | None = None) -> None:
        with self.tx() as db:
            db.execute("insert into wb_printed (order_id, ts, job, via, printer) values (?,?,?,?,?)"
                       " on conflict(order_id) do update set job=excluded.job, via=excluded.via,"
                       " printer=coalesce(excluded.printer, wb_printed.printer)",
                       (int(order_id), time.time(), job, via, printer))

    def unclaim(self, order_id: int) -> None:
        with self.tx() as db:
            db.execute("delete from wb_printed where order_id=? and job is null", (int(order_id),))

    def printed(self, order_id: int) -> bool:
        with self._lock:
            return self._db.execute("select 1 from wb_printed where order_id=?", (int(order_id),)).fetchone() is not None

    # -- Ozon returns ---------------------------------------------------------------------
    def put_returns(self, returns: Iterable[dict[str, Any]]) -> int:
        rows = [row for row in map(return_row, returns) if row is not None]
        now = time.time()
        with self.tx() as db:
            db.executemany(
                f"insert into ozon_returns ({', '.join(RETURN_COLUMNS)}, synced)"
                f" values ({', '.join('?' * len(RETURN_COLUMNS))}, ?) on conflict(id) do update set"
                f" {', '.join(f'{c}=excluded.{c}' for c in RETURN_COLUMNS[1:])}, synced=excluded.synced",
                [(*row, now) for row in rows])
        return len(rows)

    def find_return(self, barcode: str) -> dict[str, Any] | None:
        cols = ", ".join(RETURN_COLUMNS)
        with self._lock:
            row = self._db.execute(f"select {cols} from ozon_returns where return_barcode=? order by id desc limit 1",
                                   (barcode,)).fetchone()
            if row is None:
                row = self._db.execute(f"select {cols} from ozon_returns where lower(return_barcode)=lower(?)"
                                       " order by id desc limit 1", (barcode,)).fetchone()
        return dict(zip(RETURN_COLUMNS, row)) if row else None

    def returns(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(f"select {', '.join(RETURN_COLUMNS)} from ozon_returns order by id desc limit ?",
                                    (int(limit),)).fetchall()
        return [dict(zip(RETURN_COLUMNS, r)) for r in rows]

    def count_returns(self) -> int:
        with self._lock:
            return int(self._db.execute("select count(*) from ozon_returns").fetchone()[0])

    # -- webhook records ----------------------------------------------------------------------
    def add_webhook(self, rec: dict[str, Any]) -> int:
        with self.tx() as db:
            cur = db.execute(f"insert into webhooks ({', '.join(WEBHOOK_FIELDS[1:])})"
                             f" values ({', '.join('?' * (len(WEBHOOK_FIELDS) - 1))})",
                             tuple(rec.get(k) for k in WEBHOOK_FIELDS[1:]))
            rid = int(cur.lastrowid or 0)
            self._n_hooks += 1
            if self._n_hooks % 500 == 0:
                db.execute("delete from webhooks where id <= ?", (rid - MAX_WEBHOOKS,))
        return rid

    def update_webhook(self, rid: int, **fields: Any) -> None:
        cols = [k for k in fields if k in WEBHOOK_FIELDS[1:]]
        if not cols:
            return
        with self.tx() as db:
            db.execute(f"update webhooks set {', '.join(f'{c}=?' for c in cols)} where id=?",
                       (*[fields[c] for c in cols], int(rid)))

    def webhooks(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(f"select {', '.join(WEBHOOK_FIELDS)} from webhooks order by id desc limit ?",
                                    (int(limit),)).fetchall()
        return [record(WEBHOOK_FIELDS, r) for r in rows]

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("select value from meta where key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("insert into meta (key, value) values (?,?) on conflict(key) do update set value=excluded.value",
                       (key, value))
