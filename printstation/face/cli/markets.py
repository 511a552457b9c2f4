"""``printstation wb …`` and ``printstation ali …``: fetch marketplace labels into a directory.

Exit codes: 0 everything delivered; 1 some items failed (each on stderr with its reason, the
others written); 2 usage or config; 4 the token was refused or none is configured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ...errors import UsageError
from ...fsutil import atomic_write

WB_TYPES = ("zplv", "zplh", "svg", "png")
WB_SIZES = ("58x40", "40x30")
EXT = {"zplv": "zpl", "zplh": "zpl", "svg": "svg", "png": "png"}


# -- helpers -----------------------------------------------------------------------------------

class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, label: str, stream: Any = None) -> None:
        self.total, self.label, self.done = max(total, 1), label, 0
        self.stream = stream or sys.stderr
        self.enabled = total > 1 and self.stream.isatty()
        self._last = 0.0

    def __call__(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        if not self.enabled:
            return
        now = time.monotonic()
        if self.done < self.total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = int(width * self.done / self.total)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _write(directory: Path, name: str, data: bytes) -> Path:
    """Write ``directory/name`` atomically (owner-only, like the label cache; not fsync'ed)."""
    return atomic_write(directory / name, data, mode=0o600, fsync=False)


def _outdir(path: str) -> Path:
    d = Path(path)
    if d.exists() and not d.is_dir():
        raise UsageError(f"{d} is not a directory")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {d}: {exc.strerror or exc}") from None
    return d


def _safe_name(ident: str) -> str:
    if not ident or "/" in ident or "\\" in ident or ident in (".", "..") or "\0" in ident:
        raise UsageError(f"unusable id for a file name: {ident!r}")
    return ident


def _fail_item(what: str, reason: str) -> None:
    print(f"printstation: {what}: {' '.join(str(reason).split())}", file=sys.stderr)


def _size(text: str) -> tuple[int, int]:
    w, h = text.split("x")
    return int(w), int(h)


def _settings_and_cache(args: argparse.Namespace) -> tuple[Any, Any]:
    """``[markets]`` settings from ``--config`` and the label cache (None without a data dir)."""
    from ...markets import LabelCache
    from ...markets.settings import load_config

    settings, data_dir = load_config(getattr(args, "config", None))
    if data_dir is None and os.environ.get("PRINTSTATION_DATA_DIR"):
        data_dir = Path(os.environ["PRINTSTATION_DATA_DIR"])
    return settings, (LabelCache(data_dir) if data_dir else None)


@contextlib.contextmanager
def _fetcher(args: argparse.Namespace, market: str) -> Iterator[Any]:
    """A label fetcher for ``market`` ("wb" or "ali") from the config; its client closed after."""
    from ...markets import LabelFetcher
    from ...markets.settings import ali_client, wb_client

    settings, cache = _settings_and_cache(args)
    if market == "wb":
        f = LabelFetcher(wb=wb_client(settings), cache=cache)
    else:
        f = LabelFetcher(ali=ali_client(settings), cache=cache)
    try:
        yield f
    finally:
        for c in (f.wb, f.ali):
            if c is not None:
                c.close()


def _with_progress(total: int, label: str, fetch: Callable[[Progress], Any]) -> Any:
    """``fetch(bar)`` with a progress bar that is cleared afterwards."""
    bar = Progress(total, label)
    try:
        return fetch(bar)
    finally:
        bar.close()


def _save(out: Path, results: Iterable[Any], name: Callable[[Any], str], what: Callable[[Any], str]) -> int:
    """Write each ok result to ``out/name(r)``, report each failed one as ``what(r)``: its exit code."""
    failed = 0
    for r in results:
        if r.ok:
            _write(out, name(r), r.data)
        else:
            failed += 1
            _fail_item(what(r), r.error or "failed")
    return 1 if failed else 0


def _print_rows(rows: list[dict], columns: Iterable[str]) -> None:
    cols = list(columns)
    for r in rows:
        vals = []
        for c in cols:
            v = r.get(c)
            text = ",".join(map(str, v)) if isinstance(v, list) else ("" if v is None else str(v))
            vals.append(" ".join(text.split()))  # a tab or line break inside a value must not break the row
        print("\t".join(vals))


def _show(rows: list[dict], columns: Iterable[str], as_json: bool) -> None:
    """``rows`` as JSON (``--json``) or as tab-separated ``columns``."""
    if as_json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        _print_rows(rows, columns)


# -- WB ----------------------------------------------------------------------------------------

def _wb_stickers(args: argparse.Namespace) -> int:
    out = _outdir(args.output)
    with _fetcher(args, "wb") as f:
        results = _with_progress(len(args.ids), "wb stickers", lambda bar: f.wb_order_stickers(
            args.ids, args.type, _size(args.size), progress=bar))
    return _save(out, results, lambda r: f"wb-order-{r.order_id}.{EXT[args.type]}",
                 lambda r: f"wb order {r.order_id}")


def _wb_supply_qr(args: argparse.Namespace) -> int:
    out = _outdir(args.output)
    sid = _safe_name(args.supply_id.strip())
    with _fetcher(args, "wb") as f:
        data = f.wb_supply_qr(sid, args.type)
    _write(out, f"wb-supply-{sid}.{EXT[args.type]}", data)
    return 0


def _wb_boxes(args: argparse.Namespace) -> int:
    out = _outdir(args.output)
    sid = args.supply_id.strip()
    with _fetcher(args, "wb") as f:
        boxes = f.wb.supply_boxes(sid)
        if not boxes:
            print(f"printstation: wb supply {sid} has no boxes", file=sys.stderr)
            return 0
        results = _with_progress(len(boxes), "wb boxes", lambda bar: f.wb_box_stickers(
            sid, boxes, args.type, progress=bar))
    return _save(out, results, lambda b: f"wb-box-{_safe_name(b.trbx_id)}.{EXT[args.type]}",
                 lambda b: f"wb box {b.trbx_id}")


def _wb_orders(args: argparse.Namespace) -> int:
    cols: tuple[str, ...]
    with _fetcher(args, "wb") as f:
        if args.supply:
            ids = f.wb.supply_order_ids(args.supply)
            statuses = {s.get("id"): s for s in f.wb.order_statuses(ids)} if ids else {}
            rows = [{"id": i, "supplyId": args.supply,
                     "supplierStatus": statuses.get(i, {}).get("supplierStatus"),
                     "wbStatus": statuses.get(i, {}).get("wbStatus")} for i in ids]
            cols = ("id", "supplierStatus", "wbStatus")
        elif args.new:
            rows = f.wb.new_orders()
            cols = ("id", "article", "skus", "cargoType", "createdAt")
        else:
            rows = f.wb.orders()
            cols = ("id", "supplyId", "article", "skus", "createdAt")
    _show(rows, cols, args.json)
    return 0


# -- LAliExpress -------------------------------------------------------------------------------

def _ali_labels(args: argparse.Namespace) -> int:
    out = _outdir(args.output)
    with _fetcher(args, "ali") as f:
        results = _with_progress(len(args.ids), "ali labels", lambda bar: f.ali_labels(args.ids, progress=bar))
    return _save(out, results, lambda r: f"ali-{r.logistic_order_id}.pdf",
                 lambda r: f"ali shipment {r.logistic_order_id}")


def _ali_find(args: argparse.Namespace) -> int:
    with _fetcher(args, "ali") as f:
        rows = f.ali.find_logistic_orders(tracking_numbers=args.tracking)
    by_tracking = {str(r.get("platform_tracking_code") or ""): r for r in rows}
    found, failed = [], 0
    for t in args.tracking:
        r = by_tracking.get(t.strip())
        if r is None:
            failed += 1
            _fail_item(f"ali tracking {t}", "no shipment with this tracking number")
            continue
        found.append({"tracking_number": t.strip(), "logistic_order_id": r.get("logistic_order_id"),
                      "trade_order_id": r.get("trade_order_id"), "status": r.get("status")})
    _show(found, ("tracking_number", "logistic_order_id", "trade_order_id", "status"), args.json)
    return 1 if failed else 0


# -- registration ------------------------------------------------------------------------------



def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                   help="TOML config with [markets.wb]/[markets.ali] (and [station] data_dir for the label cache)")


def _group(sub: argparse._SubParsersAction, name: str, help: str, description: str) -> argparse._SubParsersAction:
    """The ``name`` command group (its help and exit 2 without a subcommand); its subparsers."""
    group = sub.add_parser(name, help=help, description=description)
    _config_arg(group)

    def usage(args: argparse.Namespace) -> int:
        group.print_help(sys.stderr)
        return 2

    group.set_defaults(func=usage)
    return group.add_subparsers(dest=f"{name}_command", metavar="COMMAND", parser_class=type(group))


def register(sub: argparse._SubParsersAction) -> None:
    ws = _group(sub, "wb", "Wildberries: order stickers, supply QR, box stickers, orders",
                "Fetch Wildberries FBS stickers and orders.")

    p = ws.add_parser("stickers", help="order stickers → DIR/wb-order-<id>.<zpl|svg|png>")
    p.add_argument("ids", nargs="+", metavar="ID", help="WB order (assembly task) ids")
    p.add_argument("--type", choices=WB_TYPES, default="zplv", help="sticker type (default zplv)")
    p.add_argument("--size", choices=WB_SIZES, default="58x40", help="sticker size in mm (default 58x40)")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    _config_arg(p)
    p.set_defaults(func=_wb_stickers)

    for name, helptext, func in (
        ("supply-qr", "a delivered supply's QR → DIR/wb-supply-<id>.<ext>", _wb_supply_qr),
        ("boxes", "every box sticker of a supply → DIR/wb-box-<trbx id>.<ext>", _wb_boxes),
    ):
        p = ws.add_parser(name, help=helptext)
        p.add_argument("supply_id", metavar="SUPPLY_ID")
        p.add_argument("--type", choices=WB_TYPES, default="zplv", help="sticker type (default zplv)")
        p.add_argument("-o", "--output", required=True, metavar="DIR")
        _config_arg(p)
        p.set_defaults(func=func)

    p = ws.add_parser("orders", help="list orders (last 30 days, --new, or --supply ID)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--new", action="store_true", help="only new orders")
    g.add_argument("--supply", metavar="ID", help="the orders of one supply, with statuses")
    p.add_argument("--json", action="store_true", help="JSON instead of tab-separated lines")
    _config_arg(p)
    p.set_defaults(func=_wb_orders)

    al = _group(sub, "ali", "LAliExpress: shipment labels, tracking number lookup",
                "Fetch LAliExpress shipment labels.")

    p = al.add_parser("labels", help="shipment labels → DIR/ali-<id>.pdf")
    p.add_argument("ids", nargs="+", metavar="LOGISTIC_ORDER_ID")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    _config_arg(p)
    p.set_defaults(func=_ali_labels)

    p = al.add_parser("find", help="tracking number → logistic order id")
    p.add_argument("tracking", nargs="+", metavar="TRACKING")
    p.add_argument("--json", action="store_true")
    _config_arg(p)
    p.set_defaults(func=_ali_find)


__all__ = ["register", "Progress"]
