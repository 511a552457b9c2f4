"""Asking a printer what it is: the vocabulary shared by the languages and discovery.

Each printer language that can be asked has ``IDENTIFY`` (an :class:`IdentifyProtocol`) in its
own module (:mod:`printstation.lang.zpl`, …), found through :mod:`printstation.lang.registry`
like its ``STATUS``: the polite queries and their parsers (pure, talking through a
:class:`Channel`), the IEEE-1284 command-set names a USB printer of that language reports, and
how its model names tell the resolution. :mod:`printstation.discover` runs them — over TCP,
serial or USB — in the registry's order and knows no language by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol


@dataclass
class Identity:
    """What a port, device or USB printer told us about itself."""

    uri: str
    lang: str | None = None
    model: str | None = None
    firmware: str | None = None
    dpi: int | None = None
    #: ``WxH`` in mm when the printer reports both, else None.
    media: str | None = None
    #: Print width in mm when only that is known.
    width_mm: float | None = None
    manufacturer: str | None = None
    serial: str | None = None
    #: How we know (``ZPL ~HI``, ``USB IEEE-1284 ID``).
    via: str = ""
    #: Why there is no language: "no printer answered", "cannot connect: …", "speaks EZPL …".
    problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.lang is not None

    def to_json(self) -> dict[str, Any]:
        return {"uri": self.uri, "lang": self.lang, "model": self.model, "firmware": self.firmware,
                "dpi": self.dpi, "media": self.media}


class Channel(Protocol):
    """An open connection to a printer, as a probe sees it."""

    def ask(self, query: bytes, timeout: float, complete: Callable[[bytes], bool] | None = None) -> bytes:
        """Send ``query``; the answer, read until ``complete(answer)`` or the printer goes quiet
        (``b""`` when nothing came within ``timeout`` seconds)."""
        ...

    def send(self, data: bytes) -> None:
        """Send bytes that get no answer."""
        ...


@dataclass(frozen=True)
class IdentifyProtocol:
    """How a printer language is recognised (its module's ``IDENTIFY``)."""

    #: Polite queries (nothing printed, no setting changed): fills ``ident`` (``lang`` included)
    #: and returns True when the printer answered as this language.
    probe: Callable[[Channel, float, Identity], bool]
    #: A token of an IEEE-1284 ``CMD``/``COMMAND SET`` list naming this language (USB printers).
    usb_command: re.Pattern[str] | None = None
    #: The resolution a model name tells (``TE200`` → 203), beyond a ``…203dpi`` in it.
    dpi_from_model: Callable[[str], int | None] | None = None
    #: A printer's name in a ``[[printers]]`` block when its model gives none (the probe wrote
    #: only ``<language> printer (…)`` as the model).
    default_name: str = "printer"


#: What printers write in model names (``-200dpi``) → the real resolution.
DPI_ALIASES = {150: 152, 152: 152, 200: 203, 203: 203, 300: 300, 600: 600}
_DPI_IN_NAME = re.compile(r"(\d{3})\s*dpi", re.I)


def dpi_from_name(name: str | None) -> int | None:
    """``ZD421-203dpi`` / ``RP425(ZPL 203DPI)`` → 203 (Zebra's ``-200dpi`` → 203)."""
    m = _DPI_IN_NAME.search(name or "")
    return DPI_ALIASES.get(int(m.group(1))) if m else None


def text(b: bytes) -> str:
    """An answer as text (Latin-1, NULs dropped)."""
    return b.decode("latin-1").replace("\x00", "")


def clean(s: str, limit: int = 80) -> str:
    """Printable single-line text (printer answers can hold anything)."""
    return re.sub(r"[^\x20-\x7e]+", " ", s).strip()[:limit]


def etx(b: bytes) -> bool:
    return b"\x03" in b


def eol(b: bytes) -> bool:
    return b"\r" in b or b"\n" in b


def mm(dots: int, dpi: int) -> float:
    """Dots → mm rounded to 0.5 mm."""
    return round(dots * 25.4 / dpi * 2) / 2


__all__ = ["Channel", "DPI_ALIASES", "IdentifyProtocol", "Identity", "clean", "dpi_from_name", "eol", "etx",
           "mm", "text"]
