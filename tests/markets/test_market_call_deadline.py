"""A marketplace call has one deadline per try — connect, send and the whole body read within the
configured ``timeout`` — so a server trickling its body one byte at a time (each byte well within
the per-read timeout) fails the try as a timeout and the retry policy applies. Real HTTP against
the fake servers on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from printstation.markets import RetryPolicy, Unavailable, WBClient

from conftest import FAST_BURST, FAST_RATE

RETRY = RetryPolicy(retries=1, base=0.001, cap=0.002)
BODY = json.dumps({"supplies": [], "next": 0, "pad": "x" * 40}).encode()


def client(fake_wb, **kw) -> WBClient:
    kw.setdefault("retry", RETRY)
    return WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST, timeout=1.0, **kw)


def test_dripping_body_fails_each_try_as_a_timeout(fake_wb):
    # one byte every 0.25 s: no single read waits the 1 s timeout, the whole body takes ~20 s
    fake_wb.drip_next(BODY, every=0.25, n=2, path="/api/v3/supplies")
    with client(fake_wb) as c:
        with pytest.raises(Unavailable) as exc:
            c.supplies()
    assert "Timeout" in str(exc.value) and "after 2 tries" in str(exc.value)
    calls = fake_wb.calls_to("/api/v3/supplies")
    assert len(calls) == 2  # the retry policy applied
    assert all(0 < call.sent < len(BODY) for call in calls)  # each try gave up mid-body


def test_dripping_body_then_a_good_answer_succeeds(fake_wb):
    sid = fake_wb.add_supply()["id"]
    fake_wb.drip_next(BODY, every=0.25, n=1, path="/api/v3/supplies")
    with client(fake_wb) as c:
        assert [s["id"] for s in c.supplies()] == [sid]
    assert [call.status for call in fake_wb.calls_to("/api/v3/supplies")] == [200, 200]


def test_dripping_error_body_is_a_timeout_too(fake_wb):
    fake_wb.drip_next(b'{"title": "bad", "detail": "' + b"y" * 60 + b'"}', every=0.25, n=2, status=400)
    with client(fake_wb) as c:
        with pytest.raises(Unavailable):
            c.supplies()
    assert len(fake_wb.calls) == 2


def test_dripping_download_fails_as_a_timeout(fake_wb):
    fake_wb.drip_next(b"%PDF-1.4 " + b"z" * 60, every=0.25, n=2, path="/file.pdf")
    with client(fake_wb) as c:
        with pytest.raises(Unavailable) as exc:
            c.download(fake_wb.url + "/file.pdf", max_bytes=1000)
    assert "Timeout" in str(exc.value)
    assert len(fake_wb.calls_to("/file.pdf")) == 2


def test_quick_answers_still_pass(fake_wb):
    sid = fake_wb.add_supply()["id"]
    with client(fake_wb) as c:
        assert [s["id"] for s in c.supplies()] == [sid]
