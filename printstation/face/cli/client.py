"""The control API's command-line client: print, jobs, scans, printers, reprint, cancel, pause,
resume.

``--api URL`` or ``$PRINTSTATION_API`` (default ``http://127.0.0.1:8631``); a token for a
non-loopback daemon comes from ``$PRINTSTATION_API_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from ...errors import ApiRefused, BadInput, PrintstationError, UsageError
from ...lang import registry
from ...lang.registry import LANGUAGES
from ...names import printable
from ...queue.base import STATES, JobState
from .apiurl import DEFAULT_API, check_api_url, shown_url
from .print_wait import WAIT_POLL, wait_jobs

#: What to do when the daemon does not answer (appended to the "cannot reach" error).
START_HINT = ("is it running? start it with `printstation run [--config FILE]` (`make run` in a checkout; "
              "as a service: systemctl start printstation)")
#: Added when the CLI tried the default address: the daemon may listen elsewhere.
ELSEWHERE_HINT = ("; a daemon with another [api] listen needs --api URL or $PRINTSTATION_API "
                  "(its ready log names the command)")
#: Without --wait, how long ``print`` of several files watches the jobs that waited behind an
#: earlier one (the daemon's answer could not tell yet) for a refusal at conversion.
SETTLE_S = 3.0


class Client:
    def __init__(self, api: str, token: str | None = None, timeout: float = 30.0) -> None:
        import logging

        import httpx

        logging.getLogger("httpx").setLevel(logging.WARNING)

        self.api = check_api_url(api).rstrip("/")
        #: The URL as errors show it: a password in it is never printed.
        self.shown = shown_url(self.api)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.api, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        """``(status, body)``: the decoded JSON, or ``{"error": <the text>}`` when it is not JSON."""
        import httpx

        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            why = str(exc).replace(self.api, self.shown)
            raise PrintstationError(f"cannot reach the printstation daemon at {self.shown}: {why}; "
                                    f"{START_HINT}{where_hint(self.shown)}") from None
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, {"error": r.text.strip()[:200]}

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """The body of a successful call; an error answer raises the matching error (401 → exit 4)."""
        return self.call_status(method, path, **kw)[1]

    def call_status(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        """``(status, body)`` of a successful call (errors raise as in :meth:`call`)."""
        status, body = self.request(method, path, **kw)
        if status >= 400:
            msg = body.get("error") if isinstance(body, dict) else None
            msg = msg or f"HTTP {status}"
            if status == 401:
                raise ApiRefused(msg)
            if status == 422:
                raise BadInput(msg)
            if status < 500 or status == 507:  # 507: queue or data dir full — refused, not unreachable
                raise UsageError(msg)
            raise PrintstationError(msg)
        return status, body

    def close(self) -> None:
        self._http.close()


def where_hint(api: str) -> str:
    """What the start hint adds for ``api``: at the default address, how to reach a daemon
    listening elsewhere; at another one, the ``[api] listen`` its daemon needs."""
    import urllib.parse

    if api.rstrip("/") == DEFAULT_API:
        return ELSEWHERE_HINT
    try:
        parts = urllib.parse.urlsplit(api)
        host, port = parts.hostname, parts.port or 80
    except ValueError:
        return ""
    if parts.scheme != "http" or not host:
        return ""
    host = f"[{host}]" if ":" in host else host
    return f"; to be reached at {printable(api)} its config needs [api] listen = \"{host}:{port}\""


def _client(api: str, timeout: float = 30.0) -> Client:
    """A client for ``api`` with the token from ``$PRINTSTATION_API_TOKEN`` (if set)."""
    token = os.environ.get("PRINTSTATION_API_TOKEN") or None
    if token and not (token.isascii() and token.isprintable()):  # (never shown)
        raise UsageError("$PRINTSTATION_API_TOKEN must be printable ASCII (it is sent in an HTTP header)")
    return Client(api, token, timeout=timeout)


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
    p.add_argument("--fit", action="store_true",
                   help="print even when fitting the label to the media shrinks it below the "
                        "printer's max_downscale")
    p.add_argument("--wait", action="store_true",
                   help="wait until every job is done or failed (exit 0 when all are done, else 3)")
    _add_api(p)
    p.set_defaults(func=cmd_print, more_files="files")

    p = sub.add_parser("jobs", help="list jobs (newest first)")
    p.add_argument("--printer", metavar="NAME")
    p.add_argument("--state", choices=STATES)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--wide", action="store_true", help="the whole error on one line (default: wrapped)")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    _add_api(p)
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("scans", help="show the scan log (newest first)")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="how many scans (1..1000, default 50)")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    _add_api(p)
    p.set_defaults(func=cmd_scans)

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
    err = f": {job['error']}" if job.get("error") and job["state"] == JobState.FAILED else ""
    return printable(f"job {job['id']} {job['state']} on {job['printer']}{extra}{err}")


def trouble_note(body: dict[str, Any]) -> str:
    """`` — printer mute: error: no answer …`` when a submit/scan answer names printer trouble."""
    state = body.get("printer_state")
    if not state:
        return ""
    reason = body.get("printer_reason")
    name = body.get("printer") or "?"
    return f" — printer {name}: {state}" + (f": {reason}" if reason else "")


def _target_printer(client: Client, wanted: str | None) -> dict[str, Any]:
    """The printer a print goes to, from ``GET /printers``; exit 2 listing them when unknown."""
    printers = client.call("GET", "/printers").get("printers") or []
    if wanted:
        found = next((p for p in printers if p.get("name") == wanted), None)
    else:
        found = next((p for p in printers if p.get("default")), printers[0] if printers else None)
    if found is None:
        names = ", ".join(p.get("name", "?") for p in printers) or "none"
        raise UsageError(f"no printer named {wanted!r} (configured printers: {names})")
    return found


def sniff_label(f: str, data: bytes) -> str:
    """The format of one file before it is queued; unknown or empty data raise :class:`BadInput`
    naming the file (exit 3)."""
    from ...render.sniff import sniff

    try:
        return sniff(data).kind
    except BadInput as exc:
        raise BadInput(f"{f}: {exc}") from None


def check_label(f: str, kind: str, printer: dict[str, Any]) -> None:
    """ZPL for a non-ZPL printer raises :class:`BadInput` naming the file (exit 3)."""
    lang = printer.get("lang") or "zpl"
    known = LANGUAGES.get(lang)
    if kind == "zpl" and (known is None or not known.passes_zpl):
        raise BadInput(f"{f}: ZPL cannot be printed on {printer.get('name')} ({registry.shown(lang)} printer): "
                       "fetch the label as SVG, PNG or PDF")


def cmd_print(args: argparse.Namespace) -> int:
    if args.copies is not None and not 1 <= args.copies <= 9999:
        raise UsageError("--copies must be 1..9999")
    if args.key and len(args.files) > 1:
        raise UsageError("--key needs exactly one FILE")
    from .convert import _read

    blobs = [(f, _read(f)) for f in args.files]
    kinds = [sniff_label(f, data) for f, data in blobs]  # before the daemon is even asked
    client = _client(args.api)
    failed = refused = 0
    jobs: list[tuple[str, dict[str, Any]]] = []
    try:
        printer = _target_printer(client, args.printer)
        for (f, _), kind in zip(blobs, kinds):  # every file is checked before any is queued
            check_label(f, kind, printer)
        for f, data in blobs:
            params: dict[str, Any] = {"name": printable(Path(f).name) if f != "-" else "stdin", "printer": printer["name"]}
            if args.copies:
                params["copies"] = args.copies
            if args.key:
                params["key"] = args.key
            if args.fit:
                params["fit"] = 1
            try:
                status, job = client.call_status("POST", "/jobs", params=params, content=data)
            except (UsageError, BadInput) as exc:
                print(f"printstation: error: {printable(f)}: {exc}", file=sys.stderr)
                failed += 1
                continue
            if job["state"] == JobState.FAILED:  # refused at once (e.g. a label too large for the media)
                print(f"printstation: error: {printable(f)}: job {job['id']} failed: {job.get('error')}", file=sys.stderr)
                refused += 1
                continue
            prefix = f"{f}: " if len(blobs) > 1 else ""
            if status == 200:  # an existing job for this --key: nothing new was queued
                print(f"{prefix}key {args.key!r} is job {job['id']} on {job['printer']} ({job['state']}): "
                      f"not queued again{trouble_note(job)}", flush=True)
            else:
                print(f"{prefix}queued job {job['id']} on {job['printer']}{trouble_note(job)}", flush=True)
            jobs.append((f, job))
        if args.wait and jobs and wait_jobs(client, jobs):
            refused += 1
        elif not args.wait and len(jobs) > 1:
            refused += _settle_jobs(client, jobs)
    finally:
        client.close()
    return 3 if refused else 2 if failed else 0  # a file the daemon refused: exit 2, as any refusal


def _settle_jobs(client: Client, jobs: list[tuple[str, dict[str, Any]]]) -> int:
    """Jobs queued behind another one of this batch got their answer before their printer looked
    at them: watch each until the printer takes it (leaves ``queued``), at most ``SETTLE_S``, and
    report one that failed at once (a label too large for the media). Number failed."""
    bad = 0
    deadline = time.monotonic() + SETTLE_S
    for f, job in jobs:
        if job.get("printer_state"):  # a printer in trouble takes nothing: its answer said so
            continue
        while job["state"] == JobState.QUEUED and time.monotonic() < deadline:
            time.sleep(WAIT_POLL)
            job = client.call("GET", f"/jobs/{job['id']}")
        if job["state"] == JobState.FAILED:
            bad += 1
            print(f"printstation: error: {printable(f)}: job {job['id']} failed: {job.get('error')}",
                  file=sys.stderr, flush=True)
    return bad


def _table(rows: list[list[str]], head: list[str], wide: bool = True) -> None:
    """Columns padded to their widest cell. The last column is wrapped under itself to the
    terminal's width unless ``wide`` (the whole text on one line); it is never cut."""
    rows = [[printable(str(c)) for c in r] for r in rows]  # no ESC sequence or newline reaches the terminal
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    indent = sum(w + 2 for w in widths[:-1])
    room = shutil.get_terminal_size((120, 24)).columns - indent
    for r in [head] + rows:
        cells = [str(c).ljust(w) for c, w in zip(r[:-1], widths)]
        last = str(r[-1])
        parts = [last] if wide or room < 20 or len(last) <= room else textwrap.wrap(last, room) or [""]
        print(("  ".join(cells + [parts[0]])).rstrip())
        for more in parts[1:]:
            print(" " * indent + more)


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
    rows = [[str(j["id"]), j["printer"], j["state"], str(j.get("copies") or 1), str(j["attempts"]),
             (j["created"] or "")[:19].replace("T", " "), j.get("name") or j.get("source_ref") or j["source"],
             " ".join((j.get("error") or "").split())] for j in body["jobs"]]
    _table(rows, ["ID", "PRINTER", "STATE", "COPIES", "TRIES", "CREATED", "NAME", "ERROR"], wide=args.wide)
    return 0


def cmd_scans(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 1000:
        raise UsageError("--limit must be 1..1000")
    body = _call(args, "GET", "/scans", params={"limit": args.limit})
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    rows = []
    for r in body.get("scans") or []:
        ts = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["ts"])) if r.get("ts") else ""
        rows.append([str(r.get("id") or ""), ts, r.get("scanner") or "", r.get("printer") or "",
                     r.get("code") or "", r.get("action") or "-", r.get("outcome") or "",
                     str(r.get("job") or ""), " ".join((r.get("detail") or "").split())])
    _table(rows, ["ID", "TIME", "SCANNER", "PRINTER", "CODE", "ACTION", "OUTCOME", "JOB", "DETAIL"])
    return 0


def cmd_printers(args: argparse.Namespace) -> int:
    body = _call(args, "GET", "/printers")
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    rows = [[p["name"] + (" *" if p.get("default") else ""), p["state"], ("?" if p["queued"] is None else str(p["queued"])), p["lang"],
             f"{p['media']}@{p['dpi']}", p["uri"], p.get("reason") or ""] for p in body["printers"]]
    _table(rows, ["NAME", "STATE", "QUEUED", "LANG", "MEDIA", "URI", "REASON"])
    return 0


def cmd_job_action(args: argparse.Namespace) -> int:
    job = _call(args, "POST", f"/jobs/{args.job_id}/{args.action}")
    print(_describe(job) + (f" (reprint of {job['reprint_of']})" if job.get("reprint_of") else ""))
    return 0


def cmd_printer_action(args: argparse.Namespace) -> int:
    p = _call(args, "POST", f"/printers/{args.printer}/{args.action}")
    if args.action == "pause" and p["state"] != "paused" and p.get("current_job"):  # a label on the wire
        print(f"printer {p['name']}: paused after job {p['current_job']} (now {p['state']} it)")
        return 0
    print(f"printer {p['name']}: {p['state']}" + (f" ({p['reason']})" if p.get("reason") else ""))
    return 0
