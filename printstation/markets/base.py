"""Shared machinery of the marketplace clients: secrets, a token bucket, retries, error mapping.

One :class:`ApiClient` per marketplace account wraps an ``httpx.Client`` and sends every call
through the same path:

1. the client-side :class:`TokenBucket` for the token (shared by every client of that token in
   the process) hands out a slot — the call never goes out before the bucket allows it;
2. the answer decides: 2xx → returned; 429 → the bucket is blocked for ``X-Ratelimit-Retry``
   (else ``X-Ratelimit-Reset``) seconds and the call is retried after that, never sooner; 5xx,
   timeouts and connection errors → retried with exponential backoff and jitter (bounded), a 5xx
   after its ``Retry-After`` instead when it has one (at most ``max_wait_429``);
   any other 4xx → one typed :class:`ApiError` (status, code, message), not retried, and the bucket
   is charged what the server charges for it (WB: 10 requests);
3. ``X-Ratelimit-Remaining`` on a non-429 answer lowers the local bucket when the server knows
   better (another process spending the same token);
4. every answer is streamed and read with a byte limit (:data:`MAX_ANSWER_BYTES`, or the call's
   ``max_bytes``): a larger one is :class:`AnswerTooLarge`, the rest never read; and within one
   deadline per try (the ``timeout``, from the send to the body's last byte): a server trickling
   its answer fails the try as a timeout (then retried like one).

The bucket lives in :mod:`.ratelimit`, the HTTP plumbing (bounded reads, error shapes) in
:mod:`.http`, the waits between retries in :mod:`printstation.retry`, the errors in
:mod:`printstation.errors` (re-exported here).

Tokens live in :class:`Secret` and are never logged, put in an error message or a repr.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, TypeVar

import httpx

from .. import metrics
from ..errors import (AnswerTooLarge, ApiAuthError, ApiError, AuthError, BadLabel, PrintstationError, RateLimited,
                      Unavailable)
from ..logs import register_secret
from ..retry import Backoff, call_with_retries
from .http import (_Retryable, call_deadline, error_from_response, header_seconds, read_capped, send_capped,
                   ssl_context)
from .ids import HEADER_SAFE, INT64_MAX, client_id, positive_ids  # noqa: F401 - re-exported
from .ratelimit import Clock, Sleep, TokenBucket, shared_bucket

log = logging.getLogger("printstation.markets")
# httpx logs every request at INFO; ours (DEBUG, with timing) is enough.
if logging.getLogger("httpx").level == logging.NOTSET:
    logging.getLogger("httpx").setLevel(logging.WARNING)

CALLS = metrics.counter("printstation_market_calls_total", "Marketplace API calls by answer status",
                        ("market", "status"))
RATE_LIMITED = metrics.counter("printstation_market_429_total", "Marketplace 429 answers", ("market",))

#: The client paces itself this much below the configured rate, so network jitter between two
#: calls sent exactly one interval apart does not make the server see them too close (a 429
#: then costs a whole ``X-Ratelimit-Retry``).
PACING_MARGIN = 0.97
#: The largest answer a call reads (a label PDF in base64 JSON fits); a larger one is refused
#: without reading the rest (:class:`AnswerTooLarge`). Label calls pass their own, smaller limit.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
#: A 429's wait past this is a Unix time (some gateways send ``X-Ratelimit-Reset`` so) …
UNIX_TIME_FLOOR = 1e9
#: … and no wait blocks a token's bucket longer than this (an absurd header is not a lifetime ban).
MAX_BLOCK_S = 3600.0
#: Transport failures a later try may get past.
NET_ERRORS: tuple[type[Exception], ...] = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_RETRYABLE: tuple[type[Exception], ...] = (*NET_ERRORS, _Retryable)

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------

class Secret:
    """A token that does not show itself: ``repr``/``str`` give ``***``; ``reveal()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = (value or "").strip().lstrip("\ufeff").strip()  # a file saved with a BOM (Notepad)
        if value.lower().startswith("bearer "):
            value = value[7:].strip()  # a token given as "Bearer xxx" is the same token
        self._value = value
        register_secret(value)  # masked in every log line and CLI error from now on

    def reveal(self) -> str:
        return self._value

    def fingerprint(self) -> str:
        """A short one-way id (keys the shared bucket in memory; never written anywhere)."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:16]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self):  # never pickled into job records or caches
        raise TypeError("a Secret cannot be pickled")

    def __copy__(self) -> "Secret":  # immutable: copies (e.g. deepcopy of a config) share it
        return self

    def __deepcopy__(self, memo: dict) -> "Secret":
        return self


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: ``retries`` more tries after 5xx/timeouts/connection errors, waiting
    ``base * 2**n`` seconds (capped at ``cap``) with jitter; up to ``max_429`` waits on 429."""

    retries: int = 4
    base: float = 0.5
    cap: float = 8.0
    max_429: int = 6
    max_wait_429: float = 120.0

    def backoff_for(self, rng: random.Random) -> Backoff:
        """The waits of one call's retries ("equal jitter": never 0, never more than the cap)."""
        return Backoff(self.base, self.cap, jitter=True, rng=rng)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return self.backoff_for(rng).delay(attempt)


@dataclass
class _Call:
    """One API call as asked, across its tries."""

    method: str
    path: str
    params: Mapping[str, Any] | None
    json_body: Any
    headers: Mapping[str, str]
    limit: int
    waits_429: int = field(default=0)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


class ApiClient:
    """Base of :class:`~printstation.markets.wb.WBClient` and the LAliExpress client."""

    market = "api"
    #: How many requests the server charges for a 4xx answer (WB: 10).
    cost_4xx = 1

    def __init__(self, base_url: str, token: Secret | str, *, auth_header: str, auth_prefix: str = "",
                 rate_per_min: float = 300, burst: int = 20, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                 rng: random.Random | None = None, bucket: TokenBucket | None = None,
                 user_agent: str = "printstation", max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        self._token = token if isinstance(token, Secret) else Secret(token)
        if not self._token:
            raise AuthError(f"no {self.market} token configured")
        if not HEADER_SAFE.fullmatch(self._token.reveal()):  # httpx would fail at the first call,
            # with the token in the message (a two-line file) or a bare UnicodeEncodeError
            raise AuthError(f"the {self.market} token holds a character an HTTP header cannot carry "
                            "(a space, a line break, a control or non-ASCII character): check the token file")
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.clock, self.sleep = clock, sleep
        self.rng = rng or random.Random()
        self.max_answer_bytes = max_answer_bytes
        self.bucket = bucket or shared_bucket(self.market, self._token, rate_per_min * PACING_MARGIN,
                                              burst, clock=clock, sleep=sleep)
        self._auth = {auth_header: auth_prefix + self._token.reveal()}
        ssl = ssl_context()
        self._http = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(timeout), verify=ssl,
                                  transport=transport, headers={"User-Agent": user_agent},
                                  follow_redirects=False)
        # Downloads of label files (a storage host): no token, redirects allowed.
        self._download = httpx.Client(timeout=httpx.Timeout(timeout), transport=transport, verify=ssl,
                                      headers={"User-Agent": user_agent}, follow_redirects=True)

    # -- plumbing -------------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self._download.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, token=***)"

    def redact(self, text: str) -> str:
        tok = self._token.reveal()
        return text.replace(tok, "***") if tok and text else text

    def _retries(self, fn: Callable[[], T], give_up: Callable[[BaseException, int], BaseException],
                 on_retry: Callable[[BaseException, int, float], None] | None = None) -> T:
        """``fn()`` retried on 5xx/timeouts/dropped connections per :attr:`retry`."""
        return call_with_retries(fn, retryable=_RETRYABLE, retries=self.retry.retries,
                                 backoff=self.retry.backoff_for(self.rng), sleep=self.sleep,
                                 give_up=give_up, on_retry=on_retry, wait_for=self._asked_wait)

    def _asked_wait(self, exc: BaseException) -> float | None:
        """The wait a 5xx asked for (``Retry-After``), within the bounds a 429's wait has
        (:attr:`RetryPolicy.max_wait_429`, :data:`MAX_BLOCK_S`); None: back off as usual."""
        wait = exc.wait if isinstance(exc, _Retryable) else None
        if wait is None:
            return None
        return min(_server_wait(wait), self.retry.max_wait_429)

    # -- the one request path -------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, headers: Mapping[str, str] | None = None,
                max_bytes: int | None = None) -> httpx.Response:
        """Send one call through the bucket with retries; 2xx answer or a raised ApiError.

        ``headers`` replaces the client's auth headers for this one call (a bearer token).
        ``max_bytes`` (default :attr:`max_answer_bytes`) bounds the answer: a larger one is
        :class:`AnswerTooLarge`, its rest never read."""
        call = _Call(method, path, params, json_body, self._auth if headers is None else headers,
                     self.max_answer_bytes if max_bytes is None else max_bytes)

        def on_retry(exc: BaseException, n: int, delay: float) -> None:
            log.warning("%s %s %s: %s; retry %d/%d in %.2fs", self.market, method, path, exc, n,
                        self.retry.retries, delay)

        return self._retries(lambda: self._try(call), _Retryable.final, on_retry)

    def _try(self, call: _Call) -> httpx.Response:
        """One try, 429s waited out (bounded): the answer, an ApiError, or :class:`_Retryable`."""
        while True:
            resp = self._send(call)
            if resp.status_code != 429:
                return self._judge(call, resp)
            self._wait_429(call, resp)

    def _send(self, call: _Call) -> httpx.Response:
        """Wait for the bucket, send, read the answer (bounded)."""
        self.bucket.acquire()
        t0 = self.clock()
        try:
            req = self._http.build_request(call.method, call.path, params=call.params, json=call.json_body,
                                           headers=call.headers)
            resp = send_capped(self._http, req, call.limit, lambda r: AnswerTooLarge(
                self.market, r.status_code, "AnswerTooLarge",
                f"{call.name}: answer larger than {call.limit} bytes: refused"), call_deadline(self._http.timeout))
        except NET_ERRORS as exc:
            CALLS.inc(market=self.market, status="error")
            reason = self.redact(type(exc).__name__ + (f": {exc}" if str(exc) else ""))
            metrics.note("market_error", self.market, f"{call.name}: {reason}")
            raise _Retryable(reason, lambda tries: Unavailable(
                self.market, 0, "unreachable", f"{call.name} failed after {tries} tries: {reason}")) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # bad URL, unsupported scheme, …
            raise ApiError(self.market, 0, "RequestFailed",
                           self.redact(f"{call.name}: {type(exc).__name__}: {exc}")) from None
        status = resp.status_code
        CALLS.inc(market=self.market, status=str(status))
        if status >= 400:
            metrics.note("market_error", self.market, f"HTTP {status} {call.name}")
        log.debug("%s %s %s → %d (%.0f ms)", self.market, call.method, call.path, status,
                  (self.clock() - t0) * 1000)
        return resp

    def _wait_429(self, call: _Call, resp: httpx.Response) -> None:
        """Block the bucket for the server's wait (never sooner); RateLimited when it lasts."""
        RATE_LIMITED.inc(market=self.market)
        wait = header_seconds(resp, "X-Ratelimit-Retry")
        if wait is None:
            wait = header_seconds(resp, "X-Ratelimit-Reset")
        if wait is None:
            wait = header_seconds(resp, "Retry-After")  # Ozon, Lamoda: plain HTTP
        if wait is None:
            wait = 1.0 / self.bucket.rate
        wait = _server_wait(wait)
        self.bucket.block(wait)  # the full wait, whatever we do next: never sooner
        if call.waits_429 >= self.retry.max_429 or wait > self.retry.max_wait_429:
            raise RateLimited(self.market, 429, "too many requests",
                              f"{call.name}: still rate limited after {call.waits_429 + 1} answers; "
                              f"retry in {wait:g} s")
        call.waits_429 += 1
        log.warning("%s %s %s: 429 rate limited; waiting %.2fs", self.market, call.method, call.path, wait)

    def _judge(self, call: _Call, resp: httpx.Response) -> httpx.Response:
        remaining = resp.headers.get("X-Ratelimit-Remaining")
        if remaining is not None:
            try:
                self.bucket.sync(float(remaining))
            except ValueError:
                pass
        status = resp.status_code
        if status >= 500:
            raise _Retryable(f"HTTP {status}", lambda tries: error_from_response(
                self.market, resp, self.redact).as_unavailable(tries), header_seconds(resp, "Retry-After"))
        if status >= 400:
            if self.cost_4xx > 1 and remaining is None:
                self.bucket.charge(self.cost_4xx - 1)
            raise self.map_error(resp)
        return resp

    def map_error(self, resp: httpx.Response) -> ApiError:
        """Turn a 4xx answer into an error; subclasses refine it (e.g. SupplyNotClosed)."""
        return error_from_response(self.market, resp, self.redact)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.request(method, path, **kw)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise ApiError(self.market, resp.status_code, "BadResponse",
                           f"{method} {path}: answer is not JSON") from None

    def download(self, url: str, *, max_bytes: int) -> bytes:
        """GET a file (no token sent), streamed, refusing more than ``max_bytes``; retried like calls."""
        def give_up(exc: BaseException, tries: int) -> PrintstationError:
            return Unavailable(self.market, 0, "DownloadFailed",
                               f"label file download failed after {tries} tries: "
                               f"{self.redact(type(exc).__name__)} {self.redact(str(exc))}")

        return self._retries(lambda: self._download_once(url, max_bytes), give_up)

    def _download_once(self, url: str, max_bytes: int) -> bytes:
        deadline = call_deadline(self._download.timeout)
        try:
            with self._download.stream("GET", url) as resp:
                if resp.status_code >= 500:
                    raise _Retryable(f"HTTP {resp.status_code}", wait=header_seconds(resp, "Retry-After"))
                if resp.status_code >= 400:
                    raise ApiError(self.market, resp.status_code, "DownloadFailed",
                                   f"label file download answered {resp.status_code}")
                declared = resp.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise BadLabel(f"{self.market} label file is {int(declared)} bytes; "
                                   f"the limit is {max_bytes}")
                data = read_capped(resp, max_bytes, deadline)
                if data is None:
                    raise BadLabel(f"{self.market} label file is larger than {max_bytes} bytes: refused")
                return data
        except _RETRYABLE:
            raise
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ApiError(self.market, 0, "DownloadFailed",
                           self.redact(f"label file download: {type(exc).__name__}: {exc}")) from None


def chunks(seq: list, n: int) -> Iterator[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


class Outcome:
    """Mixin for a per-item result dataclass with ``data`` and ``error`` (None when it was had)."""

    __slots__ = ()

    @property
    def ok(self) -> bool:
        return self.error is None  # type: ignore[attr-defined]

    def _state(self) -> str:
        """``N bytes`` or ``error='…'``, for a repr that never shows the bytes."""
        return f"{len(self.data)} bytes" if self.ok else f"error={self.error!r}"  # type: ignore[attr-defined]


__all__ = [
    "AnswerTooLarge", "ApiAuthError", "ApiClient", "ApiError", "BadLabel", "RateLimited", "RetryPolicy",
    "Secret", "TokenBucket", "Unavailable", "chunks", "error_from_response", "shared_bucket", "CALLS",
    "RATE_LIMITED", "Outcome", "positive_ids", "MAX_ANSWER_BYTES",
]


def _server_wait(wait: float) -> float:
    """Seconds a server asked us to wait (a 429's or a 5xx's header), at most :data:`MAX_BLOCK_S`:
    a value past :data:`UNIX_TIME_FLOOR` is a Unix time (a gateway's X-Ratelimit-Reset), not seconds."""
    if wait > UNIX_TIME_FLOOR:
        wait = max(0.0, wait - time.time())
    return min(wait, MAX_BLOCK_S)
