"""The webhook listener's refusals reach clients that send the whole body before reading the
answer (``http.client``, ``urllib``): a big body gets its 413, a wrong secret its 404 — not a
reset connection. Real listener on 127.0.0.1, real sqlite."""

from __future__ import annotations

import http.client
import json

import pytest

from printstation.triggers.state import TriggerState
from printstation.triggers.webhooks import HookLog, LamodaHooks, WebhookListener, WebhookSettings

SECRET = "refusal-test-secret-0123456789"


@pytest.fixture
def listener(tmp_path):
    hooks = LamodaHooks(HookLog(TriggerState(tmp_path / "t.sqlite")), print_on_status=(), printer=None,
                        printers={}, labels=None, queue_label=lambda *a: None)
    lst = WebhookListener(WebhookSettings(listen=("127.0.0.1", 0), max_body_kb=16, read_timeout_s=5),
                          SECRET, hooks).start()
    yield lst
    lst.stop()


def post(lst: WebhookListener, path: str, body: bytes) -> tuple[int, dict]:
    host, port = lst.address
    c = http.client.HTTPConnection(host, port, timeout=30)
    try:
        c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


@pytest.mark.parametrize("size", [1 << 20, 12 << 20])
def test_big_body_gets_413_not_a_reset(listener, size):
    body = b'{"type": "statusChanged", "pad": "' + b"x" * size + b'"}'
    status, answer = post(listener, f"/hooks/lamoda/{SECRET}", body)
    assert status == 413 and "larger than 16384 bytes" in answer["error"]
    assert listener.hooks.hooks.recent() == []


def test_wrong_secret_with_a_big_body_gets_404(listener):
    status, answer = post(listener, "/hooks/lamoda/not-the-secret-0123456789", b"[" + b" " * (8 << 20) + b"]")
    assert (status, answer) == (404, {"error": "not found"})
    status, answer = post(listener, f"/hooks/lamoda/{SECRET}", b'{"type": "itemStatusChanged", "trackingId": "A1"}')
    assert status == 200 and answer["received"] == 1  # still serving


def test_body_with_a_bom_is_json_and_bad_json_is_400(listener):
    note = json.dumps({"type": "statusChanged", "trackingId": "B1", "status": "x"}).encode()
    status, answer = post(listener, f"/hooks/lamoda/{SECRET}", b"\xef\xbb\xbf" + note)
    assert status == 200 and answer["received"] == 1
    status, answer = post(listener, f"/hooks/lamoda/{SECRET}", b"{not json")
    assert (status, answer) == (400, {"error": "body is not JSON"})


def test_a_client_dripping_its_request_is_cut_at_read_timeout(tmp_path):
    """``read_timeout_s`` bounds the whole request, not each byte: a client sending one byte of
    its head every 0.2 s (never idle long enough for a per-read timeout) is cut, so 32 such
    clients cannot hold every slot of a listener that faces the network."""
    import socket
    import time

    hooks = LamodaHooks(HookLog(TriggerState(tmp_path / "t.sqlite")), print_on_status=(), printer=None,
                        printers={}, labels=None, queue_label=lambda *a: None)
    lst = WebhookListener(WebhookSettings(listen=("127.0.0.1", 0), read_timeout_s=1), SECRET, hooks).start()
    try:
        req = (f"POST /hooks/lamoda/{SECRET} HTTP/1.1\r\nHost: x\r\nX-Pad: {'p' * 200}\r\n"
               "Content-Length: 2\r\n\r\n{}").encode()
        sent = 0
        with socket.create_connection(lst.address, timeout=30) as s:
            try:
                for b in req:  # about 50 s in all: far past the 1 s the listener gives
                    s.sendall(bytes([b]))
                    sent += 1
                    time.sleep(0.2)
                answer = s.recv(100)
            except OSError:
                answer = b""
        assert sent < len(req) or answer == b"", "the dripping client was never cut"
        assert hooks.hooks.recent() == []
        status, _ = post(lst, f"/hooks/lamoda/{SECRET}", b'{"type": "x"}')
        assert status == 200  # still serving
    finally:
        lst.stop()
