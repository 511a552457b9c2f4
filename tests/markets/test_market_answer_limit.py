"""Market answers are read with a byte limit: streamed, and the read stops at the limit.

The fakes answer with a body far larger than the limit, written until the client hangs up; the
client must refuse it with one clear error after reading about the limit (not the whole body),
and must not retry it."""

from __future__ import annotations

import pytest

from printstation.errors import AnswerTooLarge, BadLabel, Unavailable
from printstation.markets import LamodaClient, OzonClient, WBClient
from support.fakes import FakeLamoda, FakeOzon

from conftest import FAST_BURST, FAST_RATE, QUICK_RETRY

MiB = 1024 * 1024
HUGE = 1024 * MiB  # never sent in full: the test would take minutes and the client gigabytes
PATH = "/api/v3/orders/new"


def wb_client(fake, **kw) -> WBClient:
    return WBClient(fake.url, fake.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY,
                    timeout=5, **kw)


def read_by_server(fake, path: str) -> int:
    """Bytes the fake wrote before the client hung up (waits for that answer to end)."""
    [call] = fake.calls_to(path)
    assert call.finished.wait(30), "the fake is still writing: the client did not stop reading"
    return call.sent


def test_json_answer_past_the_limit_stops_the_read(fake_wb):
    fake_wb.huge_next(HUGE, path=PATH, head=b'{"orders": []}')
    with wb_client(fake_wb, max_answer_bytes=MiB) as c:
        with pytest.raises(AnswerTooLarge) as exc:
            c.json("GET", PATH)
    assert str(exc.value) == f"wb API 200 AnswerTooLarge: GET {PATH}: answer larger than {MiB} bytes: refused"
    assert not exc.value.transient
    assert read_by_server(fake_wb, PATH) < 64 * MiB  # the limit plus what the socket buffers held


def test_declared_length_over_the_limit_is_refused_before_reading(fake_wb):
    fake_wb.huge_next(HUGE, path=PATH, declare=True)
    with wb_client(fake_wb, max_answer_bytes=MiB) as c:
        with pytest.raises(AnswerTooLarge, match="answer larger than 1048576 bytes"):
            c.json("GET", PATH)
    assert read_by_server(fake_wb, PATH) < 64 * MiB


@pytest.mark.parametrize("extra, ok", [(0, True), (1, False)])
def test_the_limit_is_exact(fake_wb, extra, ok):
    limit = 200_000
    fake_wb.huge_next(limit + extra, path=PATH, head=b'{"orders": []}')  # JSON, then blanks
    with wb_client(fake_wb, max_answer_bytes=limit) as c:
        if ok:
            assert c.json("GET", PATH) == {"orders": []}
        else:
            with pytest.raises(AnswerTooLarge):
                c.json("GET", PATH)
    assert len(fake_wb.calls_to(PATH)) == 1  # a too-large answer is not retried


def test_default_limit_applies_to_every_call(fake_wb):
    with wb_client(fake_wb) as c:
        assert c.max_answer_bytes == 32 * MiB
        fake_wb.huge_next(HUGE, path=PATH)
        with pytest.raises(AnswerTooLarge, match=f"answer larger than {32 * MiB} bytes"):
            c.json("GET", PATH)
    assert read_by_server(fake_wb, PATH) < 32 * MiB + 64 * MiB


def test_huge_error_answers_are_cut_and_still_retried(fake_wb):
    fake_wb.huge_next(HUGE, n=10, path=PATH, status=503, head=b'{"title": "down", "detail": "busy"}')
    with wb_client(fake_wb, max_answer_bytes=MiB) as c:
        with pytest.raises(Unavailable) as exc:
            c.json("GET", PATH)
    assert str(exc.value) == "wb API 503 down: busy (after 4 tries)"  # the body's start is the message
    calls = fake_wb.calls_to(PATH)
    assert len(calls) == 1 + QUICK_RETRY.retries
    for call in calls:
        assert call.finished.wait(30) and call.sent < 64 * MiB


def test_lamoda_label_read_stops_at_the_pdf_limit():
    with FakeLamoda(token_life=3600) as lm:
        lm.add_order("A1")
        with LamodaClient(lm.url, lm.client_secret, client_id=lm.client_id, rate_per_min=FAST_RATE,
                          burst=FAST_BURST, timeout=5, retry=QUICK_RETRY, max_pdf_bytes=MiB) as c:
            c.access_token()
            lm.huge_next(HUGE, path="/api/v1/label/packs", head=b"%PDF-1.4\n", content_type="application/pdf")
            with pytest.raises(BadLabel, match=f"lamoda label PDF is larger than {MiB} bytes: refused"):
                c.pack_labels("A1")
            assert read_by_server(lm, "/api/v1/label/packs") < 64 * MiB
            assert c.pack_labels("A1").startswith(b"%PDF")  # the next answer is read as usual


@pytest.mark.parametrize("shape", ["pdf", "json"])
def test_ozon_label_read_stops_near_the_pdf_limit(shape):
    path = "/v2/posting/fbs/package-label"
    with FakeOzon(label_shape=shape) as oz:
        p = oz.add_posting()["posting_number"]
        with OzonClient(oz.url, oz.api_key, client_id=oz.client_id, rate_per_min=FAST_RATE, burst=FAST_BURST,
                        timeout=5, retry=QUICK_RETRY, max_pdf_bytes=MiB) as c:
            oz.huge_next(HUGE, path=path, head=b"%PDF-1.4\n", content_type="application/pdf")
            with pytest.raises(BadLabel, match="ozon label answer is larger than"):
                c.package_labels([p])
            assert read_by_server(oz, path) < 64 * MiB
            assert c.package_labels([p]).startswith(b"%PDF")
