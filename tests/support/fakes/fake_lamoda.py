"""A fake Lamoda B2B Platform API (seeds 000/001): OAuth2 token, pack and pallet label PDFs.

    with FakeLamoda(token_life=3600) as lm:
        lm.add_order("LM123456", packs=2)       # two pack labels (Code128 of each pack id)
        lm.add_shipment("SH-77", pallets=1)
        ...  # LamodaClient(lm.url, lm.client_secret, client_id=lm.client_id)

``GET /auth/token?client_id&client_secret&grant_type=client_credentials`` issues a fresh token
that lives ``token_life`` seconds; :meth:`expire_tokens` makes every issued token invalid at once
(the next call answers 401), as a server-side expiry does. Labels are asked with the query names
the client's ``LABEL_CALLS`` table uses (``orderNr``, ``shipmentId``).
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from support import labelgen

from . import Call, FakeServer, Reply


class FakeLamoda(FakeServer):
    def __init__(self, *, client_id: str | None = None, client_secret: str | None = None,
                 token_life: int = 3600) -> None:
        super().__init__("unused", cost_4xx=1)
        self.client_id = client_id or "partner-" + secrets.token_hex(4)
        self.client_secret = client_secret or "lmsecret-" + secrets.token_urlsafe(18)
        self.token_life = token_life
        self.valid_tokens: set[str] = set()
        self.refuse_all = False  # every bearer token answers 401 (a revoked account)
        self.serve_not_pdf = False  # labels answer JSON instead of a PDF
        self.issued: list[str] = []
        self.orders: dict[str, list[str]] = {}
        self.shipments: dict[str, list[str]] = {}
        self._lk = threading.Lock()
        self._pdfs: dict[tuple, bytes] = {}
        self.route("GET", r"/auth/token", self._token, auth=False)
        self.route("GET", r"/api/v1/label/packs", self._packs)
        self.route("GET", r"/api/v1/label/pallets", self._pallets)

    def check_auth(self, headers: Any) -> bool:
        v = headers.get("Authorization") or ""
        return not self.refuse_all and v.startswith("Bearer ") and v[7:] in self.valid_tokens

    def unauthorized(self) -> Reply:
        return Reply(401, {"error": "invalid_token", "error_description": "The access token is invalid or expired"})

    def not_found(self, path: str) -> Reply:
        return Reply(404, {"code": "NotFound", "message": f"no route {path}"})

    def expire_tokens(self) -> None:
        with self._lk:
            self.valid_tokens.clear()

    def add_order(self, order_nr: str, packs: int = 1) -> list[str]:
        self.orders[order_nr] = [f"PACK-{order_nr}-{i + 1}" for i in range(packs)]
        return self.orders[order_nr]

    def add_shipment(self, shipment_id: str, pallets: int = 1) -> list[str]:
        self.shipments[shipment_id] = [f"PLT-{shipment_id}-{i + 1}" for i in range(pallets)]
        return self.shipments[shipment_id]

    def pdf(self, codes: list[str]) -> bytes:
        key = tuple(codes)
        if key not in self._pdfs:
            self._pdfs[key] = labelgen.pdf_label(codes, size_mm=(100, 150))
        return self._pdfs[key]

    def _token(self, call: Call) -> Reply:
        q = {k: v[0] for k, v in call.query.items()}
        if q.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        if q.get("client_id") != self.client_id or q.get("client_secret") != self.client_secret:
            return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        tok = "lmat-" + secrets.token_urlsafe(24)
        with self._lk:
            self.valid_tokens.add(tok)
            self.issued.append(tok)
        return Reply(200, {"access_token": tok, "expires_in": self.token_life, "token_type": "bearer"})

    def _label(self, call: Call, param: str, table: dict[str, list[str]], what: str) -> Reply:
        ref = (call.query.get(param) or [""])[0]
        if not ref:
            return Reply(400, {"code": "BadRequest", "message": f"{param} is required"})
        if ref not in table:
            return Reply(404, {"code": "NotFound", "message": f"{what} {ref} not found"})
        if self.serve_not_pdf:
            return Reply(200, {"status": "ok", "labels": []})
        return Reply(200, self.pdf(table[ref]), "application/pdf")

    def _packs(self, call: Call) -> Reply:
        return self._label(call, "orderNr", self.orders, "order")

    def _pallets(self, call: Call) -> Reply:
        return self._label(call, "shipmentId", self.shipments, "shipment")


__all__ = ["FakeLamoda"]
