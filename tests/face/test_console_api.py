"""The console's HTTP side against the real daemon, without a browser: the page's headers
(CSP), the event stream's bounds (no worker thread per stream, a cap, no idle timeout), the
login cookie and its CSRF rule, the native ZPL fields list."""

from __future__ import annotations

import json
import re
import socket
import sys
import time

import pytest

from printstation.face import console, events, zplfields
from support.daemon_harness import running, wait_until, write_config
from support.labelgen import wb_sticker_png, wb_sticker_zpl
from support.printer_sinks import RecordingSink
from support.rawhttp import exchange, read_response, request

TOKEN = "s3cret-token-for-the-console-0123"


@pytest.fixture
def station(tmp_path):
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": sink.uri}],
                           api={"max_connections": 12, "idle_timeout": 0.5})
        with running(cfg) as d:
            yield d, d.api.port, sink


@pytest.fixture
def locked(tmp_path):
    tok = tmp_path / "token"
    tok.write_text(TOKEN + "\n")
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": sink.uri}],
                           api={"token_file": str(tok)})
        with running(cfg) as d:
            yield d, d.api.port, sink


def test_page_and_assets_are_strict_and_self_contained(station):
    d, port, _ = station
    status, headers, body = exchange(port, request("GET", "/"))
    assert status == 200 and headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    assert csp.split(";")[0] == "default-src 'self'" and "unsafe" not in csp
    assert headers["x-frame-options"] == "DENY"
    html = body.decode()
    # no inline script, style or handler; nothing from elsewhere
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/app.js" defer>']
    assert not re.search(r"\son[a-z]+\s*=", html) and "<style" not in html and " style=" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    for path, ctype in (("/app.js", "text/javascript"), ("/app.css", "text/css"), ("/icon.svg", "image/svg+xml")):
        status, headers, body = exchange(port, request("GET", path))
        assert status == 200 and headers["content-type"].startswith(ctype), path
        assert "default-src 'self'" in headers["content-security-policy"]
        assert not re.search(rb"(src|href|url\()=?[\"'(]?(https?:)?//", body), path
    js = exchange(port, request("GET", "/app.js"))[2].decode()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "eval(" not in js
    # the page obeys the API's browser checks like everything else
    assert exchange(port, request("GET", "/", [("Sec-Fetch-Site", "cross-site")]))[0] == 403
    assert exchange(port, request("GET", "/", host=f"evil.example:{port}"))[0] == 421


def read_event(f) -> tuple[str, str]:
    """The next ``event:``/``data:`` pair from a stream (comments and retry lines skipped)."""
    name, data = "message", ""
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("stream closed")
        line = line.rstrip(b"\n").decode()
        if line == "":
            if data or name != "message":
                return name, data
            continue
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]


def open_stream(port: int) -> tuple[socket.socket, object]:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request("GET", "/events", [("Accept", "text/event-stream")]))
    f = s.makefile("rb")
    status = f.readline()
    assert b" 200 " in status, status
    while f.readline() not in (b"\r\n", b""):
        pass
    assert read_event(f) == ("hello", "{}")
    return s, f


def busy_workers(server) -> int:
    """Worker threads of ``server`` that are inside a request right now (by their stacks)."""
    frames = sys._current_frames()
    busy = 0
    for t in list(server._pool._threads):
        f = frames.get(t.ident)
        while f is not None and f.f_code.co_name != "_serve":
            f = f.f_back
        busy += f is not None
    return busy


def test_event_streams_hold_no_worker_and_are_capped(station):
    d, port, _ = station
    cap = min(events.MAX_STREAMS, d.api.tcp.max_connections // 2)
    assert cap == 6
    streams = [open_stream(port) for _ in range(cap)]
    # each stream was answered by a worker that went back to the pool: none stays with a stream
    wait_until(lambda: busy_workers(d.api.tcp) == 0)
    assert d.api.tcp.open_connections >= cap  # they still count as open connections
    status, _, answer = exchange(port, request("GET", "/events"))
    assert status == 503 and "too many event streams" in answer["error"]
    # the API still answers (the other connections are free), and a stream outlives idle_timeout:
    # a kept-alive connection that went idle after every stream did is closed by the server first
    with socket.create_connection(("127.0.0.1", port), timeout=30) as control:
        control.sendall(request("GET", "/healthz"))
        assert read_response(control)[0] == 200
        assert control.recv(1) == b""  # the server closed it for idling past idle_timeout
    status, _, job = exchange(port, request("POST", "/jobs?name=x.zpl", body=wb_sticker_zpl("!EVT")))
    assert status == 201
    for _, f in streams:
        name, data = read_event(f)
        while not json.loads(data).get("jobs"):
            name, data = read_event(f)
        assert name == "change"
    # a closed stream frees its slot
    for s, f in streams:
        f.close()
        s.close()
    wait_until(lambda: d.api.tcp.open_connections == 0)
    again = open_stream(port)
    again[1].close()
    again[0].close()


def test_stop_closes_streams(tmp_path):
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": sink.uri}])
        with running(cfg) as d:
            s, f = open_stream(d.api.port)
        with pytest.raises(ConnectionError):
            while True:
                read_event(f)
        s.close()


def test_state_lists_printers_jobs_preview_kinds_and_today(station):
    d, port, sink = station
    png = exchange(port, request("POST", "/jobs?name=a.png", body=wb_sticker_png("!11111111")))[2]
    zpl = exchange(port, request("POST", "/jobs?name=b.zpl", body=wb_sticker_zpl("!22222222")))[2]
    wait_until(lambda: d.store.get(zpl["id"]).state == "done" and d.store.get(png["id"]).state == "done")
    assert exchange(port, request("POST", f"/jobs/{png['id']}/reprint"))[0] == 201
    status, _, state = exchange(port, request("GET", "/console/state"))
    assert status == 200
    assert [p["name"] for p in state["printers"]] == ["a"]
    kinds = {j["id"]: j["preview"] for j in state["jobs"]}
    assert kinds[png["id"]] == "png" and kinds[zpl["id"]] == "fields"
    assert state["today"]["a"]["reprints"] == 1 and state["today"]["a"]["done"] >= 2
    assert state["scanning"] is True and state["auth"] is False
    status, _, f = exchange(port, request("GET", f"/jobs/{zpl['id']}/fields"))
    assert status == 200 and f["native"] and f["note"] == "printed natively by the printer"
    assert {"kind": "Code 128", "data": "!22222222"}.items() <= f["fields"][0].items()
    assert exchange(port, request("GET", "/jobs/999/fields"))[0] == 404
    assert exchange(port, request("GET", "/console/state?printer=nope"))[0] == 404


def test_market_health_from_the_call_counters():
    from printstation import metrics
    from printstation.markets.base import CALLS, RATE_LIMITED

    CALLS.inc(market="testmarket", status="200")
    CALLS.inc(market="testmarket", status="429")
    RATE_LIMITED.inc(market="testmarket")
    metrics.note("market_error", "testmarket", "HTTP 429 GET /api/v3/orders")
    h = console.market_health()["testmarket"]
    assert h["calls"] >= 2 and h["errors"] >= 1 and h["rate_limited"] >= 1
    assert h["last_error"] == "HTTP 429 GET /api/v3/orders" and h["last_error_at"]


def cookie_of(headers: dict[str, str]) -> str:
    return headers["set-cookie"].split(";", 1)[0]


def test_token_login_cookie_and_csrf(locked):
    d, port, sink = locked
    own = f"http://127.0.0.1:{port}"

    def rq(method, path, headers=None, body=b""):  # as a browser sends it: Host with the port
        return request(method, path, headers, body, host=f"127.0.0.1:{port}")

    # the page itself needs no token; its data does
    assert exchange(port, rq("GET", "/"))[0] == 200
    assert exchange(port, rq("GET", "/console/state"))[0] == 401
    assert exchange(port, rq("POST", "/login", [("Origin", own)], b'{"token": "wrong-wrong-wrong-wrong"}'))[0] == 401
    status, headers, answer = exchange(port, rq("POST", "/login", [("Origin", own)],
                                                      json.dumps({"token": TOKEN}).encode()))
    assert status == 200 and answer == {"auth": True}
    flags = {p.strip().lower() for p in headers["set-cookie"].split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    cookie = cookie_of(headers)
    assert TOKEN not in cookie
    # reads with the cookie
    assert exchange(port, rq("GET", "/console/state", [("Cookie", cookie)]))[0] == 200
    assert exchange(port, rq("GET", "/jobs", [("Cookie", cookie)]))[0] == 200
    # a change with the cookie needs the page's own Origin: a form elsewhere cannot ride on it
    assert exchange(port, rq("POST", "/printers/a/pause", [("Cookie", cookie)]))[0] == 401
    assert exchange(port, rq("POST", "/printers/a/pause", [("Cookie", cookie),
                                                                 ("Origin", "http://evil.example")]))[0] == 403
    assert exchange(port, rq("POST", "/printers/a/pause", [("Cookie", cookie), ("Origin", own),
                                                                 ("Sec-Fetch-Site", "same-site")]))[0] == 403
    assert not d.workers["a"].manual_paused
    assert exchange(port, rq("POST", "/printers/a/pause", [("Cookie", cookie), ("Origin", own)]))[0] == 200
    assert d.workers["a"].manual_paused
    # forged, tampered and expired cookies are refused; a bad Authorization is not rescued by a cookie
    expired = console.COOKIE + "=" + console.make_session(TOKEN, now=time.time() - 13 * 3600)
    other = console.COOKIE + "=" + console.make_session("another-token-0123456789")
    tampered = cookie[:-1] + ("0" if cookie[-1] != "0" else "1")
    for bad in (expired, other, tampered, console.COOKIE + "=v1.99999999999.x", console.COOKIE + "=" + TOKEN):
        assert exchange(port, rq("GET", "/jobs", [("Cookie", bad)]))[0] == 401, bad
    assert exchange(port, rq("GET", "/jobs", [("Cookie", cookie), ("Authorization", "Bearer nope")]))[0] == 401
    assert exchange(port, rq("GET", "/jobs", [("Authorization", f"Bearer {TOKEN}")]))[0] == 200
    # the event stream takes the cookie too (EventSource sends no header)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(rq("GET", "/events", [("Cookie", cookie)]))
    assert s.recv(100).startswith(b"HTTP/1.1 200")
    s.close()
    status, headers, _ = exchange(port, rq("POST", "/logout", [("Origin", own)], b"{}"))
    assert status == 200 and "max-age=0" in headers["set-cookie"].lower()


def test_zpl_fields_are_bounded_and_never_raise():
    got = zplfields.fields(b"^XA^FO10,20^A0N,30,30^FH^FDA_41_C3_A9^FS^FO5,5^BQN,2,5^FDQA,hello^FS"
                           b"^FO0,0^GB100,2,2^FS^XZ^XA^FT1,2^BCN^FD<b>x</b>^FS^XZ")
    assert [(f["label"], f["kind"], f["x"], f["y"], f["data"]) for f in got] == [
        (1, "text", 10, 20, "AAé"), (1, "QR code", 5, 5, "QA,hello"), (1, "box", 0, 0, ""),
        (2, "Code 128", 1, 2, "<b>x</b>")]
    for junk in (b"", b"^", b"^FD", b"^XA^FO^FD\xff\xfe^FS", b"^FS^FS^XZ", bytes(range(256)) * 10):
        zplfields.fields(junk)
    many = zplfields.fields(b"^XA" + b"^FO1,1^FD" + b"y" * 999 + b"^FS" * 1 + b"^FO1,1^FDz^FS" * 500 + b"^XZ")
    assert len(many) == zplfields.MAX_FIELDS and len(many[0]["data"]) == zplfields.MAX_DATA


def test_every_web_file_is_package_data():
    """An installed station serves the page: pyproject ships every file of face/web."""
    import fnmatch
    import tomllib
    from pathlib import Path

    import printstation

    root = Path(printstation.__file__).parent
    conf = tomllib.loads((root.parent / "pyproject.toml").read_text())
    globs = conf["tool"]["setuptools"]["package-data"]["printstation"]
    files = [p.relative_to(root).as_posix() for p in (root / "face" / "web").iterdir() if p.is_file()]
    assert {"face/web/index.html", "face/web/app.js", "face/web/app.css"} <= set(files)
    for f in files:
        assert any(fnmatch.fnmatch(f, g) for g in globs), f"{f} is not in [tool.setuptools.package-data]"
    for path, (name, _) in console.STATIC.items():
        assert (root / "face" / "web" / name).is_file(), path
