"""``[webhooks]`` of the station config: the listener's settings
(:class:`printstation.triggers.webhooks.WebhookSettings`), parsed by the face, which owns the
station config (a listen address is parsed like ``[api] listen``; a relative ``secret_file`` is
anchored at the config file's directory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..triggers.webhooks import WebhookSettings

KEYS = {"listen", "secret_file", "max_body_kb", "read_timeout_s"}


def parse_webhooks(value: Any, path: str = "webhooks") -> WebhookSettings:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a table")
    for k in value:
        if k not in KEYS:
            raise ConfigError(f"{path}.{k}: unknown key (known: {', '.join(sorted(KEYS))})")
    if "secret" in value:
        raise ConfigError(f"{path}.secret: the secret is not allowed in the config file; use secret_file")
    listen = None
    if value.get("listen") not in (None, "", False):
        from ..config import parse_listen

        if not isinstance(value["listen"], str):
            raise ConfigError(f"{path}.listen: expected \"HOST:PORT\"")
        listen = parse_listen(value["listen"], f"{path}.listen")
    secret_file = None
    if "secret_file" in value:
        v = value["secret_file"]
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{path}.secret_file: expected a file path")
        secret_file = Path(v).expanduser()
        if not secret_file.is_absolute():
            from .. import config

            base = getattr(config, "_SOURCE_DIR", None)
            if base is not None:
                secret_file = base / secret_file
    kb = value.get("max_body_kb", 256)
    if isinstance(kb, bool) or not isinstance(kb, int) or not 1 <= kb <= 4096:
        raise ConfigError(f"{path}.max_body_kb: expected an integer 1..4096, got {kb!r}")
    to = value.get("read_timeout_s", 10.0)
    if isinstance(to, bool) or not isinstance(to, (int, float)) or not 0.5 <= to <= 300:
        raise ConfigError(f"{path}.read_timeout_s: expected a number 0.5..300, got {to!r}")
    return WebhookSettings(listen, secret_file, kb, float(to))


__all__ = ["KEYS", "WebhookSettings", "parse_webhooks"]
