"""The printer languages: the one place a language is listed.

A language is one module ``printstation.lang.<name>`` plus one line in :data:`LANGUAGES`. The
module holds what the language *does* (all pure):

- ``emit(raster, spec) -> bytes``: one 1-bit label → printer bytes;
- optionally ``passthrough(data, spec) -> list[bytes]`` for native input (ZPL → ZPL);
- optionally ``STATUS``: its :class:`~printstation.status.StatusProtocol` (the query bytes, when
  the answer is complete, the reply parser). A language without one is not polled.
- optionally ``IDENTIFY``: its :class:`~printstation.identify.IdentifyProtocol` (the polite
  queries that recognise such a printer, the IEEE-1284 command-set name of its USB printers).
  ``printers discover`` and ``doctor`` ask the printer languages that have one, in this table's
  order.

The line here says what the rest of the station needs to know without importing the module:
its name, the file extension of its converted jobs (``dir://`` printers, ``-o`` names), the
default media and whether a ``[[printers]]`` section may use it (``png`` is for previews).
Everything else derives from this table: :data:`printstation.spec.LANGS`, the CLI's ``--lang``
choices, the config's ``lang`` choices, the worker's file extension and status polling, and
discovery's probes.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, overload

from ..errors import UsageError

if TYPE_CHECKING:
    from ..identify import IdentifyProtocol
    from ..spec import PrinterSpec
    from ..status import StatusProtocol


@dataclass(frozen=True)
class Language:
    """One printer language (see the module docstring)."""

    name: str
    #: File extension of its converted jobs (``jobs/<id>.<ext>``, ``dir://`` files).
    ext: str
    #: Media when none is given (``WIDTHxHEIGHT`` in mm).
    default_media: str = "58x40"
    #: A ``[[printers]]`` section may use it (False: previews and tests only).
    printer: bool = True
    #: How messages name a target in it, with the article (default "a <NAME> printer").
    title: str = ""
    #: The module that emits it; default ``printstation.lang.<name>``.
    module: str = ""
    #: How messages write its name (default ``NAME`` upper-cased: "ESC/POS", "ZPL").
    display: str = ""
    #: Highest ``darkness`` in the language's own scale (ZPL ``~SD`` 30; TSPL ``DENSITY``, EPL2 ``D`` 15).
    max_darkness: int = 30
    #: The emitter writes ``offset`` as a command (``^LH``, ``REFERENCE``, ``R``); False: the whole
    #: offset is moved into the raster (:mod:`printstation.lang.placement`).
    offset_command: bool = True

    @property
    def shown(self) -> str:
        """``display`` or the name upper-cased."""
        return self.display or self.name.upper()

    @property
    def target(self) -> str:
        """``title`` or ``a <NAME> printer`` ("ZPL cannot be converted for an ESC/POS printer")."""
        return self.title or f"a {self.name.upper()} printer"

    def load(self) -> ModuleType:
        """The language's module (imported on first use: ZPL passthrough needs no numpy)."""
        return importlib.import_module(self.module or f"{__package__}.{self.name}")

    @property
    def emit(self) -> Callable[[Any, "PrinterSpec"], bytes]:
        emit: Callable[[Any, "PrinterSpec"], bytes] = self.load().emit
        return emit

    @property
    def passes_zpl(self) -> bool:
        """Native ZPL input goes to the printer as ZPL (the module has ``passthrough``); every
        other language refuses ZPL input ("fetch the label as SVG or PNG")."""
        return hasattr(self.load(), "passthrough")

    @property
    def status(self) -> "StatusProtocol | None":
        """How to ask a printer of this language for its status; None: it is not polled."""
        proto: StatusProtocol | None = getattr(self.load(), "STATUS", None)
        return proto

    @property
    def identify(self) -> "IdentifyProtocol | None":
        """How discovery recognises a printer of this language; None: it is never asked."""
        proto: IdentifyProtocol | None = getattr(self.load(), "IDENTIFY", None)
        return proto


#: Name → language: the only list of printer languages (order = the order shown to users).
LANGUAGES: dict[str, Language] = {
    lang.name: lang for lang in (
        Language("zpl", "zpl"),
        Language("tspl", "tspl", max_darkness=15),
        Language("escpos", "escpos", title="an ESC/POS printer", display="ESC/POS", offset_command=False),
        Language("epl2", "epl2", title="an EPL2 printer", max_darkness=15),
        Language("png", "png", printer=False, title="PNG output"),
    )
}


def get(name: str) -> Language:
    """The language called ``name``; a one-line :class:`UsageError` for an unknown one."""
    try:
        return LANGUAGES[name]
    except (KeyError, TypeError):
        raise UsageError(f"unknown printer language {name!r} (one of {', '.join(NAMES)})") from None


class _Names(Sequence[str]):
    """A live tuple of language names: it follows :data:`LANGUAGES` (so a language added there,
    or by a test, shows up in every choice list derived from it)."""

    def __init__(self, printers_only: bool) -> None:
        self._printers_only = printers_only

    def _names(self) -> tuple[str, ...]:
        return tuple(n for n, lang in LANGUAGES.items() if lang.printer or not self._printers_only)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        return self._names()[i]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Sequence) else other)

    def __hash__(self) -> int:
        return hash(self._names())

    def __repr__(self) -> str:
        return repr(self._names())


#: Every language (``png`` included).
NAMES: Sequence[str] = _Names(printers_only=False)
#: The languages a ``[[printers]]`` section may name.
PRINTER_NAMES: Sequence[str] = _Names(printers_only=True)


def shown(name: str | None) -> str:
    """How messages write language ``name`` ("ESC/POS", "ZPL"); an unknown one upper-cased."""
    lang = LANGUAGES.get(name or "")
    return lang.shown if lang is not None else (name or "?").upper()


def extension(name: str) -> str:
    """File extension of ``name``'s converted jobs."""
    return get(name).ext


def identifiers() -> list[tuple[str, "IdentifyProtocol"]]:
    """``(name, IDENTIFY)`` of every printer language that can be asked what it is, in order."""
    return [(n, proto) for n, lang in LANGUAGES.items() if lang.printer and (proto := lang.identify) is not None]


def status_protocol(name: str) -> "StatusProtocol | None":
    """The status query of language ``name``; None when it has none (or is unknown)."""
    lang = LANGUAGES.get(name)
    return None if lang is None else lang.status


__all__ = ["LANGUAGES", "Language", "NAMES", "PRINTER_NAMES", "extension", "get", "identifiers", "shown", "status_protocol"]
