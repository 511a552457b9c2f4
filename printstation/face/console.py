"""The operator console: the station's own web page, served by the control API.

Routes (the table :data:`ROUTES`, in the daemon's router; every request passes the API's Host,
Origin and Sec-Fetch-Site checks, so the page works only same-origin)::

    GET  /                       the page (index.html) — also /app.js, /app.css, /icon.svg
    GET  /console/state[?printer=&state=&limit=]   printers, jobs, scans, today's counts, markets
    GET  /jobs/{id}/fields       a native ZPL job's fields (it has no raster preview)
    GET  /events                 Server-Sent Events (printstation.face.events)
    GET  /login                  {"required": bool, "ok": bool}: must the page ask for the token?
    POST /login                  {"token": "…"} → a session cookie (when [api] token_file is set)
    POST /logout                 clears it

Static answers carry ``Content-Security-Policy: default-src 'self'`` (no inline script, style
or handler can run; nothing is loaded from elsewhere) and ``X-Frame-Options: DENY``.

**Authentication when ``[api] token_file`` is set.** The static files need no token (they hold no
data). The page asks for the token once and ``POST /login`` answers with a cookie
``ps_session`` — ``HttpOnly`` (no script can read it), ``SameSite=Strict`` (never sent by a
request another site starts), ``Path=/``, valid :data:`SESSION_HOURS` hours — holding an expiry
a random session id and an HMAC of both keyed with the token (never the token itself; a new
token ends every session). ``POST /logout`` ends that session: its id is kept
(:mod:`printstation.face.sessions`, in the data dir) until it would have expired, so a copy of the
cookie stops working too, also after a restart; other sessions go on.
The cookie stands in for the bearer token on GET requests; on any other method it counts only
when the request carries a same-origin ``Origin`` header (browsers send one with every POST), so a
form or a page elsewhere cannot ride on it (CSRF); the API's Origin/Sec-Fetch-Site checks refuse
cross-site requests before that. A request with an ``Authorization`` header is judged by that
header alone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from datetime import datetime
from importlib import resources
from typing import Any, Container

from .. import metrics
from ..errors import PrintstationError
from ..httphead import plain_int
from ..queue.base import JobState
from ..queue.store import NotFound
from . import events, zplfields
from .http import HttpError, Request, Result, RouteTable, job_id_arg
from .throttle import peer

log = logging.getLogger(__name__)

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/icon.svg": ("icon.svg", "image/svg+xml"),
}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
#: Bytes of a native ZPL label read for its fields list (GET /jobs/{id}/fields).
FIELDS_SCAN = 256 * 1024
COOKIE = "ps_session"
_SID = re.compile(r"[0-9a-f]{32}")
SESSION_HOURS = 12
#: Newest jobs and scans the page shows.
JOBS_SHOWN = 100
SCANS_SHOWN = 50

#: The endpoints of the web console; the static files and login need no token (no data in them).
ROUTES = RouteTable()
ROUTES.public.update(STATIC)
ROUTES.public.update({"/login", "/logout"})
_cache: dict[str, bytes] = {}


def _static(name: str) -> bytes:
    data = _cache.get(name)
    if data is None:
        data = _cache[name] = resources.files(__package__).joinpath("web", name).read_bytes()
    return data


def _serve_static(d: Any, req: Request) -> Result:
    name, ctype = STATIC[req.path]
    return 200, _static(name), ctype, PAGE_HEADERS


for _path in STATIC:
    ROUTES.add("GET", "/" if _path == "/" else _path.replace(".", r"\."), _serve_static)


# -- the session cookie ------------------------------------------------------------------------

def _mac(token: str, expires: int, sid: str) -> str:
    return hmac.new(token.encode(), f"printstation-console v2 {expires} {sid}".encode(), hashlib.sha256).hexdigest()


def make_session(token: str, now: float | None = None) -> str:
    """``v2.<expiry>.<session id>.<HMAC>``: the id lets ``POST /logout`` end this session alone."""
    expires = int((time.time() if now is None else now) + SESSION_HOURS * 3600)
    sid = secrets.token_hex(16)
    return f"v2.{expires}.{sid}.{_mac(token, expires, sid)}"


def _cookie(headers: Any) -> str | None:
    for line in headers.get_all("cookie"):
        for part in line.split(";"):
            k, _, v = part.strip().partition("=")
            if k == COOKIE:
                return v.strip()
    return None


def session_of(token: str, headers: Any) -> tuple[str, int] | None:
    """``(session id, expiry)`` of a valid, unexpired session cookie (ended or not), else None."""
    value = _cookie(headers)
    if not value or len(value) > 200:
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != "v2" or len(parts[1]) > 12 or not _SID.fullmatch(parts[2]):
        return None
    expires = plain_int(parts[1])  # ASCII digits only: '²' is a digit to str.isdigit() but not to int()
    if expires is None or expires < time.time():
        return None
    if not hmac.compare_digest(parts[3].encode(), _mac(token, expires, parts[2]).encode()):
        return None
    return parts[2], expires


def session_ok(token: str, headers: Any, method: str, ended: Container[str] = ()) -> bool:
    """A valid, unexpired session cookie not ended by a logout (``ended``); on a method other
    than GET/HEAD only with ``Origin`` (the API already refused an Origin that is not this station's)."""
    if method not in ("GET", "HEAD") and not headers.get("origin"):
        return False
    session = session_of(token, headers)
    return session is not None and session[0] not in ended


def _tcp_token(req: Request) -> str | None:
    app = getattr(req.exchange.server, "handler", None)
    return getattr(app, "token", None) if getattr(app, "tcp", False) else None


@ROUTES.route("GET", r"/login")
def login_state(d: Any, req: Request) -> Result:
    """``{"required": bool, "ok": bool}``: whether the page must ask for the token first."""
    token = _tcp_token(req)
    ended = getattr(req.exchange.server.handler, "logouts", ())
    return 200, {"required": bool(token), "ok": not token or session_ok(token, req.headers, "GET", ended)}


@ROUTES.route("POST", r"/login")
def login(d: Any, req: Request) -> Result:
    token = _tcp_token(req)
    body = req.json()
    if not token:
        return 200, {"auth": False}
    given = body.get("token") if isinstance(body, dict) else None
    app: Any = req.exchange.server.handler
    addr = peer(req.exchange.conn.addr)
    app.refuse_flood(addr)
    if not isinstance(given, str) or not hmac.compare_digest(given.strip().encode(), token.encode()):
        app.hold_wrong_guess(addr)  # a guess costs time, counted with the bearer ones (face.throttle)
        raise HttpError(401, "wrong token")
    cookie = f"{COOKIE}={make_session(token)}; Max-Age={SESSION_HOURS * 3600}; Path=/; HttpOnly; SameSite=Strict"
    return 200, b'{"auth": true}', "application/json", {"Set-Cookie": cookie}


@ROUTES.route("POST", r"/logout")
def logout(d: Any, req: Request) -> Result:
    token = _tcp_token(req)
    session = session_of(token, req.headers) if token else None
    if session is not None:  # a copy of this cookie stops working too (face.sessions)
        app: Any = req.exchange.server.handler
        app.logouts.add(*session)
    return 200, b"{}", "application/json", {"Set-Cookie": f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"}


# -- data for the page -------------------------------------------------------------------------

def market_health() -> dict[str, dict[str, Any]]:
    """Per marketplace: calls, errors (non-2xx answers and failures), 429s, the last error."""
    out: dict[str, dict[str, Any]] = {}
    for (market, status), n in metrics.values("printstation_market_calls_total").items():
        m = out.setdefault(market, {"calls": 0, "errors": 0, "rate_limited": 0, "last_error": None,
                                    "last_error_at": None})
        m["calls"] += int(n)
        if not (status.isdigit() and 200 <= int(status) < 400):
            m["errors"] += int(n)
    for (market,), n in metrics.values("printstation_market_429_total").items():
        out.setdefault(market, {"calls": 0, "errors": 0, "rate_limited": 0, "last_error": None,
                                "last_error_at": None})["rate_limited"] = int(n)
    for market, (ts, text) in metrics.notes("market_error").items():
        if market in out:
            out[market]["last_error"] = text
            out[market]["last_error_at"] = datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")
    return out


def preview_kind(d: Any, job_id: int) -> str:
    """``"png"`` (``/jobs/{id}/preview.png`` renders it) or ``"fields"`` (native ZPL: the printer
    draws it; ``/jobs/{id}/fields`` lists what it prints). Cached: a job's bytes never change."""
    cache: dict[int, str] | None = getattr(d, "_console_previews", None)
    if cache is None:
        cache = d._console_previews = {}
    kind = cache.get(job_id)
    if kind is None:
        try:
            kind = "fields" if any(s.kind == "zpl" for s in _labels_in(d.store.payload(job_id))) else "png"
        except PrintstationError:
            kind = "none"
        if len(cache) > 10_000:
            cache.clear()
        cache[job_id] = kind
    return kind


def _labels_in(data: bytes) -> list[Any]:
    """The labels of a job's bytes as sniffed: each sticker of a marketplace JSON answer (which
    prints them in order, ZPL ones natively), else the input itself. Raises PrintstationError."""
    from ..errors import BadInput
    from ..render.sniff import sniff

    s = sniff(data)
    if s.kind != "json":
        return [s]
    out = []
    for i, raw in enumerate(s.labels, 1):
        try:
            out.append(sniff(raw))
        except BadInput as exc:
            raise BadInput(f"sticker {i} of the JSON answer: {exc}") from None
    return out


def _start_of_today() -> float:
    now = datetime.now().astimezone()
    return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


@ROUTES.route("GET", r"/console/state")
def state(d: Any, req: Request) -> Result:
    printer = req.query.get("printer") or None
    if printer and d.config.printer(printer) is None:
        raise HttpError(404, f"no printer named {printer!r}")
    limit = req.int_arg("limit", JOBS_SHOWN, 1, 1000) or JOBS_SHOWN
    jobs = []
    for j in d.store.list_jobs(printer=printer, state=req.query.get("state") or None, limit=limit):
        row = j.to_dict()
        row.pop("key", None)
        row["preview"] = preview_kind(d, j.id)
        jobs.append(row)
    t = getattr(d, "triggers", None)
    scans = t.scans.recent(SCANS_SHOWN) if t is not None else []
    today = d.store.counts_since(_start_of_today())
    names = [p["name"] for p in d.printers()]
    return 200, {
        "printers": d.printers(),
        "jobs": jobs,
        "scans": scans,
        "scanning": t is not None,
        "today": {n: today.get(n, {JobState.DONE: 0, JobState.FAILED: 0, "reprints": 0}) for n in names},
        "markets": market_health(),
        "default_printer": d.config.default_printer,
        "auth": bool(_tcp_token(req)),
    }


@ROUTES.route("GET", r"/jobs/(?P<job_id>[0-9]+)/fields")
def job_fields(d: Any, req: Request, job_id: str) -> Result:
    n = job_id_arg(job_id)
    try:
        labels = _labels_in(d.store.payload(n))
    except PrintstationError as exc:
        if isinstance(exc, NotFound):
            raise
        return 200, {"native": False, "fields": [], "note": str(exc), "labels": None}
    zpl = [s.data for s in labels if s.kind == "zpl"]
    count = label_count(d, n, native=bool(zpl))
    if not zpl:
        kinds = "/".join(dict.fromkeys(s.kind for s in labels))
        what = f"a {kinds} label" if len(labels) == 1 else f"a JSON answer of {len(labels)} {kinds} stickers"
        return 200, {"native": False, "fields": [], "note": f"{what}: see /jobs/{n}/preview.png", "labels": count}
    data, note = b"\n".join(zpl), "printed natively by the printer"
    if len(zpl) < len(labels):
        note = f"{len(zpl)} of {len(labels)} stickers {note}, the others converted"
    if len(data) > FIELDS_SCAN:  # the list shows 200 fields: never parse a huge label for it
        data, note = data[:FIELDS_SCAN], f"{note} (fields of its first {FIELDS_SCAN // 1024} KiB)"
    found = zplfields.fields(data)
    if len(found) >= zplfields.MAX_FIELDS:
        note = f"{note} (its first {zplfields.MAX_FIELDS} fields)"
    return 200, {"native": True, "fields": found, "note": note, "labels": count}


def job_labels(d: Any, job_id: int, lang: str | None = "png") -> list[bytes]:
    """The job's labels as 1-bit PNGs (its preview), or (``lang=None``) as its printer gets them
    (native ZPL passes through). Raises PrintstationError (NotFound, BadInput…)."""
    job = d.store.get(job_id)
    p = d.config.printer(job.printer)
    if p is None:
        raise NotFound(f"job {job_id}'s printer {job.printer!r} is not configured")
    spec = p.spec.replace(lang=lang or p.spec.lang, copies=1,
                          max_downscale=0.0 if job.fit else p.spec.max_downscale)
    data = d.store.payload(job_id)
    with d._preview_slot:  # one renderer at most (see Daemon.__init__); kept by content like jobs
        labels: list[bytes] = d.converter.convert(data, spec)
    return labels


def label_count(d: Any, job_id: int, native: bool) -> int | None:
    """How many labels the job prints (its copies aside): the pages of its preview (page ``k`` is
    ``preview.png?page=k``), or for native ZPL the formats its printer gets. None when it does not
    convert (the job's error says why). The conversion is the one the preview made (cached)."""
    try:
        return len(job_labels(d, job_id, None if native else "png"))
    except PrintstationError:  # also a printer removed since (NotFound)
        return None


@ROUTES.route("GET", r"/events")
def event_stream(d: Any, req: Request) -> Result:
    events.stream(d, req.exchange)
    return 200, {}
