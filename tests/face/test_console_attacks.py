"""The console's login cookie against the real daemon, attacked: expiries written in digits of
other scripts are refused like any bad cookie (never a 500 and a traceback)."""

from __future__ import annotations

import pytest

from support.daemon_harness import running, write_config
from support.rawhttp import exchange, request

TOKEN = "s3cret-token-for-the-console-0123"


@pytest.fixture
def locked(tmp_path):
    """A station with an API token and one dir:// printer (nothing is printed here)."""
    (tmp_path / "token").write_text(TOKEN + "\n")
    printers = [{"name": "a", "uri": f"dir://{tmp_path / 'out'}", "status_poll": 0}]
    with running(write_config(tmp_path / "c.toml", tmp_path / "data", printers,
                              api={"token_file": str(tmp_path / "token"), "unix_socket": False})) as d:
        yield d.api.port


# '²', '³', '¹' are digits to str.isdigit() (the Cookie header is read as Latin-1) but not to int()
@pytest.mark.parametrize("expires", ["\u00b2\u00b3", "\u00b9", "1\u00b2", "\u0663\u0661", "\uff11"])
@pytest.mark.parametrize("path", ["/jobs", "/login", "/console/state"])
def test_a_cookie_expiry_in_other_digits_is_refused_never_500(locked, expires, path, caplog):
    port = locked
    cookie = f"ps_session=v1.{expires}.{'0' * 64}"
    if max(map(ord, cookie)) > 255:  # sent as its UTF-8 bytes (the server reads Latin-1)
        cookie = cookie.encode().decode("latin-1")
    status, _, answer = exchange(port, request("GET", path, [("Cookie", cookie)], host=f"127.0.0.1:{port}"))
    if path == "/login":
        assert status == 200 and answer == {"required": True, "ok": False}
    else:
        assert status == 401, answer
    assert "Traceback" not in caplog.text
