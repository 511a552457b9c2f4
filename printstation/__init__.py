"""printstation: marketplace label printing station.

The pure conversion API::

    from printstation import convert, PrinterSpec, Media
    labels = convert(data, PrinterSpec(lang="tspl", media=Media(58, 40), dpi=203))
"""

from .pipeline import Label, convert, convert_labels, iter_labels
from .errors import (
    AuthError,
    BadInput,
    BarcodeVerifyError,
    ConfigError,
    MarketplaceError,
    PrintstationError,
    TransportError,
    UnsupportedConversion,
    UsageError,
)
from .spec import Media, PrinterSpec

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "BadInput",
    "BarcodeVerifyError",
    "ConfigError",
    "Label",
    "MarketplaceError",
    "Media",
    "PrinterSpec",
    "PrintstationError",
    "TransportError",
    "UnsupportedConversion",
    "UsageError",
    "__version__",
    "convert",
    "convert_labels",
    "iter_labels",
]
