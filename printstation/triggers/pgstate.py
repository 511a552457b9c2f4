"""The trigger state in the PostgreSQL database several stations share.

The synced WB supplies, orders and boxes are one copy for the warehouse (written by the station
that leads the sync, read by all); claims (``wb_printed``) are atomic across stations: the
order's primary key makes a second claim fail, and "the next unclaimed order for this EAN" is
claimed by that insert too, so two benches scanning the same product at the same moment get two
different orders. The scan log keeps each station's scans (``station`` column), and so do the
webhook records. The synced Ozon FBS returns are one copy, like the WB state (sync ``ozonsync``).

The WB sync leader holds a session advisory lock on its own connection: when that station dies
its connection ends, the lock is free, and another station takes it at its next round.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import zlib
from typing import Any, Iterable

from ..pg import SYNC_LOCK, Database
from .state import MAX_SCANS, SCAN_FIELDS
from .statebase import (MAX_WEBHOOKS, RETURN_COLUMNS, STALE_CLAIM_S, WEBHOOK_FIELDS, TriggerStateBase,
                        record, return_row)

log = logging.getLogger("printstation.triggers")



#: The database's clock (epoch seconds): what dates a claim, so the stations' clocks never matter.
_NOW = "extract(epoch FROM clock_timestamp())"


def lock_key(job: str) -> int:
    """The advisory lock key of a leader job (``wbsync``, ``ozonsync`` …): stable across stations."""
    return SYNC_LOCK if job == "wbsync" else SYNC_LOCK + 1 + zlib.crc32(job.encode())


class PgTriggerState(TriggerStateBase):
    station: str  # a shared database always names the station

    def __init__(self, db: Database, station: str, *, own_db: bool = False) -> None:
        self.db = db
        self.station = station
        self._own_db = own_db
        self._n_scans = 0
        self._n_hooks = 0
        self._lead_conn: Any = None
        self._lead_lock = threading.Lock()
        self._leading: dict[str, bool] = {}

    def close(self) -> None:
        with self._lead_lock:
            self._drop_lead()
        if self._own_db:
            self.db.close()

    def _drop_lead(self) -> None:
        """Close the leader connection (its advisory locks end with it); the lock is held."""
        if self._lead_conn is not None:
            try:
                if not self._lead_conn.broken:  # released now, not when the server notices the close
                    self._lead_conn.execute("SELECT pg_advisory_unlock_all()")
                self._lead_conn.close()
            except Exception:  # noqa: BLE001 - a broken connection
                pass
        self._lead_conn = None
        self._leading.clear()

    def health(self) -> str | None:
        return self.db.health()

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        self.db.run(lambda conn: conn.execute(sql, args))

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        return self.db.run(lambda conn: conn.execute(sql, args).fetchone())

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return self.db.run(lambda conn: conn.execute(sql, args).fetchall())

    # -- scan log -------------------------------------------------------------------------------
    def add_scan(self, rec: dict[str, Any]) -> dict[str, Any]:
        def txn(conn: Any) -> int:
            row = conn.execute(
                "INSERT INTO scans (station, ts, scanner, printer, code, action, ref, outcome, job, key, detail)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
                (self.station, *(rec.get(k) for k in SCAN_FIELDS[1:]))).fetchone()
            return int(row[0])

        rec = dict(rec, id=self.db.run(txn))
        self._n_scans += 1
        if self._n_scans % 500 == 0:
            self._exec("DELETE FROM scans WHERE station=%s AND id <= (SELECT id FROM scans WHERE station=%s"
                       " ORDER BY id DESC OFFSET %s LIMIT 1)", (self.station, self.station, MAX_SCANS))
        return rec

    def scans(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._all(f"SELECT {', '.join(SCAN_FIELDS)} FROM scans WHERE station=%s ORDER BY id DESC LIMIT %s",
                         (self.station, int(limit)))
        return [record(SCAN_FIELDS, r) for r in rows]

    # -- WB state -------------------------------------------------------------------------------
    def put_supplies(self, supplies: Iterable[dict[str, Any]]) -> None:
        now = time.time()
        self._many("INSERT INTO wb_supplies (id, done, created_at, closed_at, name, synced) VALUES (%s,%s,%s,%s,%s,%s)"
                   " ON CONFLICT (id) DO UPDATE SET done=excluded.done, created_at=excluded.created_at,"
                   " closed_at=excluded.closed_at, name=excluded.name, synced=excluded.synced",
                   [(str(s["id"]), bool(s.get("done")), s.get("createdAt"), s.get("closedAt"), s.get("name"), now)
                    for s in supplies])

    def put_orders(self, orders: Iterable[dict[str, Any]]) -> None:
        now = time.time()
        items = [(int(o["id"]), o, [str(x) for x in (o.get("skus") or [])]) for o in orders]

        def txn(conn: Any) -> None:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO wb_orders (id, supply_id, created_at, article, skus, synced) VALUES (%s,%s,%s,%s,%s,%s)"
                    " ON CONFLICT (id) DO UPDATE SET supply_id=coalesce(excluded.supply_id, wb_orders.supply_id),"
                    " created_at=excluded.created_at, article=excluded.article, skus=excluded.skus,"
                    " synced=excluded.synced",
                    [(oid, o.get("supplyId") or None, o.get("createdAt"), o.get("article"), json.dumps(skus), now)
                     for oid, o, skus in items])
                cur.executemany("DELETE FROM wb_order_skus WHERE order_id=%s", [(oid,) for oid, _, _ in items])
                cur.executemany("INSERT INTO wb_order_skus (order_id, sku) VALUES (%s,%s) ON CONFLICT DO NOTHING",
                                [(oid, s) for oid, _, skus in items for s in skus])

        self.db.run(txn)

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        def txn(conn: Any) -> None:
            with conn.cursor() as cur:
                cur.executemany(sql, rows)

        self.db.run(txn)

    def set_supply_orders(self, supply_id: str, order_ids: Iterable[int]) -> None:
        """Membership of one supply; its orders not listed any more (cancelled, moved) leave it."""
        now = time.time()
        ids = [int(oid) for oid in order_ids]

        def txn(conn: Any) -> None:
            conn.execute("UPDATE wb_orders SET supply_id = NULL WHERE supply_id = %s AND NOT (id = ANY(%s))",
                         (supply_id, ids))
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO wb_orders (id, supply_id, skus, synced) VALUES (%s,%s,'[]',%s)"
                                " ON CONFLICT (id) DO UPDATE SET supply_id=excluded.supply_id",
                                [(oid, supply_id, now) for oid in ids])

        self.db.run(txn)

    def put_boxes(self, supply_id: str, box_ids: Iterable[str]) -> None:
        now = time.time()
        self._many("INSERT INTO wb_boxes (id, supply_id, synced) VALUES (%s,%s,%s) ON CONFLICT (id)"
                   " DO UPDATE SET supply_id=excluded.supply_id, synced=excluded.synced",
                   [(str(b), supply_id, now) for b in box_ids])

    def box_supply(self, box_id: str) -> str | None:
        row = self._one("SELECT supply_id FROM wb_boxes WHERE id=%s", (box_id,))
        return row[0] if row else None

    def open_supplies(self) -> list[str]:
        return [r[0] for r in self._all("SELECT id FROM wb_supplies WHERE NOT done ORDER BY created_at, id")]

    def delivered_supplies(self, limit: int = 10) -> list[str]:
        return [r[0] for r in self._all(
            "SELECT id FROM wb_supplies WHERE done ORDER BY closed_at IS NULL, closed_at DESC, created_at DESC,"
            " id DESC LIMIT %s", (int(limit),))]

    def sku_known(self, sku: str) -> bool:
        return self._one("SELECT 1 FROM wb_order_skus WHERE sku=%s LIMIT 1", (sku,)) is not None

    # -- claims ---------------------------------------------------------------------------------
    def claim_next_order(self, sku: str, via: str, printer: str | None = None) -> int | None:
        # The claim is the insert into wb_printed (primary key: the order): of two scans racing
        # for one order, one inserts, the other waits for its commit, inserts nothing and takes
        # the next candidate. (No row locks on wb_orders: the sync upserts those rows, and
        # SKIP LOCKED would skip every order it is rewriting.)
        def txn(conn: Any) -> int | None:
            while True:
                # a claim left without its job (its station died meanwhile) is free after a while
                rows = conn.execute(
                    "SELECT o.id FROM wb_order_skus k JOIN wb_orders o ON o.id = k.order_id"
                    " JOIN wb_supplies s ON s.id = o.supply_id"
                    " WHERE k.sku = %s AND NOT s.done AND NOT EXISTS (SELECT 1 FROM wb_printed p WHERE p.order_id = o.id"
                    f" AND (p.job IS NOT NULL OR p.ts >= {_NOW} - %s)) ORDER BY o.created_at, o.id LIMIT 8",
                    (sku, STALE_CLAIM_S)).fetchall()
                if not rows:
                    return None
                for (oid,) in rows:
                    got = conn.execute(
                        f"INSERT INTO wb_printed (order_id, ts, via, station, printer) VALUES (%s,{_NOW},%s,%s,%s)"
                        " ON CONFLICT (order_id) DO UPDATE SET ts=excluded.ts, via=excluded.via,"
                        " station=excluded.station, printer=excluded.printer"
                        f" WHERE wb_printed.job IS NULL AND wb_printed.ts < {_NOW} - %s RETURNING order_id",
                        (oid, via, self.station, printer, STALE_CLAIM_S)).fetchone()
                    if got is not None:
                        return int(got[0])
                # every candidate was claimed elsewhere a moment ago: look again

        return self.db.run(txn)

    def claim_order(self, order_id: int, via: str, printer: str | None = None) -> dict[str, Any] | None:
        # dated by the database's clock: a bench whose clock is off never takes a fresh claim for a dead one
        def txn(conn: Any) -> dict[str, Any] | None:
            got = conn.execute(
                f"INSERT INTO wb_printed (order_id, ts, via, station, printer) VALUES (%s,{_NOW},%s,%s,%s)"
                " ON CONFLICT (order_id) DO UPDATE SET ts=excluded.ts, via=excluded.via, station=excluded.station,"
                f" printer=excluded.printer WHERE wb_printed.job IS NULL AND wb_printed.ts < {_NOW} - %s"
                " RETURNING order_id",
                (int(order_id), via, self.station, printer, STALE_CLAIM_S)).fetchone()
            if got is not None:
                return None
            row = conn.execute("SELECT order_id, job, via, station, printer, ts FROM wb_printed WHERE order_id=%s",
                               (int(order_id),)).fetchone()
            return record(("order_id", "job", "via", "station", "printer", "ts"), row)

        return self.db.run(txn)

    def take_own_claim(self, order_id: int, via: str, printer: str | None = None) -> bool:
        return self._one(f"UPDATE wb_printed SET ts={_NOW}, via=%s, printer=%s WHERE order_id=%s AND job IS NULL"
                         " AND station=%s RETURNING order_id", (via, printer, int(order_id), self.station)) is not None

    def mark_printed(self, order_id: int, job: int | None, via: str, printer: str | None = None) -> None:
        self._exec(
            f"INSERT INTO wb_printed (order_id, ts, job, via, station, printer) VALUES (%s,{_NOW},%s,%s,%s,%s)"
            " ON CONFLICT (order_id) DO UPDATE SET job=excluded.job, via=excluded.via,"
            " station=coalesce(wb_printed.station, excluded.station), printer=coalesce(excluded.printer,"
            " wb_printed.printer)", (int(order_id), job, via, self.station, printer))

    def unclaim(self, order_id: int) -> None:
        self._exec("DELETE FROM wb_printed WHERE order_id=%s AND job IS NULL", (int(order_id),))

    def printed(self, order_id: int) -> bool:
        return self._one("SELECT 1 FROM wb_printed WHERE order_id=%s", (int(order_id),)) is not None

    # -- Ozon returns ---------------------------------------------------------------------------
    def put_returns(self, returns: Iterable[dict[str, Any]]) -> int:
        rows = [row for row in map(return_row, returns) if row is not None]
        if rows:
            now = time.time()
            self._many(f"INSERT INTO ozon_returns ({', '.join(RETURN_COLUMNS)}, synced)"
                       f" VALUES ({', '.join(['%s'] * len(RETURN_COLUMNS))}, %s) ON CONFLICT (id) DO UPDATE SET"
                       f" {', '.join(f'{c}=excluded.{c}' for c in RETURN_COLUMNS[1:])}, synced=excluded.synced",
                       [(*row, now) for row in rows])
        return len(rows)

    def find_return(self, barcode: str) -> dict[str, Any] | None:
        cols = ", ".join(RETURN_COLUMNS)

        def txn(conn: Any) -> Any:
            row = conn.execute(f"SELECT {cols} FROM ozon_returns WHERE return_barcode=%s ORDER BY id DESC LIMIT 1",
                               (barcode,)).fetchone()
            if row is None:
                row = conn.execute(f"SELECT {cols} FROM ozon_returns WHERE lower(return_barcode)=lower(%s)"
                                   " ORDER BY id DESC LIMIT 1", (barcode,)).fetchone()
            return row

        row = self.db.run(txn)
        return dict(zip(RETURN_COLUMNS, row)) if row else None

    def returns(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._all(f"SELECT {', '.join(RETURN_COLUMNS)} FROM ozon_returns ORDER BY id DESC LIMIT %s",
                         (int(limit),))
        return [dict(zip(RETURN_COLUMNS, r)) for r in rows]

    def count_returns(self) -> int:
        return int(self._one("SELECT count(*) FROM ozon_returns")[0])

    # -- webhook records ------------------------------------------------------------------------
    def add_webhook(self, rec: dict[str, Any]) -> int:
        cols = WEBHOOK_FIELDS[1:]
        row = self._one(f"INSERT INTO webhooks (station, {', '.join(cols)}) VALUES (%s, {', '.join(['%s'] * len(cols))})"
                        " RETURNING id", (self.station, *(rec.get(k) for k in cols)))
        self._n_hooks += 1
        if self._n_hooks % 500 == 0:
            self._exec("DELETE FROM webhooks WHERE station=%s AND id <= (SELECT id FROM webhooks WHERE station=%s"
                       " ORDER BY id DESC OFFSET %s LIMIT 1)", (self.station, self.station, MAX_WEBHOOKS))
        return int(row[0])

    def update_webhook(self, rid: int, **fields: Any) -> None:
        cols = [k for k in fields if k in WEBHOOK_FIELDS[1:]]
        if cols:
            self._exec(f"UPDATE webhooks SET {', '.join(f'{c}=%s' for c in cols)} WHERE id=%s",
                       (*[fields[c] for c in cols], int(rid)))

    def webhooks(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._all(f"SELECT {', '.join(WEBHOOK_FIELDS)} FROM webhooks WHERE station=%s ORDER BY id DESC LIMIT %s",
                         (self.station, int(limit)))
        return [record(WEBHOOK_FIELDS, r) for r in rows]

    # -- meta -----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=%s", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._exec("INSERT INTO meta (key, value) VALUES (%s,%s) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                   (key, value))

    # -- leader ---------------------------------------------------------------------------------
    def lead(self, job: str) -> bool:
        """Hold (or try to take) the advisory lock of ``job`` on a connection of its own; False
        while another station holds it or the database is away."""
        key = lock_key(job)
        import psycopg

        with self._lead_lock:
            try:
                if self._lead_conn is None or self._lead_conn.closed or self._lead_conn.broken:
                    self._leading.clear()
                    self._lead_conn = self.db.connect_direct(autocommit=True)
                elif self._leading.get(job):
                    with self.db.watched(self._lead_conn):  # a silent server is cut, not waited for
                        self._lead_conn.execute("SELECT 1")  # still ours while the session lives
                    return True
                with self.db.watched(self._lead_conn):
                    got = bool(self._lead_conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0])
            except psycopg.Error as exc:
                self._drop_lead()
                log.warning("%s: cannot take the lead: %s", job, self.db.scrub(str(exc)))
                return False
            if got != self._leading.get(job, None):
                log.info("%s: %s", job, "this station leads" if got else "another station leads; reading its state")
            self._leading[job] = got
            if got:
                self.set_meta(f"{job}_station", self.station)
            return got




def open_state(url: str, station: str, store: Any = None) -> PgTriggerState:
    """The trigger state of ``[station] database = "postgresql://…"`` (triggers/station.py
    STATE_BACKENDS), through the job store's pool when it has one."""
    db = getattr(store, "db", None)
    if isinstance(db, Database):
        return PgTriggerState(db, station)
    from ..pg import open_database

    return PgTriggerState(open_database(url, f"printstation {station}"), station, own_db=True)


__all__ = ["PgTriggerState", "open_state"]
