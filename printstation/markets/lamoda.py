"""Lamoda B2B Platform API: pack and pallet labels (seed 000), with an OAuth2 client-credentials
token.

Token: ``GET /auth/token?client_id=…&client_secret=…&grant_type=client_credentials`` →
``{"access_token", "expires_in", "token_type"}``; then ``Authorization: Bearer <token>``. The token
is kept until shortly before it expires and fetched again once when a call answers 401. The
client secret and the access token are secrets: never logged, never in an error.

Labels answer a PDF. Lamoda publishes no machine-readable spec for them, so the query parameter
names live in one table, :data:`LABEL_CALLS`: they follow the B2B reference and should be
checked against the account's demo host (``https://api-demo-b2b.lamoda.ru``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .base import AnswerTooLarge, ApiAuthError, ApiClient, ApiError, BadLabel, Secret
from .base import client_id as require_client_id
from .content import pdf_pages

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://api-b2b.lamoda.ru"
DEMO_URL = "https://api-demo-b2b.lamoda.ru"
DEFAULT_RATE_PER_MIN = 60
DEFAULT_BURST = 5
MAX_PDF_BYTES = 20 * 1024 * 1024
#: A token is renewed this many seconds before Lamoda says it expires (or at 90% of a short life).
TOKEN_MARGIN_S = 60.0

#: Label kind → (path, query parameter naming what the label is of). Per the B2B reference;
#: check them on the demo host.
LABEL_CALLS: dict[str, tuple[str, str]] = {
    "packs": ("/api/v1/label/packs", "orderNr"),      # an order's packs
    "pallets": ("/api/v1/label/pallets", "shipmentId"),  # a shipment's pallets
}
TOKEN_PATH = "/auth/token"


def lamoda_ref(ref: str, what: str) -> str:
    """An order number or shipment id as given, stripped; refuses what cannot be one."""
    s = str(ref).strip()
    if not s or len(s) > 64 or not all(c.isalnum() or c in "-_." for c in s):
        raise UsageError(f"bad Lamoda {what} {ref!r}")
    return s


def _seconds(v: Any, default: float = 300.0) -> float:
    """``expires_in`` as seconds (a number or a numeric string); ``default`` when unusable."""
    if isinstance(v, bool):
        return default
    try:
        s = float(v)
    except (TypeError, ValueError):
        return default
    return s if 0 < s < 10 * 365 * 86400 else default


class LamodaClient(ApiClient):
    """Lamoda B2B Platform API client."""

    market = "lamoda"

    def __init__(self, base_url: str = DEFAULT_URL, client_secret: Secret | str = "", *, client_id: str = "",
                 rate_per_min: float = DEFAULT_RATE_PER_MIN, burst: int = DEFAULT_BURST,
                 timeout: float = 30.0, max_pdf_bytes: int = MAX_PDF_BYTES, **kw: Any) -> None:
        super().__init__(base_url, client_secret, auth_header="Authorization", rate_per_min=rate_per_min,
                         burst=burst, timeout=timeout, **kw)
        self.client_id = require_client_id(self.market, client_id)
        self._auth = {}  # the bearer token is set per call
        self.max_pdf_bytes = max_pdf_bytes
        self._token_lock = threading.Lock()
        # The bearer token: not a Secret (that would add every hourly token to the log redaction
        # list for the life of the process); it is never logged and redact() masks it in errors.
        self._access: str | None = None
        self._expires = 0.0
        self.token_fetches = 0

    def redact(self, text: str) -> str:
        text = super().redact(text)
        acc = self._access or ""
        return text.replace(acc, "***") if acc and text else text

    # -- token ----------------------------------------------------------------------------------
    def access_token(self, *, renew: bool = False) -> str:
        """The cached bearer token, fetched when missing, about to expire or ``renew``."""
        with self._token_lock:
            if not renew and self._access is not None and self.clock() < self._expires:
                return self._access
            params = {"client_id": self.client_id, "client_secret": self._token.reveal(),
                      "grant_type": "client_credentials"}
            try:
                resp = super().request("GET", TOKEN_PATH, params=params, headers={})
            except ApiError as exc:
                if exc.status in (400, 401, 403) and not isinstance(exc, ApiAuthError):
                    raise ApiAuthError(self.market, exc.status, exc.code or "invalid_client",
                                       f"token refused: {exc.message}") from None
                raise
            self.token_fetches += 1
            try:
                body = resp.json()
            except ValueError:
                body = None
            tok = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(tok, str) or not tok.strip():
                raise ApiAuthError(self.market, resp.status_code, "BadToken", "token answer has no access_token")
            life = _seconds(body.get("expires_in"))
            self._access = tok.strip()
            self._expires = self.clock() + max(1.0, min(life - TOKEN_MARGIN_S, life * 0.9))
            return self._access

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A call with the bearer token; on 401 the token is fetched again and the call retried once."""
        tok = self.access_token()
        try:
            return super().request(method, path, headers={"Authorization": "Bearer " + tok}, **kw)
        except ApiAuthError as exc:
            if exc.status != 401:
                raise
        tok = self.access_token(renew=True)
        return super().request(method, path, headers={"Authorization": "Bearer " + tok}, **kw)

    # -- labels ---------------------------------------------------------------------------------
    def label(self, kind: str, ref: str) -> bytes:
        """The label PDF of an order's packs (``packs``) or a shipment's pallets (``pallets``)."""
        path, param = LABEL_CALLS[kind]
        ref = lamoda_ref(ref, "order number" if kind == "packs" else "shipment id")
        try:  # read no further than a PDF may be
            resp = self.request("GET", path, params={param: ref}, max_bytes=self.max_pdf_bytes)
        except AnswerTooLarge:
            raise BadLabel(f"lamoda label PDF is larger than {self.max_pdf_bytes} bytes: refused") from None
        pdf = resp.content
        if len(pdf) > self.max_pdf_bytes:
            raise BadLabel(f"lamoda label PDF is {len(pdf)} bytes; the limit is {self.max_pdf_bytes}")
        if not pdf.startswith(b"%PDF"):
            ctype = resp.headers.get("Content-Type", "")
            raise BadLabel(f"lamoda {kind} label answer is not a PDF ({ctype or 'no content type'})")
        if pdf_pages(pdf) < 1:
            raise BadLabel(f"lamoda {kind} label PDF has no pages")
        return pdf

    def pack_labels(self, order_nr: str) -> bytes:
        return self.label("packs", order_nr)

    def pallet_labels(self, shipment_id: str) -> bytes:
        return self.label("pallets", shipment_id)

    def check(self) -> None:
        """Fetch a token (what ``doctor`` calls): raises when the credentials are refused."""
        self.access_token(renew=True)


__all__ = ["LamodaClient", "DEFAULT_URL", "DEMO_URL", "LABEL_CALLS", "lamoda_ref", "ApiError"]
