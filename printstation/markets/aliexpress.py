"""LAliExpress (AliExpress Russia) seller API: shipment labels, shipment lookup, handover lists.

Every call is a POST with a JSON body and ``x-auth-token``; answers come in a
``{"data": …, "error": {code, message, details} | null}`` envelope. Error codes (seed 003) surface
by name in :attr:`ApiError.code`. Label PDFs are downloaded from ``label_url`` without the token,
streamed under a size cap, and must be a PDF with one page per shipment asked.
"""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import urljoin

from ..errors import UsageError
from .base import ApiClient, ApiError, BadLabel, Secret, positive_ids
from .content import pdf_pages

#: Seed 003: "Адрес рабочей среды: https://openapi.ru.laliexpress.com".
DEFAULT_URL = "https://openapi.ru.laliexpress.com"
#: LAliExpress publishes no limit for these methods; a modest default, configurable.
DEFAULT_RATE_PER_MIN = 120
DEFAULT_BURST = 10
MAX_PDF_BYTES = 20 * 1024 * 1024
LABELS_PER_CALL = 50

#: Error codes of the label call (seed 003), with what they mean.
LABEL_ERRORS = {
    "UnsuccessfulUploadFile": "the label file could not be stored",
    "LogisticOrdersNotFound": "shipments not found",
    "LogisticProviderNotFound": "logistics provider not found",
    "LogisticOrdersHaveNotOrderExternalProvider": "a shipment has no external id",
    "LogisticOrdersHaveNotOrderExternal": "a shipment has no external id",
    "UnsuccessfulRuPostOrderForms": "Russian Post did not give the labels",
    "UnknownLogisticOrderStateStatus": "a shipment has an unknown status",
    "DifferentProvidersForLogisticOrders": "the shipments have different logistics providers",
    "LogisticOrderHasNotTrackingCode": "a shipment has no tracking code",
    "DifferentSellersForLogisticOrders": "the shipments belong to different sellers",
    "DifferentOwner": "the shipments belong to another seller",
    "HeaderNotFound": "seller id missing from the request headers",
}


def _ids(ids: Iterable[int | str], what: str = "logistic order id") -> list[int]:
    return positive_ids(ids, what)


class AliClient(ApiClient):
    """LAliExpress seller API client."""

    market = "ali"

    def __init__(self, base_url: str = DEFAULT_URL, token: Secret | str = "", *,
                 rate_per_min: float = DEFAULT_RATE_PER_MIN, burst: int = DEFAULT_BURST,
                 timeout: float = 30.0, max_pdf_bytes: int = MAX_PDF_BYTES, **kw: Any) -> None:
        super().__init__(base_url, token, auth_header="x-auth-token", rate_per_min=rate_per_min,
                         burst=burst, timeout=timeout, **kw)
        self._http.headers["Accept"] = "application/json"  # as seed 003's examples send it
        self.max_pdf_bytes = max_pdf_bytes

    def map_error(self, resp) -> ApiError:
        return _explain(super().map_error(resp))

    def call(self, path: str, body: dict[str, Any]) -> Any:
        """POST ``body``; the envelope's ``data``, or the envelope's ``error`` raised."""
        resp = self.request("POST", path, json_body=body)
        try:
            env = resp.json()
        except ValueError:
            raise ApiError(self.market, resp.status_code, "BadResponse", f"{path}: answer is not JSON") from None
        if not isinstance(env, dict):
            raise ApiError(self.market, resp.status_code, "BadResponse", f"{path}: answer is not an object")
        err = env.get("error")
        if err:
            code = str(err.get("code") or "") if isinstance(err, dict) else ""
            msg = str(err.get("message") or "") if isinstance(err, dict) else str(err)
            raise _explain(ApiError(self.market, resp.status_code, self.redact(code), self.redact(msg)))
        data = env.get("data")
        errors = data.get("errors") if isinstance(data, dict) else None
        common = errors.get("common_errors") if isinstance(errors, dict) else None
        if common:
            first = common[0] if isinstance(common[0], dict) else {}
            raise _explain(ApiError(self.market, resp.status_code, str(first.get("code") or ""),
                                    str(first.get("message") or "")))
        return data

    # -- labels ---------------------------------------------------------------------------------
    def label_url(self, logistic_order_ids: Iterable[int | str]) -> str:
        ids = _ids(logistic_order_ids)
        if not ids:
            raise UsageError("no logistic order ids")
        data = self.call("/seller-api/v1/labels/orders/get", {"logistic_order_ids": ids})
        url = data.get("label_url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            raise ApiError(self.market, 200, "BadResponse", "label answer has no label_url")
        return urljoin(self.base_url + "/", url)

    def labels(self, logistic_order_ids: Iterable[int | str]) -> bytes:
        """One PDF with one page per shipment asked (checked)."""
        ids = _ids(logistic_order_ids)
        pdf = self.download(self.label_url(ids), max_bytes=self.max_pdf_bytes)
        pages = pdf_pages(pdf)
        if pages != len(ids):
            raise BadLabel(f"ali label PDF has {pages} pages for {len(ids)} shipments")
        return pdf

    def handover_list(self, handover_list_id: int | str) -> bytes:
        """The handover list (лист передачи) PDF."""
        (hid,) = _ids([handover_list_id], "handover list id")
        data = self.call("/seller-api/v1/labels/handover-lists/get", {"handover_list_id": hid})
        url = None
        if isinstance(data, dict):
            url = data.get("label_url") or data.get("url") or data.get("handover_list_url")
        if not isinstance(url, str) or not url:
            raise ApiError(self.market, 200, "BadResponse", "handover list answer has no url")
        pdf = self.download(urljoin(self.base_url + "/", url), max_bytes=self.max_pdf_bytes)
        pdf_pages(pdf)
        return pdf

    # -- shipments ------------------------------------------------------------------------------
    def find_logistic_orders(self, *, tracking_numbers: Iterable[str] = (), trade_order_ids: Iterable[int | str] = (),
                             logistic_order_ids: Iterable[int | str] = (), page_size: int = 50) -> list[dict]:
        """Shipments matching any of the given tracking numbers / trade order ids, all pages."""
        body: dict[str, Any] = {}
        tn = [str(t).strip() for t in tracking_numbers if str(t).strip()]
        if tn:
            body["tracking_numbers"] = tn
        to = _ids(trade_order_ids, "trade order id")
        if to:
            body["trade_order_ids"] = to
        lo = _ids(logistic_order_ids)
        if lo:
            body["logistic_order_ids"] = lo
        if not body:
            raise UsageError("give tracking numbers, trade order ids or logistic order ids")
        out: list[dict] = []
        page = 1
        while True:
            data = self.call("/seller-api/v1/logistic-order/get", {**body, "page_size": page_size, "page": page})
            rows = data.get("logistic_orders") if isinstance(data, dict) else None
            rows = [r for r in rows or [] if isinstance(r, dict)]
            out += rows
            info = data.get("page_info") if isinstance(data, dict) else None
            total = info.get("total") if isinstance(info, dict) else None
            if not rows or len(rows) < page_size or (isinstance(total, int) and len(out) >= total) or page >= 1000:
                return out
            page += 1


def _explain(err: ApiError) -> ApiError:
    hint = LABEL_ERRORS.get(err.code)
    if hint and hint.lower() not in err.message.lower():
        return type(err)(err.market, err.status, err.code, f"{hint}: {err.message}" if err.message else hint,
                         err.request_id)
    return err


__all__ = ["AliClient", "DEFAULT_URL", "LABEL_ERRORS", "MAX_PDF_BYTES", "LABELS_PER_CALL"]
