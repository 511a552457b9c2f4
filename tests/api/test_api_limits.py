"""No client behaviour exhausts the daemon: 1,100 idle connections, slow heads and bodies,
idle keep-alive connections, more clients than max_connections — against the real daemon."""

from __future__ import annotations

import os
import resource
import select
import socket
import threading
import time

import httpx
import pytest

from support.daemon_harness import cpu_seconds, crowded_daemon, running, write_config
from support.labelgen import wb_sticker_zpl
from support.rawhttp import Responses, request

IDLE_CLIENTS = 1100


def closed_by_server(s: socket.socket) -> bool:
    """Whether the peer closed ``s`` (EOF or reset); reads and drops any answer bytes."""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
def test_1100_idle_connections_do_not_stop_healthz_or_spin(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = IDLE_CLIENTS + 200
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    # The daemon gets systemd's default soft limit (1,024) to show it does not need more.
    d, _, clients = crowded_daemon(tmp_path, IDLE_CLIENTS)
    try:
        url = d.api_url()
        for s in clients:
            s.setblocking(False)
        cpu0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
        with httpx.Client(base_url=url, timeout=60) as http:
            r = http.get("/healthz")
            assert r.status_code == 200 and r.json()["ok"] is True
            job = http.post("/jobs", content=wb_sticker_zpl("!crowd"))
            assert job.status_code == 201
        assert open_fds(d.proc.pid) < 256 + 100, "the daemon holds more connections than max_connections"
        # every idle connection is closed by the daemon in the end (read_timeout / room for others)
        pending = {s.fileno(): s for s in clients}
        poller = select.poll()
        for fd in pending:
            poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + 180
        while pending and time.monotonic() < deadline:
            for fd, _ in poller.poll(1000):
                if fd in pending and closed_by_server(pending[fd]):
                    poller.unregister(fd)
                    del pending[fd]
        assert not pending, f"{len(pending)} idle connections were never closed"
        cpu, wall = cpu_seconds(d.proc.pid) - cpu0, time.monotonic() - t0
        assert cpu < 0.5 * wall, f"the daemon burnt {cpu:.1f} s CPU in {wall:.1f} s with idle clients"
        assert d.proc.poll() is None
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.get("/healthz").status_code == 200
        assert "Too many open files" not in d.log()
    finally:
        for s in clients:
            s.close()
        d.close()


@pytest.fixture
def tight(tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": f"dir://{tmp_path / 'out'}"}],
                       api={"read_timeout": 1.0, "idle_timeout": 0.5, "max_connections": 8})
    with running(cfg) as d:
        yield d, d.api.port


def wait_closed(s: socket.socket, timeout: float = 30.0) -> bytes:
    """Everything the server sends until it closes ``s``."""
    s.settimeout(timeout)
    got = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk


def drip_until_closed(s: socket.socket, data: bytes, every: float = 0.02) -> tuple[bytes, int]:
    """Send ``data`` a byte every ``every`` seconds until the server closes ``s``; what the server
    sent, and how many bytes got out."""
    stop = threading.Event()
    sent = []

    def drip() -> None:
        for b in data:
            if stop.wait(every):
                return
            try:
                s.send(bytes([b]))
            except OSError:
                return
            sent.append(b)

    t = threading.Thread(target=drip)
    t.start()
    try:
        return wait_closed(s), len(sent)
    finally:
        stop.set()
        t.join()


def test_a_head_that_never_completes_is_cut(tight):
    d, port = tight
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        got = wait_closed(s)
    assert got.startswith(b"HTTP/1.1 408 ") and b"request head not complete" in got


def test_a_dripping_head_is_cut_after_read_timeout_in_total(tight):
    d, port = tight
    head = request("GET", "/healthz", {"X-Drip": "a" * 400})
    with socket.create_connection(("127.0.0.1", port)) as s:
        got, sent = drip_until_closed(s, head)
    assert got.startswith(b"HTTP/1.1 408 ")
    assert sent < len(head), "the whole head got through: no total head deadline"


def test_a_stalled_body_is_cut_and_nothing_is_queued(tight):
    d, port = tight
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request("POST", "/jobs", {"Content-Length": "5000"}, length=False) + b"^XA^FO")
        got = wait_closed(s)
    assert got.startswith(b"HTTP/1.1 408 ") and b"stalled" in got
    assert d.store.list_jobs() == []


def test_a_dripping_body_is_cut(tight):
    """A byte every 20 ms never stalls for read_timeout, but is far under the minimum pace."""
    d, port = tight
    body = wb_sticker_zpl("!drip") + b"^FX" + b"p" * 2000
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request("POST", "/jobs", {"Content-Length": str(len(body))}, length=False))
        got, sent = drip_until_closed(s, body)
    assert got.startswith(b"HTTP/1.1 408 ") and b"slower than" in got
    assert sent < len(body)
    assert d.store.list_jobs() == []


def test_idle_keep_alive_connections_are_closed(tight):
    d, port = tight
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(request("GET", "/healthz"))
        assert Responses(s).next()[0] == 200
        assert wait_closed(s) == b""  # closed by the daemon after idle_timeout


def test_more_clients_than_max_connections_wait_and_healthz_still_answers(tight):
    d, port = tight
    server = d.api.tcp
    seen = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(server.open_connections)
            stop.wait(0.005)

    t = threading.Thread(target=watch)
    t.start()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
    try:
        no_reuse = httpx.Limits(max_keepalive_connections=0)  # idle_timeout is 0.5 s here
        with httpx.Client(base_url=d.api.url, timeout=60, limits=no_reuse) as http:
            for _ in range(3):
                assert http.get("/healthz").status_code == 200
    finally:
        stop.set()
        t.join()
        for s in idle:
            s.close()
    assert max(seen) <= 8, f"{max(seen)} connections served at once, max_connections is 8"


def test_body_over_max_body_mb_is_413_before_it_is_read(tmp_path):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": f"dir://{tmp_path / 'out'}"}],
                       api={"max_body_mb": 0.5})
    with running(cfg) as d:
        with socket.create_connection(("127.0.0.1", d.api.port), timeout=30) as s:
            s.sendall(request("POST", "/jobs", {"Content-Length": str(600 * 1024)}, length=False))
            status, headers, body = Responses(s).next()
        assert status == 413 and b"max_body_mb" in body and headers["connection"] == "close"
        with httpx.Client(base_url=d.api.url, timeout=30) as http:
            assert http.post("/jobs", content=wb_sticker_zpl("!small")).status_code == 201
