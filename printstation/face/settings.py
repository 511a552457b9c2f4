"""The face's own settings: ``[api]`` (the control API: address, token, access and limits)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..schema import Annotated, Section, between, convert, fail, is_loopback, join, parse_listen, read_key_file

DEFAULT_PORT = 8631
_HOST_ENTRY = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")
_ORIGIN_ENTRY = re.compile(r"https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")


class ApiTable(Section, frozen=True):
    listen: str = f"127.0.0.1:{DEFAULT_PORT}"
    token_file: str | None = None
    unix_socket: bool = True
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    read_timeout: Annotated[float, between(0.1, 3600)] = 10.0
    idle_timeout: Annotated[float, between(0.1, 3600)] = 5.0
    max_connections: Annotated[int, between(1, 4096)] = 256
    max_body_mb: Annotated[float, between(0.001, 64)] = 32


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


def _entries(values: tuple[str, ...], path: str, rx: re.Pattern[str], what: str) -> tuple[str, ...]:
    for x in values:
        m = rx.fullmatch(x)
        # a port the API could never match would leave the entry silently unused
        if not m or (m.group(2) and not 0 < int(m.group(2)[1:]) < 65536):
            raise fail(path, f"bad entry {x!r} ({what})")
    return values


def _read_token(token_file: str, path: str) -> str:
    token = read_key_file(token_file, path, 64 * 1024).strip()
    if len(token) < 16:
        raise fail(path, f"the token in {token_file} is too short (at least 16 characters)")
    if not (token.isascii() and token.isprintable()):  # (the message never shows it)
        raise fail(path, f"the token in {token_file} must be printable ASCII (it is sent in an HTTP "
                         "header: Authorization: Bearer …)")
    from ..logs import register_secret

    register_secret(token)
    return token


def parse_api(value: Any, path: str = "api") -> ApiConfig:
    t = convert(value, ApiTable, path)
    host, port = parse_listen(t.listen, join(path, "listen"))
    token = _read_token(t.token_file, join(path, "token_file")) if t.token_file else None
    if not is_loopback(host) and not token:
        raise fail(join(path, "listen"), f"refusing non-loopback address {host}:{port} without an API token "
                   "(set api.token_file)")
    hosts = _entries(t.allowed_hosts, join(path, "allowed_hosts"), _HOST_ENTRY, "a host name, optionally :port")
    origins = _entries(t.allowed_origins, join(path, "allowed_origins"), _ORIGIN_ENTRY,
                       "scheme://host[:port], e.g. http://printstation.local:8631")
    return ApiConfig(host, port, Path(t.token_file) if t.token_file else None, token, t.unix_socket,
                     allowed_hosts=hosts, allowed_origins=origins, read_timeout=t.read_timeout,
                     idle_timeout=t.idle_timeout, max_connections=t.max_connections, max_body_mb=t.max_body_mb)


__all__ = ["ApiConfig", "DEFAULT_PORT", "parse_api"]
