"""One exception tree for the whole station: every exception class of the package is here.

Every error carries a one-line, human message (``str(err)``) that never contains a token.
CLI exit codes map from the class: usage 2, bad input 3, auth 4, anything else 1.

::

    PrintstationError (1)
    ├── UsageError (2) ── ConfigError, NotFound (API 404), Conflict (API 409)
    ├── BadInput (3) ── UnsupportedConversion, BarcodeVerifyError, RenderTimeout
    ├── TransportError ── CupsQueueError
    ├── MarketplaceError
    │   ├── AuthError (4)
    │   ├── ApiError ── ApiAuthError (also an AuthError), RateLimited, Unavailable,
    │   │               AnswerTooLarge, SupplyNotClosed
    │   └── BadLabel
    ├── StoreUnavailable, StoreLocked, QueueDamaged, StorageFull (API 507)
    ├── ConversionAborted, ScanFailed, ApiRefused (4)
    └── HttpError (an HTTP status + message) ── ProtocolError (broken HTTP framing)

The modules that raise these import them from here (``queue.base``, ``markets``, ``httpd`` … keep
the names importable where callers used them). Private control-flow exceptions derive from the tree
too, except ``lang.zpl_layout._OverBudget``: a plain ``Exception`` caught inside one function
(never seen outside the ZPL layout walk).
"""

from __future__ import annotations


class PrintstationError(Exception):
    """Base of every error raised on purpose by printstation."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # Keep the message on one line: journald and the CLI show it as is.
        super().__init__(" ".join(str(message).split()))


# -- usage ------------------------------------------------------------------------------------------

class UsageError(PrintstationError):
    """A bad option or argument given by the user."""

    exit_code = 2


class ConfigError(UsageError):
    """A bad configuration file; the message names the key path."""


class NotFound(UsageError):
    """No such job (API: 404)."""


class Conflict(UsageError):
    """The job is not in a state that allows this (API: 409)."""


# -- conversion -------------------------------------------------------------------------------------

class BadInput(PrintstationError):
    """Label bytes we cannot sniff, decode or render (corrupt, unknown, too large)."""

    exit_code = 3


class UnsupportedConversion(BadInput):
    """Input that is valid but cannot go to the asked printer language (e.g. ZPL to TSPL)."""


class BarcodeVerifyError(BadInput):
    """The final raster would not scan: a barcode decodes differently or not at all."""


class RenderTimeout(BadInput):
    """A renderer ran past its time limit (a pathological SVG/PDF)."""


class ConversionAborted(PrintstationError):
    """A conversion cut short because the daemon stops: the job stays queued, the file stays."""


# -- transport --------------------------------------------------------------------------------------

class TransportError(PrintstationError):
    """Bytes could not be moved to or from a printer."""

    #: True when retrying later may succeed (refused, reset, timeout, unplugged).
    transient = True

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient


class CupsQueueError(TransportError):
    """``lp`` failed; nothing was spooled. ``printer_state`` is what the queue state says now."""

    def __init__(self, message: str, *, printer_state: str = "offline",
                 maybe_delivered: bool = False) -> None:
        super().__init__(message, transient=True)
        self.printer_state = printer_state
        self.maybe_delivered = maybe_delivered


# -- marketplaces -----------------------------------------------------------------------------------

class MarketplaceError(PrintstationError):
    """A marketplace API answered with an error or could not be reached."""


class AuthError(MarketplaceError):
    """The marketplace refused the token (401/403) or no token is configured."""

    exit_code = 4


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


class AnswerTooLarge(ApiError):
    """An answer body went past the byte limit of its call: the read stopped there, not retried."""


class SupplyNotClosed(ApiError):
    """409 SupplyNotClosed: a supply's QR exists only once the supply was handed to delivery."""


class BadLabel(MarketplaceError):
    """A label the marketplace sent is not what was asked (corrupt base64, wrong type, bad PDF)."""


# -- queue and storage ------------------------------------------------------------------------------

class StoreUnavailable(PrintstationError):
    """The shared database cannot be reached right now: API 503, retried with backoff."""


class StoreLocked(PrintstationError):
    """Another daemon holds the data dir."""


class QueueDamaged(PrintstationError):
    """The queue database cannot be trusted (corrupt, or missing while job files remain)."""


class StorageFull(PrintstationError):
    """The queue quota is used up or the data dir is full (API: 507)."""


# -- triggers and faces -----------------------------------------------------------------------------

class ScanFailed(PrintstationError):
    """An action could not be done; the message goes into the scan log."""


class ApiRefused(PrintstationError):
    """The daemon refused the API token."""

    exit_code = 4


class HttpError(PrintstationError):
    """An HTTP error answer: ``status`` and a one-line message (raised by API handlers)."""

    def __init__(self, status: int, message: str, *, allow: str | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        #: The ``Allow`` header of a 405.
        self.allow = allow
        #: The ``Retry-After`` header (seconds) of a 429.
        self.retry_after = retry_after


class ProtocolError(HttpError):
    """A request that breaks HTTP framing: answered with ``status`` and the connection closed."""


__all__ = [
    "AnswerTooLarge", "ApiAuthError", "ApiError", "ApiRefused", "AuthError", "BadInput", "BadLabel",
    "BarcodeVerifyError", "ConfigError", "Conflict", "ConversionAborted", "CupsQueueError",
    "HttpError", "MarketplaceError", "NotFound", "PrintstationError", "ProtocolError", "QueueDamaged",
    "RateLimited", "RenderTimeout", "ScanFailed", "StorageFull", "StoreLocked", "StoreUnavailable",
    "SupplyNotClosed", "TransportError", "Unavailable", "UnsupportedConversion", "UsageError",
]
