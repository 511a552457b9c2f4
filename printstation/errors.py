"""One exception tree for the whole station.

Every error carries a one-line, human message (``str(err)``) that never contains a token.
CLI exit codes map from the class: usage 2, bad input 3, auth 4, anything else 1.
"""

from __future__ import annotations


class PrintstationError(Exception):
    """Base of every error raised on purpose by printstation."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # Keep the message on one line: journald and the CLI show it as is.
        super().__init__(" ".join(str(message).split()))


class UsageError(PrintstationError):
    """A bad option or argument given by the user."""

    exit_code = 2


class ConfigError(UsageError):
    """A bad configuration file; the message names the key path."""


class BadInput(PrintstationError):
    """Label bytes we cannot sniff, decode or render (corrupt, unknown, too large)."""

    exit_code = 3


class UnsupportedConversion(BadInput):
    """Input that is valid but cannot go to the asked printer language (e.g. ZPL to TSPL)."""


class BarcodeVerifyError(BadInput):
    """The final raster would not scan: a barcode decodes differently or not at all."""


class RenderTimeout(BadInput):
    """A renderer ran past its time limit (a pathological SVG/PDF)."""


class TransportError(PrintstationError):
    """Bytes could not be moved to or from a printer."""

    #: True when retrying later may succeed (refused, reset, timeout, unplugged).
    transient = True

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient


class MarketplaceError(PrintstationError):
    """A marketplace API answered with an error or could not be reached."""


class AuthError(MarketplaceError):
    """The marketplace refused the token (401/403) or no token is configured."""

    exit_code = 4


class StoreUnavailable(PrintstationError):
    """The shared database cannot be reached right now: API 503, retried with backoff."""
