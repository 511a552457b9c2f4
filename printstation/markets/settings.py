"""``[markets.wb]`` / ``[markets.ali]`` config tables and where tokens come from.

Config keys (all optional)::

    [markets.wb]
    base_url = "https://marketplace-api.wildberries.ru"
    token_file = "/etc/printstation/wb-token"   # the token itself is never allowed in the config
    auth_scheme = "raw"        # raw | bearer
    rate_per_min = 300         # client-side bucket (base/test tokens: 150)
    burst = 20                 # (base/test tokens: 10)
    timeout = 30               # seconds per call
    retries = 4                # extra tries after 5xx / timeouts / dropped connections

    [markets.ali]
    base_url = "https://openapi.ru.laliexpress.com"
    token_file = "/etc/printstation/ali-token"
    rate_per_min = 120
    burst = 10
    timeout = 30
    retries = 4
    max_pdf_mb = 20            # label PDFs larger than this are refused

    [markets.ozon]
    base_url = "https://api-seller.ozon.ru"
    client_id = "123456"       # Client-Id (not a secret); or env PRINTSTATION_OZON_CLIENT_ID
    api_key_file = "/etc/printstation/ozon-api-key"
    rate_per_min = 60
    burst = 5
    timeout = 30
    retries = 4
    max_pdf_mb = 20

    [markets.lamoda]
    base_url = "https://api-b2b.lamoda.ru"
    client_id = "…"            # or env PRINTSTATION_LAMODA_CLIENT_ID
    client_secret_file = "/etc/printstation/lamoda-client-secret"
    rate_per_min = 60
    burst = 5
    timeout = 30
    retries = 4
    max_pdf_mb = 20
    print_on_status = ["confirmed"]   # webhook statusChanged → pack labels queued …
    printer = "zebra"                 # … on this printer (default: the default printer)

Tokens, first found wins: the config's ``token_file``; env ``PRINTSTATION_WB_TOKEN`` /
``PRINTSTATION_ALI_TOKEN``; ``$CREDENTIALS_DIRECTORY/wb-token`` / ``ali-token`` (systemd
``LoadCredential=``). Ozon's API key: ``api_key_file``, env ``PRINTSTATION_OZON_API_KEY``,
``$CREDENTIALS_DIRECTORY/ozon-api-key``; Lamoda's client secret: ``client_secret_file``, env
``PRINTSTATION_LAMODA_CLIENT_SECRET``, ``$CREDENTIALS_DIRECTORY/lamoda-client-secret``; their
client ids: ``client_id`` or env ``PRINTSTATION_OZON_CLIENT_ID`` / ``PRINTSTATION_LAMODA_CLIENT_ID``. Base URL: the config's ``base_url``, else env ``PRINTSTATION_WB_URL`` /
``PRINTSTATION_ALI_URL``, else the marketplace default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..errors import AuthError, ConfigError
from ..fsutil import read_regular
from ..schema import Annotated, Meta, Section, between, convert, expect, kind, one_of, positive, read_key_file
from . import aliexpress, lamoda, ozon, wb
from .base import RetryPolicy, Secret

MARKETS = ("wb", "ali", "ozon", "lamoda")
DEFAULT_URLS = {"wb": wb.DEFAULT_URL, "ali": aliexpress.DEFAULT_URL, "ozon": ozon.DEFAULT_URL,
                "lamoda": lamoda.DEFAULT_URL}
DEFAULT_LIMITS = {"wb": (wb.DEFAULT_RATE_PER_MIN, wb.DEFAULT_BURST),
                  "ali": (aliexpress.DEFAULT_RATE_PER_MIN, aliexpress.DEFAULT_BURST),
                  "ozon": (ozon.DEFAULT_RATE_PER_MIN, ozon.DEFAULT_BURST),
                  "lamoda": (lamoda.DEFAULT_RATE_PER_MIN, lamoda.DEFAULT_BURST)}
ENV = {"wb": ("PRINTSTATION_WB_URL", "PRINTSTATION_WB_TOKEN"),
       "ali": ("PRINTSTATION_ALI_URL", "PRINTSTATION_ALI_TOKEN"),
       "ozon": ("PRINTSTATION_OZON_URL", "PRINTSTATION_OZON_API_KEY"),
       "lamoda": ("PRINTSTATION_LAMODA_URL", "PRINTSTATION_LAMODA_CLIENT_SECRET")}
CRED_FILES = {"wb": "wb-token", "ali": "ali-token", "ozon": "ozon-api-key", "lamoda": "lamoda-client-secret"}
#: Markets that also need a client id (config ``client_id`` or this env variable).
CLIENT_ID_ENV = {"ozon": "PRINTSTATION_OZON_CLIENT_ID", "lamoda": "PRINTSTATION_LAMODA_CLIENT_ID"}
#: The config key naming the file that holds the market's secret.
SECRET_FILE_KEY = {"wb": "token_file", "ali": "token_file", "ozon": "api_key_file",
                   "lamoda": "client_secret_file"}
#: What the secret is called in messages.
SECRET_NAME = {"wb": "token", "ali": "token", "ozon": "API key", "lamoda": "client secret"}
#: Keys that would put a secret in the config file: refused.
_INLINE_SECRETS = ("token", "api_key", "client_secret")
#: Largest token / API key / client secret file read (a JWT is a few KiB).
TOKEN_FILE_LIMIT = 64 * 1024


@dataclass(frozen=True)
class MarketSettings:
    """One marketplace's settings (no token: see :func:`resolve_credentials`)."""

    name: str
    base_url: str | None = None
    token_file: Path | None = None
    auth_scheme: str = "raw"
    rate_per_min: float = 300
    burst: int = 20
    timeout: float = 30.0
    retries: int = 4
    max_pdf_mb: float = 20.0
    client_id: str | None = None  # Ozon / Lamoda
    print_on_status: tuple[str, ...] = ()  # Lamoda webhook: statuses that queue pack labels
    printer: str | None = None  # Lamoda webhook: where they print

    @classmethod
    def default(cls, name: str) -> "MarketSettings":
        rate, burst = DEFAULT_LIMITS[name]
        return cls(name=name, rate_per_min=rate, burst=burst)


@dataclass(frozen=True)
class MarketsSettings:
    wb: MarketSettings = field(default_factory=lambda: MarketSettings.default("wb"))
    ali: MarketSettings = field(default_factory=lambda: MarketSettings.default("ali"))
    ozon: MarketSettings = field(default_factory=lambda: MarketSettings.default("ozon"))
    lamoda: MarketSettings = field(default_factory=lambda: MarketSettings.default("lamoda"))

    def __getitem__(self, name: str) -> MarketSettings:
        return getattr(self, name)


@dataclass(frozen=True)
class Credentials:
    """Where to call and with which token (the token never shows in a repr)."""

    market: str
    base_url: str
    token: Secret
    source: str
    client_id: str = ""  # Ozon / Lamoda


class _MarketTable(Section, frozen=True):
    base_url: Annotated[str, expect("a URL string")] | None = None
    rate_per_min: Annotated[float, positive()] | None = None
    burst: Annotated[int, Meta(gt=0)] | None = None
    timeout: Annotated[float, positive()] | None = None
    retries: Annotated[int, between(0, 20)] | None = None


class _WbTable(_MarketTable, frozen=True):
    token_file: Annotated[str, expect("a file path")] | None = None
    auth_scheme: Annotated[str, one_of("raw", "bearer")] | None = None


class _AliTable(_MarketTable, frozen=True):
    token_file: Annotated[str, expect("a file path")] | None = None
    max_pdf_mb: Annotated[float, positive()] | None = None


class _OlTable(_MarketTable, frozen=True):
    """Ozon / Lamoda: a client id plus a secret."""

    client_id: Annotated[str | int, expect("the client id as a string")] | None = None
    max_pdf_mb: Annotated[float, positive()] | None = None


class _OzonTable(_OlTable, frozen=True):
    api_key_file: Annotated[str, expect("a file path")] | None = None


class _LamodaTable(_OlTable, frozen=True):
    client_secret_file: Annotated[str, expect("a file path")] | None = None
    print_on_status: Annotated[str | list[str], expect("a list of status names")] | None = None
    printer: Annotated[str, expect("a printer name")] | None = None


_TABLES: dict[str, type[_MarketTable]] = {"wb": _WbTable, "ali": _AliTable, "ozon": _OzonTable, "lamoda": _LamodaTable}
KEYS = {name: frozenset(t.__struct_fields__) for name, t in _TABLES.items()}
_PLAIN = ("auth_scheme", "rate_per_min", "burst", "timeout", "retries", "max_pdf_mb")


def _url(v: str, where: str) -> str:
    parts = urlsplit(v.strip())
    if not v.strip():
        raise ConfigError(f"{where}: expected a URL string")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}: expected an http(s) URL, got {v!r}")
    if parts.username or parts.password:
        raise ConfigError(f"{where}: credentials in the URL are not allowed")
    return v.strip().rstrip("/")


def parse_market(name: str, table: Any, path: str, base_dir: Path | None = None) -> MarketSettings:
    where = f"{path}.{name}"
    for inline in _INLINE_SECRETS:
        if isinstance(table, dict) and inline in table:
            env_tok = ENV[name][1]
            raise ConfigError(f"{where}.{inline}: {SECRET_NAME[name]}s are not allowed in the config file; use "
                              f"{SECRET_FILE_KEY[name]}, env {env_tok} or $CREDENTIALS_DIRECTORY/{CRED_FILES[name]}")
    t = convert(table, _TABLES[name], where)
    kw = {k: getattr(t, k) for k in _PLAIN if getattr(t, k, None) is not None}
    if t.base_url is not None:
        kw["base_url"] = _url(t.base_url, f"{where}.base_url")
    file_key = SECRET_FILE_KEY[name]
    secret_file = getattr(t, file_key, None)
    if secret_file is not None:
        if not secret_file.strip():
            raise ConfigError(f"{where}.{file_key}: expected a file path")
        p = Path(secret_file).expanduser()
        kw["token_file"] = base_dir / p if not p.is_absolute() and base_dir is not None else p
    if isinstance(t, _OlTable):
        kw.update(_parse_ol(t, where))
    return dataclasses.replace(MarketSettings.default(name), **kw)


def _parse_ol(t: _OlTable, where: str) -> dict[str, Any]:
    """Ozon / Lamoda keys: ``client_id``, and Lamoda's ``print_on_status`` and ``printer``."""
    kw: dict[str, Any] = {}
    if t.client_id is not None:
        v = str(t.client_id).strip()
        if not v or len(v) > 128:
            raise ConfigError(f"{where}.client_id: expected the client id as a string")
        kw["client_id"] = v
    if isinstance(t, _LamodaTable) and t.print_on_status is not None:
        v2 = [t.print_on_status] if isinstance(t.print_on_status, str) else t.print_on_status
        if not all(x.strip() for x in v2):
            raise ConfigError(f"{where}.print_on_status: expected a list of status names")
        kw["print_on_status"] = tuple(x.strip() for x in v2)
    if isinstance(t, _LamodaTable) and t.printer is not None:
        if not t.printer.strip():
            raise ConfigError(f"{where}.printer: expected a printer name")
        kw["printer"] = t.printer.strip()
    return kw


def parse_markets(table: Any, path: str = "markets", base_dir: Path | None = None) -> MarketsSettings:
    """Validate the ``[markets]`` table; :class:`ConfigError` names the key path of any problem.

    ``base_dir`` (the config file's directory) anchors relative ``token_file`` paths.
    """
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a table, got {kind(table)}")
    unknown = sorted(set(table) - set(MARKETS))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown marketplace (known: {', '.join(MARKETS)})")
    return MarketsSettings(**{name: parse_market(name, table[name], path, base_dir)
                              for name in MARKETS if name in table})


def token_warnings(settings: MarketsSettings, path: str = "markets") -> list[str]:
    """A configured token file that is missing, unreadable (a FIFO, device or directory is not
    read, at most 64 KiB, UTF-8) or empty (as :class:`Secret` reads it: a bare ``Bearer`` is
    empty) keeps its marketplace off — the station still prints from its hot folder, scanners
    and API: one warning line each, naming the file, never its contents."""
    out = []
    for name in MARKETS:
        f = settings[name].token_file
        if f is None:
            continue
        key = f"{path}.{name}.{SECRET_FILE_KEY[name]}"
        try:
            text = read_key_file(f, key, TOKEN_FILE_LIMIT)
        except ConfigError as exc:
            out.append(f"{exc}: the {name} marketplace stays off")
            continue
        if not Secret(text):
            out.append(f"{key}: {f} is empty: the {name} marketplace stays off")
    return out


def load_config(config_file: str | os.PathLike | None) -> tuple[MarketsSettings, Path | None]:
    """Markets settings and ``[station] data_dir`` from a TOML file (other sections untouched)."""
    if not config_file:
        return MarketsSettings(), None
    p = Path(config_file)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    settings = parse_markets(doc.get("markets", {}), "markets", base_dir=p.parent)
    data_dir = None
    station = doc.get("station")
    if isinstance(station, dict) and "data_dir" in station:
        v = station["data_dir"]
        if not isinstance(v, str) or not v:
            raise ConfigError("station.data_dir: expected a directory path")
        data_dir = Path(v).expanduser()
        if not data_dir.is_absolute():
            data_dir = p.parent / data_dir
    return settings, data_dir


def _read_token(p: Path, what: str) -> Secret:
    try:
        text = read_regular(p, TOKEN_FILE_LIMIT, follow=True).decode("utf-8")
    except FileNotFoundError:
        raise AuthError(f"{what}: token file {p} does not exist") from None
    except OSError as exc:
        raise AuthError(f"{what}: cannot read token file {p}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise AuthError(f"{what}: token file {p} is not text") from None
    tok = Secret(text)
    if not tok:
        raise AuthError(f"{what}: token file {p} is empty")
    return tok


def resolve_credentials(market: str, settings: MarketSettings | MarketsSettings | None = None,
                        env: Mapping[str, str] | None = None) -> Credentials:
    """Base URL and token (and client id) for ``market``; :class:`AuthError` when one is missing."""
    if market not in MARKETS:
        raise ValueError(f"unknown market {market!r}")
    if isinstance(settings, MarketsSettings):
        settings = settings[market]
    s = settings or MarketSettings.default(market)
    env = os.environ if env is None else env
    url_var, tok_var = ENV[market]
    base_url = s.base_url or (_url(env[url_var], f"env {url_var}") if env.get(url_var) else DEFAULT_URLS[market])
    client_id = ""
    if market in CLIENT_ID_ENV:
        id_var = CLIENT_ID_ENV[market]
        client_id = s.client_id or env.get(id_var, "").strip()
        if not client_id:
            raise AuthError(f"no {market.upper()} client id: set client_id in [markets.{market}] or env {id_var}")
    file_key = SECRET_FILE_KEY[market]
    if s.token_file is not None:
        return Credentials(market, base_url, _read_token(s.token_file, f"markets.{market}.{file_key}"),
                           f"{file_key} {s.token_file}", client_id)
    if env.get(tok_var, "").strip():
        return Credentials(market, base_url, Secret(env[tok_var]), f"env {tok_var}", client_id)
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        p = Path(cred_dir) / CRED_FILES[market]
        if p.exists():
            return Credentials(market, base_url, _read_token(p, "$CREDENTIALS_DIRECTORY"),
                               f"credential {CRED_FILES[market]}", client_id)
    raise AuthError(f"no {market.upper()} {SECRET_NAME[market]}: set {file_key} in [markets.{market}], env {tok_var}, "
                    f"or provide $CREDENTIALS_DIRECTORY/{CRED_FILES[market]}")


def wb_client(settings: MarketsSettings | MarketSettings | None = None, env: Mapping[str, str] | None = None,
              **kw: Any) -> wb.WBClient:
    s = settings.wb if isinstance(settings, MarketsSettings) else (settings or MarketSettings.default("wb"))
    c = resolve_credentials("wb", s, env)
    return wb.WBClient(c.base_url, c.token, auth_scheme=s.auth_scheme, rate_per_min=s.rate_per_min,
                       burst=s.burst, timeout=s.timeout, retry=RetryPolicy(retries=s.retries), **kw)


def ali_client(settings: MarketsSettings | MarketSettings | None = None, env: Mapping[str, str] | None = None,
               **kw: Any) -> aliexpress.AliClient:
    s = settings.ali if isinstance(settings, MarketsSettings) else (settings or MarketSettings.default("ali"))
    c = resolve_credentials("ali", s, env)
    return aliexpress.AliClient(c.base_url, c.token, rate_per_min=s.rate_per_min, burst=s.burst,
                                timeout=s.timeout, retry=RetryPolicy(retries=s.retries),
                                max_pdf_bytes=int(s.max_pdf_mb * 1024 * 1024), **kw)


def _client_id_client(market: str, cls: Any, settings: MarketsSettings | MarketSettings | None,
                      env: Mapping[str, str] | None, kw: dict[str, Any]) -> Any:
    """An Ozon / Lamoda client: a client id plus a secret."""
    s = settings[market] if isinstance(settings, MarketsSettings) else (settings or MarketSettings.default(market))
    c = resolve_credentials(market, s, env)
    return cls(c.base_url, c.token, client_id=c.client_id, rate_per_min=s.rate_per_min, burst=s.burst,
               timeout=s.timeout, retry=RetryPolicy(retries=s.retries),
               max_pdf_bytes=int(s.max_pdf_mb * 1024 * 1024), **kw)


def ozon_client(settings: MarketsSettings | MarketSettings | None = None, env: Mapping[str, str] | None = None,
                **kw: Any) -> ozon.OzonClient:
    return _client_id_client("ozon", ozon.OzonClient, settings, env, kw)


def lamoda_client(settings: MarketsSettings | MarketSettings | None = None, env: Mapping[str, str] | None = None,
                  **kw: Any) -> lamoda.LamodaClient:
    return _client_id_client("lamoda", lamoda.LamodaClient, settings, env, kw)


__all__ = ["MarketSettings", "MarketsSettings", "Credentials", "parse_markets", "load_config",
           "resolve_credentials", "token_warnings", "wb_client", "ali_client", "ozon_client", "lamoda_client"]
