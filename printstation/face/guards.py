"""Who may drive the control API (see :mod:`printstation.face.api`): the ``Host`` must name this
station (DNS rebinding: 421), a browser request must come from the station's own origin or a
listed one (403), and every TCP request but ``/healthz`` and the public paths needs the token (401).
"""

from __future__ import annotations

import hmac
import logging
import math
import re
import threading
import time
from typing import Any

from .. import metrics
from .http import HttpError, Router
from .sessions import Logouts
from .throttle import GuessThrottle

# the refusals are the API's log lines (journalctl filters on this name)
log = logging.getLogger("printstation.face.api")

REFUSED = metrics.counter("printstation_api_refused_total",
                          "API requests refused as not from the station's own clients", ("reason",))

#: Host names every TCP request may carry (with no port or the listen port).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: A refused Host or Origin is logged at most once per this many seconds per value.
REFUSAL_LOG_EVERY = 60.0
_HOST_RE = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([0-9]{1,5}))?")
_ORIGIN_RE = re.compile(r"(https?)://(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([0-9]{1,5}))?")
DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """``Host`` (or an ``allowed_hosts`` entry) → ``(host, port)`` lower-cased; None if malformed."""
    m = _HOST_RE.fullmatch(value.strip().lower())
    if not m:
        return None
    port = int(m.group(2)) if m.group(2) else None
    if port is not None and not 0 < port < 65536:
        return None
    return m.group(1), port


def split_origin(value: str) -> tuple[str, str, int] | None:
    """``scheme://host[:port]`` → ``(scheme, host, port)`` with the default port filled in."""
    m = _ORIGIN_RE.fullmatch(value.strip().lower())
    if not m:
        return None
    port = int(m.group(3)) if m.group(3) else DEFAULT_PORTS[m.group(1)]
    return (m.group(1), m.group(2), port) if 0 < port < 65536 else None


def host_literal(host: str) -> str:
    return f"[{host.lower()}]" if ":" in host else host.lower()


class _RefusalLog:
    """Log a refusal once per :data:`REFUSAL_LOG_EVERY` seconds per value (bounded memory)."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, what: str, value: str, why: str) -> None:
        now = time.monotonic()
        k = f"{what}\0{value}"
        with self._lock:
            if now - self._last.get(k, -1e9) < REFUSAL_LOG_EVERY:
                return
            if len(self._last) >= 1024:
                self._last = {a: t for a, t in self._last.items() if now - t < REFUSAL_LOG_EVERY}
                if len(self._last) >= 1024:
                    return
            self._last[k] = now
        log.warning("API: refused a request with %s %r: %s (logged once a minute)", what, value[:200], why)


class Guard:
    """The checks of one listener (TCP or the unix socket) before a request reaches its route."""

    token: str | None
    tcp: bool
    port: int
    router: Router
    #: Console sessions ended by a logout (face.sessions).
    logouts: Logouts

    def setup_guard(self, api: Any) -> None:
        """Hosts and origins from ``[api]`` (``host``, ``allowed_hosts``, ``allowed_origins``)."""
        names = set(LOOPBACK_HOSTS) | {host_literal(api.host)}
        self.host_any_port: set[tuple[str, int]] = set()
        for entry in getattr(api, "allowed_hosts", ()):
            parsed = split_host(entry)
            if parsed and parsed[1] is None:
                names.add(parsed[0])
            elif parsed and parsed[1] is not None:
                self.host_any_port.add((parsed[0], parsed[1]))
        self.host_names = names
        self.origins = {o for o in (split_origin(x) for x in getattr(api, "allowed_origins", ())) if o}
        self.refused = _RefusalLog()
        self.throttle = GuessThrottle()

    def check_host(self, host: str | None) -> tuple[str, int]:
        """The request's own ``(host, port)`` from ``Host``; 421 unless it names this station."""
        parsed = split_host(host or "")
        if parsed is None:
            if not self.tcp:
                return "", 0  # the unix socket is exempt (only a same-origin check could use it)
            raise HttpError(400 if not host else 421, f"bad Host header {(host or '')[:80]!r}")
        name, port = parsed
        if self.tcp:
            ok = (name in self.host_names and port in (None, self.port)) or (name, port) in self.host_any_port
            if not ok:
                REFUSED.inc(reason="host")
                self.refused("Host", host or "", "not this station (DNS rebinding?)")
                raise HttpError(421, f"Host {(host or '')[:80]!r} is not this station "
                                     "(use 127.0.0.1 or localhost, or add the name to [api] allowed_hosts)")
        return name, port if port is not None else 80

    def check_browser(self, headers: Any, own: tuple[str, int] | None) -> None:
        """403 for a request a web page of another origin made."""
        origins = headers.get_all("origin")
        if len(origins) > 1:
            raise HttpError(403, "more than one Origin header")
        origin = origins[0] if origins else None
        parsed = split_origin(origin) if origin is not None else None
        listed = parsed is not None and parsed in self.origins
        if origin is not None and not listed:
            same = parsed is not None and own is not None and parsed == ("http", own[0], own[1])
            if not same:
                REFUSED.inc(reason="origin")
                self.refused("Origin", origin, "cross-origin request")
                raise HttpError(403, f"cross-origin request from {origin[:80]!r} refused "
                                     "(list the origin in [api] allowed_origins to allow it)")
        # every value of every Sec-Fetch-Site field counts (a browser sends one; a forged list
        # such as "cross-site, same-origin" must not slip through)
        sites = [t.strip().lower() for v in headers.get_all("sec-fetch-site") for t in v.split(",")]
        site = next((t for t in sites if t in ("cross-site", "same-site")), "")
        if site and not listed:
            REFUSED.inc(reason="sec-fetch-site")
            self.refused("Sec-Fetch-Site", site, "browser request from another site")
            raise HttpError(403, f"browser request from another site refused (Sec-Fetch-Site: {site})")

    def check_token(self, headers: Any, path: str, method: str = "GET", addr: str = "") -> None:
        if self.token and self.tcp and path != "/healthz" and path not in self.router.public:
            auth = headers.get("authorization") or ""
            given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
            if not auth and self.router.session_ok(self.token, headers, method, self.logouts):  # the web console's cookie
                return
            if auth:  # a token given: a guess, slowed per address when wrong (face.throttle)
                self.refuse_flood(addr)
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                if auth:
                    self.hold_wrong_guess(addr)
                raise HttpError(401, "missing or wrong API token (Authorization: Bearer …)")

    def refuse_flood(self, addr: str) -> None:
        """429 before any token is compared while ``addr`` has a parallel flood of guesses queued."""
        flooded = self.throttle.flooded(addr)
        if flooded:
            raise HttpError(429, "too many wrong API tokens from this address: try again later",
                            retry_after=math.ceil(flooded))

    def hold_wrong_guess(self, addr: str) -> None:
        """Count a wrong token from ``addr`` and hold its answer as long as the throttle says."""
        hold = self.throttle.failed(addr)
        if hold:
            self.throttle.stopping.wait(hold)
