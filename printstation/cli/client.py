"""The control API's command-line client: print, jobs, printers, reprint, cancel, pause, resume.

``--api URL`` or ``$PRINTSTATION_API`` (default ``http://127.0.0.1:8631``); a token for a
non-loopback daemon comes from ``$PRINTSTATION_API_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import BadInput, PrintstationError, UsageError
from ..names import printable

DEFAULT_API = "http://127.0.0.1:8631"


class ApiRefused(PrintstationError):
    """The daemon refused the API token."""

    exit_code = 4


class Client:
    def __init__(self, api: str, token: str | None = None, timeout: float = 30.0) -> None:
        import logging

        import httpx

        logging.getLogger("httpx").setLevel(logging.WARNING)

        self.api = api.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.api, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        """``(status, body)``: the decoded JSON, or ``{"error": <the text>}`` when it is not JSON."""
        import httpx

        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise PrintstationError(f"cannot reach the printstation daemon at {self.api}: {exc}") from None
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, {"error": r.text.strip()[:200]}

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """The body of a successful call; an error answer raises the matching error (401 → exit 4)."""
        status, body = self.request(method, path, **kw)
        if status >= 400:
            msg = body.get("error") if isinstance(body, dict) else None
            msg = msg or f"HTTP {status}"
            if status == 401:
                raise ApiRefused(msg)
            if status == 422:
                raise BadInput(msg)
            if status < 500:
                raise UsageError(msg)
            raise PrintstationError(msg)
        return body

    def close(self) -> None:
        self._http.close()


def _client(api: str, timeout: float = 30.0) -> Client:
    """A client for ``api`` with the token from ``$PRINTSTATION_API_TOKEN`` (if set)."""
    return Client(api, os.environ.get("PRINTSTATION_API_TOKEN") or None, timeout=timeout)


def _call(args: argparse.Namespace, method: str, path: str, **kw: Any) -> Any:
    """One :meth:`Client.call` on a client of its own."""
    client = _client(args.api)
    try:
        return client.call(method, path, **kw)
    finally:
        client.close()


def _add_api(p: argparse.ArgumentParser) -> None:
    p.add_argument("--api", default=os.environ.get("PRINTSTATION_API") or DEFAULT_API, metavar="URL",
                   help=f"daemon API URL (env PRINTSTATION_API; default {DEFAULT_API})")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("print", help="queue label files on a printer (through the daemon)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--printer", metavar="NAME", help="printer name (default: the daemon's default printer)")
    p.add_argument("--copies", type=int, metavar="N")
    p.add_argument("--key", metavar="KEY", help="idempotency key (one FILE only): a repeat prints nothing")
    _add_api(p)
    p.set_defaults(func=cmd_print)

    p = sub.add_parser("jobs", help="list jobs (newest first)")
    p.add_argument("--printer", metavar="NAME")
    p.add_argument("--state", choices=("queued", "sending", "done", "failed", "canceled", "interrupted"))
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    _add_api(p)
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("printers", help="list printers with their state")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    _add_api(p)
    p.set_defaults(func=cmd_printers)

    for name, helptext in (("reprint", "print a job again (a new job)"), ("cancel", "cancel a queued or interrupted job")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("job_id", metavar="ID", type=int)
        _add_api(p)
        p.set_defaults(func=cmd_job_action, action=name)

    for name, helptext in (("pause", "pause a printer's queue"), ("resume", "resume a printer's queue")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("printer", metavar="NAME")
        _add_api(p)
        p.set_defaults(func=cmd_printer_action, action=name)


def _describe(job: dict[str, Any]) -> str:
    extra = f" ({job['name']})" if job.get("name") else ""
    err = f": {job['error']}" if job.get("error") and job["state"] == "failed" else ""
    return printable(f"job {job['id']} {job['state']} on {job['printer']}{extra}{err}")


def cmd_print(args: argparse.Namespace) -> int:
    if args.copies is not None and not 1 <= args.copies <= 9999:
        raise UsageError("--copies must be 1..9999")
    if args.key and len(args.files) > 1:
        raise UsageError("--key needs exactly one FILE")
    blobs = []
    for f in args.files:
        try:
            blobs.append((f, Path(f).read_bytes() if f != "-" else sys.stdin.buffer.read()))
        except IsADirectoryError:
            raise UsageError(f"{f} is a directory") from None
        except OSError as exc:
            raise UsageError(f"cannot read {f}: {exc.strerror or exc}") from None
    client = _client(args.api)
    failed = 0
    try:
        for f, data in blobs:
            params: dict[str, Any] = {"name": printable(Path(f).name) if f != "-" else "stdin"}
            if args.printer:
                params["printer"] = args.printer
            if args.copies:
                params["copies"] = args.copies
            if args.key:
                params["key"] = args.key
            try:
                job = client.call("POST", "/jobs", params=params, content=data)
            except (UsageError, BadInput) as exc:
                print(f"printstation: error: {printable(f)}: {exc}", file=sys.stderr)
                failed += 1
                continue
            print(_describe(job))
    finally:
        client.close()
    return 1 if failed else 0


def _table(rows: list[list[str]], head: list[str]) -> None:
    rows = [[printable(str(c)) for c in r] for r in rows]  # no ESC sequence or newline reaches the terminal
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


def cmd_jobs(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"limit": args.limit}
    if args.printer:
        params["printer"] = args.printer
    if args.state:
        params["state"] = args.state
    body = _call(args, "GET", "/jobs", params=params)
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    rows = [[str(j["id"]), j["printer"], j["state"], str(j["copies"] or ""), str(j["attempts"]),
             (j["created"] or "")[:19].replace("T", " "), j.get("name") or j.get("source_ref") or j["source"],
             (j.get("error") or "")[:60]] for j in body["jobs"]]
    _table(rows, ["ID", "PRINTER", "STATE", "COPIES", "TRIES", "CREATED", "NAME", "ERROR"])
    return 0


def cmd_printers(args: argparse.Namespace) -> int:
    body = _call(args, "GET", "/printers")
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    rows = [[p["name"] + (" *" if p.get("default") else ""), p["state"], str(p["queued"]), p["lang"],
             f"{p['media']}@{p['dpi']}", p["uri"], p.get("reason") or ""] for p in body["printers"]]
    _table(rows, ["NAME", "STATE", "QUEUED", "LANG", "MEDIA", "URI", "REASON"])
    return 0


def cmd_job_action(args: argparse.Namespace) -> int:
    job = _call(args, "POST", f"/jobs/{args.job_id}/{args.action}")
    print(_describe(job) + (f" (reprint of {job['reprint_of']})" if job.get("reprint_of") else ""))
    return 0


def cmd_printer_action(args: argparse.Namespace) -> int:
    p = _call(args, "POST", f"/printers/{args.printer}/{args.action}")
    print(f"printer {p['name']}: {p['state']}" + (f" ({p['reason']})" if p.get("reason") else ""))
    return 0
