"""A database URL's secrets never show, whatever is wrong with the URL: a password holding a
raw ``%`` (libpq's own error quotes the bad token), a key passphrase in ``sslpassword=``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from printstation.pg import redact_url

SECRET = "s3cr%etPW"


@pytest.mark.parametrize("url", [
    f"postgresql://station:{SECRET}@127.0.0.1:1/warehouse",          # not valid percent-encoding
    f"postgresql://station@127.0.0.1:1/warehouse?password={SECRET}",
    "postgresql://station@127.0.0.1:1/warehouse?sslpassword=s3crPW&sslmode=require",
], ids=["raw-percent", "query-percent", "sslpassword"])
def test_db_check_never_shows_the_password(url, tmp_path):
    r = subprocess.run([sys.executable, "-m", "printstation", "db", "check", "--database", url],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "***" in out, out
    for secret in (SECRET, "s3cr", "etPW", "s3crPW"):
        assert secret not in out, out
    assert len(out.strip().splitlines()) == 1, out  # one line


def test_redact_url_masks_every_password_key():
    assert redact_url("postgresql://u@h/d?sslpassword=x1y2&password=z3") == "postgresql://u@h/d?sslpassword=***&password=***"
    assert redact_url("postgresql:///d?host=/run/pg&password=z3") == "postgresql:///d?host=/run/pg&password=***"


def test_a_url_the_driver_cannot_parse_is_reported_without_its_password():
    """The driver's own message quotes the bad token; the error (logged, shown by doctor, raised
    to a caller) is scrubbed before anyone sees it — not only where a log filter happens to
    mistake ``token: "…"`` for a credential."""
    from printstation.errors import UsageError
    from printstation.pg import Database

    with pytest.raises(UsageError) as ei:
        Database(f"postgresql://station:{SECRET}@127.0.0.1:1/warehouse")
    assert "percent" in str(ei.value) and SECRET not in str(ei.value) and "***" in str(ei.value)
