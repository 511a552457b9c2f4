"""The queue's settings: ``[station]``, ``[barcodes]`` and ``[[printers]]`` (what a printer worker needs).

Shapes and ranges are the :class:`~printstation.schema.Section` models below; the semantic checks
(printer names, URIs, media sizes, the database URL) follow them by hand, once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PrintstationError
from ..schema import Annotated, Section, array_of_tables, between, convert, expect, fail, join, one_of
from ..spec import PRINTER_LANGS, RANGES, ROTATIONS, ZPL_COMPRESSIONS, Media, PrinterSpec

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
LOG_LEVELS = ("debug", "info", "warning", "error")
_STATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def default_data_dir() -> str:
    """``$STATE_DIRECTORY`` (systemd ``StateDirectory=``) when set, else ``./var``."""
    return os.environ.get("STATE_DIRECTORY", "").split(":")[0] or "./var"


def default_station_name() -> str:
    """``[station] name`` when unset: the host name (its first label)."""
    import socket

    return (socket.gethostname().split(".")[0] or "station")[:64]


def default_database() -> str | None:
    """``$PRINTSTATION_DATABASE`` when set (it wins over ``[station] database``)."""
    return os.environ.get("PRINTSTATION_DATABASE") or None


# -- [station] ---------------------------------------------------------------------------------

class StationTable(Section, frozen=True):
    data_dir: str | None = None
    default_printer: str | None = None
    log_level: Annotated[str, one_of(*LOG_LEVELS)] | None = None
    renderers: Annotated[int, between(1, 32)] = 2
    max_queue_mb: Annotated[float, between(0.001, 1_000_000)] = 512
    keep_days: Annotated[int, between(0, 36500)] = 14
    name: str | None = None
    database: str | None = None


@dataclass(frozen=True)
class StationConfig:
    data_dir: Path = field(default_factory=lambda: Path(default_data_dir()))
    #: Printer used when a submit names none; default: the first ``[[printers]]``.
    default_printer: str | None = None
    #: ``[station] log_level``; ``-v`` and ``$PRINTSTATION_LOG_LEVEL`` win over it.
    log_level: str | None = None
    #: Label bytes of queued jobs in total before submits get 507 (printstation/storage.py).
    max_queue_mb: float = 512
    #: Finished jobs (done/failed/canceled) are purged after this many days; 0 keeps them.
    keep_days: int = 14
    #: ``[station] renderers``: warm renderer child processes (SVG/PDF/bitmap conversion).
    renderers: int = 2
    #: ``[station] name``: this station among those sharing a database (default: the host name).
    name: str = field(default_factory=default_station_name)
    #: ``[station] database`` / ``$PRINTSTATION_DATABASE``: a ``postgresql://`` URL shared by
    #: several stations; None → the embedded SQLite store. Holds a password: never shown.
    database: str | None = field(default_factory=default_database, repr=False)


def parse_station(value: Any, path: str = "station") -> StationConfig:
    t = convert(value, StationTable, path)
    data_dir = default_data_dir() if t.data_dir is None else t.data_dir
    if not data_dir:
        raise fail(join(path, "data_dir"), "must not be empty")
    name = t.name
    if name is None:
        name = default_station_name()
    elif not _STATION_NAME.fullmatch(name):
        raise fail(join(path, "name"), f"bad station name {name!r} (1-64 of A-Z a-z 0-9 . _ -)")
    env = default_database()
    database = env or t.database or None
    if database:
        from .backends import check_database_url  # no driver import: the URL's shape only

        try:
            check_database_url(database)
        except PrintstationError as exc:
            raise fail("PRINTSTATION_DATABASE" if env else join(path, "database"), str(exc)) from None
    return StationConfig(Path(data_dir), t.default_printer, t.log_level, max_queue_mb=t.max_queue_mb,
                         keep_days=t.keep_days, renderers=t.renderers, name=name, database=database)


# -- [barcodes] --------------------------------------------------------------------------------

class BarcodesConfig(Section, frozen=True):
    verify: Annotated[str, one_of("fail", "warn", "off")] = "fail"
    redraw: bool = True


def parse_barcodes(value: Any, path: str = "barcodes") -> BarcodesConfig:
    return convert(value, BarcodesConfig, path)


# -- [[printers]] ------------------------------------------------------------------------------

class PrinterTable(Section, frozen=True):
    name: str
    uri: str
    lang: str = "zpl"  # one of the registry's printer languages: checked by hand (the list is live)
    media: str | None = None  # the language's default media (printstation/lang/registry.py)
    dpi: Annotated[int, between(*RANGES["dpi"])] = 203
    darkness: Annotated[int, between(*RANGES["darkness"])] | None = None
    offset: Annotated[tuple[int, int], expect("[x, y] in dots", got="repr")] = (0, 0)
    copies: Annotated[int, between(*RANGES["copies"])] = 1
    invert: bool = False
    threshold: Annotated[int, between(*RANGES["threshold"])] = 128
    dither: bool = False
    rotate: Any = "auto"  # "auto", "0" … or 90 …: checked by hand
    zpl_compress: Annotated[str, one_of(*ZPL_COMPRESSIONS)] = "auto"
    cut: bool = False
    status_poll: Annotated[float, between(0, 3600)] = 3.0
    on_interrupted: Annotated[str, one_of("hold", "resend")] = "hold"
    timeout: Annotated[float, between(0.1, 600)] = 5.0
    max_downscale: Annotated[float, between(*RANGES["max_downscale"])] = 0.8


PRINTER_KEYS = frozenset(PrinterTable.__struct_fields__)


@dataclass(frozen=True)
class PrinterConfig:
    name: str
    uri: str
    spec: PrinterSpec
    #: Seconds between status polls while the printer is in trouble; 0 = never query status.
    status_poll: float = 3.0
    on_interrupted: str = "hold"
    #: Connect / write-progress timeout of the transport, seconds.
    timeout: float = 5.0

    @property
    def lang(self) -> str:
        return self.spec.lang


def parse_printer(value: Any, path: str, barcodes: BarcodesConfig) -> PrinterConfig:
    t = convert(value, PrinterTable, path)
    if t.lang not in PRINTER_LANGS:
        raise fail(join(path, "lang"), f"bad value {t.lang!r} (one of {', '.join(PRINTER_LANGS)})")
    if not NAME_RE.fullmatch(t.name):
        raise fail(join(path, "name"), f"bad printer name {t.name!r} (letters, digits, '_', '.', '-'; up to 64)")
    try:
        from ..transport import from_uri

        from_uri(t.uri, timeout=t.timeout)
    except PrintstationError as exc:
        raise fail(join(path, "uri"), str(exc)) from None
    try:
        from ..lang import registry

        media = Media.parse(t.media if t.media is not None else registry.get(t.lang).default_media)
    except PrintstationError as exc:
        raise fail(join(path, "media"), str(exc)) from None
    top = registry.get(t.lang).max_darkness
    if t.darkness is not None and t.darkness > top:
        raise fail(join(path, "darkness"), f"{t.darkness} out of range for {registry.get(t.lang).shown} (0..{top})")
    rotate = str(t.rotate) if isinstance(t.rotate, int) and not isinstance(t.rotate, bool) else t.rotate
    if rotate not in ROTATIONS:
        raise fail(join(path, "rotate"), f"bad value {t.rotate!r} (auto, 0, 90, 180 or 270)")
    try:
        spec = PrinterSpec(
            lang=t.lang, media=media, dpi=t.dpi, rotate=rotate, copies=t.copies, darkness=t.darkness,
            offset=t.offset, zpl_compress=t.zpl_compress, invert=t.invert, dither=t.dither,
            threshold=t.threshold, cut=t.cut, barcodes="redraw" if barcodes.redraw else "keep",
            verify=barcodes.verify, max_downscale=t.max_downscale, name=t.name)
    except PrintstationError as exc:
        raise fail(path, str(exc)) from None
    if abs(t.offset[0]) >= spec.width_dots or abs(t.offset[1]) >= spec.height_dots:
        raise fail(join(path, "offset"), f"[{t.offset[0]}, {t.offset[1]}] moves the label off its "
                   f"{spec.width_dots}×{spec.height_dots}-dot media (dots, + right / down)")
    return PrinterConfig(name=t.name, uri=t.uri, spec=spec, status_poll=t.status_poll,
                         on_interrupted=t.on_interrupted, timeout=t.timeout)


def parse_printers(value: Any, barcodes: BarcodesConfig, path: str = "printers") -> tuple[PrinterConfig, ...]:
    """``[[printers]]``: at least one, names unique."""
    printers = [parse_printer(t, f"{path}[{i}]", barcodes) for i, t in enumerate(array_of_tables(value, path))]
    if not printers:
        raise fail(path, "at least one [[printers]] is needed")
    names = [p.name for p in printers]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise fail(f"{path}[{i}].name", f"duplicate printer name {n!r}")
    return tuple(printers)


__all__ = ["BarcodesConfig", "LOG_LEVELS", "PRINTER_KEYS", "PRINTER_LANGS", "PrinterConfig", "StationConfig",
           "default_data_dir", "parse_barcodes", "parse_printer", "parse_printers", "parse_station"]
