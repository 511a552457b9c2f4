"""A fake Wildberries FBS API built from ``wb-openapi-orders-fbs.yaml`` (the parts we call).

Seed it, then point a client at ``fake.url`` with ``fake.token``::

    with FakeWB(rate_per_min=60_000, burst=1000) as wb:
        o = wb.add_order(status="confirm")            # sticker available (confirm/complete only)
        s = wb.add_supply(orders=[o["id"]], done=True, boxes=3)   # delivered: QR available
        wb.corrupt(o["id"])                            # that order's sticker file: bad base64

Stickers are real files from ``support.labelgen`` (SVG/PNG/ZPL with a Code128 of the
sticker's ``barcode``; QR PNG/SVG/ZPL for supplies and boxes); :meth:`sticker_file` gives the exact
bytes served. Defaults match WB's real limits (300/min, burst 20, a 4xx costs 10).
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import secrets
import threading
from typing import Any, Iterable

from support import labelgen

from . import Call, FakeServer, Reply, bad_request

TYPES = ("svg", "zplv", "zplh", "png")
SIZES = {(58, 40), (40, 30)}


def _err(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message, "data": None})


def qr_zpl(value: str) -> bytes:
    return f"^XA^CI28^FO150,20^BQN,2,7^FDQA,{value}^FS^FO40,280^A0N,28,24^FD{value}^FS^XZ\n".encode()


class FakeWB(FakeServer):
    def __init__(self, token: str | None = None, *, rate_per_min: float | None = 300, burst: int | None = 20,
                 cost_4xx: int = 10, integer_headers: bool = True, plain_401: bool = False,
                 accept_bearer: bool = True) -> None:
        super().__init__(token or "wbtok." + secrets.token_urlsafe(24), rate_per_min=rate_per_min,
                         burst=burst, cost_4xx=cost_4xx, integer_headers=integer_headers)
        self.plain_401, self.accept_bearer = plain_401, accept_bearer
        self.orders: dict[int, dict[str, Any]] = {}
        self.supplies: dict[str, dict[str, Any]] = {}
        self.boxes: dict[str, str] = {}  # trbx id → supply id
        self.box_barcodes: dict[str, str] = {}
        # faults on content
        self.corrupt_ids: set[Any] = set()     # order ids / supply ids / trbx ids → bad base64
        self.wrong_type_ids: set[Any] = set()  # → valid base64 of the wrong kind of file
        self.omit_ids: set[int] = set()        # order ids left out of sticker answers
        self.refuse_ids: set[int] = set()      # a sticker call holding one of these: 400 for the whole call
        self.reverse_stickers = False          # answer order stickers in reverse order
        self.box_count_delta = 0               # -1: one box sticker too few in the answer
        self.reverse_box_stickers = False      # box stickers answered in reverse order
        #: raw items appended to an answer's list, as sent (malformed ones): "orders" (GET
        #: /api/v3/orders, first page), "supplies" (first page), "orderIds" (every supply's order-ids)
        self.junk: dict[str, list[Any]] = {}
        self._next_order = 500_000_000
        self._next_supply = 1_000_000
        self._next_box = 7_000_000
        self._files: dict[tuple, bytes] = {}
        self._seed_lock = threading.Lock()
        r = self.route
        r("POST", r"/api/v3/orders/stickers", self._stickers)
        r("GET", r"/api/v3/orders/new", self._new_orders)
        r("GET", r"/api/v3/orders", self._orders)
        r("POST", r"/api/v3/orders/status", self._statuses)
        r("GET", r"/api/v3/supplies", self._supplies)
        r("GET", r"/api/marketplace/v3/supplies/(?P<sid>[^/]+)/order-ids", self._supply_order_ids)
        r("GET", r"/api/v3/supplies/(?P<sid>[^/]+)/barcode", self._supply_barcode)
        r("GET", r"/api/v3/supplies/(?P<sid>[^/]+)/trbx", self._trbx)
        r("POST", r"/api/v3/supplies/(?P<sid>[^/]+)/trbx/stickers", self._trbx_stickers)

    # -- auth and error shapes ------------------------------------------------------------------
    def check_auth(self, headers: Any) -> bool:
        got = headers.get("Authorization") or ""
        return got == self.token or (self.accept_bearer and got == "Bearer " + self.token)

    def unauthorized(self) -> Reply:
        if self.plain_401:
            return Reply(401, "proxy: invalid token", "text/plain")
        return Reply(401, {"title": "unauthorized", "detail": "token problem; token is malformed",
                           "code": "07e4668e--a53a3d31f8b0", "requestId": "7b80742415072fe8b6b7f7761f1d1211",
                           "origin": "s2s-api-auth-marketplace", "status": 401, "statusText": "Unauthorized",
                           "timestamp": "2024-09-30T06:52:38Z"})

    # -- seeding --------------------------------------------------------------------------------
    def add_order(self, id: int | None = None, *, status: str = "confirm", wb_status: str = "waiting",
                  supply_id: str | None = None, skus: Iterable[str] | None = None, article: str | None = None,
                  barcode: str | None = None, part_a: str | None = None, part_b: str | None = None,
                  created_at: dt.datetime | None = None, cargo_type: int = 1) -> dict[str, Any]:
        """Add an order; returns its dict (``id``, ``skus``, ``barcode``, ``partA``, ``partB``…)."""
        with self._seed_lock:
            if id is None:
                self._next_order += 1
                id = self._next_order
            rng = random.Random(id)
            sticker_id = 10_000_000_000 + id
            created = created_at or dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
            o = {
                "id": id, "status": status, "wbStatus": wb_status, "supplyId": supply_id,
                "skus": list(skus) if skus is not None else [f"46{rng.randrange(10**10, 10**11)}"],
                "article": article or f"art-{id}", "orderUid": f"{id}_{rng.getrandbits(64):016x}",
                "rid": f"{rng.getrandbits(128):032x}", "nmId": rng.randrange(10**7, 10**8),
                "chrtId": rng.randrange(10**8, 10**9), "price": 101400, "convertedPrice": 101400,
                "currencyCode": 643, "convertedCurrencyCode": 643, "cargoType": cargo_type,
                "deliveryType": "fbs", "warehouseId": 658434, "officeId": 123, "offices": ["Калуга"],
                "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "_ts": created.timestamp(),
                "barcode": barcode or labelgen.random_wb_barcode(rng),
                "partA": part_a or str(sticker_id)[:7], "partB": part_b or str(sticker_id)[7:],
                "comment": "", "isZeroOrder": False,
            }
            self.orders[id] = o
            if supply_id and supply_id in self.supplies:
                self.supplies[supply_id]["orders"].append(id)
            return o

    def add_orders(self, n: int, **kw: Any) -> list[int]:
        return [self.add_order(**kw)["id"] for _ in range(n)]

    def add_supply(self, id: str | None = None, *, orders: Iterable[int] = (), done: bool = False,
                   boxes: int = 0, name: str = "Поставка") -> dict[str, Any]:
        """Add a supply (``done=True`` = delivered: its QR is available) with ``boxes`` boxes."""
        with self._seed_lock:
            if id is None:
                self._next_supply += 1
                id = f"WB-GI-{self._next_supply}"
            s = {"id": id, "done": done, "name": name, "cargoType": 1, "orders": [],
                 "createdAt": "2025-05-04T07:56:29Z", "closedAt": "2025-05-05T07:56:29Z" if done else None,
                 "scanDt": None, "destinationOfficeId": 123, "boxes": []}
            self.supplies[id] = s
        for oid in orders:
            if oid in self.orders:
                self.orders[oid]["supplyId"] = id
                if self.orders[oid]["status"] == "new":
                    self.orders[oid]["status"] = "confirm"
            s["orders"].append(oid)
        self.add_boxes(id, boxes)
        return s

    def add_boxes(self, supply_id: str, n: int) -> list[str]:
        out = []
        with self._seed_lock:
            for _ in range(n):
                self._next_box += 1
                t = f"WB-TRBX-{self._next_box}"
                self.boxes[t] = supply_id
                self.box_barcodes[t] = f"$WBMP:1:123:{self._next_box}"
                self.supplies[supply_id]["boxes"].append(t)
                out.append(t)
        return out

    def deliver(self, supply_id: str) -> None:
        self.supplies[supply_id]["done"] = True
        for oid in self.supplies[supply_id]["orders"]:
            if oid in self.orders:
                self.orders[oid]["status"] = "complete"

    def corrupt(self, *ids: Any) -> None:
        """These orders / supplies / boxes get a ``file`` that is not valid base64."""
        self.corrupt_ids.update(ids)

    # -- files ----------------------------------------------------------------------------------
    def sticker_file(self, order_id: int, type: str = "zplv", size: tuple[int, int] = (58, 40)) -> bytes:
        """The exact sticker file served for an order (decoded)."""
        key = ("order", order_id, type, size)
        if key not in self._files:
            o = self.orders[order_id]
            args = (o["barcode"], o["partA"], o["partB"], size)
            if type == "svg":
                data = labelgen.wb_sticker_svg(*args)
            elif type == "png":
                data = labelgen.wb_sticker_png(*args)
            else:
                data = labelgen.wb_sticker_zpl(*args)
            self._files[key] = data
        return self._files[key]

    def qr_file(self, value: str, type: str) -> bytes:
        key = ("qr", value, type)
        if key not in self._files:
            if type == "png":
                self._files[key] = labelgen.qr_png(value)
            elif type == "svg":
                self._files[key] = labelgen.qr_svg(value)
            else:
                self._files[key] = qr_zpl(value)
        return self._files[key]

    def supply_file(self, supply_id: str, type: str = "png") -> bytes:
        return self.qr_file(supply_id, type)

    def box_file(self, trbx_id: str, type: str = "png") -> bytes:
        return self.qr_file(self.box_barcodes[trbx_id], type)

    def _b64(self, ident: Any, data: bytes, type: str) -> str:
        if ident in self.corrupt_ids:
            # Like the WB docs' own sample: a truncated, mangled base64 string.
            good = base64.b64encode(data).decode()
            return good[: len(good) // 2] + "*!" + good[len(good) // 2 + 3:]
        if ident in self.wrong_type_ids:
            data = b"GIF89a not the asked type" if type != "png" else b"^XA^FDnot png^FS^XZ"
        return base64.b64encode(data).decode()

    # -- handlers -------------------------------------------------------------------------------
    @staticmethod
    def _q(call: Call, name: str, required: bool = True) -> str | None:
        v = call.query.get(name, [None])[0]
        if required and v is None:
            raise bad_request(_err(400, "IncorrectParameter", f"Передан некорректный параметр: {name}"))
        return v

    def _type(self, call: Call) -> str:
        t = self._q(call, "type")
        if t not in TYPES:
            raise bad_request(_err(400, "IncorrectParameter", "Передан некорректный параметр: type"))
        return t

    def _int(self, call: Call, name: str, lo: int, hi: int) -> int:
        try:
            v = int(self._q(call, name) or "")
        except ValueError:
            raise bad_request(_err(400, "IncorrectParameter", f"Передан некорректный параметр: {name}")) from None
        if not lo <= v <= hi:
            raise bad_request(_err(400, "IncorrectParameter", f"Передан некорректный параметр: {name}"))
        return v

    def _body(self, call: Call, key: str, maximum: int, kind: type) -> list:
        try:
            body = call.json()
        except ValueError:
            raise bad_request(_err(400, "IncorrectRequestBody", "Некорректное тело запроса")) from None
        items = body.get(key) if isinstance(body, dict) else None
        if (not isinstance(items, list) or not 1 <= len(items) <= maximum
                or not all(isinstance(i, kind) and not isinstance(i, bool) for i in items)):
            raise bad_request(_err(400, "IncorrectRequestBody", "Некорректное тело запроса"))
        return items

    def _stickers(self, call: Call) -> Reply:
        t = self._type(call)
        size = (self._int(call, "width", 0, 10**6), self._int(call, "height", 0, 10**6))
        if size not in SIZES:
            return _err(400, "IncorrectParameter", "Передан некорректный параметр: width/height")
        ids = self._body(call, "orders", 100, int)
        bad = sorted(self.refuse_ids.intersection(ids))
        if bad:
            return _err(400, "IncorrectRequest", f"Переданы некорректные данные: {bad[0]}")
        out = []
        for oid in ids:
            o = self.orders.get(oid)
            if not o or o["status"] not in ("confirm", "complete") or oid in self.omit_ids:
                continue
            out.append({"orderId": oid, "partA": o["partA"], "partB": o["partB"], "barcode": o["barcode"],
                        "file": self._b64(oid, self.sticker_file(oid, t, size), t)})
        if self.reverse_stickers:
            out.reverse()
        return Reply(200, {"stickers": out})

    def _public(self, o: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in o.items()
                if not k.startswith("_") and k not in ("status", "wbStatus", "barcode", "partA", "partB")}

    def _new_orders(self, call: Call) -> Reply:
        return Reply(200, {"orders": [self._public(o) for o in self.orders.values() if o["status"] == "new"]})

    def _orders(self, call: Call) -> Reply:
        limit = self._int(call, "limit", 1, 1000)
        nxt = self._int(call, "next", 0, 2**63)
        lo = float(self._q(call, "dateFrom", False) or 0)
        hi = float(self._q(call, "dateTo", False) or 2**40)
        rows = sorted((o for o in self.orders.values() if lo <= o["_ts"] <= hi and o["id"] > nxt),
                      key=lambda o: o["id"])[:limit]
        junk = list(self.junk.get("orders", [])) if nxt == 0 else []
        return Reply(200, {"next": rows[-1]["id"] if rows else nxt,
                           "orders": [self._public(o) for o in rows] + junk})

    def _statuses(self, call: Call) -> Reply:
        ids = self._body(call, "orders", 1000, int)
        return Reply(200, {"orders": [{"id": i, "supplierStatus": self.orders[i]["status"],
                                       "wbStatus": self.orders[i]["wbStatus"]} for i in ids if i in self.orders]})

    def _supplies(self, call: Call) -> Reply:
        limit = self._int(call, "limit", 1, 1000)
        nxt = self._int(call, "next", 0, 2**63)
        keys = list(self.supplies)
        page = keys[nxt:nxt + limit]
        rows = [{k: v for k, v in self.supplies[k].items() if k not in ("orders", "boxes")} for k in page]
        junk = list(self.junk.get("supplies", [])) if nxt == 0 else []
        return Reply(200, {"next": nxt + len(page), "supplies": rows + junk})

    def _supply(self, sid: str) -> dict[str, Any]:
        s = self.supplies.get(sid)
        if s is None:
            raise bad_request(_err(404, "NotFound", "Не найдено"))
        return s

    def _supply_order_ids(self, call: Call, sid: str) -> Reply:
        return Reply(200, {"orderIds": list(self._supply(sid)["orders"]) + list(self.junk.get("orderIds", []))})

    def _supply_barcode(self, call: Call, sid: str) -> Reply:
        t = self._type(call)
        s = self._supply(sid)
        if not s["done"]:
            return _err(409, "SupplyNotClosed", "Поставка не передана в доставку")
        return Reply(200, {"barcode": sid, "file": self._b64(sid, self.supply_file(sid, t), t)})

    def _trbx(self, call: Call, sid: str) -> Reply:
        return Reply(200, {"trbxes": [{"id": t} for t in self._supply(sid)["boxes"]]})

    def _trbx_stickers(self, call: Call, sid: str) -> Reply:
        t = self._type(call)
        s = self._supply(sid)
        ids = self._body(call, "trbxIds", 1000, str)
        out = [{"barcode": self.box_barcodes[b], "file": self._b64(b, self.box_file(b, t), t)}
               for b in ids if b in s["boxes"]]
        if self.box_count_delta < 0:
            out = out[: len(out) + self.box_count_delta]
        if self.reverse_box_stickers:
            out.reverse()
        return Reply(200, {"stickers": out})


__all__ = ["FakeWB", "qr_zpl"]
