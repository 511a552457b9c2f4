"""The triggers' settings: ``[hotfolder]``, ``[[scanners]]``, ``[[rules]]``, ``[scan]``, ``[sync]``.

* ``[scan]`` — ``debounce_ms`` (1500), ``wb_order_digits`` ("9-11"), ``ali_tracking`` (regex),
  ``ozon_return`` (regex);
* ``[sync]`` — background WB sync: ``enabled`` (true when a WB token is found), ``interval_s``
  (60), ``lookback_days`` (14), ``min_gap_ms`` (500: at most 2 sync calls a second);
* ``[[rules]]`` — ``match`` (a regex), ``action`` (one we know) and an optional ``printer``
  (checked against ``[[printers]]`` by :func:`check_printers`) that gets the rule's labels
  whatever scanner read the code.

Shapes and ranges are the :class:`~printstation.schema.Section` models; regexes, digit counts
and paths are checked by hand after them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import msgspec

from ..errors import ConfigError
from ..schema import Annotated, Section, array_of_tables, between, convert, expect, fail, join
from .scandev import check_present, parse_device
from .rules import ACTIONS, DEFAULT_ALI_TRACKING, DEFAULT_OZON_RETURN, ScanSettings, _compile, _digits_range


# -- [hotfolder] -------------------------------------------------------------------------------

class HotfolderConfig(Section, frozen=True):
    path: Path = Path("./var/hot")
    settle_ms: Annotated[int, between(0, 600_000)] = 500
    keep_days: Annotated[int, between(0, 3650)] = 14
    enabled: bool = True
    #: Largest file taken, MiB (a larger one goes to ``.failed`` unread past this).
    max_mb: Annotated[int, between(1, 1024)] = 32


HOTFOLDER_KEYS = frozenset(HotfolderConfig.__struct_fields__)


def parse_hotfolder(value: Any, path: str = "hotfolder", data_dir: str = "./var") -> HotfolderConfig:
    """``[hotfolder]``; without ``path`` the folder is ``<data_dir>/hot``."""
    t = convert(value, HotfolderConfig, path)
    if value.get("path") == "":
        raise fail(join(path, "path"), "must not be empty")
    return t if "path" in value else msgspec.structs.replace(t, path=Path(f"{data_dir}/hot"))


# -- [[scanners]] ------------------------------------------------------------------------------

class ScannerConfig(Section, frozen=True):
    device: str
    printer: str | None = None
    debounce_ms: Annotated[int, between(0, 600_000)] = 1500


SCANNER_KEYS = frozenset(ScannerConfig.__struct_fields__)


def parse_scanners(value: Any, path: str = "scanners") -> tuple[ScannerConfig, ...]:
    """``[[scanners]]``; a malformed ``device`` (:func:`~.scandev.parse_device`) or one that is
    there but not a device of its kind (:func:`~.scandev.check_present`) is refused."""
    out = []
    for i, t in enumerate(array_of_tables(value, path)):
        sc = convert(t, ScannerConfig, f"{path}[{i}]")
        try:
            check_present(parse_device(sc.device))
        except ConfigError as exc:
            raise fail(f"{path}[{i}].device", str(exc)) from None
        out.append(sc)
    return tuple(out)


def hotfolder_warnings(hf: HotfolderConfig, path: str = "hotfolder") -> list[str]:
    """A hot folder path that is there but is not a folder: the config loads, the folder will not
    start (a missing one is made at start)."""
    p = Path(hf.path)
    if hf.enabled and (p.exists() or p.is_symlink()) and not p.is_dir():
        return [f"{path}.path: {p} is not a directory: the hot folder will not start"]
    return []


def scanner_warnings(scanners: Iterable[ScannerConfig], path: str = "scanners") -> list[str]:
    """One line per scanner whose device is not there now (unplugged at start: not an error), and
    one per device written in the old two-slash form (``serial://dev/…``: read as ``/dev/…``)."""
    out: list[str] = []
    for i, sc in enumerate(scanners):
        try:
            dev = parse_device(sc.device)
            notes = [dev.note, check_present(dev)]
        except ConfigError as exc:  # it changed since the config was loaded
            notes = [str(exc)]
        out.extend(f"{path}[{i}].device: {note}" for note in notes if note)
    return out


# -- [[rules]] ---------------------------------------------------------------------------------

class RuleTable(Section, frozen=True):
    match: str
    action: str
    printer: Annotated[str, expect("a printer name", got="repr")] | None = None


@dataclass(frozen=True)
class RuleConfig:
    match: re.Pattern[str]
    action: str
    #: Any further keys of the rule (``printer``), for the action to read.
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def parse_rules(value: Any, path: str = "rules") -> tuple[RuleConfig, ...]:
    out = []
    for i, item in enumerate(array_of_tables(value, path)):
        p = f"{path}[{i}]"
        t = convert(item, RuleTable, p)
        try:
            rx = re.compile(t.match)
        except re.error as exc:
            raise fail(join(p, "match"), f"bad regular expression {t.match!r}: {exc}") from None
        if t.action not in ACTIONS:  # after the regex, as the rules were always checked
            raise fail(join(p, "action"), f"unknown action {t.action!r} (one of {', '.join(ACTIONS)})")
        if t.printer == "":
            raise fail(join(p, "printer"), "expected a printer name, got ''")
        options = {"printer": t.printer} if t.printer is not None else {}
        out.append(RuleConfig(rx, t.action, MappingProxyType(options)))
    return tuple(out)


def user_rules(rules: Iterable[RuleConfig]) -> tuple[tuple[str, ...], ...]:
    """``(match, action[, printer])`` per rule, as :class:`ScanSettings` takes them."""
    return tuple((r.match.pattern, r.action) + ((r.options["printer"],) if r.options.get("printer") else ())
                 for r in rules)


def check_printers(scanners: Iterable[ScannerConfig], rules: Iterable[RuleConfig], names: list[str]) -> None:
    """A scanner's or a rule's ``printer`` must be one of ``[[printers]]``."""
    for i, s in enumerate(scanners):
        if s.printer and s.printer not in names:
            raise fail(f"scanners[{i}].printer", f"no printer named {s.printer!r}")
    for i, r in enumerate(rules):
        rp = r.options.get("printer")
        if rp is not None and rp not in names:
            raise fail(f"rules[{i}].printer", f"no printer named {rp!r} (configured: {', '.join(names)})")


# -- [scan] ------------------------------------------------------------------------------------

class ScanTable(Section, frozen=True):
    debounce_ms: Annotated[int, between(0, 600_000)] = 1500
    wb_order_digits: Annotated[str | int, expect("a digit count like 10 or a range like 9-11", got="repr")] = "9-11"
    ali_tracking: str = DEFAULT_ALI_TRACKING
    ozon_return: str = DEFAULT_OZON_RETURN


def parse_scan(value: Any, rules: Iterable[tuple[str, ...]] = (), path: str = "scan") -> ScanSettings:
    """``[scan]`` plus the user's rules (:func:`user_rules`) → :class:`ScanSettings`."""
    t = convert(value, ScanTable, path)
    digits = _digits_range(str(t.wb_order_digits), join(path, "wb_order_digits"))
    _compile(t.ali_tracking, join(path, "ali_tracking"))
    _compile(t.ozon_return, join(path, "ozon_return"))
    return ScanSettings(debounce_ms=t.debounce_ms, wb_order_digits=digits, ali_tracking=t.ali_tracking,
                        ozon_return=t.ozon_return, user_rules=tuple(rules))


# -- [sync] ------------------------------------------------------------------------------------

class SyncSettings(Section, frozen=True):
    enabled: bool | None = None  # None: on when a WB token can be found
    interval_s: Annotated[float, between(5, 86400)] = 60.0
    lookback_days: Annotated[int, between(1, 30)] = 14
    min_gap_ms: Annotated[int, between(200, 60000)] = 500


def parse_sync(value: Any, path: str = "sync") -> SyncSettings:
    return convert(value, SyncSettings, path)


__all__ = ["HOTFOLDER_KEYS", "HotfolderConfig", "RuleConfig", "SCANNER_KEYS", "ScannerConfig", "SyncSettings",
           "check_printers", "parse_hotfolder", "parse_rules", "parse_scan", "parse_scanners", "parse_sync",
           "scanner_warnings", "user_rules"]
