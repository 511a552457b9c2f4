"""``--api`` / ``$PRINTSTATION_API`` mistakes: a URL without ``http://`` is a usage error naming the
value (it said "cannot reach the printstation daemon … is it running?" although the daemon ran),
and a password in the URL never appears in an error."""

from __future__ import annotations

import pytest

from printstation.face.cli import main


@pytest.mark.parametrize("api", ["127.0.0.1:8631", "localhost", "ftp://127.0.0.1:8631", "http://", "http://[::1"])
def test_api_without_a_usable_url_is_a_usage_error(api, capsys):
    assert main(["printers", "--api", api]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach" not in err[0], err
    assert err[0].startswith("printstation: error: bad API URL") and "http://127.0.0.1:8631" in err[0], err


def test_api_from_the_environment_is_checked_too(capsys, monkeypatch):
    monkeypatch.setenv("PRINTSTATION_API", "127.0.0.1:8631")
    assert main(["jobs"]) == 2
    assert "PRINTSTATION_API" in capsys.readouterr().err


def test_password_in_the_api_url_is_never_shown(capsys):
    assert main(["printers", "--api", "http://admin:hunter2pass@127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and "hunter2pass" not in err and "127.0.0.1:9" in err, err
