"""The control API: JSON over HTTP on TCP (default ``127.0.0.1:8631``) and a unix socket.

Endpoints (all answers JSON except the preview PNG and the metrics text)::

    GET  /healthz
    GET  /printers
    POST /printers/{name}/pause | /printers/{name}/resume
    POST /printers/{name}/test                    a calibration label (printstation.face.testprint)
    POST /jobs?printer=NAME[&copies=N][&key=K][&name=FILENAME][&fit=1]   body: the label bytes
    GET  /jobs[?printer=&state=&limit=&station=all]
    GET  /jobs/{id}
    GET  /jobs/{id}/preview.png[?page=N]
    POST /jobs/{id}/reprint
    POST /jobs/{id}/cancel
    GET  /metrics
    GET  /, /console/state, /events, …            the web console (printstation.face.console)

Errors are ``{"error": "…"}`` with 400 (bad request), 401 (token), 403 (a browser request from
another origin), 404 (no such job/printer), 409 (state does not allow it), 411/413 (body),
421 (a Host that is not the station's), 422 (label cannot be rendered for a preview), 507 (queue
quota or data dir full). When ``[api] token_file`` is set, every TCP request except ``/healthz``
needs ``Authorization: Bearer <token>``; the unix socket (mode 0660) needs none. Each face module
has its own route table; the daemon builds the router of them (:mod:`printstation.face.http`).

Who may drive the API (a web page open in a browser on the station PC must not):

- every TCP request must name the station in ``Host``: ``127.0.0.1``, ``localhost``, ``[::1]``,
  the listen address, or a name in ``[api] allowed_hosts`` — with no port or the listen port
  (DNS rebinding); else ``421``. The unix socket is exempt.
- a request with ``Origin`` must be same-origin (``http://`` + its ``Host``) or listed in
  ``[api] allowed_origins``; ``Sec-Fetch-Site: cross-site``/``same-site`` is refused unless the
  ``Origin`` is listed; ``403``. No CORS headers are ever sent, so ``OPTIONS`` preflights fail.
- idempotency keys given to ``POST /jobs`` are stored as ``api:<key>``: they can never collide with
  the keys the station makes itself (``wb-order-…``, ``ali-…``, ``hot-…``).

Connections are served by :mod:`printstation.httpd` (bounded, with timeouts, strict parsing).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from .. import metrics
from ..queue.base import JobState, NotFound
from .http import (ERROR_STATUS, MAX_JSON, HttpError, Request, Result, RouteFn, RouteTable, error_status,
                   job_id_arg, json_bytes)

if TYPE_CHECKING:
    from .daemon import Daemon

JOBS = metrics.gauge("printstation_jobs", "Jobs in the queue by printer and state", ("printer", "state"))

#: The endpoints of this module (the daemon builds the API's router: printstation.face.routes).
ROUTES = RouteTable()


# -- endpoints ----------------------------------------------------------------------------------


@ROUTES.route("GET", r"/healthz")
def healthz(d: "Daemon", req: Request) -> Result:
    return 200, d.health()


@ROUTES.route("GET", r"/printers")
def printers(d: "Daemon", req: Request) -> Result:
    return 200, {"printers": d.printers()}


@ROUTES.route("POST", r"/printers/(?P<name>[^/]+)/(?P<action>pause|resume)")
def pause_resume(d: "Daemon", req: Request, name: str, action: str) -> Result:
    info = d.pause(name) if action == "pause" else d.resume(name)
    return 200, info


@ROUTES.route("POST", r"/printers/(?P<name>[^/]+)/test")
def test_print(d: "Daemon", req: Request, name: str) -> Result:
    from .testprint import route_result

    return route_result(d, name, req.headers)


#: Idempotency keys given to ``POST /jobs`` are stored under this prefix, so an API caller can never
#: take a key the station makes itself (``wb-order-<id>``, ``wb-supply-…``, ``wb-box-…``,
#: ``ali-<id>``, ``hot-…``, and whatever later markets and triggers use: none start ``api:``).
API_KEY_PREFIX = "api:"


def api_key(key: str | None) -> str | None:
    return API_KEY_PREFIX + key if key else None


def reserved_body(d: "Daemon", req: Request, key: str | None) -> bytes:
    """A submit's body, read while its size is held against the queue quota: ``507`` before a
    byte of an over-quota body is read (a repeat of a known key stores nothing: not held)."""
    if req.content_length > req.max_body:  # too large for any queue: 413 before the quota's 507
        return req.body()
    reprint = req.query.get("reprint") in ("1", "true", "yes")
    known = key is not None and not reprint and d.store.find_key(key) is not None
    with contextlib.nullcontext() if known else d.storage.reserve(req.content_length):
        return req.body()


@ROUTES.route("POST", r"/jobs")
def submit(d: "Daemon", req: Request) -> Result:
    req.only_args("printer", "copies", "key", "name", "ref", "reprint", "fit")
    reprint, fit = req.bool_arg("reprint"), req.bool_arg("fit")
    key = api_key(req.query.get("key"))
    data = reserved_body(d, req, key)
    job, created = d.submit_ex(
        req.query.get("printer") or None, data, copies=req.int_arg("copies", None, 1, 9999), key=key,
        name=req.query.get("name") or None, source="api", source_ref=req.query.get("ref") or None,
        reprint=reprint, fit=fit)
    # the answer names printer trouble (state, reason), and a job that failed at once
    note = d.printer_note(job.printer, job.id if created else None)
    now = d.store.get(job.id)
    return (201 if created else 200), {**(now if now.state == JobState.FAILED else job).to_dict(), **note}


@ROUTES.route("GET", r"/jobs")
def jobs(d: "Daemon", req: Request) -> Result:
    printer = req.query.get("printer") or None
    station = req.query.get("station") or None  # a shared database: "all", or another station's name
    if station in (d.config.station.name,):
        station = None
    limit = req.int_arg("limit", 100, 1, 100_000) or 100
    found = d.store.list_jobs(printer=printer, state=req.query.get("state") or None, limit=limit, station=station)
    if printer and station is None and d.config.printer(printer) is None and not found:
        raise NotFound(f"no printer named {printer!r}")  # a typo; a printer removed by a reload keeps its jobs listed
    return 200, {"jobs": [j.to_dict() for j in found]}


@ROUTES.route("GET", r"/jobs/(?P<job_id>[0-9]+)")
def job(d: "Daemon", req: Request, job_id: str) -> Result:
    return 200, d.store.get(job_id_arg(job_id)).to_dict()


@ROUTES.route("GET", r"/jobs/(?P<job_id>[0-9]+)/preview\.png")
def preview(d: "Daemon", req: Request, job_id: str) -> Result:
    page = req.int_arg("page", 1, 1, 10_000) or 1
    return 200, d.preview(job_id_arg(job_id), page), "image/png"


@ROUTES.route("POST", r"/jobs/(?P<job_id>[0-9]+)/reprint")
def reprint(d: "Daemon", req: Request, job_id: str) -> Result:
    return 201, d.reprint(job_id_arg(job_id)).to_dict()


@ROUTES.route("POST", r"/jobs/(?P<job_id>[0-9]+)/cancel")
def cancel(d: "Daemon", req: Request, job_id: str) -> Result:
    return 200, d.cancel(job_id_arg(job_id)).to_dict()


@ROUTES.route("GET", r"/metrics")
def metrics_text(d: "Daemon", req: Request) -> Result:
    counts = d.job_counts()  # None while a shared database is away: the job gauges keep their last values
    if counts is not None:
        names = {p.name for p in d.config.printers} | {p for p, _ in counts}
        from ..queue.store import STATES

        for p in names:
            for s in STATES:
                JOBS.set(counts.get((p, s), 0), printer=p, state=s)
    return 200, metrics.render().encode(), "text/plain; version=0.0.4; charset=utf-8"


__all__ = ["API_KEY_PREFIX", "ERROR_STATUS", "MAX_JSON", "HttpError", "Request", "Result", "ROUTES", "RouteFn",
           "api_key", "error_status", "job_id_arg", "json_bytes"]
