"""``printstation print --wait``: poll each job until it ends, one line each, and say on stderr
each time the printer's trouble changes meanwhile (never the same line twice)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from ...names import printable
from ...queue.base import FINAL_STATES, JobState

if TYPE_CHECKING:
    from .client import Client

#: Seconds between polls of ``print --wait``.
WAIT_POLL = 0.2


def _trouble_of(state: Any, reason: Any) -> tuple[str, str] | None:
    """``(state, reason)`` of a printer that cannot print now, None when it is idle/printing."""
    return None if not state or state in ("idle", "printing") else (str(state), str(reason or ""))


def _say_printer_change(client: "Client", name: str, said: dict[str, tuple[str, str] | None]) -> None:
    """While ``print --wait`` waits: one stderr line when the printer's trouble changes (comes,
    changes reason or clears), never the same line twice."""
    printer = next((p for p in client.call("GET", "/printers").get("printers") or []
                    if p.get("name") == name), None)
    if printer is None:
        return
    now = _trouble_of(printer.get("state"), printer.get("reason"))
    if now == said.get(name):
        return
    said[name] = now
    what = f"{now[0]}: {now[1]}" if now and now[1] else now[0] if now else f"{printer.get('state')} again"
    print(printable(f"printer {name}: {what} — still waiting"), file=sys.stderr, flush=True)


def wait_jobs(client: "Client", jobs: list[tuple[str, dict[str, Any]]]) -> int:
    """Poll until every job is done/failed; one line each. 3 when any did not end ``done``."""
    bad = 0
    said = {j["printer"]: _trouble_of(j.get("printer_state"), j.get("printer_reason")) for _, j in jobs}
    for f, job in jobs:
        while job["state"] not in FINAL_STATES:
            time.sleep(WAIT_POLL)
            job = client.call("GET", f"/jobs/{job['id']}")
            if job["state"] not in FINAL_STATES:
                _say_printer_change(client, job["printer"], said)
        if job["state"] == JobState.DONE:
            print(f"{f}: done job {job['id']} on {job['printer']}" if len(jobs) > 1
                  else f"done job {job['id']} on {job['printer']}", flush=True)
        else:
            bad += 1
            why = f": {job['error']}" if job.get("error") else ""
            print(f"printstation: error: {f}: job {job['id']} {job['state']} on {job['printer']}{why}",
                  file=sys.stderr, flush=True)
    return 3 if bad else 0
