"""Ozon answers the first client did not expect: label answers whose declared types vary, and
returns paged by ``has_next`` (review of issue 16). Fake Ozon on 127.0.0.1, real HTTP."""

from __future__ import annotations

import pytest

from printstation.markets import BadLabel, LabelFetcher, OzonClient
from support.fakes import FakeOzon

from conftest import FAST_BURST, FAST_RATE, QUICK_RETRY


def client(oz: FakeOzon) -> OzonClient:
    return OzonClient(oz.url, oz.api_key, client_id=oz.client_id, rate_per_min=FAST_RATE, burst=FAST_BURST,
                      timeout=5, retry=QUICK_RETRY)


@pytest.mark.parametrize("shape,http_type,json_type,urlsafe", [
    ("pdf", "application/pdf; charset=binary", None, False),
    ("pdf", "application/octet-stream", None, False),
    ("json", "application/json; charset=utf-8", "application/pdf", False),
    ("json", "application/json", "application/octet-stream", False),
    ("json", "application/json", None, False),          # no content_type in the answer
    ("json", "text/plain", "application/PDF", False),
    ("json", "application/pdf", "application/pdf", False),  # JSON labelled as a PDF
    ("json", "application/json", "application/pdf", True),  # URL-safe base64
])
def test_label_answer_types_vary_the_bytes_decide(shape, http_type, json_type, urlsafe):
    with FakeOzon(label_shape=shape) as oz:
        ps = [oz.add_posting()["posting_number"] for _ in range(3)]
        oz.label_http_type, oz.label_json_type, oz.urlsafe_base64 = http_type, json_type, urlsafe
        with client(oz) as c:
            results = LabelFetcher(ozon=c).ozon_labels(ps)
    assert [r.ok for r in results] == [True] * 3, [r.error for r in results]
    assert all(r.data.startswith(b"%PDF") for r in results)


def test_json_answer_that_is_not_a_pdf_is_refused_with_its_type():
    with FakeOzon(label_shape="json") as oz:
        p = oz.add_posting()["posting_number"]
        oz.label_json_type = "image/png"
        oz.label_pdf = lambda postings: b"\x89PNG\r\n\x1a\n" + b"0" * 64  # type: ignore[method-assign]
        with client(oz) as c, pytest.raises(BadLabel, match="not a PDF.*image/png"):
            c.package_labels([p])


@pytest.mark.parametrize("omit_last_id", [False, True])
def test_returns_paged_by_has_next_even_when_pages_are_short(omit_last_id):
    """A server that answers fewer returns than asked but says ``has_next`` is read to the end."""
    with FakeOzon() as oz:
        made = [oz.add_return() for _ in range(23)]
        oz.page_cap, oz.has_next, oz.omit_last_id = 10, True, omit_last_id
        with client(oz) as c:
            got = c.returns()
    assert [r["id"] for r in got] == [r["id"] for r in made]
    calls = oz.calls_to("/v3/returns/company/fbs")
    assert [call.json()["last_id"] for call in calls] == [0, made[9]["id"], made[19]["id"]]


def test_returns_has_next_false_ends_a_full_page():
    with FakeOzon() as oz:
        for _ in range(6):
            oz.add_return()
        oz.has_next = True
        with client(oz) as c:
            assert len(c.returns(limit=3)) == 6
    assert len(oz.calls_to("/v3/returns")) == 2  # the second full page says has_next false


def test_batch_failing_for_a_transient_reason_is_not_asked_posting_by_posting():
    """Ozon down (5xx after the retries): each posting fails with the reason; no call per posting."""
    with FakeOzon() as oz:
        ps = [oz.add_posting()["posting_number"] for _ in range(5)]
        oz.fail_next(100, status=503)
        with client(oz) as c:
            results = LabelFetcher(ozon=c).ozon_labels(ps)
        assert not any(r.ok for r in results) and all("503" in r.error for r in results)
        assert len(oz.calls_to("/v2/posting/fbs/package-label")) == QUICK_RETRY.retries + 1
        oz.clear_faults()
        bad = oz.add_posting(status="delivering")["posting_number"]
        with client(oz) as c:  # a refusal (4xx) still falls back to one by one
            results = LabelFetcher(ozon=c).ozon_labels(ps + [bad])
        assert [r.ok for r in results] == [True] * 5 + [False]
