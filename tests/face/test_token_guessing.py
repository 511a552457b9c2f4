"""Guessing the API token against the real daemon: wrong bearer tokens (and wrong console logins)
are slowed per client address, a right token still works at once, and the burst is logged once,
never with the token (printstation.face.throttle)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from printstation.face import throttle
from support.daemon_harness import running, write_config
from support.rawhttp import exchange, read_response, request

TOKEN = "s3cret-token-for-the-guessing-0123"


@pytest.fixture
def locked(tmp_path, monkeypatch):
    """A station with an API token (small holds keep the test short; the logic is the same)."""
    monkeypatch.setattr(throttle, "FIRST_DELAY", 0.2)
    monkeypatch.setattr(throttle, "MAX_DELAY", 0.8)
    monkeypatch.setattr(throttle, "MAX_BACKLOG", 1.5)
    (tmp_path / "token").write_text(TOKEN + "\n")
    printers = [{"name": "a", "uri": f"dir://{tmp_path / 'out'}", "status_poll": 0}]
    with running(write_config(tmp_path / "c.toml", tmp_path / "data", printers,
                              api={"token_file": str(tmp_path / "token")})) as d:
        yield d


def _get(port: int, token: str | None, path: str = "/jobs") -> tuple[int, dict[str, str], object]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return exchange(port, request("GET", path, headers, host=f"127.0.0.1:{port}"))


def _guess(port: int, n: int) -> str:
    return f"wrong-guess-{n:08d}-xxxxxxxxxxxx"


def test_wrong_bearer_tokens_are_held_and_a_flood_gets_429_but_the_right_token_passes(locked, caplog):
    port = locked.api.port
    for n in range(throttle.FREE_GUESSES):  # typos answer at once
        assert _get(port, _guess(port, n))[0] == 401
    t0 = time.monotonic()
    assert _get(port, _guess(port, 100))[0] == 401
    assert time.monotonic() - t0 >= throttle.FIRST_DELAY  # held (a lower bound: the server slept)
    # a right token from the same address is never held
    assert _get(port, TOKEN)[0] == 200
    # parallel guesses queue behind each other: once the backlog is full they answer 429 at once
    answers: list[tuple[int, dict[str, str]]] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        status, headers, _ = _get(port, _guess(port, n))
        with lock:
            answers.append((status, headers))

    threads = [threading.Thread(target=one, args=(200 + n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in answers)
    assert 429 in statuses and set(statuses) <= {401, 429}, statuses
    retry = [h for s, h in answers if s == 429]
    assert all(int(h["retry-after"]) >= 1 for h in retry)
    # the burst is logged once, with the address, never a token
    lines = [r.getMessage() for r in caplog.records if "wrong tokens" in r.getMessage()]
    assert len(lines) == 1 and "127.0.0.1" in lines[0]
    assert "wrong-guess" not in caplog.text and TOKEN not in caplog.text


def test_wrong_console_logins_count_as_guesses_too(locked):
    port = locked.api.port
    import json

    def login(token: str) -> int:
        body = json.dumps({"token": token}).encode()
        return exchange(port, request("POST", "/login", {"Content-Type": "application/json"}, body,
                                      host=f"127.0.0.1:{port}"))[0]

    for n in range(throttle.FREE_GUESSES + 1):
        assert login(_guess(port, n)) == 401
    # the next bearer guess from this address is already held (the login guesses counted)
    t0 = time.monotonic()
    assert _get(port, _guess(port, 99))[0] == 401
    assert time.monotonic() - t0 >= throttle.FIRST_DELAY * 2
    assert login(TOKEN) == 200


def test_no_token_at_all_is_not_a_guess_and_the_unix_socket_is_never_slowed(locked):
    port = locked.api.port
    table = locked.api.tcp.handler.throttle
    for _ in range(throttle.FREE_GUESSES + 5):
        assert _get(port, None)[0] == 401  # a missing token is not counted
    assert len(table) == 0
    for n in range(throttle.FREE_GUESSES + 3):
        assert _get(port, _guess(port, n))[0] == 401
    assert len(table) == 1
    # the CLI's unix socket needs no token and knows nothing of the throttle
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(locked.api.unix.sock_path))
        s.sendall(request("GET", "/jobs", {}, host="localhost"))
        assert read_response(s)[0] == 200
    assert _get(port, TOKEN)[0] == 200


def test_the_address_table_is_bounded_and_forgets_quiet_addresses(monkeypatch):
    t = throttle.GuessThrottle(max_addresses=50)
    for n in range(5000):
        t.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(t) <= 50
    for _ in range(throttle.FREE_GUESSES):
        assert t.failed("192.0.2.1") == 0.0
    assert t.failed("192.0.2.1") > 0  # slowed
    now = time.monotonic()
    monkeypatch.setattr(throttle.time, "monotonic", lambda: now + throttle.QUIET + 1)
    assert t.failed("192.0.2.1") == 0.0  # a new burst after a quiet spell starts free again
