"""A fake Ozon Seller API (seed 002 + the package-label reference): package labels, FBS returns.

    with FakeOzon() as oz:
        p = oz.add_posting()                      # "awaiting_deliver": its label can be had
        r = oz.add_return(product_name="Платье летнее")   # a return with every seed 002 field
        ...  # point an OzonClient at oz.url with client_id=oz.client_id, api_key=oz.api_key

``label_shape`` picks the answer of ``/v2/posting/fbs/package-label``: ``"pdf"`` (the PDF itself,
``application/pdf``) or ``"json"`` (``{"content_type", "file_name", "file_content": base64}``).
Each label page carries a Code128 of its posting number (75×120 mm, like Ozon's). Faults beyond
the base ones: :attr:`extra_pages`, :attr:`corrupt_base64`, :attr:`serve_not_pdf`, postings in another status, more than
20 postings asked (400), a 429 with ``Retry-After`` through ``fail_next(429, headers=…)``.
"""

from __future__ import annotations

import base64
import random
import secrets
import threading
from typing import Any

from support import labelgen

from . import Call, FakeServer, Reply, bad_request

REASONS = ("Не подошёл размер", "Брак", "Не соответствует описанию", "Передумал")
STATUSES = ("returned_to_seller", "waiting_for_seller", "accepted_from_customer", "ready_for_shipment")


def ozon_error(status: int, code: int, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message, "details": []})


class FakeOzon(FakeServer):
    auth_header = "Api-Key"

    def __init__(self, *, client_id: str | None = None, api_key: str | None = None,
                 label_shape: str = "pdf") -> None:
        super().__init__(api_key or "ozkey-" + secrets.token_hex(16), cost_4xx=1)
        self.client_id = client_id or str(random.randint(100000, 999999))
        self.api_key = self.token
        self.label_shape = label_shape
        self.postings: dict[str, dict[str, Any]] = {}
        self.returns: list[dict[str, Any]] = []
        self.extra_pages = 0
        self.corrupt_base64 = False
        self.serve_not_pdf = False  # the label answer is an HTML page
        #: The JSON answer's ``content_type`` field, and the HTTP Content-Type of the label answer
        #: (None: ``application/pdf`` / ``application/json``), e.g. with a charset parameter.
        self.label_json_type: str | None = "application/pdf"
        self.label_http_type: str | None = None
        self.urlsafe_base64 = False
        #: Returns: at most this many a page whatever ``limit`` asks, and newer answers that say
        #: ``has_next`` (and may leave ``last_id`` out).
        self.page_cap: int | None = None
        self.has_next = False
        self.omit_last_id = False
        self._next = 30_000_000
        self._next_ret = 900_000_000
        self._seed_lock = threading.Lock()
        self.route("POST", r"/v2/posting/fbs/package-label", self._labels)
        self.route("POST", r"/v3/returns/company/fbs", self._returns)

    def check_auth(self, headers: Any) -> bool:
        return headers.get("Api-Key") == self.api_key and headers.get("Client-Id") == self.client_id

    def unauthorized(self) -> Reply:
        return ozon_error(403, 7, "Invalid Api-Key, please contact support")

    def not_found(self, path: str) -> Reply:
        return ozon_error(404, 5, f"no route {path}")

    def server_error(self, status: int, body: Any) -> Reply:
        if body is None:
            return ozon_error(status, 13, "internal error" if status >= 500 else "too many requests")
        return super().server_error(status, body)

    # -- seeding --------------------------------------------------------------------------------
    def add_posting(self, status: str = "awaiting_deliver") -> dict[str, Any]:
        with self._seed_lock:
            self._next += 1
            n = self._next
        p = {"posting_number": f"{n}-{n % 10000:04d}-1", "status": status}
        self.postings[p["posting_number"]] = p
        return p

    def add_return(self, **fields: Any) -> dict[str, Any]:
        with self._seed_lock:
            self._next_ret += 1
            rid = self._next_ret
        rng = random.Random(rid)
        posting = fields.pop("posting_number", None) or f"{rng.randrange(10**7, 10**8)}-{rng.randrange(10**4):04d}-1"
        r = {
            "accepted_from_customer_moment": "2026-11-20T10:15:22Z", "clearing_id": rng.randrange(10**9),
            "commission": 120.5, "commission_percent": 15, "exemplar_id": rng.randrange(10**9), "id": rid,
            "is_moving": False, "is_opened": rng.random() < 0.5, "last_free_waiting_day": "2026-12-10T00:00:00Z",
            "place_id": 17, "moving_to_place_name": "ПВЗ Москва", "picking_amount": 0,
            "posting_number": posting, "picking_tag": "", "price": 2490.0, "price_without_commission": 2369.5,
            "product_id": rng.randrange(10**8), "product_name": "Платье летнее, хлопок, размер 44",
            "quantity": 1, "return_barcode": f"ii{rng.randrange(10**9, 10**10)}",
            "return_clearing_id": rng.randrange(10**9), "return_date": "2026-11-21T08:30:00Z",
            "return_reason_name": rng.choice(REASONS), "waiting_for_seller_date_time": "2026-11-22T09:00:00Z",
            "returned_to_seller_date_time": "", "waiting_for_seller_days": 2, "returns_keeping_cost": 0,
            "sku": rng.randrange(10**8, 10**9), "status": rng.choice(STATUSES),
            "product_offer_id": f"ART-{rng.randrange(10**5, 10**6)}",
        }
        r.update(fields)
        self.returns.append(r)
        return r

    def label_pdf(self, postings: list[str]) -> bytes:
        return labelgen.pdf_label(postings, size_mm=(75, 120))

    # -- handlers -------------------------------------------------------------------------------
    def _json(self, call: Call) -> dict[str, Any]:
        try:
            body = call.json()
        except ValueError:
            raise bad_request(ozon_error(400, 3, "body is not JSON")) from None
        if not isinstance(body, dict):
            raise bad_request(ozon_error(400, 3, "body is not an object"))
        return body

    def _labels(self, call: Call) -> Reply:
        numbers = self._json(call).get("posting_number")
        if not isinstance(numbers, list) or not numbers or not all(isinstance(p, str) for p in numbers):
            return ozon_error(400, 3, "posting_number: expected a list of strings")
        if len(numbers) > 20:
            return ozon_error(400, 3, "posting_number: at most 20 postings")
        for p in numbers:
            if p not in self.postings:
                return ozon_error(404, 5, f"posting {p} not found")
            if self.postings[p]["status"] != "awaiting_deliver":
                return ozon_error(400, 3, f"POSTING_NOT_AWAITING_DELIVER: posting {p} is {self.postings[p]['status']}")
        if self.serve_not_pdf:
            return Reply(200, b"<html><body>Access denied</body></html>", "text/html")
        pdf = self.label_pdf(list(numbers) + ["EXTRA-PAGE"] * self.extra_pages)
        if self.label_shape == "pdf":
            return Reply(200, pdf, self.label_http_type or "application/pdf")
        content = (base64.urlsafe_b64encode if self.urlsafe_base64 else base64.b64encode)(pdf).decode()
        if self.corrupt_base64:
            content = content[:50] + "!!!" + content[50:]
        answer: dict[str, Any] = {"file_name": "labels.pdf", "file_content": content}
        if self.label_json_type is not None:
            answer["content_type"] = self.label_json_type
        return Reply(200, answer, self.label_http_type or "application/json")

    def _returns(self, call: Call) -> Reply:
        body = self._json(call)
        limit, last_id = body.get("limit", 500), body.get("last_id", 0)  # both optional (seed 002)
        if not isinstance(limit, int) or not 1 <= limit <= 500:
            return ozon_error(400, 3, "limit: must be 1..500")
        if not isinstance(last_id, int):
            return ozon_error(400, 3, "last_id: must be an integer")
        flt = body.get("filter") or {}
        rows = sorted(self.returns, key=lambda r: r["id"])
        if flt.get("posting_number"):
            rows = [r for r in rows if r["posting_number"] in flt["posting_number"]]
        if flt.get("product_offer_id"):
            rows = [r for r in rows if r["product_offer_id"] == flt["product_offer_id"]]
        if flt.get("status"):
            rows = [r for r in rows if r["status"] == flt["status"]]
        after = [r for r in rows if r["id"] > last_id]
        rows = after[:min(limit, self.page_cap or limit)]
        answer: dict[str, Any] = {"returns": rows}
        if not self.omit_last_id:
            answer["last_id"] = rows[-1]["id"] if rows else 0
        if self.has_next:
            answer["has_next"] = len(after) > len(rows)
        return Reply(200, answer)


__all__ = ["FakeOzon", "ozon_error"]
