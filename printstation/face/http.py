"""The control API's request model and router (:mod:`printstation.face.api` and the other face
modules declare route tables; :mod:`printstation.face.daemon` builds one :class:`Router` of them).

A route table (:class:`RouteTable`) is a module's own list of ``(method, path regex, handler)``
plus the exact paths it serves without the API token; ``handler(daemon, request, **groups)``
answers ``(status, JSON value)``, ``(status, bytes, content type)`` or ``(status, bytes, content
type, extra headers)``. Nothing registers into a global: the daemon hands the router to the server.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Container, Iterable, Iterator

from ..errors import BadInput, HttpError, PrintstationError, UsageError
from ..httpd import Exchange, ProtocolError, plain_int
from ..queue.store import MAX_PAYLOAD, Conflict, NotFound
from ..storage import StorageFull


def json_bytes(value: Any) -> bytes:
    """A JSON answer in UTF-8; a lone surrogate in stored text (an undecodable name) stays a
    JSON escape instead of failing the answer."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace")




#: The HTTP status of an error a handler raises: the first class it is an instance of.
ERROR_STATUS: tuple[tuple[type[PrintstationError], int], ...] = (
    (NotFound, 404), (Conflict, 409), (UsageError, 400), (BadInput, 422), (StorageFull, 507),
    (PrintstationError, 503),
)


def error_status(exc: HttpError | PrintstationError) -> int:
    if isinstance(exc, HttpError):
        return exc.status
    return next(code for cls, code in ERROR_STATUS if isinstance(exc, cls))


#: The largest JSON request body (``POST /scan``, ``POST /login``: a code, a token).
MAX_JSON = 64 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any
    exchange: Exchange
    #: Bodies larger than this are refused with 413 before they are read.
    max_body: int = MAX_PAYLOAD
    _body: bytes | None = field(default=None, repr=False)

    @property
    def content_length(self) -> int:
        return self.exchange.head.content_length

    def body(self) -> bytes:
        if self._body is None:
            n = self.content_length
            if n > self.max_body:
                raise HttpError(413, f"body too large ({n} bytes, at most {self.max_body}: [api] max_body_mb)")
            try:
                self._body = self.exchange.read_body()
            except ProtocolError as exc:
                raise HttpError(exc.status, str(exc)) from None
        return self._body

    def json(self) -> Any:
        """The body as JSON (at most :data:`MAX_JSON` bytes: 413 before a larger one is read, so
        parallel JSON requests cannot hold ``max_body_mb`` each in memory); 400 when it is not
        valid JSON."""
        if self.content_length > MAX_JSON:
            raise HttpError(413, f"JSON body too large ({self.content_length} bytes, at most {MAX_JSON})")
        raw = self.body()
        try:
            value = json.loads(raw) if raw.strip() else {}
            # a lone surrogate (``"\ud800"``) decodes but can be neither stored nor answered
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except RecursionError:
            raise HttpError(400, "bad JSON body: nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError/EncodeError, a huge int
            raise HttpError(400, f"bad JSON body: {str(exc)[:200]}") from None
        return value

    def int_arg(self, name: str, default: int | None = None, lo: int = 1, hi: int = 1_000_000) -> int | None:
        v = self.query.get(name)
        if v is None or v == "":
            return default
        n = plain_int(v[1:]) if v.startswith("-") else plain_int(v)
        if n is None:
            raise HttpError(400, f"{name} must be an integer, got {v[:40]!r}")
        n = -n if v.startswith("-") else n
        if not lo <= n <= hi:
            raise HttpError(400, f"{name} {n} out of range ({lo}..{hi})")
        return n

    def bool_arg(self, name: str) -> bool:
        """A yes/no query parameter: ``1``/``true``/``yes`` or ``0``/``false``/``no`` (any case;
        absent or empty: no); anything else is a 400 naming the parameter and those values."""
        v = self.query.get(name)
        if v is None or v == "":
            return False
        if v.lower() in TRUE_WORDS or v.lower() in FALSE_WORDS:
            return v.lower() in TRUE_WORDS
        raise HttpError(400, f"{name} must be one of {', '.join(TRUE_WORDS + FALSE_WORDS)}, got {v[:40]!r}")

    def only_args(self, *names: str) -> None:
        """A 400 naming the first query parameter not in ``names`` (a typo is not ignored)."""
        for k in self.query:
            if k not in names:
                raise HttpError(400, f"unknown query parameter {k[:40]!r} (this takes {', '.join(names)})")


#: The values :meth:`Request.bool_arg` accepts.
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes"), ("0", "false", "no")

Result = tuple[int, Any] | tuple[int, bytes, str] | tuple[int, bytes, str, dict[str, str]]
RouteFn = Callable[..., Result]
#: ``(token, headers, method, ended session ids) -> bool``: a valid web-console session cookie.
SessionCheck = Callable[[str, Any, str, Container[str]], bool]


def no_session(token: str, headers: Any, method: str, ended: Container[str] = ()) -> bool:
    return False


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: RouteFn


class RouteTable:
    """One module's endpoints: ``ROUTES = RouteTable()``, then ``@ROUTES.route("GET", r"/x")``."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        #: Exact paths served without the API token (the web console's static page, login).
        self.public: set[str] = set()

    def route(self, method: str, pattern: str) -> Callable[[RouteFn], RouteFn]:
        """Add an endpoint: ``@ROUTES.route("POST", r"/scan")`` → ``fn(daemon, req, **groups)``."""

        def deco(fn: RouteFn) -> RouteFn:
            self.add(method, pattern, fn)
            return fn

        return deco

    def add(self, method: str, pattern: str, fn: RouteFn) -> None:
        self.routes.append(Route(method, re.compile(pattern + r"\Z"), fn))

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes)


@dataclass(frozen=True)
class Router:
    """The endpoints of one daemon's API, in order (the first match answers)."""

    routes: tuple[Route, ...]
    public: frozenset[str] = frozenset()
    session_ok: SessionCheck = field(default=no_session)

    @classmethod
    def of(cls, tables: Iterable[RouteTable], session_ok: SessionCheck = no_session) -> "Router":
        tables = list(tables)
        return cls(tuple(r for t in tables for r in t), frozenset().union(*(t.public for t in tables)),
                   session_ok)

    def match(self, method: str, path: str) -> tuple[RouteFn, dict[str, str]]:
        """The handler of ``method path`` and its path groups; 405 (with ``allow``) or 404."""
        allowed = []
        for r in self.routes:
            found = r.pattern.match(path)
            if found:
                if r.method == method:
                    return r.handler, found.groupdict()
                allowed.append(r.method)
        if allowed:
            methods = ", ".join(sorted(set(allowed)))
            raise HttpError(405, f"{method} not allowed on {path} (use {methods})", allow=methods)
        raise HttpError(404, f"no endpoint {path[:200]}")


def job_id_arg(text: str) -> int:
    """A job id from a path: a plain positive integer in SQLite's range, else 404."""
    n = plain_int(text)
    if not n:
        raise NotFound(f"no job {text[:40]}")
    return n
