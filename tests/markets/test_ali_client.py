"""AliClient against the fake LAliExpress server."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from printstation.markets import AliClient, ApiAuthError, ApiError, BadLabel

from conftest import FAST_BURST, FAST_RATE, QUICK_RETRY


def test_labels_pdf_one_page_per_shipment_downloaded_without_token(ali, fake_ali):
    ids = [fake_ali.add_order()["logistic_order_id"] for _ in range(3)]
    pdf = ali.labels(ids)
    assert pdf == fake_ali.label_pdf(ids)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 3
    api, dl = fake_ali.calls
    assert api.method == "POST" and api.req_headers["x-auth-token"] == fake_ali.token
    assert api.req_headers["accept"] == "application/json"  # as seed 003's examples send it
    assert api.json() == {"logistic_order_ids": ids}
    assert dl.method == "GET" and dl.path.startswith("/files/")
    assert "x-auth-token" not in dl.req_headers and "authorization" not in dl.req_headers


@pytest.mark.parametrize("error_status", [400, 200])
def test_error_codes_surface_by_name(fake_ali, error_status):
    fake_ali.error_status = error_status
    mine = fake_ali.add_order()["logistic_order_id"]
    theirs = fake_ali.add_order(other_owner=True)["logistic_order_id"]
    untracked = fake_ali.add_order(no_tracking=True)["logistic_order_id"]
    c = AliClient(fake_ali.url, fake_ali.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY)
    for ids, code in (([mine, 424242], "LogisticOrdersNotFound"), ([mine, theirs], "DifferentOwner"),
                      ([untracked], "LogisticOrderHasNotTrackingCode")):
        with pytest.raises(ApiError) as ei:
            c.labels(ids)
        assert ei.value.code == code and code in str(ei.value)
    assert len(fake_ali.calls) == 3  # business errors are not retried


def test_page_count_checked(ali, fake_ali):
    ids = [fake_ali.add_order()["logistic_order_id"] for _ in range(2)]
    fake_ali.extra_pages = 1
    with pytest.raises(BadLabel, match="3 pages for 2 shipments"):
        ali.labels(ids)


def test_label_must_be_a_pdf(ali, fake_ali):
    oid = fake_ali.add_order()["logistic_order_id"]
    fake_ali.serve_not_pdf = True
    with pytest.raises(BadLabel, match="not a PDF"):
        ali.labels([oid])


def test_label_download_size_cap(fake_ali):
    oid = fake_ali.add_order()["logistic_order_id"]
    fake_ali.serve_bytes = 3 * 1024 * 1024  # streamed, no Content-Length
    c = AliClient(fake_ali.url, fake_ali.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY,
                  max_pdf_bytes=1024 * 1024)
    with pytest.raises(BadLabel, match="larger than 1048576"):
        c.labels([oid])


def test_download_retried_on_dropped_connection(ali, fake_ali):
    oid = fake_ali.add_order()["logistic_order_id"]
    fake_ali.drop_next(1, path="/files/")
    assert ali.labels([oid]) == fake_ali.label_pdf([oid])
    assert [c.status for c in fake_ali.calls_to("/files/")] == [0, 200]


def test_find_by_tracking_and_trade_order_with_paging(ali, fake_ali):
    orders = [fake_ali.add_order() for _ in range(5)]
    tn = [o["platform_tracking_code"] for o in orders]
    rows = ali.find_logistic_orders(tracking_numbers=tn, page_size=2)
    assert [r["logistic_order_id"] for r in rows] == [o["logistic_order_id"] for o in orders]
    assert [c.json()["page"] for c in fake_ali.calls] == [1, 2, 3]
    rows = ali.find_logistic_orders(trade_order_ids=[orders[3]["trade_order_id"]])
    assert [r["logistic_order_id"] for r in rows] == [orders[3]["logistic_order_id"]]
    assert ali.find_logistic_orders(tracking_numbers=["NOPE"]) == []


def test_find_never_takes_another_shipments_tracking_number(ali, fake_ali):
    """A tracking number the API does not find must not print the label of the one shipment an
    answer happens to hold (a server ignoring the filter, a partial match): only a row with that
    tracking code, or a lone row that names no tracking code at all, is taken."""
    from printstation.errors import MarketplaceError
    from printstation.markets import LabelFetcher

    other = fake_ali.add_order(tracking="RU111111111CN")
    fake_ali.ignore_filter = True
    f = LabelFetcher(ali=ali)
    with pytest.raises(MarketplaceError, match="RU222222222CN"):
        f.ali_find("RU222222222CN")
    assert f.ali_find("RU111111111CN") == other["logistic_order_id"]
    assert f.ali_find(" ru111111111cn ".strip().upper()) == other["logistic_order_id"]
    mute = fake_ali.add_order(no_tracking=True)
    del fake_ali.orders[other["logistic_order_id"]]
    assert f.ali_find("RU333333333CN") == mute["logistic_order_id"]  # the answer names none: trusted


def test_handover_list(ali, fake_ali):
    ids = [fake_ali.add_order()["logistic_order_id"] for _ in range(2)]
    fake_ali.add_handover(77, ids)
    pdf = ali.handover_list(77)
    assert pdf.startswith(b"%PDF") and len(PdfReader(io.BytesIO(pdf)).pages) == 3
    with pytest.raises(ApiError) as ei:
        ali.handover_list(78)
    assert ei.value.code == "HandoverListNotFound"


def test_5xx_retried_and_token_refused(ali, fake_ali):
    fake_ali.fail_next(2, status=502)
    assert ali.find_logistic_orders(tracking_numbers=["X"]) == []
    c = AliClient(fake_ali.url, "not-the-token", rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY)
    with pytest.raises(ApiAuthError) as ei:
        c.labels([1])
    assert ei.value.exit_code == 4 and ei.value.code == "Unauthorized"


def test_label_url_with_a_strange_scheme_is_an_error(ali, fake_ali, monkeypatch):
    oid = fake_ali.add_order()["logistic_order_id"]
    monkeypatch.setattr(fake_ali, "_store", lambda data: "file:///etc/passwd")
    with pytest.raises(ApiError) as ei:
        ali.labels([oid])
    assert ei.value.code == "DownloadFailed" and ei.value.status == 0


def test_default_base_url_is_seed_003s_host():
    from printstation.markets import aliexpress
    from printstation.markets.settings import DEFAULT_URLS

    assert aliexpress.DEFAULT_URL == DEFAULT_URLS["ali"] == "https://openapi.ru.laliexpress.com"
