"""``printstation ozon …`` and ``printstation lamoda …``: fetch labels into a directory, list returns.

* ``printstation ozon labels POSTING… -o DIR`` → ``DIR/ozon-<posting>.pdf`` (one page each);
* ``printstation ozon returns [--json]`` — every FBS return (all pages);
* ``printstation lamoda packs ORDER… -o DIR`` → ``DIR/lamoda-pack-<order>.pdf``;
* ``printstation lamoda pallets SHIPMENT… -o DIR`` → ``DIR/lamoda-pallet-<id>.pdf``.

Exit codes as for ``wb``/``ali``: 0 everything delivered; 1 some items failed (each on stderr
with its reason, the others written); 2 usage or config; 4 credentials refused or missing.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING, Any, Iterator

from .markets import (_config_arg, _group, _outdir, _safe_name, _save, _settings_and_cache, _show,
                      _with_progress)

if TYPE_CHECKING:
    from ...markets.lamoda import LamodaClient
    from ...markets.ozon import OzonClient

RETURN_COLUMNS = ("id", "return_barcode", "posting_number", "product_offer_id", "product_name", "quantity",
                  "return_reason_name", "return_date", "status")


@contextlib.contextmanager
def _fetcher(args: argparse.Namespace, market: str) -> Iterator[Any]:
    """A label fetcher holding the ``market`` ("ozon" or "lamoda") client; closed after."""
    from ...markets import LabelFetcher
    from ...markets.settings import lamoda_client, ozon_client

    settings, cache = _settings_and_cache(args)
    client: OzonClient | LamodaClient
    if market == "ozon":
        client = ozon_client(settings)
        f = LabelFetcher(cache=cache, ozon=client)
    else:
        client = lamoda_client(settings)
        f = LabelFetcher(cache=cache, lamoda=client)
    try:
        yield f
    finally:
        client.close()


def _ozon_labels(args: argparse.Namespace) -> int:
    out = _outdir(args.output)
    with _fetcher(args, "ozon") as f:
        results = _with_progress(len(args.postings), "ozon labels",
                                 lambda bar: f.ozon_labels(args.postings, progress=bar))
    return _save(out, results, lambda r: f"ozon-{_safe_name(r.posting_number)}.pdf",
                 lambda r: f"ozon posting {r.posting_number}")


def _ozon_returns(args: argparse.Namespace) -> int:
    flt: dict[str, Any] = {}
    if args.status:
        flt["status"] = args.status
    if args.posting:
        flt["posting_number"] = args.posting
    with _fetcher(args, "ozon") as f:
        rows = f.ozon_returns(**flt)
    _show(rows, RETURN_COLUMNS, args.json)
    return 0


def _lamoda(kind: str, prefix: str, what: str):
    def run(args: argparse.Namespace) -> int:
        out = _outdir(args.output)
        with _fetcher(args, "lamoda") as f:
            results = _with_progress(len(args.refs), f"lamoda {kind}",
                                     lambda bar: f.lamoda_labels(kind, args.refs, progress=bar))
        return _save(out, results, lambda r: f"{prefix}-{_safe_name(r.ref)}.pdf", lambda r: f"lamoda {what} {r.ref}")

    return run


def register(sub: argparse._SubParsersAction) -> None:
    oz = _group(sub, "ozon", "Ozon: FBS package labels, FBS returns",
                "Fetch Ozon FBS package labels and list FBS returns.")
    p = oz.add_parser("labels", help="package labels → DIR/ozon-<posting>.pdf")
    p.add_argument("postings", nargs="+", metavar="POSTING", help="posting numbers (12345678-0001-1)")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    _config_arg(p)
    p.set_defaults(func=_ozon_labels)

    p = oz.add_parser("returns", help="list FBS returns (all pages)")
    p.add_argument("--status", metavar="STATUS", help="only returns in this status (e.g. waiting_for_seller)")
    p.add_argument("--posting", action="append", metavar="POSTING", help="only returns of this posting (repeatable)")
    p.add_argument("--json", action="store_true", help="JSON instead of tab-separated lines")
    _config_arg(p)
    p.set_defaults(func=_ozon_returns)

    lm = _group(sub, "lamoda", "Lamoda: pack and pallet labels",
                "Fetch Lamoda B2B pack labels (of an order) and pallet labels (of a shipment).")
    for name, meta, helptext, func in (
        ("packs", "ORDER", "pack labels of orders → DIR/lamoda-pack-<order>.pdf",
         _lamoda("packs", "lamoda-pack", "order")),
        ("pallets", "SHIPMENT", "pallet labels of shipments → DIR/lamoda-pallet-<id>.pdf",
         _lamoda("pallets", "lamoda-pallet", "shipment")),
    ):
        p = lm.add_parser(name, help=helptext)
        p.add_argument("refs", nargs="+", metavar=meta)
        p.add_argument("-o", "--output", required=True, metavar="DIR")
        _config_arg(p)
        p.set_defaults(func=func)


__all__ = ["register"]
