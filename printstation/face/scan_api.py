"""Scan endpoints of the control API (the table :data:`ROUTES`, in the daemon's router):

* ``POST /scan`` ``{"code": "…", "printer": "NAME"}`` (printer optional: the default printer) →
  ``200`` with the scan record: ``{"id", "ts", "scanner": "api", "printer", "code", "action",
  "ref", "outcome", "job", "key", "detail"}`` — the same path as a hardware scan (``job``: the job
  id, an int, or None);
* ``GET /scans?limit=N`` (default 50, at most 1000) → ``{"scans": [record, …]}``, newest first.
"""

from __future__ import annotations

from typing import Any

from ..queue.base import JobState
from .http import HttpError, Request, RouteTable

#: ``POST /scan``, ``GET /scans``.
ROUTES = RouteTable()


def _triggers(d: Any) -> Any:
    t = getattr(d, "triggers", None)
    if t is None:
        raise HttpError(503, "the scan triggers are not running")
    return t


@ROUTES.route("POST", r"/scan")
def post_scan(d: Any, req: Request) -> tuple[int, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise HttpError(400, 'expected a JSON object {"code": "…", "printer": "…"}')
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        raise HttpError(400, '"code" must be a non-empty string')
    if len(code) > 512:
        raise HttpError(400, '"code" is too long (at most 512 characters)')
    printer = body.get("printer")
    if printer is not None and not isinstance(printer, str):
        raise HttpError(400, '"printer" must be a string')
    t = _triggers(d)
    if printer and printer not in t.scans.printers:
        raise HttpError(404, f"no printer named {printer!r} (configured printers: {', '.join(t.scans.printers)})")
    given = body.get("scanner")
    scanner = given if isinstance(given, str) else "api"
    rec = t.scan(code, printer=printer or None, scanner=scanner[:64])
    return 200, {**rec, **_trouble(d, rec)}


def _trouble(d: Any, rec: dict[str, Any]) -> dict[str, Any]:
    """The printer's trouble (``printer_state``, ``printer_reason``, ``warning``) for a scan that
    queued a label, after giving the printer a moment to take it; a job that failed at once
    turns the answer's outcome into ``failed`` with its reason."""
    note = getattr(d, "printer_note", None)
    if note is None or not rec.get("printer"):
        return {}
    jid = rec.get("job")
    new_job = jid if rec.get("outcome") in ("queued", "reprinted") and isinstance(jid, int) else None
    out = dict(note(rec["printer"], new_job))
    if new_job is not None:
        try:
            job = d.store.get(new_job)
        except Exception:  # noqa: BLE001 - the answer is still the scan record
            return out
        if job.state == JobState.FAILED:
            out.update(outcome="failed", detail=f"job {job.id} failed: {job.error}")
    return out


@ROUTES.route("GET", r"/scans")
def get_scans(d: Any, req: Request) -> tuple[int, Any]:
    limit = req.int_arg("limit", 50, 1, 1000)
    return 200, {"scans": _triggers(d).scans.recent(limit or 50)}
