"""OzonClient and the Ozon half of the label fetcher against the fake Ozon server (real HTTP)."""

from __future__ import annotations

import io
import logging

import pytest
from pypdf import PdfReader

from printstation.pipeline import convert_labels
from printstation.errors import UsageError
from printstation.markets import (ApiAuthError, BadLabel, LabelCache, LabelFetcher, OzonClient, RateLimited,
                                  RetryPolicy, Unavailable)
from printstation.spec import Media, PrinterSpec
from support.render_back import decode, render_back
from support.fakes import FakeOzon

from conftest import FAST_BURST, FAST_RATE, QUICK_RETRY


@pytest.fixture(params=["pdf", "json"])
def oz(request):
    with FakeOzon(label_shape=request.param) as f:
        yield f


def client(oz, **kw):
    kw.setdefault("retry", QUICK_RETRY)
    return OzonClient(oz.url, oz.api_key, client_id=oz.client_id, rate_per_min=FAST_RATE, burst=FAST_BURST,
                      timeout=5, **kw)


def codes_on_pdf_page(pdf: bytes) -> list[str]:
    spec = PrinterSpec(lang="png", media=Media(75, 120), dpi=203)
    out = []
    for lab in convert_labels(pdf, spec):
        for back in render_back("png", lab.data, 203):
            out += decode(back.image)
    return out


def test_both_answer_shapes_split_into_single_pages_each_its_posting(oz):
    ps = [oz.add_posting()["posting_number"] for _ in range(3)]
    with client(oz) as c:
        pdf = c.package_labels(ps)
        assert len(PdfReader(io.BytesIO(pdf)).pages) == 3
        (call,) = oz.calls
        assert call.json() == {"posting_number": ps}
        assert call.req_headers["client-id"] == oz.client_id and call.req_headers["api-key"] == oz.api_key
        results = LabelFetcher(ozon=c).ozon_labels(ps)
    assert [r.posting_number for r in results] == ps and all(r.ok for r in results)
    for p, r in zip(ps, results):
        assert len(PdfReader(io.BytesIO(r.data)).pages) == 1
        assert codes_on_pdf_page(r.data) == [p]


def test_batches_of_at_most_20_and_cache(oz, tmp_path):
    ps = [oz.add_posting()["posting_number"] for _ in range(45)]
    with client(oz) as c:
        f = LabelFetcher(ozon=c, cache=LabelCache(tmp_path))
        results = f.ozon_labels(ps)
        assert all(r.ok for r in results)
        sizes = [len(call.json()["posting_number"]) for call in oz.calls_to("/v2/posting/fbs/package-label")]
        assert sizes == [20, 20, 5]
        oz.reset_calls()
        again = f.ozon_labels(ps[:3] + ps[-2:])
        assert [r.data for r in again] == [r.data for r in results[:3] + results[-2:]]
        assert oz.calls == []  # all from the cache
        assert (tmp_path / "labels" / "ozon" / "posting" / f"{ps[0]}-pdf-0x0.pdf").exists()


def test_one_bad_posting_fails_alone(oz):
    good = [oz.add_posting()["posting_number"] for _ in range(3)]
    bad = oz.add_posting(status="delivering")["posting_number"]
    with client(oz) as c:
        results = LabelFetcher(ozon=c).ozon_labels([good[0], bad, good[1], good[2]])
    assert [r.ok for r in results] == [True, False, True, True]
    assert "POSTING_NOT_AWAITING_DELIVER" in results[1].error
    assert codes_on_pdf_page(results[2].data) == [good[1]]


def test_page_count_is_checked(oz):
    ps = [oz.add_posting()["posting_number"] for _ in range(2)]
    oz.extra_pages = 1
    with client(oz) as c:
        with pytest.raises(BadLabel, match="3 pages for 2 postings"):
            c.package_labels(ps)
        results = LabelFetcher(ozon=c).ozon_labels(ps)
    assert not any(r.ok for r in results) and "2 pages for 1 postings" in results[0].error


def test_corrupt_base64_and_not_a_pdf():
    with FakeOzon(label_shape="json") as oz:
        p = oz.add_posting()["posting_number"]
        oz.corrupt_base64 = True
        with client(oz) as c:
            with pytest.raises(BadLabel, match="corrupt base64"):
                c.package_labels([p])
        oz.corrupt_base64 = False
        oz.serve_not_pdf = True
        with client(oz) as c:
            with pytest.raises(BadLabel, match="neither a PDF nor JSON"):
                c.package_labels([p])


def test_bad_posting_numbers_are_usage_errors(oz):
    with client(oz) as c:
        with pytest.raises(UsageError, match="bad Ozon posting number"):
            c.package_labels(["12345"])
        with pytest.raises(UsageError, match="at most 20"):
            c.package_labels([f"1-1-{i}" for i in range(21)])
    assert oz.calls == []


def test_returns_all_pages_by_last_id(oz):
    made = [oz.add_return() for _ in range(1234)]
    with client(oz) as c:
        got = c.returns()
    assert [r["id"] for r in got] == [r["id"] for r in made]
    calls = oz.calls_to("/v3/returns/company/fbs")
    assert [call.json()["last_id"] for call in calls] == [0, made[499]["id"], made[999]["id"]]
    assert all(call.json()["limit"] == 500 for call in calls)
    r = got[7]
    for field in ("return_barcode", "posting_number", "product_name", "product_offer_id", "sku", "quantity",
                  "return_reason_name", "return_date", "status"):
        assert r[field] == made[7][field]


def test_returns_exact_page_multiple_and_empty(oz):
    with client(oz) as c:
        assert c.returns() == []
        for _ in range(6):
            oz.add_return()
        assert len(c.returns(limit=3)) == 6
    assert len(oz.calls_to("/v3/returns")) == 1 + 3  # 3 + 3 + an empty page


def test_429_retry_after_is_honoured(oz, fake_clock):
    p = oz.add_posting()["posting_number"]
    oz.fail_next(1, status=429, headers={"Retry-After": "7"}, path="/v2/")
    with client(oz, clock=fake_clock, sleep=fake_clock.sleep) as c:
        c.package_labels([p])
    assert [call.status for call in oz.calls] == [429, 200]
    assert sum(fake_clock.sleeps) >= 7.0


def test_429_that_keeps_coming_is_rate_limited(oz, fake_clock):
    oz.fail_next(50, status=429, headers={"Retry-After": "2"})
    retry = RetryPolicy(retries=1, base=0.001, cap=0.002, max_429=2)
    with client(oz, clock=fake_clock, sleep=fake_clock.sleep, retry=retry) as c:
        with pytest.raises(RateLimited):
            c.returns()
    assert len(oz.calls) == 3


def test_5xx_retried_then_unavailable(oz):
    oz.add_return()
    oz.fail_next(2, status=502)
    with client(oz) as c:
        assert len(c.returns()) == 1
        oz.fail_next(10, status=503)
        with pytest.raises(Unavailable, match="after 4 tries"):
            c.returns()


@pytest.mark.parametrize("which", ["api_key", "client_id"])
def test_wrong_credentials_are_auth_errors_and_never_logged(oz, which, caplog):
    caplog.set_level(logging.DEBUG)
    p = oz.add_posting()["posting_number"]
    key = "wrong-key-" + "z" * 20 if which == "api_key" else oz.api_key
    cid = "999" if which == "client_id" else oz.client_id
    with OzonClient(oz.url, key, client_id=cid, retry=QUICK_RETRY) as c:
        with pytest.raises(ApiAuthError) as ei:
            LabelFetcher(ozon=c).ozon_labels([p])
        assert ei.value.status == 403 and repr(c).count("***") == 1
    assert len(oz.calls) == 1  # refused credentials are not retried
    assert key not in caplog.text and key not in str(ei.value)


@pytest.mark.parametrize("cid", ["12345\u00e9", "123 45", "12\n345"])
def test_client_id_a_header_cannot_carry_is_one_auth_error(cid):
    """The Ozon ``Client-Id`` goes in a header: a non-ASCII, space or line break in it is an
    AuthError before any call (was a UnicodeEncodeError traceback at the first call)."""
    from printstation.errors import AuthError

    with pytest.raises(AuthError, match="client id"):
        OzonClient("http://127.0.0.1:9", "key-0123456789", client_id=cid)
