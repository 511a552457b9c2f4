"""Wildberries FBS client: order stickers, supply QR, box stickers, orders and supplies.

Every call goes through :class:`~printstation.markets.base.ApiClient` (one bucket per token,
429/5xx handling, typed errors). Stickers are decoded strictly and content-checked; one bad
sticker fails that order alone.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import quote

from ..errors import SupplyNotClosed, UsageError
from .base import ApiAuthError, ApiClient, ApiError, BadLabel, Outcome, Secret, chunks, positive_ids
from .ids import INT64_MAX
from .content import WB_SIZES, WB_TYPES, decode_wb_file

log = logging.getLogger("printstation.markets.wb")

DEFAULT_URL = "https://marketplace-api.wildberries.ru"
#: Personal/service token limits; base and test tokens get 150/min, burst 10 (configure them).
DEFAULT_RATE_PER_MIN = 300
DEFAULT_BURST = 20
STICKERS_PER_CALL = 100
STATUSES_PER_CALL = 1000

Progress = Callable[[int], None]


@dataclass(frozen=True)
class StickerResult(Outcome):
    """One order's sticker, or why it could not be had (``error``; then ``data`` is empty)."""

    order_id: int
    part_a: str = ""
    part_b: str = ""
    barcode: str = ""
    data: bytes = b""
    error: str | None = None

    def __repr__(self) -> str:
        return f"StickerResult(order_id={self.order_id}, barcode={self.barcode!r}, {self._state()})"


@dataclass(frozen=True)
class SupplyQR:
    supply_id: str
    barcode: str
    data: bytes

    def __repr__(self) -> str:
        return f"SupplyQR({self.supply_id!r}, barcode={self.barcode!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class BoxSticker(Outcome):
    """A box (``WB-TRBX-…``) sticker matched by position, or its ``error``."""

    trbx_id: str
    barcode: str = ""
    data: bytes = b""
    error: str | None = None

    def __repr__(self) -> str:
        return f"BoxSticker({self.trbx_id!r}, barcode={self.barcode!r}, {self._state()})"


def check_type(sticker_type: str) -> str:
    if sticker_type not in WB_TYPES:
        raise UsageError(f"bad sticker type {sticker_type!r}: expected one of {', '.join(WB_TYPES)}")
    return sticker_type


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    size = (int(size[0]), int(size[1]))
    if size not in WB_SIZES:
        raise UsageError(f"bad sticker size {size[0]}x{size[1]}: expected 58x40 or 40x30")
    return size


def _order_ids(ids: Iterable[int | str]) -> list[int]:
    return positive_ids(ids, "WB order id")


def _supply_path(supply_id: str) -> str:
    supply_id = str(supply_id).strip()
    if not supply_id:
        raise UsageError("empty WB supply id")
    return quote(supply_id, safe="")


_BOX_NO = re.compile(r"WB-TRBX-(\d+)")
_WBMP_NO = re.compile(r"\$WBMP:\d+:\d+:(\d+)")


def _by_box_number(boxes: list[str], stickers: list[Any]) -> list[Any]:
    """``stickers`` in the order of ``boxes``: by the box number that ends each sticker's
    ``$WBMP:…:<n>`` barcode (box ``WB-TRBX-<n>``) when every one of them carries exactly the
    numbers asked; else as answered (by position — the answer names no box)."""
    asked = [m.group(1) if (m := _BOX_NO.fullmatch(b)) else None for b in boxes]
    got: dict[str, Any] = {}
    for s in stickers:
        m = _WBMP_NO.fullmatch(str(s.get("barcode") or "")) if isinstance(s, dict) else None
        if m is None or m.group(1) in got:
            return stickers
        got[m.group(1)] = s
    if None in asked or set(got) != set(asked):
        return stickers
    return [got[n] for n in asked]  # type: ignore[index]


_INT = re.compile(r"-?[0-9]{1,40}")


def _shown(value: Any) -> str:
    """A bad value for a log line: its repr, cut short (never a whole body)."""
    r = repr(value)
    return r if len(r) <= 40 else r[:37] + "..."


def _answer_id(value: Any) -> int:
    """An order id as WB answers it (an int, or its digits); ValueError naming what is wrong."""
    if value is None:
        raise ValueError("no id")
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not _INT.fullmatch(str(value).strip()):
        raise ValueError(f"id {_shown(value)} is not a number")
    n = int(str(value).strip())
    if not 0 < n <= INT64_MAX:
        raise ValueError(f"id {_shown(value)} is out of range")
    return n


def _text_field(item: dict, key: str) -> None:
    v = item.get(key)
    if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
        raise ValueError(f"{key} {_shown(v)} is not a string")


def _answer_order(item: Any) -> dict:
    """An order of an answer, its id an int; ValueError naming what is wrong (the state stores
    id, supplyId, createdAt, article and skus)."""
    if not isinstance(item, dict):
        raise ValueError(f"not an object ({type(item).__name__})")
    oid = _answer_id(item.get("id"))
    for key in ("supplyId", "createdAt", "article"):
        _text_field(item, key)
    skus = item.get("skus")
    if skus is not None and (not isinstance(skus, list)
                             or any(isinstance(x, bool) or not isinstance(x, (str, int)) for x in skus)):
        raise ValueError(f"skus {_shown(skus)} is not a list of barcodes")
    return {**item, "id": oid}


def _answer_supply(item: Any) -> dict:
    """A supply of an answer, its id a non-empty string; ValueError naming what is wrong."""
    if not isinstance(item, dict):
        raise ValueError(f"not an object ({type(item).__name__})")
    sid = item.get("id")
    if isinstance(sid, bool) or not isinstance(sid, (str, int)) or not str(sid).strip():
        raise ValueError("no id" if sid is None or sid == "" else f"id {_shown(sid)} is not a supply id")
    for key in ("createdAt", "closedAt", "name"):
        _text_field(item, key)
    return {**item, "id": str(sid).strip()}


class WBClient(ApiClient):
    """Wildberries marketplace API (FBS). ``auth_scheme`` ``raw`` (default) or ``bearer``."""

    market = "wb"
    cost_4xx = 10

    def __init__(self, base_url: str = DEFAULT_URL, token: Secret | str = "", *, auth_scheme: str = "raw",
                 rate_per_min: float = DEFAULT_RATE_PER_MIN, burst: int = DEFAULT_BURST,
                 timeout: float = 30.0, **kw: Any) -> None:
        if auth_scheme not in ("raw", "bearer"):
            raise UsageError(f"bad WB auth_scheme {auth_scheme!r}: expected raw or bearer")
        super().__init__(base_url, token, auth_header="Authorization",
                         auth_prefix="Bearer " if auth_scheme == "bearer" else "",
                         rate_per_min=rate_per_min, burst=burst, timeout=timeout, **kw)

    def map_error(self, resp) -> ApiError:
        err = super().map_error(resp)
        if err.status == 409 and err.code == "SupplyNotClosed":
            return SupplyNotClosed(err.market, err.status, err.code,
                                   f"{err.message} — the supply must be delivered (handed over to "
                                   "delivery) before its QR code can be printed", err.request_id)
        return err

    # -- stickers ---------------------------------------------------------------------------
    def order_stickers(self, ids: Iterable[int | str], type: str = "zplv", size: tuple[int, int] = (58, 40),
                       progress: Progress | None = None) -> list[StickerResult]:
        """Stickers of any number of orders, in the caller's order (≤100 ids a call).

        An order WB did not answer for, or whose file is corrupt or not the asked type, gets a
        result with ``error``; the others are delivered. A refused token raises.
        """
        check_type(type)
        w, h = check_size(size)
        wanted = _order_ids(ids)
        got: dict[int, StickerResult] = {}
        for chunk in chunks(list(dict.fromkeys(wanted)), STICKERS_PER_CALL):
            self._sticker_call(chunk, type, w, h, got)
            if progress:
                progress(len(chunk))
        return [got[i] for i in wanted]

    def _sticker_call(self, chunk: list[int], type: str, w: int, h: int, got: dict[int, StickerResult]) -> None:
        """One sticker call into ``got``. A call WB refuses as a whole (a 4xx other than 429: one
        id in it it will not serve) is split in halves until the refused order stands alone."""
        try:
            body = self.json("POST", "/api/v3/orders/stickers", params={"type": type, "width": w, "height": h},
                             json_body={"orders": chunk})
        except ApiAuthError:
            raise
        except ApiError as exc:
            if len(chunk) > 1 and 400 <= exc.status < 500 and exc.status != 429:
                half = len(chunk) // 2
                log.info("wb stickers: a call of %d orders refused (%s); splitting it", len(chunk), exc)
                self._sticker_call(chunk[:half], type, w, h, got)
                self._sticker_call(chunk[half:], type, w, h, got)
                return
            for oid in chunk:
                got[oid] = StickerResult(oid, error=str(exc))
            return
        stickers = body.get("stickers") if isinstance(body, dict) else None
        if not isinstance(stickers, list):
            stickers = []
            log.warning("wb stickers: answer without a stickers list")
        asked = set(chunk)
        for s in stickers:
            if not isinstance(s, dict):
                continue
            raw = s.get("orderId")
            if raw is None:
                continue
            try:
                oid = int(raw)
            except (TypeError, ValueError):
                continue
            if oid not in asked:
                log.warning("wb stickers: answer holds order %s that was not asked for", oid)
                continue
            if oid in got and got[oid].ok:
                continue
            try:
                data = decode_wb_file(s.get("file"), type)
            except BadLabel as exc:
                got[oid] = StickerResult(oid, str(s.get("partA") or ""), str(s.get("partB") or ""),
                                         str(s.get("barcode") or ""), error=str(exc))
                continue
            got[oid] = StickerResult(oid, str(s.get("partA") or ""), str(s.get("partB") or ""),
                                     str(s.get("barcode") or ""), data)
        for oid in chunk:
            if oid not in got:
                got[oid] = StickerResult(oid, error="WB sent no sticker for this order (stickers exist "
                                                    "only for orders in status confirm or complete)")

    def supply_barcode(self, supply_id: str, type: str = "png") -> SupplyQR:
        """The supply's QR sticker; :class:`SupplyNotClosed` until the supply is delivered."""
        check_type(type)
        body = self.json("GET", f"/api/v3/supplies/{_supply_path(supply_id)}/barcode", params={"type": type})
        if not isinstance(body, dict):
            raise ApiError(self.market, 200, "BadResponse", "supply barcode answer is not an object")
        data = decode_wb_file(body.get("file"), type)
        return SupplyQR(str(supply_id), str(body.get("barcode") or ""), data)

    def supply_boxes(self, supply_id: str) -> list[str]:
        """The box ids (``WB-TRBX-…``) of a supply."""
        body = self.json("GET", f"/api/v3/supplies/{_supply_path(supply_id)}/trbx")
        boxes = body.get("trbxes") if isinstance(body, dict) else None
        return [str(b["id"]) for b in boxes or [] if isinstance(b, dict) and b.get("id")]

    def box_stickers(self, supply_id: str, trbx_ids: Iterable[str], type: str = "png",
                     progress: Progress | None = None) -> list[BoxSticker]:
        """Stickers of boxes, matched by position (the answer names no box); in the caller's order.

        A count mismatch between asked and answered makes every box of that call an error.
        """
        check_type(type)
        path = f"/api/v3/supplies/{_supply_path(supply_id)}/trbx/stickers"
        wanted = [str(t).strip() for t in trbx_ids]
        out: dict[str, BoxSticker] = {}
        for chunk in chunks(list(dict.fromkeys(wanted)), STICKERS_PER_CALL):
            try:
                body = self.json("POST", path, params={"type": type}, json_body={"trbxIds": chunk})
                stickers = body.get("stickers") if isinstance(body, dict) else None
                if not isinstance(stickers, list) or len(stickers) != len(chunk):
                    n = len(stickers) if isinstance(stickers, list) else 0
                    raise ApiError(self.market, 200, "CountMismatch",
                                   f"asked for {len(chunk)} box stickers, WB sent {n}: cannot match them to boxes")
            except ApiAuthError:
                raise
            except ApiError as exc:
                for t in chunk:
                    out[t] = BoxSticker(t, error=str(exc))
                if progress:
                    progress(len(chunk))
                continue
            for t, s in zip(chunk, _by_box_number(chunk, stickers)):
                s = s if isinstance(s, dict) else {}
                try:
                    out[t] = BoxSticker(t, str(s.get("barcode") or ""), decode_wb_file(s.get("file"), type))
                except BadLabel as exc:
                    out[t] = BoxSticker(t, str(s.get("barcode") or ""), error=str(exc))
            if progress:
                progress(len(chunk))
        return [out[t] for t in wanted]

    # -- orders and supplies ------------------------------------------------------------------
    def _items(self, call: str, body: Any, key: str, what: str, check: Callable[[Any], Any]) -> tuple[list, int]:
        """``(good items, items answered)`` of the list ``body[key]``: an item ``check`` refuses
        (ValueError) is skipped with one WARNING line saying what was wrong. A wholly malformed
        answer — not an object, ``key`` not a list, no item usable — is :class:`ApiError`."""
        def bad(why: str) -> ApiError:
            return ApiError(self.market, 200, "BadResponse", f"{call}: malformed answer: {why}")

        if body is None:
            return [], 0
        if not isinstance(body, dict):
            raise bad(f"not an object ({type(body).__name__})")
        items = body.get(key)
        if items is None:
            return [], 0
        if not isinstance(items, list):
            raise bad(f"{key} is not a list ({type(items).__name__})")
        out = []
        for n, item in enumerate(items, 1):
            try:
                out.append(check(item))
            except ValueError as exc:
                log.warning("%s %s: skipped %s %d of %d: %s", self.market, call, what, n, len(items), exc)
        if items and not out:
            raise bad(f"none of its {len(items)} {key} is usable")
        return out, len(items)

    def new_orders(self) -> list[dict]:
        return self._items("GET /api/v3/orders/new", self.json("GET", "/api/v3/orders/new"), "orders",
                           "order", _answer_order)[0]

    def _paged(self, path: str, key: str, params: dict[str, Any], limit: int,
               what: str, check: Callable[[Any], Any]) -> list[dict]:
        out: list[dict] = []
        nxt = 0
        seen: set[int] = set()
        while True:
            body = self.json("GET", path, params={**params, "limit": limit, "next": nxt})
            page, answered = self._items(f"GET {path}", body, key, what, check)
            out += page
            new_next = body.get("next") if isinstance(body, dict) else None
            if answered < limit or not isinstance(new_next, int) or new_next in seen or new_next == nxt:
                return out
            seen.add(nxt)
            nxt = new_next

    def orders(self, date_from: int | None = None, date_to: int | None = None, limit: int = 1000) -> list[dict]:
        """Orders created between two Unix times (WB: at most 30 days), all pages."""
        if date_from is None:
            date_from = int(time.time()) - 30 * 86400 + 60
        params: dict[str, Any] = {"dateFrom": int(date_from)}
        if date_to is not None:
            params["dateTo"] = int(date_to)
        return self._paged("/api/v3/orders", "orders", params, limit, "order", _answer_order)

    def order_statuses(self, ids: Iterable[int | str]) -> list[dict]:
        """``{id, supplierStatus, wbStatus}`` per order (≤1000 ids a call)."""
        out: list[dict] = []
        for chunk in chunks(list(dict.fromkeys(_order_ids(ids))), STATUSES_PER_CALL):
            body = self.json("POST", "/api/v3/orders/status", json_body={"orders": chunk})
            out += list(body.get("orders") or []) if isinstance(body, dict) else []
        return out

    def supplies(self, limit: int = 1000) -> list[dict]:
        return self._paged("/api/v3/supplies", "supplies", {}, limit, "supply", _answer_supply)

    def supply_order_ids(self, supply_id: str) -> list[int]:
        path = f"/api/marketplace/v3/supplies/{_supply_path(supply_id)}/order-ids"
        return self._items(f"GET {path}", self.json("GET", path), "orderIds", "order id", _answer_id)[0]


__all__ = ["WBClient", "StickerResult", "SupplyQR", "BoxSticker", "SupplyNotClosed", "DEFAULT_URL",
           "check_type", "check_size"]
