"""Event streams of the web console opened all at once: the cap (at most 16, or half of
``[api] max_connections``) holds even when every request passed the check before any stream
was handed off, so streams can never take the slots normal requests need."""

from __future__ import annotations

import socket
import threading

from printstation.face import events
from printstation.httpconn import Exchange
from support.daemon_harness import running, wait_until, write_config
from support.printer_sinks import RecordingSink
from support.rawhttp import read_response, request


def test_event_streams_opened_together_never_pass_their_cap(tmp_path, monkeypatch):
    """With max_connections 8 (cap 4), eight streams asked at once: four at most are opened."""
    n = 8
    arrived = threading.Semaphore(0)
    go = threading.Event()
    detach = Exchange.detach

    def slow_detach(self, head):  # hold every stream between the cap check and its hand-off
        arrived.release()
        go.wait(10)
        return detach(self, head)

    monkeypatch.setattr(Exchange, "detach", slow_detach)
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": sink.uri}],
                           api={"max_connections": n})
        with running(cfg) as d:
            port = d.api.port
            cap = min(events.MAX_STREAMS, n // 2)
            answers: list[int] = []
            socks: list[socket.socket] = []

            def one() -> None:
                s = socket.create_connection(("127.0.0.1", port), timeout=15)
                socks.append(s)
                s.sendall(request("GET", "/events", host=f"127.0.0.1:{port}"))
                answers.append(read_response(s)[0])

            threads = [threading.Thread(target=one) for _ in range(n)]
            for t in threads:
                t.start()
            # every request is either held at its hand-off or already refused
            held = 0
            while held + answers.count(503) < n:
                if arrived.acquire(timeout=0.05):
                    held += 1
            go.set()
            for t in threads:
                t.join(15)
            assert answers.count(200) <= cap and answers.count(503) >= n - cap, answers
            wait_until(lambda: d._console_events.count == answers.count(200))
            assert d._console_events.count <= cap
            for s in socks:
                s.close()
