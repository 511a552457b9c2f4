"""``printstation doctor`` for Ozon, Lamoda and the webhook listener (fake servers, real files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from printstation.face import doctor
from support.printer_sinks import RecordingSink
from support.fakes import FakeLamoda, FakeOzon

OL_ENV = ("PRINTSTATION_OZON_URL", "PRINTSTATION_OZON_CLIENT_ID", "PRINTSTATION_OZON_API_KEY",
          "PRINTSTATION_LAMODA_URL", "PRINTSTATION_LAMODA_CLIENT_ID", "PRINTSTATION_LAMODA_CLIENT_SECRET",
          "CREDENTIALS_DIRECTORY", "PRINTSTATION_WB_TOKEN", "PRINTSTATION_ALI_TOKEN")


@pytest.fixture
def parts(monkeypatch):
    for k in OL_ENV:
        monkeypatch.delenv(k, raising=False)
    with RecordingSink() as sink, FakeOzon() as oz, FakeLamoda() as lm:
        yield {"sink": sink, "oz": oz, "lm": lm}


def config(tmp_path: Path, parts, *, key: str | None = None, secret: str | None = "s" * 24,
           printer: str = "zebra") -> Path:
    (tmp_path / "ozon-api-key").write_text(key or parts["oz"].api_key)
    (tmp_path / "lamoda-client-secret").write_text(parts["lm"].client_secret)
    if secret is not None:
        (tmp_path / "hook.secret").write_text(secret)
    p = tmp_path / "ps.toml"
    p.write_text(f"""
[station]
data_dir = "{tmp_path / 'data'}"
[api]
listen = "127.0.0.1:0"
[[printers]]
name = "zebra"
uri = "{parts['sink'].uri}"
[markets.ozon]
base_url = "{parts['oz'].url}"
client_id = "{parts['oz'].client_id}"
[markets.lamoda]
base_url = "{parts['lm'].url}"
client_id = "{parts['lm'].client_id}"
printer = "{printer}"
[webhooks]
listen = "127.0.0.1:0"
secret_file = "hook.secret"
""")
    return p


def test_all_good(tmp_path, parts):
    checks = {c.name: c for c in doctor.run_checks(config(tmp_path, parts), timeout=2.0)}
    assert checks["token ozon"].ok and "credential ozon-api-key" in checks["token ozon"].detail
    assert checks["token lamoda"].ok and checks["webhooks"].ok, doctor.render(list(checks.values()))
    assert parts["oz"].calls_to("/v3/returns/company/fbs") and parts["lm"].calls_to("/auth/token")
    assert checks["token wb"].ok is None  # not configured: neither tick nor cross


def test_refused_key_missing_secret_unknown_printer(tmp_path, parts):
    bad = "wrong-ozon-key-" + "k" * 20
    # a secret_file that is not there: the config does not load (one row naming the key)
    checks = doctor.run_checks(config(tmp_path, parts, key=bad, secret=None, printer="nope"), timeout=2.0)
    assert [(x.name, x.ok) for x in checks] == [("config", False)]
    assert "webhooks.secret_file: cannot read" in checks[0].detail and "hook.secret" in checks[0].detail
    (tmp_path / "hook.secret").write_text("short")
    checks = doctor.run_checks(tmp_path / "ps.toml", timeout=2.0)
    assert [(x.name, x.ok) for x in checks] == [("config", False)]
    assert "webhooks.secret_file" in checks[0].detail and "16..256" in checks[0].detail
    assert "short" not in doctor.render(checks).replace("hook.secret", "")  # never the secret itself
    (tmp_path / "hook.secret").write_text("x" * 20)
    checks = doctor.run_checks(tmp_path / "ps.toml", timeout=2.0)
    c = {x.name: x for x in checks}
    table = doctor.render(checks)
    assert c["token ozon"].ok is False and "Ozon refused" in c["token ozon"].detail and c["token ozon"].hint
    assert c["webhooks"].ok is False and "'nope'" in c["webhooks"].detail and c["webhooks"].hint
    assert bad not in table and "x" * 20 not in table and doctor.exit_code(checks) != 0
