"""``[webhooks]`` of the station config: the listener's settings
(:class:`printstation.triggers.webhooks.WebhookSettings`), parsed by the face, which owns the station config
(a listen address is parsed like ``[api] listen``; a relative ``secret_file`` is anchored at the
config file's directory). Off unless ``listen`` is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..schema import Annotated, Section, between, convert, expect, fail, join, parse_listen
from ..triggers.webhooks import CRED_NAME, WebhookSettings, secret_from, secret_path


class WebhooksTable(Section, frozen=True):
    listen: Annotated[str | bool, expect('"HOST:PORT"')] = ""
    secret_file: Annotated[str, expect("a file path")] | None = None
    max_body_kb: Annotated[int, between(1, 4096)] = 256
    read_timeout_s: Annotated[float, between(0.5, 300)] = 10.0


KEYS = frozenset(WebhooksTable.__struct_fields__)


def parse_webhooks(value: Any, path: str = "webhooks", base_dir: Path | None = None) -> WebhookSettings:
    """``[webhooks]``; a relative ``secret_file`` is relative to ``base_dir`` (the config's folder)."""
    if isinstance(value, dict) and "secret" in value:
        raise fail(join(path, "secret"), "the secret is not allowed in the config file; use secret_file")
    t = convert(value, WebhooksTable, path)
    if t.listen is True:
        raise fail(join(path, "listen"), 'expected "HOST:PORT", got true')
    listen = parse_listen(t.listen, join(path, "listen")) if isinstance(t.listen, str) and t.listen else None
    secret_file = None
    if t.secret_file is not None:
        if not t.secret_file.strip():
            raise fail(join(path, "secret_file"), "expected a file path")
        secret_file = Path(t.secret_file).expanduser()
        if not secret_file.is_absolute() and base_dir is not None:
            secret_file = base_dir / secret_file
        secret_from(secret_file, join(path, "secret_file"))  # read at start: refused now, not then
    return WebhookSettings(listen, secret_file, t.max_body_kb, t.read_timeout_s)


def webhook_warnings(settings: WebhookSettings, env: Mapping[str, str] | None = None,
                     path: str = "webhooks") -> list[str]:
    """A listener with no secret anywhere does not start: a warning line (the service may get the
    secret as a credential that a check run by hand does not see). A ``$CREDENTIALS_DIRECTORY``
    secret that is there is checked like ``secret_file``."""
    if not settings.enabled or settings.secret_file is not None:
        return []
    p = secret_path(settings, env)
    if p is None:
        return [f"{join(path, 'listen')}: no secret_file and no $CREDENTIALS_DIRECTORY/{CRED_NAME}: "
                "the webhook listener will not start"]
    secret_from(p, join(path, "secret_file"))
    return []


__all__ = ["KEYS", "WebhookSettings", "parse_webhooks", "webhook_warnings"]
