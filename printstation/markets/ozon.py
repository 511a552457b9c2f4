"""Ozon Seller API: FBS package labels and FBS returns (seed 002).

Every call is a ``POST`` with a JSON body and two headers: ``Client-Id`` (the seller's client id,
not a secret) and ``Api-Key`` (a secret: never logged, never in an error or a record). Errors come
as ``{"code": int, "message": str, "details": []}``; 401/403 mean the credentials were refused.

* ``POST /v2/posting/fbs/package-label`` ``{"posting_number": […]}`` — at most 20 postings a
  call, each in status ``awaiting_deliver``. The answer is either the PDF itself
  (``application/pdf``) or JSON ``{"content_type", "file_name", "file_content": <base64>}``: both
  are accepted, checked (``%PDF``, one page per posting asked) and split into single pages.
* ``POST /v3/returns/company/fbs`` ``{"filter", "limit" ≤ 500, "last_id"}`` — paged by the
  answer's ``last_id``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Iterable

from ..errors import UsageError
from .base import AnswerTooLarge, ApiClient, ApiError, BadLabel, Secret, chunks
from .base import client_id as require_client_id
from .content import pdf_pages

DEFAULT_URL = "https://api-seller.ozon.ru"
#: Ozon limits per method and account and does not publish one number: a modest default.
DEFAULT_RATE_PER_MIN = 60
DEFAULT_BURST = 5
MAX_PDF_BYTES = 20 * 1024 * 1024
#: Postings per package-label call (Ozon's limit).
LABELS_PER_CALL = 20
#: Returns per page (Ozon's limit).
RETURNS_PER_PAGE = 500
MAX_RETURN_PAGES = 1000

POSTING_RE = re.compile(r"^\d+-\d+-\d+$")
#: The fields of a return that the station keeps (seed 002 names).
RETURN_FIELDS = ("id", "return_barcode", "posting_number", "product_name", "product_offer_id", "sku",
                 "quantity", "return_reason_name", "return_date", "status")


def posting_numbers(postings: Iterable[str]) -> list[str]:
    """Postings as given, stripped; a malformed one is a :class:`UsageError`."""
    out = []
    for p in postings:
        s = str(p).strip()
        if not POSTING_RE.fullmatch(s) or len(s) > 64:
            raise UsageError(f"bad Ozon posting number {p!r}: expected digits-digits-digits, e.g. 12345678-0001-1")
        out.append(s)
    return out


def _decode_label(resp: Any, market: str) -> bytes:
    """The PDF of a package-label answer, whichever of the two shapes it came in."""
    data = resp.content
    ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if data.startswith(b"%PDF"):  # whatever it is labelled; JSON labelled application/pdf is read as JSON
        return data
    try:
        body = resp.json()
    except ValueError:
        raise BadLabel(f"{market} label answer is neither a PDF nor JSON ({ctype or 'no content type'})") from None
    if not isinstance(body, dict) or not isinstance(body.get("file_content"), str):
        raise BadLabel(f"{market} label answer has no file_content")
    ct = str(body.get("content_type") or "").lower()
    text = re.sub(r"\s+", "", body["file_content"])
    try:
        if re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text) and re.search(r"[_-]", text):
            data = base64.urlsafe_b64decode(text)  # the URL-safe alphabet
        else:
            data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadLabel(f"corrupt base64 in {market} label file_content: {exc}") from None
    if not data.startswith(b"%PDF"):  # the bytes decide; content_type only explains a refusal
        raise BadLabel(f"{market} label file_content is not a PDF (content_type {ct or 'not given'!r}, "
                       f"starts with {data[:8]!r})")
    return data


class OzonClient(ApiClient):
    """Ozon Seller API client (``Client-Id`` + ``Api-Key``)."""

    market = "ozon"

    def __init__(self, base_url: str = DEFAULT_URL, api_key: Secret | str = "", *, client_id: str = "",
                 rate_per_min: float = DEFAULT_RATE_PER_MIN, burst: int = DEFAULT_BURST,
                 timeout: float = 30.0, max_pdf_bytes: int = MAX_PDF_BYTES, **kw: Any) -> None:
        super().__init__(base_url, api_key, auth_header="Api-Key", rate_per_min=rate_per_min,
                         burst=burst, timeout=timeout, **kw)
        self.client_id = require_client_id(self.market, client_id)
        self._auth = {"Client-Id": self.client_id, **self._auth}
        self.max_pdf_bytes = max_pdf_bytes

    # -- labels ---------------------------------------------------------------------------------
    def package_labels(self, postings: Iterable[str]) -> bytes:
        """One PDF for at most 20 postings, one page each (checked)."""
        wanted = posting_numbers(postings)
        if not wanted:
            raise UsageError("no posting numbers")
        if len(wanted) > LABELS_PER_CALL:
            raise UsageError(f"at most {LABELS_PER_CALL} postings a package-label call, got {len(wanted)}")
        limit = self.max_pdf_bytes * 4 // 3 + 64 * 1024  # the PDF, or the same in base64 in JSON
        try:
            resp = self.request("POST", "/v2/posting/fbs/package-label", json_body={"posting_number": wanted},
                                max_bytes=limit)
        except AnswerTooLarge:
            raise BadLabel(f"ozon label answer is larger than {limit} bytes: refused") from None
        pdf = _decode_label(resp, self.market)
        if len(pdf) > self.max_pdf_bytes:
            raise BadLabel(f"ozon label PDF is {len(pdf)} bytes; the limit is {self.max_pdf_bytes}")
        pages = pdf_pages(pdf)
        if pages != len(wanted):
            raise BadLabel(f"ozon label PDF has {pages} pages for {len(wanted)} postings")
        return pdf

    # -- returns --------------------------------------------------------------------------------
    def returns(self, filter: dict[str, Any] | None = None, limit: int = RETURNS_PER_PAGE) -> list[dict]:
        """FBS returns matching ``filter`` (all pages, ``last_id`` paging).

        The next page starts after the answer's ``last_id`` (else the last return's ``id``). An
        answer's ``has_next`` (newer API versions) decides whether there is one; without it a
        short or empty page is the last."""
        if not 1 <= limit <= RETURNS_PER_PAGE:
            raise UsageError(f"limit must be 1..{RETURNS_PER_PAGE}")
        out: list[dict] = []
        ids: set[Any] = set()
        last_id = 0
        seen: set[int] = set()
        for _ in range(MAX_RETURN_PAGES):
            body = self.json("POST", "/v3/returns/company/fbs",
                             json_body={"filter": dict(filter or {}), "limit": limit, "last_id": last_id})
            if not isinstance(body, dict):
                raise ApiError(self.market, 200, "BadResponse", "returns answer is not an object")
            page = [r for r in body.get("returns") or [] if isinstance(r, dict)]
            for r in page:  # a server that ignores last_id must not list a return twice
                if r.get("id") is None or r.get("id") not in ids:
                    ids.add(r.get("id"))
                    out.append(r)
            has_next = body.get("has_next")
            nxt = _int_id(body.get("last_id")) or (_int_id(page[-1].get("id")) if page else None)
            if not page or has_next is False or (has_next is not True and len(page) < limit) \
                    or not nxt or nxt in seen or nxt == last_id:
                return out
            seen.add(last_id)
            last_id = nxt
        return out


def _int_id(v: Any) -> int | None:
    """A ``last_id``/``id`` as an int (a number or a numeric string); None otherwise."""
    if isinstance(v, str) and v.strip().isdigit():
        return int(v)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def split_batches(postings: list[str]) -> list[list[str]]:
    return list(chunks(postings, LABELS_PER_CALL))


__all__ = ["OzonClient", "DEFAULT_URL", "LABELS_PER_CALL", "RETURNS_PER_PAGE", "RETURN_FIELDS",
           "POSTING_RE", "posting_numbers"]
