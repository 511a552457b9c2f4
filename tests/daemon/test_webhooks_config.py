"""``[webhooks]``: parsed with the rest of the config, off by default, every key in the example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from printstation.face import config
from printstation.errors import ConfigError
from printstation.face.webhook_settings import KEYS
from printstation.triggers.webhooks import WebhookSettings, read_secret

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "printstation.example.toml"
BASE = '[[printers]]\nname = "p"\nuri = "dir:///tmp/x"\n'


def test_off_by_default_and_parsed(tmp_path):
    (tmp_path / "s.txt").write_text("a-good-secret-of-24-char")
    assert config.loads(BASE).sections["webhooks"] == WebhookSettings()
    assert not WebhookSettings().enabled
    c = config.loads(BASE + '[webhooks]\nlisten = "0.0.0.0:8632"\nsecret_file = "s.txt"\nmax_body_kb = 8\n',
                     source=tmp_path / "ps.toml")
    w = c.sections["webhooks"]
    assert w.enabled and w.listen == ("0.0.0.0", 8632) and w.secret_file == tmp_path / "s.txt" and w.max_body_kb == 8


@pytest.mark.parametrize("body,where", [
    ('listen = "nope"', "webhooks.listen"),
    ('secret = "x"', "webhooks.secret"),
    ("max_body_kb = 0", "webhooks.max_body_kb"),
    ("read_timeout_s = 0", "webhooks.read_timeout_s"),
    ("port = 1", "webhooks.port"),
])
def test_bad_keys_are_named(body, where):
    with pytest.raises(ConfigError, match=re.escape(where)):
        config.loads(BASE + "[webhooks]\n" + body + "\n")


def test_secret_file_rules(tmp_path):
    s = WebhookSettings(listen=("127.0.0.1", 0), secret_file=tmp_path / "s")
    with pytest.raises(ConfigError, match="cannot read"):
        read_secret(s, env={})
    (tmp_path / "s").write_text("with space in it and long enough")
    with pytest.raises(ConfigError, match="URL-safe"):
        read_secret(s, env={})
    (tmp_path / "s").write_text("a" * 5000)
    with pytest.raises(ConfigError, match="16..256"):
        read_secret(s, env={})
    (tmp_path / "s").write_text("Good_secret-123.abc~\n")
    assert read_secret(s, env={}) == "Good_secret-123.abc~"
    (tmp_path / "webhook-secret").write_text("from-credentials-dir-123")
    assert read_secret(WebhookSettings(listen=("127.0.0.1", 0)), env={"CREDENTIALS_DIRECTORY": str(tmp_path)}) \
        == "from-credentials-dir-123"
    with pytest.raises(ConfigError, match="no secret"):
        read_secret(WebhookSettings(listen=("127.0.0.1", 0)), env={})


def test_every_key_in_the_example():
    text = EXAMPLE.read_text(encoding="utf-8")
    section = text.split("[webhooks]", 1)[1]
    shown = set(re.findall(r"^\s*#?\s*([a-z_]+)\s*=", section, re.M))
    assert KEYS <= shown
    assert "ozon_return" in text
