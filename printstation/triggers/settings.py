"""Config sections of the triggers, plugged into :mod:`printstation.config`:

* ``[scan]`` — ``debounce_ms`` (1500), ``wb_order_digits`` ("9-11"), ``ali_tracking`` (regex),
  ``ozon_return`` (regex);
* ``[sync]`` — background WB sync: ``enabled`` (true when a WB token is found), ``interval_s``
  (60), ``lookback_days`` (14), ``min_gap_ms`` (500: at most 2 sync calls a second);
* ``[[rules]]`` — the daemon's parser plus a check that each ``action`` is one we know; a rule's
  ``printer`` (checked against ``[[printers]]`` by :func:`printstation.config.parse`) sends its
  labels to that printer whatever scanner read the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import ConfigError
from .rules import ACTIONS, ScanSettings, parse_scan


@dataclass(frozen=True)
class SyncSettings:
    enabled: bool | None = None  # None: on when a WB token can be found
    interval_s: float = 60.0
    lookback_days: int = 14
    min_gap_ms: int = 500


def _num(t: dict[str, Any], key: str, path: str, default: float, lo: float, hi: float, integer: bool = False) -> Any:
    if key not in t:
        return default
    v = t[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise ConfigError(f"{path}.{key}: expected {'an integer' if integer else 'a number'}, got {v!r}")
    if not lo <= v <= hi:
        raise ConfigError(f"{path}.{key}: {v} out of range ({lo:g}..{hi:g})")
    return v


def parse_sync(value: Any, path: str = "sync") -> SyncSettings:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a table")
    known = {"enabled", "interval_s", "lookback_days", "min_gap_ms"}
    for k in value:
        if k not in known:
            raise ConfigError(f"{path}.{k}: unknown key (known: {', '.join(sorted(known))})")
    enabled = value.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise ConfigError(f"{path}.enabled: expected true or false")
    return SyncSettings(enabled, float(_num(value, "interval_s", path, 60.0, 5, 86400)),
                        int(_num(value, "lookback_days", path, 14, 1, 30, True)),
                        int(_num(value, "min_gap_ms", path, 500, 200, 60000, True)))


def parse_scan_section(value: Any, path: str = "scan") -> ScanSettings:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a table")
    return parse_scan(value, key=path)


def register(register_section: Callable[..., None], sections: dict[str, Any]) -> None:
    """Plug ``[scan]``, ``[sync]`` in and make ``[[rules]]`` check its actions."""
    register_section("scan", parse_scan_section, ScanSettings)
    register_section("sync", parse_sync, SyncSettings)
    base = sections.get("rules")
    if base is None or getattr(base, "_checks_actions", False):
        return

    def parse_rules_checked(value: Any, path: str) -> Any:
        rules = base(value, path)
        for i, r in enumerate(rules):
            if r.action not in ACTIONS:
                raise ConfigError(f"{path}[{i}].action: unknown action {r.action!r} (one of {', '.join(ACTIONS)})")
            extra = sorted(set(r.options) - {"printer"})
            if extra:
                raise ConfigError(f"{path}[{i}].{extra[0]}: unknown key (known: action, match, printer)")
            printer = r.options.get("printer")
            if printer is not None and (not isinstance(printer, str) or not printer):
                raise ConfigError(f"{path}[{i}].printer: expected a printer name, got {printer!r}")
        return rules

    parse_rules_checked._checks_actions = True  # type: ignore[attr-defined]
    sections["rules"] = parse_rules_checked
