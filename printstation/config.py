"""The station's configuration: one TOML file → frozen dataclasses, validated once at start.

Every section is parsed by a callable in :data:`SECTIONS` (``(value, path) -> object``), so other
parts of the station plug their own sections in with :func:`register_section`. Unknown keys and
bad values raise :class:`~printstation.errors.ConfigError` whose message starts with the key path
(``printers[1].media: bad media size 'abc'``) — before anything starts.

Relative paths (``data_dir``, ``hotfolder.path``, ``dir://./…``) are relative to the working
directory of the daemon, exactly like the embedded default (``./var``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Collection, Mapping

from .errors import ConfigError, PrintstationError
from .spec import PRINTER_LANGS, Media, PrinterSpec

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

DEFAULT_PORT = 8631
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


# -- helpers for section parsers ----------------------------------------------------------------


def fail(path: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {message}" if path else message)


def table(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail(path, f"expected a table, got {_kind(value)}")
    return value


def check_keys(value: Mapping[str, Any], path: str, allowed: set[str] | frozenset[str]) -> None:
    for key in value:
        if key not in allowed:
            raise fail(_join(path, key), f"unknown key (known: {', '.join(sorted(allowed))})")


def get_str(t: Mapping[str, Any], key: str, path: str, default: str | None = None, *,
            required: bool = False, choices: Collection[str] | None = None) -> str | None:
    p = _join(path, key)
    if key not in t:
        if required:
            raise fail(p, "required key is missing")
        return default
    v = t[key]
    if not isinstance(v, str):
        raise fail(p, f"expected a string, got {_kind(v)}")
    if choices is not None and v not in choices:
        raise fail(p, f"bad value {v!r} (one of {', '.join(choices)})")
    return v


def get_int(t: Mapping[str, Any], key: str, path: str, default: int | None, *,
            lo: int | None = None, hi: int | None = None) -> int | None:
    p = _join(path, key)
    if key not in t:
        return default
    v = t[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise fail(p, f"expected an integer, got {_kind(v)}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise fail(p, f"{v} out of range ({lo if lo is not None else '…'}..{hi if hi is not None else '…'})")
    return v


def get_float(t: Mapping[str, Any], key: str, path: str, default: float, *,
              lo: float | None = None, hi: float | None = None) -> float:
    p = _join(path, key)
    if key not in t:
        return default
    v = t[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise fail(p, f"expected a number, got {_kind(v)}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise fail(p, f"{v:g} out of range ({lo if lo is not None else '…'}..{hi if hi is not None else '…'})")
    return float(v)


def get_bool(t: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    if key not in t:
        return default
    v = t[key]
    if not isinstance(v, bool):
        raise fail(_join(path, key), f"expected true or false, got {_kind(v)}")
    return v


def array_of_tables(value: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise fail(path, f"expected an array of tables ([[{path}]]), got {_kind(value)}")
    for i, item in enumerate(value):
        table(item, f"{path}[{i}]")
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(v), type(v).__name__)


# -- sections ----------------------------------------------------------------------------------


def default_data_dir() -> str:
    """``$STATE_DIRECTORY`` (systemd ``StateDirectory=``) when set, else ``./var``."""
    return os.environ.get("STATE_DIRECTORY", "").split(":")[0] or "./var"


LOG_LEVELS = ("debug", "info", "warning", "error")


def default_station_name() -> str:
    """``[station] name`` when unset: the host name (its first label)."""
    import socket

    return (socket.gethostname().split(".")[0] or "station")[:64]


def default_database() -> str | None:
    """``$PRINTSTATION_DATABASE`` when set (it wins over ``[station] database``)."""
    return os.environ.get("PRINTSTATION_DATABASE") or None


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


@dataclass(frozen=True)
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token_file: Path | None = None
    #: The bearer token read from ``token_file`` (never shown in a repr or a log).
    token: str | None = field(default=None, repr=False, compare=False)
    #: Also serve the API on ``printstation.sock`` in the runtime dir.
    unix_socket: bool = True
    #: Extra ``Host`` names (``name`` or ``name:port``) besides 127.0.0.1, localhost, [::1].
    allowed_hosts: tuple[str, ...] = ()
    #: Browser origins (``scheme://host[:port]``) allowed besides the API's own.
    allowed_origins: tuple[str, ...] = ()
    #: Seconds for a request head to arrive, and the most a body may stall.
    read_timeout: float = 10.0
    #: Seconds an idle keep-alive connection stays open.
    idle_timeout: float = 5.0
    #: Connections served at once; more wait in the listen backlog.
    max_connections: int = 256
    #: Largest label accepted by ``POST /jobs``.
    max_body_mb: float = 32

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


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


@dataclass(frozen=True)
class BarcodesConfig:
    verify: str = "fail"
    redraw: bool = True


@dataclass(frozen=True)
class HotfolderConfig:
    path: Path = Path("./var/hot")
    settle_ms: int = 500
    keep_days: int = 14
    enabled: bool = True
    #: Largest file taken, MiB (a larger one goes to ``.failed`` unread past this).
    max_mb: int = 32


@dataclass(frozen=True)
class ScannerConfig:
    device: str
    printer: str | None = None
    debounce_ms: int = 1500


@dataclass(frozen=True)
class RuleConfig:
    match: re.Pattern[str]
    action: str
    #: Any further keys of the rule (e.g. ``printer``, ``market``), for the action to read.
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def parse_station(value: Any, path: str) -> StationConfig:
    t = table(value, path)
    check_keys(t, path, {"data_dir", "default_printer", "log_level", "renderers"} | STATION_STORAGE_KEYS
               | STATION_DB_KEYS)
    data_dir = get_str(t, "data_dir", path, default_data_dir())
    if not data_dir:
        raise fail(_join(path, "data_dir"), "must not be empty")
    default = get_str(t, "default_printer", path)
    level = get_str(t, "log_level", path, None, choices=LOG_LEVELS)
    renderers = get_int(t, "renderers", path, 2, lo=1, hi=32) or 2
    return StationConfig(Path(data_dir), default, level, renderers=renderers, **parse_station_storage(t, path),
                         **parse_station_db(t, path))


STATION_DB_KEYS = {"name", "database"}
_STATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def parse_station_db(t: Mapping[str, Any], path: str) -> dict[str, Any]:
    """``[station] name, database`` (several stations sharing one PostgreSQL database)."""
    name = get_str(t, "name", path, None)
    if name is None:
        name = default_station_name()
    elif not _STATION_NAME.fullmatch(name):
        raise fail(_join(path, "name"), f"bad station name {name!r} (1-64 of A-Z a-z 0-9 . _ -)")
    env = default_database()
    database = env or get_str(t, "database", path, None) or None
    if database:
        from .pg import check_url  # no driver import: the URL's shape only

        try:
            check_url(database)
        except PrintstationError as exc:
            where = "PRINTSTATION_DATABASE" if env else _join(path, "database")
            raise fail(where, str(exc)) from None
    return {"name": name, "database": database}


def parse_listen(text: str, path: str) -> tuple[str, int]:
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([^:\[\]]+):(\d+)|(\d+)", text.strip())
    if not m:
        raise fail(path, f"bad listen address {text!r} (HOST:PORT, e.g. 127.0.0.1:8631)")
    if m.group(5):
        host, port = "127.0.0.1", int(m.group(5))
    else:
        host = m.group(1) or m.group(3)
        port = int(m.group(2) or m.group(4))
    if not 0 <= port <= 65535:
        raise fail(path, f"port {port} out of range (0..65535)")
    return host, port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_api(value: Any, path: str) -> ApiConfig:
    t = table(value, path)
    check_keys(t, path, {"listen", "token_file", "unix_socket"} | API_LIMIT_KEYS)
    host, port = parse_listen(get_str(t, "listen", path, "127.0.0.1:8631") or "", _join(path, "listen"))
    token_file = get_str(t, "token_file", path)
    token = None
    if token_file:
        p = _join(path, "token_file")
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise fail(p, f"cannot read {token_file}: {exc.strerror or exc}") from None
        if len(token) < 16:
            raise fail(p, f"the token in {token_file} is too short (at least 16 characters)")
        from .logs import register_secret

        register_secret(token)
    if not is_loopback(host) and not token:
        raise fail(_join(path, "listen"),
                   f"refusing non-loopback address {host}:{port} without an API token "
                   "(set api.token_file)")
    return ApiConfig(host, port, Path(token_file) if token_file else None, token,
                     get_bool(t, "unix_socket", path, True), **parse_api_limits(t, path))


STATION_STORAGE_KEYS = {"max_queue_mb", "keep_days"}
API_LIMIT_KEYS = {"allowed_hosts", "allowed_origins", "read_timeout", "idle_timeout", "max_connections",
                  "max_body_mb"}
_HOST_ENTRY = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")
_ORIGIN_ENTRY = re.compile(r"https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")


def parse_station_storage(t: Mapping[str, Any], path: str) -> dict[str, Any]:
    """``[station] max_queue_mb, keep_days`` (bounded storage)."""
    return {"max_queue_mb": get_float(t, "max_queue_mb", path, 512, lo=0.001, hi=1_000_000),
            "keep_days": get_int(t, "keep_days", path, 14, lo=0, hi=36500)}


def _str_list(t: Mapping[str, Any], key: str, path: str, rx: re.Pattern[str], what: str) -> tuple[str, ...]:
    v = t.get(key, [])
    p = _join(path, key)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise fail(p, f"expected an array of strings, got {_kind(v)}")
    for x in v:
        if not rx.fullmatch(x):
            raise fail(p, f"bad entry {x!r} ({what})")
    return tuple(v)


def parse_api_limits(t: Mapping[str, Any], path: str) -> dict[str, Any]:
    """``[api] allowed_hosts, allowed_origins, read_timeout, idle_timeout, max_connections,
    max_body_mb``."""
    return {
        "allowed_hosts": _str_list(t, "allowed_hosts", path, _HOST_ENTRY, "a host name, optionally :port"),
        "allowed_origins": _str_list(t, "allowed_origins", path, _ORIGIN_ENTRY,
                                     "scheme://host[:port], e.g. http://printstation.local:8631"),
        "read_timeout": get_float(t, "read_timeout", path, 10.0, lo=0.1, hi=3600),
        "idle_timeout": get_float(t, "idle_timeout", path, 5.0, lo=0.1, hi=3600),
        "max_connections": get_int(t, "max_connections", path, 256, lo=1, hi=4096),
        "max_body_mb": get_float(t, "max_body_mb", path, 32, lo=0.001, hi=64),
    }


SPEC_KEYS = {"lang", "media", "dpi", "darkness", "offset", "copies", "invert", "threshold",
             "dither", "rotate", "zpl_compress", "cut"}
PRINTER_KEYS = SPEC_KEYS | {"name", "uri", "status_poll", "on_interrupted", "timeout", "max_downscale"}


def parse_printer(t: dict[str, Any], path: str, barcodes: BarcodesConfig) -> PrinterConfig:
    check_keys(t, path, PRINTER_KEYS)
    name = get_str(t, "name", path, required=True) or ""
    if not NAME_RE.fullmatch(name):
        raise fail(_join(path, "name"),
                   f"bad printer name {name!r} (letters, digits, '_', '.', '-'; up to 64)")
    uri = get_str(t, "uri", path, required=True) or ""
    timeout = get_float(t, "timeout", path, 5.0, lo=0.1, hi=600)
    try:
        from .transport import from_uri

        from_uri(uri, timeout=timeout)
    except PrintstationError as exc:
        raise fail(_join(path, "uri"), str(exc)) from None
    lang = get_str(t, "lang", path, "zpl", choices=PRINTER_LANGS)
    media_text = get_str(t, "media", path, "58x40") or ""
    try:
        media = Media.parse(media_text)
    except PrintstationError as exc:
        raise fail(_join(path, "media"), str(exc)) from None
    offset: Any = t.get("offset", [0, 0])
    if (not isinstance(offset, list) or len(offset) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in offset)):
        raise fail(_join(path, "offset"), f"expected [x, y] in dots, got {offset!r}")
    rotate: Any = t.get("rotate", "auto")
    if isinstance(rotate, int) and not isinstance(rotate, bool):
        rotate = str(rotate)
    if rotate not in ("auto", "0", "90", "180", "270"):
        raise fail(_join(path, "rotate"), f"bad value {t.get('rotate')!r} (auto, 0, 90, 180 or 270)")
    fields = dict(
        lang=lang, media=media, dpi=get_int(t, "dpi", path, 203, lo=72, hi=1200), rotate=rotate,
        copies=get_int(t, "copies", path, 1, lo=1, hi=9999),
        darkness=get_int(t, "darkness", path, None, lo=0, hi=30),
        offset=(offset[0], offset[1]),
        zpl_compress=get_str(t, "zpl_compress", path, "auto", choices=("auto", "z64", "acs", "hex")),
        invert=get_bool(t, "invert", path, False), dither=get_bool(t, "dither", path, False),
        threshold=get_int(t, "threshold", path, 128, lo=0, hi=255), cut=get_bool(t, "cut", path, False),
        barcodes="redraw" if barcodes.redraw else "keep", verify=barcodes.verify,
        max_downscale=get_float(t, "max_downscale", path, 0.8, lo=0, hi=1), name=name,
    )
    try:
        spec = PrinterSpec(**fields)  # type: ignore[arg-type]
    except PrintstationError as exc:
        raise fail(path, str(exc)) from None
    return PrinterConfig(
        name=name, uri=uri, spec=spec,
        status_poll=get_float(t, "status_poll", path, 3.0, lo=0, hi=3600),
        on_interrupted=get_str(t, "on_interrupted", path, "hold", choices=("hold", "resend")) or "hold",
        timeout=timeout,
    )


def parse_barcodes(value: Any, path: str) -> BarcodesConfig:
    t = table(value, path)
    check_keys(t, path, {"verify", "redraw"})
    return BarcodesConfig(get_str(t, "verify", path, "fail", choices=("fail", "warn", "off")) or "fail",
                          get_bool(t, "redraw", path, True))


HOTFOLDER_KEYS = {"path", "settle_ms", "keep_days", "enabled", "max_mb"}


def parse_hotfolder(value: Any, path: str) -> HotfolderConfig:
    t = table(value, path)
    check_keys(t, path, HOTFOLDER_KEYS)
    p = get_str(t, "path", path, f"{default_data_dir()}/hot")
    if not p:
        raise fail(_join(path, "path"), "must not be empty")
    return HotfolderConfig(Path(p), get_int(t, "settle_ms", path, 500, lo=0, hi=600_000) or 0,
                           get_int(t, "keep_days", path, 14, lo=0, hi=3650) or 0,
                           get_bool(t, "enabled", path, True), get_int(t, "max_mb", path, 32, lo=1, hi=1024) or 32)


SCANNER_KEYS = {"device", "printer", "debounce_ms"}


def parse_scanners(value: Any, path: str) -> tuple[ScannerConfig, ...]:
    out = []
    for i, t in enumerate(array_of_tables(value, path)):
        p = f"{path}[{i}]"
        check_keys(t, p, SCANNER_KEYS)
        out.append(ScannerConfig(get_str(t, "device", p, required=True) or "", get_str(t, "printer", p),
                                 get_int(t, "debounce_ms", p, 1500, lo=0, hi=600_000) or 0))
    return tuple(out)


def parse_rules(value: Any, path: str) -> tuple[RuleConfig, ...]:
    out = []
    for i, t in enumerate(array_of_tables(value, path)):
        p = f"{path}[{i}]"
        pattern = get_str(t, "match", p, required=True) or ""
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise fail(_join(p, "match"), f"bad regular expression {pattern!r}: {exc}") from None
        action = get_str(t, "action", p, required=True) or ""
        if not action.strip():
            raise fail(_join(p, "action"), "must not be empty")
        options = {k: v for k, v in t.items() if k not in ("match", "action")}
        out.append(RuleConfig(rx, action, MappingProxyType(options)))
    return tuple(out)


#: Directory of the config file being parsed (markets anchor relative token files there).
_SOURCE_DIR: Path | None = None


def parse_markets(value: Any, path: str) -> Any:
    t = table(value, path) if value is not None else {}
    try:
        from .markets import settings
    except ModuleNotFoundError as exc:
        if exc.name in ("printstation.markets.settings", "printstation.markets"):
            return MappingProxyType(dict(t))
        raise
    return settings.parse_markets(t, path, base_dir=_SOURCE_DIR)


Parser = Callable[[Any, str], object]

#: Top-level section name → parser. ``printers`` is handled by :func:`load` (it needs
#: ``[barcodes]``); every other section goes through here.
SECTIONS: dict[str, Parser] = {
    "station": parse_station,
    "api": parse_api,
    "barcodes": parse_barcodes,
    "hotfolder": parse_hotfolder,
    "scanners": parse_scanners,
    "rules": parse_rules,
    "markets": parse_markets,
}
#: What a section is when the file does not have it.
SECTION_DEFAULTS: dict[str, Callable[[], object]] = {
    "station": StationConfig,
    "api": ApiConfig,
    "barcodes": BarcodesConfig,
    "hotfolder": lambda: HotfolderConfig(enabled=False),
    "scanners": tuple,
    "rules": tuple,
    "markets": lambda: parse_markets(None, "markets"),
}


def register_section(name: str, parser: Parser, default: Callable[[], object] = lambda: None) -> None:
    """Plug a top-level TOML section in: ``parser(value, path)`` returns its parsed form."""
    SECTIONS[name] = parser
    SECTION_DEFAULTS[name] = default


@dataclass(frozen=True)
class Config:
    station: StationConfig
    api: ApiConfig
    printers: tuple[PrinterConfig, ...]
    barcodes: BarcodesConfig
    hotfolder: HotfolderConfig
    scanners: tuple[ScannerConfig, ...]
    rules: tuple[RuleConfig, ...]
    markets: Any
    #: Every parsed section by name (including plugged-in ones).
    sections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    #: The file this came from; ``None`` for the embedded default.
    path: Path | None = None

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
    global _SOURCE_DIR
    _SOURCE_DIR = source.parent if source is not None else None
    doc = dict(doc)
    known = set(SECTIONS) | {"printers"}
    for key in doc:
        if key not in known:
            raise fail(key, f"unknown section (known: {', '.join(sorted(known))})")
    sections: dict[str, Any] = {}
    for name, parser in SECTIONS.items():
        sections[name] = parser(doc[name], name) if name in doc else SECTION_DEFAULTS[name]()
    barcodes: BarcodesConfig = sections["barcodes"]
    printers = []
    for i, t in enumerate(array_of_tables(doc.get("printers", []), "printers")):
        printers.append(parse_printer(t, f"printers[{i}]", barcodes))
    if not printers:
        raise fail("printers", "at least one [[printers]] is needed")
    names = [p.name for p in printers]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise fail(f"printers[{i}].name", f"duplicate printer name {n!r}")
    station: StationConfig = sections["station"]
    if station.default_printer and station.default_printer not in names:
        raise fail("station.default_printer", f"no printer named {station.default_printer!r}")
    for i, s in enumerate(sections["scanners"] or ()):
        if isinstance(s, ScannerConfig) and s.printer and s.printer not in names:
            raise fail(f"scanners[{i}].printer", f"no printer named {s.printer!r}")
    for i, r in enumerate(sections["rules"] or ()):
        rp = r.options.get("printer") if isinstance(r, RuleConfig) else None
        if rp is not None and rp not in names:
            raise fail(f"rules[{i}].printer", f"no printer named {rp!r} (configured: {', '.join(names)})")
    sections["printers"] = tuple(printers)
    return Config(
        station=station, api=sections["api"], printers=tuple(printers), barcodes=barcodes,
        hotfolder=sections["hotfolder"], scanners=sections["scanners"], rules=sections["rules"],
        markets=sections["markets"], sections=MappingProxyType(sections), path=source,
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


__all__ = [
    "ApiConfig", "BarcodesConfig", "Config", "DEFAULT_TOML", "HotfolderConfig", "PrinterConfig",
    "RuleConfig", "ScannerConfig", "SECTIONS", "StationConfig", "load", "loads", "parse",
    "register_section",
]

# Trigger sections (issue 6): [scan], [sync], and action names checked in [[rules]].
from .triggers import settings as _trigger_settings  # noqa: E402

_trigger_settings.register(register_section, SECTIONS)

# Webhook listener (issue 16): [webhooks], off unless listen is set.
from .face.webhook_settings import WebhookSettings as _WebhookSettings, parse_webhooks as _parse_webhooks  # noqa: E402

register_section("webhooks", _parse_webhooks, _WebhookSettings)
