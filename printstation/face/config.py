"""The station's configuration: one TOML file → the settings of every layer, validated once at start.

Each layer owns the model of its section(s) — :mod:`printstation.queue.settings` (``[station]``,
``[barcodes]``, ``[[printers]]``), :mod:`printstation.triggers.settings` (``[hotfolder]``,
``[[scanners]]``, ``[[rules]]``, ``[scan]``, ``[sync]``), :mod:`printstation.markets.settings`
(``[markets]``) and the face's own :mod:`printstation.face.settings` (``[api]``) and
:mod:`printstation.face.webhook_settings` (``[webhooks]``) — and this module composes them into
one :class:`Config`. Shape and range checks are written once (:mod:`printstation.schema`,
msgspec); unknown sections and keys and bad values raise
:class:`~printstation.errors.ConfigError` whose message starts with the key path
(``printers[1].media: bad media size 'abc'``) — before anything starts. More top-level sections
plug in with :func:`register_section`.

Relative paths (``data_dir``, ``hotfolder.path``, ``dir://./…``) are relative to the working
directory of the daemon, exactly like the embedded default (``./var``); a relative token or
secret file of ``[markets]`` / ``[webhooks]`` is relative to the config file's folder.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from ..errors import ConfigError
from ..markets.settings import MarketsSettings, parse_markets, token_warnings
from ..queue.settings import (LOG_LEVELS, PRINTER_KEYS, BarcodesConfig, PrinterConfig, StationConfig,
                              default_data_dir, parse_barcodes, parse_printer, parse_printers, parse_station)
from ..schema import fail
from ..triggers.rules import ScanSettings
from ..triggers.settings import (HOTFOLDER_KEYS, SCANNER_KEYS, HotfolderConfig, RuleConfig, ScannerConfig,
                                 SyncSettings, check_printers, hotfolder_warnings, parse_hotfolder, parse_rules,
                                 parse_scan, parse_scanners, parse_sync, scanner_warnings)
from ..triggers.webhooks import WebhookSettings
from .settings import ApiConfig, parse_api
from .webhook_settings import parse_webhooks, webhook_warnings

#: The embedded default, used when no config file is given (README's ``make run``).
DEFAULT_TOML = """
[station]
data_dir = "./var"

[api]
listen = "127.0.0.1:8631"

[[printers]]
name = "default"
uri = "dir://./var/out"
lang = "zpl"
media = "58x40"
dpi = 203

[hotfolder]
path = "./var/hot"
"""

#: ``(value, key path) -> parsed section``.
Parser = Callable[[Any, str], object]


def _layer_sections(base: Path | None) -> dict[str, tuple[Parser, Callable[[], object]]]:
    """Every section a layer owns: name → (parser, what it is when the file does not have it)."""
    return {
        "station": (parse_station, StationConfig),
        "api": (parse_api, ApiConfig),
        "barcodes": (parse_barcodes, BarcodesConfig),
        "hotfolder": (lambda v, p: parse_hotfolder(v, p, default_data_dir()), lambda: HotfolderConfig(enabled=False)),
        "scanners": (parse_scanners, tuple),
        "rules": (parse_rules, tuple),
        "markets": (lambda v, p: parse_markets(v, p, base_dir=base), MarketsSettings),
        "scan": (lambda v, p: parse_scan(v, (), p), ScanSettings),
        "sync": (parse_sync, SyncSettings),
        "webhooks": (lambda v, p: parse_webhooks(v, p, base_dir=base), WebhookSettings),
    }


#: Sections plugged in by :func:`register_section` (none by default).
PLUGGED: dict[str, tuple[Parser, Callable[[], object]]] = {}


def register_section(name: str, parser: Parser, default: Callable[[], object] = lambda: None) -> None:
    """Plug a top-level TOML section in: ``parser(value, path)`` returns its parsed form."""
    PLUGGED[name] = (parser, default)


def unregister_section(name: str) -> None:
    PLUGGED.pop(name, None)


@dataclass(frozen=True)
class Config:
    station: StationConfig
    api: ApiConfig
    printers: tuple[PrinterConfig, ...]
    barcodes: BarcodesConfig
    hotfolder: HotfolderConfig
    scanners: tuple[ScannerConfig, ...]
    rules: tuple[RuleConfig, ...]
    markets: MarketsSettings
    #: Every parsed section by name (including plugged-in ones).
    sections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    #: The file this came from; ``None`` for the embedded default.
    path: Path | None = None
    #: What loads but may not work now, one line each naming the key (a scanner unplugged at
    #: start, an empty token file, a webhook listener without a secret): logged at start,
    #: printed by ``check-config``.
    warnings: tuple[str, ...] = ()

    @property
    def data_dir(self) -> Path:
        return self.station.data_dir

    @property
    def default_printer(self) -> str:
        return self.station.default_printer or self.printers[0].name

    def printer(self, name: str) -> PrinterConfig | None:
        return next((p for p in self.printers if p.name == name), None)

    def runtime_dir(self) -> Path:
        """Where the unix socket goes: ``$RUNTIME_DIRECTORY`` (systemd) or the data dir."""
        rd = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
        return Path(rd) if rd else self.data_dir


def parse(doc: Mapping[str, Any], source: Path | None = None) -> Config:
    """Validate a parsed TOML document (``tomllib.loads`` output)."""
    known = {**_layer_sections(source.parent if source is not None else None), **PLUGGED}
    for key in doc:
        if key not in known and key != "printers":
            raise fail(key, f"unknown section (known: {', '.join(sorted(set(known) | {'printers'}))})")
    sections: dict[str, Any] = {name: parser(doc[name], name) if name in doc else default()
                for name, (parser, default) in known.items()}
    printers = parse_printers(doc.get("printers", []), sections["barcodes"])
    names = [p.name for p in printers]
    station: StationConfig = sections["station"]
    if station.default_printer and station.default_printer not in names:
        raise fail("station.default_printer", f"no printer named {station.default_printer!r}")
    check_printers(sections["scanners"], sections["rules"], names)
    sections["printers"] = printers
    warnings = (hotfolder_warnings(sections["hotfolder"]) + scanner_warnings(sections["scanners"])
                + token_warnings(sections["markets"])
                + webhook_warnings(sections["webhooks"]))
    return Config(
        station=station, api=sections["api"], printers=printers, barcodes=sections["barcodes"],
        hotfolder=sections["hotfolder"], scanners=sections["scanners"], rules=sections["rules"],
        markets=sections["markets"], sections=MappingProxyType(sections), path=source,
        warnings=tuple(warnings),
    )


def loads(text: str, source: Path | None = None) -> Config:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = f"{source}: " if source else ""
        raise ConfigError(f"{where}bad TOML: {exc}") from None
    return parse(doc, source)


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate a config file, or the embedded default when ``path`` is None."""
    if path is None:
        return loads(DEFAULT_TOML)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return loads(text, p)
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(str(p)) else f"{p}: {msg}") from None


def check_addition(text: str, addition: str, path: Path) -> None:
    """``text + addition`` (new ``[[printers]]`` blocks) must load. A config that did not load
    before (a token file only the service can read, say) must at least stay valid TOML with
    valid, uniquely named new printers. Raises :class:`ConfigError`; nothing else."""
    try:
        loads(text + addition, path)
        return
    except ConfigError as exc:
        after = exc
    try:
        loads(text, path) if text.strip() else None
    except ConfigError:
        try:
            doc = tomllib.loads(text + addition)
            new = tomllib.loads(addition).get("printers", [])
            names = [p.get("name") for p in doc.get("printers", []) if isinstance(p, dict)]
            if len(names) != len(set(names)):
                raise ConfigError("duplicate printer name")
            for i, t in enumerate(new):
                parse_printer(t, f"printers[+{i}]", BarcodesConfig())
            return
        except (ConfigError, tomllib.TOMLDecodeError) as exc:
            after = exc if isinstance(exc, ConfigError) else ConfigError(str(exc))
    raise ConfigError(f"{path}: the config would not load with the new printers ({after}); nothing written")


__all__ = [
    "ApiConfig", "BarcodesConfig", "Config", "DEFAULT_TOML", "HOTFOLDER_KEYS", "HotfolderConfig", "LOG_LEVELS",
    "PRINTER_KEYS", "PrinterConfig", "RuleConfig", "SCANNER_KEYS", "ScannerConfig", "StationConfig",
    "check_addition", "load", "loads", "parse", "register_section", "unregister_section",
]
