"""A fake LAliExpress seller API (seed 003): labels, shipment lookup, handover lists.

    with FakeAli() as ali:
        o = ali.add_order(tracking="RU123456789CN")   # {"logistic_order_id", "platform_tracking_code", …}
        ...  # POST /seller-api/v1/labels/orders/get → label_url on this server → PDF

Label PDFs come from ``labelgen.pdf_label`` (one page per shipment, Code128 of its tracking
number). Faults beyond the base ones: ``other_owner`` shipments (``DifferentOwner``),
``no_tracking`` (``LogisticOrderHasNotTrackingCode``), :attr:`extra_pages`, :attr:`serve_not_pdf`,
:attr:`serve_bytes` (an oversized stream without Content-Length).
"""

from __future__ import annotations

import random
import secrets
import threading
from typing import Any, Iterable

from support import labelgen

from . import Call, FakeServer, Reply, bad_request


def envelope_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"data": None, "error": {"code": code, "message": message, "details": None}})


class FakeAli(FakeServer):
    auth_header = "x-auth-token"

    def __init__(self, token: str | None = None, *, rate_per_min: float | None = None, burst: int | None = None,
                 error_status: int = 400) -> None:
        super().__init__(token or "alitok." + secrets.token_urlsafe(24), rate_per_min=rate_per_min,
                         burst=burst, cost_4xx=1)
        self.error_status = error_status  # HTTP status of envelope errors (200 also seen in the wild)
        self.orders: dict[int, dict[str, Any]] = {}
        self.handovers: dict[int, list[int]] = {}
        self.files: dict[str, bytes] = {}
        self.extra_pages = 0          # label PDFs get this many pages too many
        self.serve_not_pdf = False    # label_url serves HTML instead of a PDF
        self.ignore_filter = False    # logistic-order/get lists every shipment, whatever was asked
        self.serve_bytes: int | None = None  # label_url streams this many bytes, no Content-Length
        self._next = 88_000
        self._pdfs: dict[tuple, bytes] = {}
        self._lock_seed = threading.Lock()
        self.route("POST", r"/seller-api/v1/labels/orders/get", self._labels)
        self.route("POST", r"/seller-api/v1/logistic-order/get", self._find)
        self.route("POST", r"/seller-api/v1/labels/handover-lists/get", self._handover)
        self.route("GET", r"/files/(?P<name>[A-Za-z0-9_-]+)\.pdf", self._file, auth=False)

    def unauthorized(self) -> Reply:
        return envelope_error(401, "Unauthorized", "invalid token")

    def not_found(self, path: str) -> Reply:
        return envelope_error(404, "NotFound", f"no route {path}")

    def server_error(self, status: int, body: Any) -> Reply:
        return Reply(status, body if body is not None else "<html>502 Bad Gateway</html>", "text/html")

    # -- seeding --------------------------------------------------------------------------------
    def add_order(self, logistic_order_id: int | None = None, *, tracking: str | None = None,
                  trade_order_id: int | None = None, status: str = "AWAITING_ADDING_TO_HANDOVER",
                  other_owner: bool = False, no_tracking: bool = False, handover_list_id: int = 0) -> dict[str, Any]:
        with self._lock_seed:
            if logistic_order_id is None:
                self._next += 1
                logistic_order_id = self._next
            rng = random.Random(logistic_order_id)
            o = {
                "logistic_order_id": logistic_order_id,
                "trade_order_id": trade_order_id or 2_400_000_000_000_000 + logistic_order_id,
                "handover_list_id": handover_list_id,
                "cut_off_date": "2024-09-25T00:06:16+00:00",
                "status": status, "state_status_name": status.title(),
                "platform_tracking_code": "" if no_tracking else (tracking or f"RU{rng.randrange(10**8, 10**9)}CN"),
                "items_count": 1, "gmt_create": "2024-09-23T00:06:17+00:00", "trade_order_source": "LocalTrade",
                "total_amount": 184270, "buyer_name": "Покупатель", "buyer_country_code": "643",
                "_other_owner": other_owner,
            }
            self.orders[logistic_order_id] = o
            return o

    def add_handover(self, handover_list_id: int, logistic_order_ids: Iterable[int]) -> None:
        self.handovers[handover_list_id] = list(logistic_order_ids)
        for i in self.handovers[handover_list_id]:
            if i in self.orders:
                self.orders[i]["handover_list_id"] = handover_list_id

    def label_pdf(self, ids: Iterable[int]) -> bytes:
        """The PDF served for these shipments (one page each, in order)."""
        key = tuple(ids)
        if key not in self._pdfs:
            self._pdfs[key] = labelgen.pdf_label([self.orders[i]["platform_tracking_code"] or str(i) for i in key])
        return self._pdfs[key]

    # -- handlers -------------------------------------------------------------------------------
    def _json(self, call: Call) -> dict[str, Any]:
        try:
            body = call.json()
        except ValueError:
            raise bad_request(envelope_error(400, "BadRequest", "body is not JSON")) from None
        if not isinstance(body, dict):
            raise bad_request(envelope_error(400, "BadRequest", "body is not an object"))
        return body

    def _store(self, data: bytes) -> str:
        name = secrets.token_hex(12)
        self.files[name] = data
        return f"{self.url}/files/{name}.pdf"

    def _labels(self, call: Call) -> Reply:
        ids = self._json(call).get("logistic_order_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            return envelope_error(400, "BadRequest", "logistic_order_ids: expected a list of integers")
        missing = [i for i in ids if i not in self.orders]
        if missing:
            return envelope_error(self.error_status, "LogisticOrdersNotFound", f"Отправления не найдены: {missing}")
        if any(self.orders[i]["_other_owner"] for i in ids):
            return envelope_error(self.error_status, "DifferentOwner", "Отправления принадлежат другому продавцу")
        if any(not self.orders[i]["platform_tracking_code"] for i in ids):
            return envelope_error(self.error_status, "LogisticOrderHasNotTrackingCode", "Нет трек-номера")
        pdf = self.label_pdf(ids)
        if self.extra_pages:
            pdf = labelgen.pdf_label([self.orders[i]["platform_tracking_code"] for i in ids]
                                     + ["EXTRA"] * self.extra_pages)
        return Reply(200, {"data": {"label_url": self._store(pdf)}, "error": None})

    def _handover(self, call: Call) -> Reply:
        hid = self._json(call).get("handover_list_id")
        if hid not in self.handovers:
            return envelope_error(self.error_status, "HandoverListNotFound", "Лист передачи не найден")
        ids = self.handovers[hid]
        pdf = labelgen.pdf_label([f"HANDOVER {hid}"] + [str(i) for i in ids])
        return Reply(200, {"data": {"label_url": self._store(pdf)}, "error": None})

    def _find(self, call: Call) -> Reply:
        body = self._json(call)
        page, size = body.get("page"), body.get("page_size")
        if not isinstance(page, int) or not isinstance(size, int) or page < 1 or not 1 <= size <= 100:
            return envelope_error(400, "BadRequest", "page and page_size are required")
        tn = set(body.get("tracking_numbers") or [])
        to = set(body.get("trade_order_ids") or [])
        lo = set(body.get("logistic_order_ids") or [])
        if self.ignore_filter:
            tn, to, lo = set(), set(), set()
        rows = [o for o in self.orders.values() if not o["_other_owner"] and (
            (not tn and not to and not lo) or o["platform_tracking_code"] in tn
            or o["trade_order_id"] in to or o["logistic_order_id"] in lo)]
        chunk = rows[(page - 1) * size: page * size]
        return Reply(200, {"data": {"logistic_orders": [{k: v for k, v in o.items() if not k.startswith("_")}
                                                        for o in chunk],
                                    "page_info": {"current": page, "page_size": size, "total": len(rows)}},
                           "error": None})

    def _file(self, call: Call, name: str) -> Reply:
        if self.serve_bytes is not None:
            return Reply(200, b"%PDF-1.7\n" + b"0" * self.serve_bytes, "application/pdf", close=True)
        if self.serve_not_pdf:
            return Reply(200, b"<html><body>Access denied</body></html>", "text/html")
        data = self.files.get(name)
        if data is None:
            return Reply(404, b"not found", "text/plain")
        return Reply(200, data, "application/pdf")


__all__ = ["FakeAli", "envelope_error"]
