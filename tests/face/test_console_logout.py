"""``POST /logout`` ends the console session for every copy of its cookie, against the real daemon:
the copy an attacker took stops working at once and after a restart; other sessions go on."""

from __future__ import annotations

import json
import stat

from printstation.face import sessions
from support.daemon_harness import running, write_config
from support.rawhttp import exchange, request

TOKEN = "s3cret-token-for-the-logout-test-0123"


def _config(tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    printers = [{"name": "a", "uri": f"dir://{tmp_path / 'out'}", "status_poll": 0}]
    return write_config(tmp_path / "c.toml", tmp_path / "data", printers,
                        api={"token_file": str(tmp_path / "token"), "unix_socket": False})


def _login(port: int) -> str:
    body = json.dumps({"token": TOKEN}).encode()
    status, headers, _ = exchange(port, request("POST", "/login", {"Content-Type": "application/json",
                                                                   "Origin": f"http://127.0.0.1:{port}"},
                                                body, host=f"127.0.0.1:{port}"))
    assert status == 200
    return headers["set-cookie"].split(";")[0]


def _get(port: int, cookie: str, path: str = "/jobs") -> int:
    return exchange(port, request("GET", path, {"Cookie": cookie}, host=f"127.0.0.1:{port}"))[0]


def _logout(port: int, cookie: str) -> int:
    return exchange(port, request("POST", "/logout", {"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
                                  host=f"127.0.0.1:{port}"))[0]


def test_logout_ends_a_captured_copy_of_the_cookie_also_after_a_restart(tmp_path):
    cfg = _config(tmp_path)
    with running(cfg) as d:
        port = d.api.port
        mine, other = _login(port), _login(port)
        assert mine != other
        captured = mine  # e.g. read off a proxy log before the packer logged out
        assert _get(port, captured) == 200
        assert _logout(port, mine) == 200
        assert _get(port, captured) == 401
        assert _get(port, captured, "/console/state") == 401
        state = exchange(port, request("GET", "/login", {"Cookie": captured}, host=f"127.0.0.1:{port}"))[2]
        assert state == {"required": True, "ok": False}
        assert _get(port, other) == 200  # another session goes on
    kept = tmp_path / "data" / sessions.FILE_NAME
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert TOKEN not in kept.read_text()
    with running(cfg) as d:  # a restart keeps it ended
        port = d.api.port
        assert _get(port, captured) == 401
        assert _get(port, other) == 200
        assert _logout(port, other) == 200
        assert _get(port, other) == 401


def test_a_logout_with_a_forged_or_missing_cookie_ends_nothing_and_stores_nothing(tmp_path):
    with running(_config(tmp_path)) as d:
        port = d.api.port
        good = _login(port)
        forged = "ps_session=v2.9999999999." + "a" * 32 + "." + "0" * 64
        assert _logout(port, forged) == 200
        assert _logout(port, "other=1") == 200
        assert _get(port, good) == 200
        assert len(d.api.tcp.handler.logouts) == 0
    assert not (tmp_path / "data" / sessions.FILE_NAME).exists()


def test_the_logout_set_is_bounded_and_forgets_expired_sessions(tmp_path, monkeypatch):
    import time

    monkeypatch.setattr(sessions, "MAX_LOGOUTS", 5)
    kept = sessions.Logouts(tmp_path / "logouts")
    now = int(time.time())
    kept.add("0" * 32, now - 1)  # already expired: dropped at the next add
    for n in range(1, 9):
        kept.add(f"{n:032x}", now + 100 + n)
    assert len(kept) == 5 and f"{8:032x}" in kept and "0" * 32 not in kept
    again = sessions.Logouts(tmp_path / "logouts")
    assert len(again) == 5 and f"{8:032x}" in again
