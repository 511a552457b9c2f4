"""Scan actions for Ozon and Lamoda (called from :meth:`ScanService._act`):

* ``ozon-label`` — an FBS posting number (``12345678-0001-1``): its package label (PDF page from
  Ozon, cached) is queued, idempotency key ``ozon-<posting>``;
* ``ozon-return`` — a return parcel's barcode: the return is found in local state (synced by
  :mod:`printstation.triggers.ozonsync`; one paced lookup when it is not there yet) and our own
  returns label (:mod:`printstation.render.returns_label`) is drawn for the printer's media,
  converted once here so a barcode that would not verify fails the scan with its reason, and
  queued with the key ``ozon-return-<id>``;
* ``lamoda-pack`` / ``lamoda-pallet`` (in your ``[[rules]]`` only) — the pack labels of an order
  (key ``lamoda-pack-<order>``, the same as the webhook's) or the pallet labels of a shipment
  (``lamoda-pallet-<id>``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import BadInput
from ..render.returns_label import offer_value, returns_label_svg

if TYPE_CHECKING:
    from ..markets.lamoda import LamodaClient
    from ..markets.ozon import OzonClient


def queue_label(service: Any, printer: str, data: bytes, key: str, name: str, ref: str, what: str,
                again: tuple[str, str] | None, reprint: bool = False) -> Any:
    """Queue through ``ScanService._queue`` (``what`` names the label in duplicate messages,
    ``again`` is the (action, ref) that fetches it again for ``PS:REPRINT``)."""
    return service._queue(printer, data, key, name, ref, what, again, reprint)


def act(service: Any, action: str, ref: str, printer: str, spec: Any, reprint: bool = False) -> Any:
    from .service import ScanFailed

    if action in ("lamoda-pack", "lamoda-pallet"):  # your [[rules]] only: Lamoda numbers have no fixed form
        kind, what = ("packs", "order") if action == "lamoda-pack" else ("pallets", "shipment")
        (r,) = service._need_labels().lamoda_labels(kind, [ref])
        if not r.ok:
            raise ScanFailed(f"lamoda {what} {r.ref}: {r.error}")
        return queue_label(service, printer, r.data, f"{action}-{r.ref}", f"{action}-{r.ref}.pdf", ref,
                           f"{what} {r.ref}", (action, ref), reprint)
    if action == "ozon-label":
        data = service._need_labels().ozon_label(ref)
        return queue_label(service, printer, data, f"ozon-{ref}", f"ozon-{ref}.pdf", ref, f"posting {ref}",
                           ("ozon-label", ref), reprint)
    sync = getattr(service, "ozon_sync", None)
    if sync is None:
        raise ScanFailed("Ozon access is not configured ([markets.ozon]): returns cannot be looked up")
    ret = sync.find(ref)
    if ret is None:
        ret = sync.lookup(ref)  # one paced round, not repeated for a code it missed lately
    if ret is None:
        raise ScanFailed(f"Ozon return barcode {ref} is not among the FBS returns" + _asked(sync, ref))
    try:
        svg = returns_label_svg(ret, spec)
        check_barcode(svg, spec, offer_value(ret))
    except BadInput as exc:
        raise ScanFailed(f"return {ret['id']}: returns label: {exc}") from None
    out = queue_label(service, printer, svg, f"ozon-return-{ret['id']}", f"ozon-return-{ret['id']}.svg", ref,
                      f"return {ret['id']}", ("ozon-return", ref), reprint)
    detail = f"return {ret['id']}, article {ret['product_offer_id']}, posting {ret.get('posting_number') or '-'}"
    out.detail = detail + (f"; {out.detail}" if out.detail else "")
    return out


def _asked(sync: Any, ref: str) -> str:
    """`` (looked up in Ozon just now)`` or, for a code a lookup missed lately, when."""
    from .ozonsync import MISS_TTL_S

    ago = sync.missed_ago(ref)
    if ago is None or ago < 1:
        return " (looked up in Ozon just now)"
    return f" (looked up in Ozon {ago:.0f} s ago; asked again {MISS_TTL_S - ago:.0f} s from now)"


def known_return(service: Any, code: str) -> Any:
    """A code no rule matched that is the ``return_barcode`` of a synced Ozon return → ``ozon-return``."""
    from .rules import Match

    sync = getattr(service, "ozon_sync", None)
    try:
        found = sync is not None and sync.find(code) is not None
    except Exception:  # noqa: BLE001 - a lookup problem leaves the code unmatched
        found = False
    return Match("ozon-return", code, "(synced Ozon return barcode)") if found else None


def check_barcode(svg: bytes, spec: Any, value: str) -> None:
    """Convert the label for ``spec`` and insist its Code128 reads back as ``value``."""
    from ..pipeline import convert_labels

    labels = convert_labels(svg, spec)
    if getattr(spec, "verify", "fail") == "off":
        return
    found = [b for lab in labels for b in lab.barcodes]
    if not any(b.barcode.text == value and b.verified for b in found):
        got = ", ".join(f"{b.barcode.text!r} verified={b.verified}" for b in found) or "no barcode found"
        raise BadInput(f"its Code128 of {value!r} does not verify at {spec.dpi} dpi ({got})")


def more_clients(settings: Any) -> tuple[Any, Any]:
    """``(OzonClient or None, LamodaClient or None)`` from ``[markets]`` / env / credentials.

    Left off on purpose (nothing configured) is logged at INFO; a configured secret file that
    cannot be used at WARNING."""
    import logging

    from ..errors import PrintstationError
    from ..markets.settings import lamoda_client, ozon_client

    log = logging.getLogger("printstation.triggers")
    out: list[OzonClient | LamodaClient | None] = []
    for market, name, make in (("ozon", "Ozon", ozon_client), ("lamoda", "Lamoda", lamoda_client)):
        try:
            out.append(make(settings))
        except PrintstationError as exc:
            configured = getattr(getattr(settings, market, None), "token_file", None) is not None
            log.log(logging.WARNING if configured else logging.INFO, "%s labels off: %s", name, exc)
            out.append(None)
    return out[0], out[1]


def add_clients(fetcher: Any, config: Any) -> Any:
    """The daemon's label fetcher with the Ozon and Lamoda clients in it (one made if needed)."""
    from ..markets import LabelCache, LabelFetcher
    from ..markets.settings import MarketsSettings

    settings = config.markets if isinstance(config.markets, MarketsSettings) else None
    ozon, lamoda = more_clients(settings)
    if ozon is None and lamoda is None:
        return fetcher
    if fetcher is None:
        return LabelFetcher(cache=LabelCache(config.data_dir), ozon=ozon, lamoda=lamoda)
    fetcher.ozon, fetcher.lamoda = ozon, lamoda
    return fetcher


__all__ = ["act", "add_clients", "check_barcode", "known_return", "more_clients", "queue_label"]
