"""Ozon package labels and Lamoda pack/pallet labels with the label cache in front (mixed into
:class:`~printstation.markets.fetcher.LabelFetcher`).

Ozon: postings are asked 20 a call; the PDF (one page per posting, checked) is split into one
single-page PDF per posting, cached as ``labels/ozon/posting/<posting>-pdf-0x0.pdf``. A batch
Ozon refuses is retried posting by posting, so one bad posting fails alone. Lamoda: one PDF per
order (its packs) or shipment (its pallets), cached under ``labels/lamoda/pack`` / ``pallet``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..errors import MarketplaceError, UsageError
from .base import ApiAuthError, ApiError, BadLabel, Outcome
from .cache import LabelKey
from .content import split_pdf
from .lamoda import LamodaClient, lamoda_ref
from .ozon import LABELS_PER_CALL, OzonClient, posting_numbers

log = logging.getLogger("printstation.markets.fetcher")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class OzonLabel(Outcome):
    posting_number: str
    data: bytes = b""
    error: str | None = None

    def __repr__(self) -> str:
        return f"OzonLabel({self.posting_number!r}, {self._state()})"


@dataclass(frozen=True)
class LamodaLabel(Outcome):
    ref: str
    data: bytes = b""
    error: str | None = None

    def __repr__(self) -> str:
        return f"LamodaLabel({self.ref!r}, {self._state()})"


class OzonLamodaLabels:
    """The Ozon and Lamoda half of the label fetcher (needs ``ozon``, ``lamoda``, ``_get``, ``_put``)."""

    ozon: OzonClient | None
    lamoda: LamodaClient | None
    _get: Callable[[LabelKey], bytes | None]
    _put: Callable[[LabelKey, bytes], None]

    def _ozon(self) -> OzonClient:
        if self.ozon is None:
            raise UsageError("no Ozon client configured")
        return self.ozon

    def _lamoda(self) -> LamodaClient:
        if self.lamoda is None:
            raise UsageError("no Lamoda client configured")
        return self.lamoda

    # -- Ozon -----------------------------------------------------------------------------------
    def ozon_labels(self, postings: Iterable[str], progress: Progress | None = None) -> list[OzonLabel]:
        """One single-page PDF per posting (caller's order)."""
        wanted = posting_numbers(postings)
        out: dict[str, OzonLabel] = {}
        missing: list[str] = []
        for p in dict.fromkeys(wanted):
            data = self._get(LabelKey("ozon", "posting", p, "pdf"))
            if data is not None:
                out[p] = OzonLabel(p, data)
                if progress:
                    progress(1)
            else:
                missing.append(p)
        for i in range(0, len(missing), LABELS_PER_CALL):
            chunk = missing[i:i + LABELS_PER_CALL]
            try:
                for p, page in zip(chunk, split_pdf(self._ozon().package_labels(chunk))):
                    out[p] = OzonLabel(p, page)
            except ApiAuthError:
                raise
            except (ApiError, BadLabel) as exc:
                # Ozon down or rate limiting after the retries: asking posting by posting would
                # only repeat that for each one — the whole batch fails with the reason.
                if len(chunk) == 1 or getattr(exc, "transient", False):
                    for p in chunk:
                        out[p] = OzonLabel(p, error=str(exc))
                else:
                    log.info("ozon labels: batch of %d failed (%s); fetching one by one", len(chunk), exc)
                    for p in chunk:
                        try:
                            out[p] = OzonLabel(p, split_pdf(self._ozon().package_labels([p]))[0])
                        except ApiAuthError:
                            raise
                        except (ApiError, BadLabel) as exc1:
                            out[p] = OzonLabel(p, error=str(exc1))
            for p in chunk:
                if out[p].ok:
                    self._put(LabelKey("ozon", "posting", p, "pdf"), out[p].data)
            if progress:
                progress(len(chunk))
        return [out[p] for p in wanted]

    def ozon_label(self, posting: str) -> bytes:
        (r,) = self.ozon_labels([posting])
        if not r.ok:
            raise MarketplaceError(f"ozon posting {r.posting_number}: {r.error}")
        return r.data

    def ozon_returns(self, **filter: Any) -> list[dict]:
        return self._ozon().returns(filter or None)

    # -- Lamoda ---------------------------------------------------------------------------------
    def lamoda_labels(self, kind: str, refs: Iterable[str], progress: Progress | None = None) -> list[LamodaLabel]:
        """``kind`` "packs" (order numbers) or "pallets" (shipment ids): one PDF each."""
        what = "order number" if kind == "packs" else "shipment id"
        cache_kind = "pack" if kind == "packs" else "pallet"
        wanted = [lamoda_ref(r, what) for r in refs]
        out: dict[str, LamodaLabel] = {}
        for r in dict.fromkeys(wanted):
            key = LabelKey("lamoda", cache_kind, r, "pdf")
            data = self._get(key)
            if data is None:
                try:
                    data = self._lamoda().label(kind, r)
                except ApiAuthError:
                    raise
                except (ApiError, BadLabel) as exc:
                    out[r] = LamodaLabel(r, error=str(exc))
                    if progress:
                        progress(1)
                    continue
                self._put(key, data)
            out[r] = LamodaLabel(r, data)
            if progress:
                progress(1)
        return [out[r] for r in wanted]

    def lamoda_pack_labels(self, order_nr: str) -> bytes:
        (r,) = self.lamoda_labels("packs", [order_nr])
        if not r.ok:
            raise MarketplaceError(f"lamoda order {r.ref}: {r.error}")
        return r.data


__all__ = ["OzonLamodaLabels", "OzonLabel", "LamodaLabel"]
