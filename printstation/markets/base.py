"""Shared machinery of the marketplace clients: secrets, a token bucket, retries, error mapping.

One :class:`ApiClient` per marketplace account wraps an ``httpx.Client`` and sends every call
through the same path:

1. the client-side :class:`TokenBucket` for the token (shared by every client of that token in
   the process) hands out a slot — the call never goes out before the bucket allows it;
2. the answer decides: 2xx → returned; 429 → the bucket is blocked for ``X-Ratelimit-Retry``
   (else ``X-Ratelimit-Reset``) seconds and the call is retried after that, never sooner; 5xx,
   timeouts and connection errors → retried with exponential backoff and jitter (bounded);
   any other 4xx → one typed :class:`ApiError` (status, code, message), not retried, and the bucket
   is charged what the server charges for it (WB: 10 requests);
3. ``X-Ratelimit-Remaining`` on a non-429 answer lowers the local bucket when the server knows
   better (another process spending the same token).

Tokens live in :class:`Secret` and are never logged, put in an error message or a repr.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

import httpx

from .. import metrics
from ..errors import AuthError, MarketplaceError, UsageError
from ..logs import register_secret

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

Clock = Callable[[], float]
Sleep = Callable[[float], None]


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------

class Secret:
    """A token that does not show itself: ``repr``/``str`` give ``***``; ``reveal()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = (value or "").strip()
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
# Errors
# --------------------------------------------------------------------------------------------

class ApiError(MarketplaceError):
    """A marketplace answered with an error (or could not be reached: status 0)."""

    transient = False

    def __init__(self, market: str, status: int, code: str, message: str,
                 request_id: str | None = None) -> None:
        self.market, self.status, self.code = market, int(status), code or ""
        self.message = " ".join(str(message or "").split())
        self.request_id = request_id
        head = f"{market} API" + (f" {status}" if status else "")
        text = f"{head} {self.code}: {self.message}" if self.code else f"{head}: {self.message}"
        super().__init__(text)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(market={self.market!r}, status={self.status}, "
                f"code={self.code!r}, message={self.message!r})")

    def as_unavailable(self, tries: int) -> "Unavailable":
        """This server error, after the retries ran out."""
        return Unavailable(self.market, self.status, self.code or "ServerError",
                           f"{self.message} (after {tries} tries)", self.request_id)


class ApiAuthError(ApiError, AuthError):
    """401/403: the token was refused (CLI exit 4)."""


class RateLimited(ApiError):
    """429 answers kept coming after the bounded number of waits."""

    transient = True


class Unavailable(ApiError):
    """5xx, timeouts or dropped connections outlasted the bounded retries."""

    transient = True


class BadLabel(MarketplaceError):
    """A label the marketplace sent is not what was asked (corrupt base64, wrong type, bad PDF)."""


def error_from_response(market: str, resp: httpx.Response, redact: Callable[[str], str]) -> ApiError:
    """Map any of WB's three error shapes (and LAliExpress's envelope) to one :class:`ApiError`.

    ``{code, message, data}`` (business), ``{title, detail, code, requestId, …}`` (gateway),
    plain text (old 401s), ``{data, error: {code, message}}`` (LAliExpress).
    """
    status = resp.status_code
    code, message, request_id = "", "", None
    text = resp.text if resp.content else ""
    body: Any = None
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # LAliExpress envelope
            code = str(err.get("code") or "")
            message = str(err.get("message") or "")
        elif isinstance(err, str) and err:  # OAuth2 (Lamoda's token): {error, error_description}
            code = err
            message = str(body.get("error_description") or body.get("message") or "")
        elif "title" in body or "detail" in body:  # WB gateway shape
            code = str(body.get("title") or "")
            message = str(body.get("detail") or "")
            rid = body.get("requestId")
            request_id = str(rid) if rid else None
        else:  # WB business shape
            code = str(body.get("code") or "")
            message = str(body.get("message") or "")
            if body.get("data"):
                message = f"{message} ({json.dumps(body['data'], ensure_ascii=False)[:200]})"
    elif text.strip():
        message = text.strip()[:300]
    if not message:
        message = resp.reason_phrase or f"HTTP {status}"
    message, code = redact(message), redact(code)
    cls: type[ApiError] = ApiAuthError if status in (401, 403) else ApiError
    return cls(market, status, code, message, request_id)


# --------------------------------------------------------------------------------------------
# Token bucket
# --------------------------------------------------------------------------------------------

_EPS = 1e-9


class TokenBucket:
    """A thread-safe token bucket: ``burst`` calls at once, then ``rate_per_min`` a minute.

    ``acquire()`` blocks (with the injectable ``sleep``) until a call may go out. ``block(s)``
    forbids any call for ``s`` seconds (a 429's ``X-Ratelimit-Retry``), ``charge(n)`` takes extra
    tokens (WB charges a 4xx as 10 calls) and ``sync(remaining)`` lowers the level to what the
    server reported.
    """

    def __init__(self, rate_per_min: float, burst: int, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        if rate_per_min <= 0 or burst < 1:
            raise ValueError("rate_per_min must be > 0 and burst ≥ 1")
        self.rate = rate_per_min / 60.0  # tokens per second
        self.burst = int(burst)
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()
        self._blocked_until = 0.0

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now

    def delay(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there (0 = now); takes nothing."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            return self._delay(now, cost)

    def _delay(self, now: float, cost: float) -> float:
        if self._blocked_until > now:
            return self._blocked_until - now
        if self._tokens + _EPS >= cost:  # float rounding must not leave a 1e-17 s wait forever
            return 0.0
        return (cost - self._tokens) / self.rate

    def acquire(self, cost: float = 1.0) -> float:
        """Wait for and take ``cost`` tokens. Returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                self._refill(now)
                wait = self._delay(now, cost)
                if wait <= 0:
                    self._tokens -= cost
                    return waited
            self.sleep(wait)
            waited += wait

    def charge(self, cost: float) -> None:
        with self._lock:
            self._refill(self.clock())
            self._tokens -= cost

    def sync(self, remaining: float) -> None:
        with self._lock:
            self._refill(self.clock())
            self._tokens = min(self._tokens, float(remaining))

    def block(self, seconds: float) -> None:
        """No call for ``seconds`` from now; the bucket restarts empty."""
        with self._lock:
            now = self.clock()
            self._refill(now)
            self._blocked_until = max(self._blocked_until, now + max(0.0, seconds))
            self._tokens = min(self._tokens, 0.0)

    @property
    def blocked_until(self) -> float:
        return self._blocked_until

    def __repr__(self) -> str:
        return f"TokenBucket(rate_per_min={self.rate * 60:g}, burst={self.burst})"


_BUCKETS: dict[tuple[str, str, str], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def shared_bucket(market: str, token: Secret, rate_per_min: float, burst: int, *,
                  clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> TokenBucket:
    """The process-wide bucket of one token (WB limits a seller account, not a connection)."""
    key = (market, token.fingerprint(), f"{rate_per_min}/{burst}")
    with _BUCKETS_LOCK:
        b = _BUCKETS.get(key)
        if b is None or b.clock is not clock:
            b = _BUCKETS[key] = TokenBucket(rate_per_min, burst, clock=clock, sleep=sleep)
        return b


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

    def backoff(self, attempt: int, rng: random.Random) -> float:
        d = min(self.cap, self.base * (2 ** attempt))
        return d / 2 + rng.random() * d / 2  # "equal jitter": never 0, never more than d


def _header_seconds(resp: httpx.Response, name: str) -> float | None:
    v = resp.headers.get(name)
    if v is None:
        return None
    try:
        s = float(v)
    except ValueError:
        when = email.utils.parsedate_to_datetime(v) if v else None  # an HTTP date (rare)
        if when is None:
            return None
        s = when.timestamp() - time.time()
    if math.isnan(s) or s < 0:
        return None
    return s


_SSL_LOCK = threading.Lock()
_SSL_CTX: Any = None


def _ssl_context() -> Any:
    """One verified TLS context for every client (building one costs ~60 ms)."""
    global _SSL_CTX
    with _SSL_LOCK:
        if _SSL_CTX is None:
            _SSL_CTX = httpx.create_ssl_context()
        return _SSL_CTX


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
                 user_agent: str = "printstation") -> None:
        self._token = token if isinstance(token, Secret) else Secret(token)
        if not self._token:
            raise AuthError(f"no {self.market} token configured")
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.clock, self.sleep = clock, sleep
        self.rng = rng or random.Random()
        self.bucket = bucket or shared_bucket(self.market, self._token, rate_per_min * PACING_MARGIN,
                                              burst, clock=clock, sleep=sleep)
        self._auth = {auth_header: auth_prefix + self._token.reveal()}
        ssl = _ssl_context()
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

    # -- the one request path -------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Send one call through the bucket with retries; 2xx answer or a raised ApiError.

        ``headers`` replaces the client's auth headers for this one call (a bearer token)."""
        tries = 0
        waits_429 = 0
        while True:
            self.bucket.acquire()
            t0 = self.clock()
            try:
                resp = self._http.request(method, path, params=params, json=json_body,
                                          headers=self._auth if headers is None else headers)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                CALLS.inc(market=self.market, status="error")
                reason = self.redact(type(exc).__name__ + (f": {exc}" if str(exc) else ""))
                metrics.note("market_error", self.market, f"{method} {path}: {reason}")
                if tries >= self.retry.retries:
                    raise Unavailable(self.market, 0, "unreachable",
                                      f"{method} {path} failed after {tries + 1} tries: {reason}") from None
                delay = self.retry.backoff(tries, self.rng)
                tries += 1
                log.warning("%s %s %s: %s; retry %d/%d in %.2fs", self.market, method, path, reason,
                            tries, self.retry.retries, delay)
                self.sleep(delay)
                continue
            except (httpx.HTTPError, httpx.InvalidURL) as exc:  # bad URL, unsupported scheme, …
                raise ApiError(self.market, 0, "RequestFailed",
                               self.redact(f"{method} {path}: {type(exc).__name__}: {exc}")) from None
            status = resp.status_code
            CALLS.inc(market=self.market, status=str(status))
            if status >= 400:
                metrics.note("market_error", self.market, f"HTTP {status} {method} {path}")
            log.debug("%s %s %s → %d (%.0f ms)", self.market, method, path, status,
                      (self.clock() - t0) * 1000)
            if status == 429:
                RATE_LIMITED.inc(market=self.market)
                wait = _header_seconds(resp, "X-Ratelimit-Retry")
                if wait is None:
                    wait = _header_seconds(resp, "X-Ratelimit-Reset")
                if wait is None:
                    wait = _header_seconds(resp, "Retry-After")  # Ozon, Lamoda: plain HTTP
                if wait is None:
                    wait = 1.0 / self.bucket.rate
                self.bucket.block(wait)  # the full wait, whatever we do next: never sooner
                if waits_429 >= self.retry.max_429 or wait > self.retry.max_wait_429:
                    raise RateLimited(self.market, 429, "too many requests",
                                      f"{method} {path}: still rate limited after {waits_429 + 1} answers; "
                                      f"retry in {wait:g} s")
                waits_429 += 1
                log.warning("%s %s %s: 429 rate limited; waiting %.2fs", self.market, method, path, wait)
                continue
            remaining = resp.headers.get("X-Ratelimit-Remaining")
            if remaining is not None:
                try:
                    self.bucket.sync(float(remaining))
                except ValueError:
                    pass
            if status >= 500:
                if tries >= self.retry.retries:
                    raise error_from_response(self.market, resp, self.redact).as_unavailable(tries + 1)
                delay = self.retry.backoff(tries, self.rng)
                tries += 1
                log.warning("%s %s %s: HTTP %d; retry %d/%d in %.2fs", self.market, method, path,
                            status, tries, self.retry.retries, delay)
                self.sleep(delay)
                continue
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
        tries = 0
        while True:
            try:
                with self._download.stream("GET", url) as resp:
                    if resp.status_code >= 500:
                        raise _Retryable(f"HTTP {resp.status_code}")
                    if resp.status_code >= 400:
                        raise ApiError(self.market, resp.status_code, "DownloadFailed",
                                       f"label file download answered {resp.status_code}")
                    declared = resp.headers.get("Content-Length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise BadLabel(f"{self.market} label file is {int(declared)} bytes; "
                                       f"the limit is {max_bytes}")
                    buf = bytearray()
                    for chunk in resp.iter_bytes():
                        buf += chunk
                        if len(buf) > max_bytes:
                            raise BadLabel(f"{self.market} label file is larger than {max_bytes} bytes: refused")
                    return bytes(buf)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, _Retryable) as exc:
                if tries >= self.retry.retries:
                    raise Unavailable(self.market, 0, "DownloadFailed",
                                      f"label file download failed after {tries + 1} tries: "
                                      f"{self.redact(type(exc).__name__)} {self.redact(str(exc))}") from None
                delay = self.retry.backoff(tries, self.rng)
                tries += 1
                self.sleep(delay)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise ApiError(self.market, 0, "DownloadFailed",
                               self.redact(f"label file download: {type(exc).__name__}: {exc}")) from None


class _Retryable(Exception):
    pass


def chunks(seq: list, n: int) -> Iterator[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def client_id(market: str, value: str | None) -> str:
    """A marketplace client id (Ozon ``Client-Id``, Lamoda ``client_id``); :class:`AuthError` if none."""
    v = str(value or "").strip()
    if not v:
        raise AuthError(f"no {market} client id configured")
    return v


def positive_ids(ids: Iterable[int | str], what: str) -> list[int]:
    """``ids`` as positive ints; a bad one is a :class:`UsageError` naming it as ``what``."""
    out = []
    for i in ids:
        try:
            n = int(str(i).strip())
        except ValueError:
            raise UsageError(f"bad {what} {i!r}: expected a number") from None
        if n <= 0:
            raise UsageError(f"bad {what} {i!r}: expected a positive number")
        out.append(n)
    return out


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
    "ApiAuthError", "ApiClient", "ApiError", "BadLabel", "RateLimited", "RetryPolicy", "Secret",
    "TokenBucket", "Unavailable", "chunks", "error_from_response", "shared_bucket", "CALLS",
    "RATE_LIMITED", "Outcome", "positive_ids",
]
