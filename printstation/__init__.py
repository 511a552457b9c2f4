"""printstation: marketplace label printing station.

The public API is what ``__all__`` lists (pinned by ``tests/test_public_api.py``): the pure
conversion and the one exception tree. Everything else is internal to the station::

    from printstation import convert, PrinterSpec, Media
    labels = convert(data, PrinterSpec(lang="tspl", media=Media(58, 40), dpi=203))

``printstation.convert`` is the function; the conversion module is :mod:`printstation.pipeline`.
"""

from .errors import (
    AnswerTooLarge,
    ApiAuthError,
    ApiError,
    ApiRefused,
    AuthError,
    BadInput,
    BadLabel,
    BarcodeVerifyError,
    ConfigError,
    Conflict,
    ConversionAborted,
    CupsQueueError,
    HttpError,
    MarketplaceError,
    NotFound,
    PrintstationError,
    ProtocolError,
    QueueDamaged,
    RateLimited,
    RenderTimeout,
    ScanFailed,
    StorageFull,
    StoreLocked,
    StoreUnavailable,
    SupplyNotClosed,
    TransportError,
    Unavailable,
    UnsupportedConversion,
    UsageError,
)
from .pipeline import Label, convert, convert_labels, iter_labels
from .spec import Media, PrinterSpec

__version__ = "0.1.0"

__all__ = [
    # conversion
    "Label",
    "Media",
    "PrinterSpec",
    "__version__",
    "convert",
    "convert_labels",
    "iter_labels",
    # the exception tree (printstation.errors)
    "AnswerTooLarge",
    "ApiAuthError",
    "ApiError",
    "ApiRefused",
    "AuthError",
    "BadInput",
    "BadLabel",
    "BarcodeVerifyError",
    "ConfigError",
    "Conflict",
    "ConversionAborted",
    "CupsQueueError",
    "HttpError",
    "MarketplaceError",
    "NotFound",
    "PrintstationError",
    "ProtocolError",
    "QueueDamaged",
    "RateLimited",
    "RenderTimeout",
    "ScanFailed",
    "StorageFull",
    "StoreLocked",
    "StoreUnavailable",
    "SupplyNotClosed",
    "TransportError",
    "Unavailable",
    "UnsupportedConversion",
    "UsageError",
]
