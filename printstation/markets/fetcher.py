"""Labels by id with the cache in front: what the CLI and the scan triggers call.

    fetcher = LabelFetcher(wb=WBClient(url, token), ali=AliClient(url, token), cache=LabelCache("var"))
    zpl = fetcher.wb_order_sticker(123456, "zplv", (58, 40))
    png = fetcher.wb_supply_qr("WB-GI-1234567", "png")
    pdf = fetcher.ali_label(88236)

Single-label methods return bytes or raise (a :class:`~printstation.errors.MarketplaceError`);
batch methods return one result per id (an ``error`` on the failed ones) and raise only when
the token is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..errors import MarketplaceError, UsageError
from .aliexpress import LABELS_PER_CALL, AliClient, _ids
from .base import ApiAuthError, ApiError, BadLabel, Outcome, chunks
from .cache import LabelCache, LabelKey
from .content import split_pdf
from .fetcher_ol import LamodaLabel, OzonLabel, OzonLamodaLabels
from .wb import BoxSticker, StickerResult, WBClient, _order_ids, check_size, check_type

log = logging.getLogger("printstation.markets.fetcher")

QR_SIZE = (58, 40)  # WB supply/box stickers are always 580×400 px
Progress = Callable[[int], None]


@dataclass(frozen=True)
class AliLabel(Outcome):
    logistic_order_id: int
    data: bytes = b""
    error: str | None = None


class LabelFetcher(OzonLamodaLabels):
    """Get a WB order sticker / supply QR / box sticker or an Ali label by id, cached (Ozon and
    Lamoda labels: :mod:`printstation.markets.fetcher_ol`)."""

    def __init__(self, wb: WBClient | None = None, ali: AliClient | None = None,
                 cache: LabelCache | None = None, *, ozon: Any = None, lamoda: Any = None) -> None:
        self.wb, self.ali, self.cache = wb, ali, cache
        self.ozon, self.lamoda = ozon, lamoda

    def _wb(self) -> WBClient:
        if self.wb is None:
            raise UsageError("no WB client configured")
        return self.wb

    def _ali(self) -> AliClient:
        if self.ali is None:
            raise UsageError("no LAliExpress client configured")
        return self.ali

    def _get(self, key: LabelKey) -> bytes | None:
        return self.cache.get(key) if self.cache else None

    def _put(self, key: LabelKey, data: bytes) -> None:
        if self.cache:
            try:
                self.cache.put(key, data)
            except OSError as exc:
                log.warning("label cache: cannot store %s: %s", key.filename, exc)

    # -- WB ---------------------------------------------------------------------------------
    def wb_order_stickers(self, order_ids: Iterable[int | str], type: str = "zplv",
                          size: tuple[int, int] = (58, 40), progress: Progress | None = None) -> list[StickerResult]:
        """One result per id (caller's order); cached ones carry only ``data``."""
        check_type(type)
        size = check_size(size)
        ids = _order_ids(order_ids)
        results: dict[int, StickerResult] = {}
        missing: list[int] = []
        for oid in dict.fromkeys(ids):
            data = self._get(LabelKey("wb", "order", str(oid), type, size))
            if data is not None:
                results[oid] = StickerResult(oid, data=data)
                if progress:
                    progress(1)
            else:
                missing.append(oid)
        if missing:
            for r in self._wb().order_stickers(missing, type, size, progress=progress):
                results[r.order_id] = r
                if r.ok:
                    self._put(LabelKey("wb", "order", str(r.order_id), type, size), r.data)
        return [results[i] for i in ids]

    def wb_order_sticker(self, order_id: int | str, type: str = "zplv", size: tuple[int, int] = (58, 40)) -> bytes:
        (r,) = self.wb_order_stickers([order_id], type, size)
        if not r.ok:
            raise MarketplaceError(f"WB order {r.order_id}: {r.error}")
        return r.data

    def wb_supply_qr(self, supply_id: str, type: str = "png") -> bytes:
        check_type(type)
        key = LabelKey("wb", "supply", str(supply_id), type, QR_SIZE)
        data = self._get(key)
        if data is None:
            data = self._wb().supply_barcode(supply_id, type).data
            self._put(key, data)
        return data

    def wb_box_stickers(self, supply_id: str, trbx_ids: Iterable[str] | None = None, type: str = "png",
                        progress: Progress | None = None) -> list[BoxSticker]:
        """Stickers of the given boxes of a supply (default: every box of it)."""
        check_type(type)
        wanted = list(trbx_ids) if trbx_ids is not None else self._wb().supply_boxes(supply_id)
        out: dict[str, BoxSticker] = {}
        missing = []
        for t in wanted:
            data = self._get(LabelKey("wb", "box", str(t), type, QR_SIZE))
            if data is not None:
                out[t] = BoxSticker(t, data=data)
                if progress:
                    progress(1)
            elif t not in missing:
                missing.append(t)
        if missing:
            for b in self._wb().box_stickers(supply_id, missing, type, progress=progress):
                out[b.trbx_id] = b
                if b.ok:
                    self._put(LabelKey("wb", "box", b.trbx_id, type, QR_SIZE), b.data)
        return [out[t] for t in wanted]

    def wb_box_sticker(self, trbx_id: str, supply_id: str, type: str = "png") -> bytes:
        (b,) = self.wb_box_stickers(supply_id, [trbx_id], type)
        if not b.ok:
            raise MarketplaceError(f"WB box {trbx_id}: {b.error}")
        return b.data

    # -- LAliExpress ---------------------------------------------------------------------------
    def ali_labels(self, logistic_order_ids: Iterable[int | str], progress: Progress | None = None) -> list[AliLabel]:
        """One single-page PDF per shipment. A batch the API refuses is retried id by id, so
        one bad id fails alone."""
        ids = _ids(logistic_order_ids)
        out: dict[int, AliLabel] = {}
        missing: list[int] = []
        for i in ids:
            data = self._get(LabelKey("ali", "label", str(i), "pdf"))
            if data is not None:
                out[i] = AliLabel(i, data)
                if progress:
                    progress(1)
            elif i not in missing:
                missing.append(i)
        for chunk in chunks(missing, LABELS_PER_CALL):
            try:
                pages = split_pdf(self._ali().labels(chunk))
                for i, page in zip(chunk, pages):
                    out[i] = AliLabel(i, page)
            except ApiAuthError:
                raise
            except (ApiError, BadLabel) as exc:
                if len(chunk) == 1:
                    out[chunk[0]] = AliLabel(chunk[0], error=str(exc))
                else:
                    log.info("ali labels: batch of %d failed (%s); fetching one by one", len(chunk), exc)
                    for i in chunk:
                        try:
                            out[i] = AliLabel(i, self._ali().labels([i]))
                        except ApiAuthError:
                            raise
                        except (ApiError, BadLabel) as exc1:
                            out[i] = AliLabel(i, error=str(exc1))
            for i in chunk:
                if out[i].ok:
                    self._put(LabelKey("ali", "label", str(i), "pdf"), out[i].data)
            if progress:
                progress(len(chunk))
        return [out[i] for i in ids]

    def ali_label(self, logistic_order_id: int | str) -> bytes:
        (r,) = self.ali_labels([logistic_order_id])
        if not r.ok:
            raise MarketplaceError(f"ali shipment {r.logistic_order_id}: {r.error}")
        return r.data

    def ali_find(self, tracking_number: str) -> int:
        """The logistic order id of a tracking number (raises if none)."""
        rows = self._ali().find_logistic_orders(tracking_numbers=[tracking_number])
        want = tracking_number.strip().upper()
        for r in rows:
            if str(r.get("platform_tracking_code") or "").strip().upper() == want and r.get("logistic_order_id"):
                return int(r["logistic_order_id"])
        # a lone row that names no tracking code is the answer; one naming another code never is
        if len(rows) == 1 and rows[0].get("logistic_order_id") and not rows[0].get("platform_tracking_code"):
            return int(rows[0]["logistic_order_id"])
        raise MarketplaceError(f"ali: no shipment with tracking number {tracking_number}")

    def ali_label_for_tracking(self, tracking_number: str) -> tuple[int, bytes]:
        lid = self.ali_find(tracking_number)
        return lid, self.ali_label(lid)


__all__ = ["LabelFetcher", "AliLabel", "OzonLabel", "LamodaLabel"]
