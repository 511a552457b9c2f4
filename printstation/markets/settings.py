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

Tokens, first found wins: the config's ``token_file``; env ``PRINTSTATION_WB_TOKEN`` /
``PRINTSTATION_ALI_TOKEN``; ``$CREDENTIALS_DIRECTORY/wb-token`` / ``ali-token`` (systemd
``LoadCredential=``). Base URL: the config's ``base_url``, else env ``PRINTSTATION_WB_URL`` /
``PRINTSTATION_ALI_URL``, else the marketplace default.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..errors import AuthError, ConfigError
from . import aliexpress, wb
from .base import RetryPolicy, Secret

MARKETS = ("wb", "ali")
DEFAULT_URLS = {"wb": wb.DEFAULT_URL, "ali": aliexpress.DEFAULT_URL}
DEFAULT_LIMITS = {"wb": (wb.DEFAULT_RATE_PER_MIN, wb.DEFAULT_BURST),
                  "ali": (aliexpress.DEFAULT_RATE_PER_MIN, aliexpress.DEFAULT_BURST)}
ENV = {"wb": ("PRINTSTATION_WB_URL", "PRINTSTATION_WB_TOKEN"),
       "ali": ("PRINTSTATION_ALI_URL", "PRINTSTATION_ALI_TOKEN")}
CRED_FILES = {"wb": "wb-token", "ali": "ali-token"}

_COMMON_KEYS = {"base_url", "token_file", "rate_per_min", "burst", "timeout", "retries"}
KEYS = {"wb": _COMMON_KEYS | {"auth_scheme"}, "ali": _COMMON_KEYS | {"max_pdf_mb"}}


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

    @classmethod
    def default(cls, name: str) -> "MarketSettings":
        rate, burst = DEFAULT_LIMITS[name]
        return cls(name=name, rate_per_min=rate, burst=burst)


@dataclass(frozen=True)
class MarketsSettings:
    wb: MarketSettings = field(default_factory=lambda: MarketSettings.default("wb"))
    ali: MarketSettings = field(default_factory=lambda: MarketSettings.default("ali"))

    def __getitem__(self, name: str) -> MarketSettings:
        return getattr(self, name)


@dataclass(frozen=True)
class Credentials:
    """Where to call and with which token (the token never shows in a repr)."""

    market: str
    base_url: str
    token: Secret
    source: str


def _number(v: Any, where: str, *, integer: bool = False, minimum: float = 0, strict: bool = True) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise ConfigError(f"{where}: expected {'an integer' if integer else 'a number'}, got {v!r}")
    if isinstance(v, float) and not math.isfinite(v):
        raise ConfigError(f"{where}: expected a finite number, got {v!r}")
    if (v <= minimum) if strict else (v < minimum):
        raise ConfigError(f"{where}: must be {'>' if strict else '≥'} {minimum:g}, got {v!r}")
    return v


def _url(v: Any, where: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{where}: expected a URL string")
    parts = urlsplit(v.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}: expected an http(s) URL, got {v!r}")
    if parts.username or parts.password:
        raise ConfigError(f"{where}: credentials in the URL are not allowed")
    return v.strip().rstrip("/")


def parse_market(name: str, table: Any, path: str, base_dir: Path | None = None) -> MarketSettings:
    where = f"{path}.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    if "token" in table:
        env_tok = ENV[name][1]
        raise ConfigError(f"{where}.token: tokens are not allowed in the config file; use token_file, "
                          f"env {env_tok} or $CREDENTIALS_DIRECTORY/{CRED_FILES[name]}")
    unknown = sorted(set(table) - KEYS[name])
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(sorted(KEYS[name]))})")
    s = MarketSettings.default(name)
    kw: dict[str, Any] = {}
    if "base_url" in table:
        kw["base_url"] = _url(table["base_url"], f"{where}.base_url")
    if "token_file" in table:
        v = table["token_file"]
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{where}.token_file: expected a file path")
        p = Path(v).expanduser()
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        kw["token_file"] = p
    if "auth_scheme" in table:
        v = table["auth_scheme"]
        if v not in ("raw", "bearer"):
            raise ConfigError(f"{where}.auth_scheme: expected \"raw\" or \"bearer\", got {v!r}")
        kw["auth_scheme"] = v
    if "rate_per_min" in table:
        kw["rate_per_min"] = float(_number(table["rate_per_min"], f"{where}.rate_per_min"))
    if "burst" in table:
        kw["burst"] = _number(table["burst"], f"{where}.burst", integer=True)
    if "timeout" in table:
        kw["timeout"] = float(_number(table["timeout"], f"{where}.timeout"))
    if "retries" in table:
        kw["retries"] = _number(table["retries"], f"{where}.retries", integer=True, strict=False)
        if kw["retries"] > 20:
            raise ConfigError(f"{where}.retries: at most 20, got {kw['retries']}")
    if "max_pdf_mb" in table:
        kw["max_pdf_mb"] = float(_number(table["max_pdf_mb"], f"{where}.max_pdf_mb"))
    return MarketSettings(**{**s.__dict__, **kw})


def parse_markets(table: dict, path: str = "markets", base_dir: Path | None = None) -> MarketsSettings:
    """Validate the ``[markets]`` table; :class:`ConfigError` names the key path of any problem.

    ``base_dir`` (the config file's directory) anchors relative ``token_file`` paths.
    """
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: expected a table")
    unknown = sorted(set(table) - set(MARKETS))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown marketplace (known: wb, ali)")
    return MarketsSettings(**{name: parse_market(name, table[name], path, base_dir)
                              for name in MARKETS if name in table})


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
        text = p.read_text(encoding="utf-8")
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
    """Base URL and token for ``market`` ("wb" or "ali"); :class:`AuthError` when no token is found."""
    if market not in MARKETS:
        raise ValueError(f"unknown market {market!r}")
    if isinstance(settings, MarketsSettings):
        settings = settings[market]
    s = settings or MarketSettings.default(market)
    env = os.environ if env is None else env
    url_var, tok_var = ENV[market]
    base_url = s.base_url or (_url(env[url_var], f"env {url_var}") if env.get(url_var) else DEFAULT_URLS[market])
    if s.token_file is not None:
        return Credentials(market, base_url, _read_token(s.token_file, f"markets.{market}.token_file"),
                           f"token_file {s.token_file}")
    if env.get(tok_var, "").strip():
        return Credentials(market, base_url, Secret(env[tok_var]), f"env {tok_var}")
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    if cred_dir:
        p = Path(cred_dir) / CRED_FILES[market]
        if p.exists():
            return Credentials(market, base_url, _read_token(p, "$CREDENTIALS_DIRECTORY"),
                               f"credential {CRED_FILES[market]}")
    raise AuthError(f"no {market.upper()} token: set token_file in [markets.{market}], env {tok_var}, "
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


__all__ = ["MarketSettings", "MarketsSettings", "Credentials", "parse_markets", "load_config",
           "resolve_credentials", "wb_client", "ali_client"]
