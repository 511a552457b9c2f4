"""``printstation scan CODE [--printer NAME]``: a scan through the daemon's API (``POST /scan``).

Takes exactly the path of a hardware scan. Exit 0 when the scan did something (queued, a
duplicate of a printed label, a command), 1 when it failed or matched no rule; the scan record
is printed (``--json`` for the raw JSON).
"""

from __future__ import annotations

import argparse
import json
import os

from .client import DEFAULT_API, _client, trouble_note


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="run a code through the scan rules, as if scanned",
                       description="Send CODE to the running daemon (POST /scan): the same path as a "
                                   "barcode scanner. Exit 1 when nothing was printed (unmatched/failed).")
    p.add_argument("code", metavar="CODE")
    p.add_argument("--printer", metavar="NAME", help="printer to print on (default: the default printer)")
    p.add_argument("--api", metavar="URL", default=None,
                   help=f"daemon API (env PRINTSTATION_API, default {DEFAULT_API})")
    p.add_argument("--json", action="store_true", help="print the scan record as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...errors import ApiRefused, PrintstationError, UsageError

    body = {"code": args.code}
    if args.printer:
        body["printer"] = args.printer
    client = _client(args.api or os.environ.get("PRINTSTATION_API") or DEFAULT_API, timeout=60)
    try:
        status, data = client.request("POST", "/scan", json=body)
    finally:
        client.close()
    if status >= 400:
        msg = data.get("error") if isinstance(data, dict) else str(data)
        if status == 401:  # a wrong token: exit 4, as for the other client commands
            raise ApiRefused(msg or f"HTTP {status}")
        if status in (400, 404):
            raise UsageError(msg or f"HTTP {status}")
        raise PrintstationError(msg or f"HTTP {status}")
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    elif data.get("outcome") == "duplicate" and data.get("detail"):
        # "duplicate: order 123 already printed as job 1 on zebra"
        print(f"duplicate: {data['detail']} (PS:REPRINT prints it again){trouble_note(data)}")
    else:
        parts = [data.get("outcome", "?"), data.get("action") or "-"]
        if data.get("job"):
            parts.append(f"job {data['job']}")
        if data.get("printer"):
            parts.append(f"on {data['printer']}")
        line = " ".join(parts) + (f": {data['detail']}" if data.get("detail") else "")
        print(line + trouble_note(data))
    return 1 if data.get("outcome") in ("failed", "unmatched") else 0
