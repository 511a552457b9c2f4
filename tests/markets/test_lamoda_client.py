"""LamodaClient against the fake Lamoda B2B server: token life, refresh once on 401, labels."""

from __future__ import annotations

import io
import logging

import pytest
from pypdf import PdfReader

from printstation.markets import ApiAuthError, ApiError, BadLabel, LabelCache, LabelFetcher, LamodaClient
from printstation.markets.lamoda import LABEL_CALLS
from support.fakes import FakeLamoda

from conftest import FAST_BURST, FAST_RATE, QUICK_RETRY


@pytest.fixture
def lm():
    with FakeLamoda(token_life=3600) as f:
        yield f


def client(lm, **kw):
    kw.setdefault("retry", QUICK_RETRY)
    return LamodaClient(lm.url, lm.client_secret, client_id=lm.client_id, rate_per_min=FAST_RATE,
                        burst=FAST_BURST, timeout=5, **kw)


def test_pack_and_pallet_labels_with_one_cached_token(lm):
    packs = lm.add_order("LM-1001", packs=2)
    lm.add_shipment("SH-77", pallets=3)
    with client(lm) as c:
        pdf = c.pack_labels("LM-1001")
        assert pdf == lm.pdf(packs) and len(PdfReader(io.BytesIO(pdf)).pages) == 2
        assert len(PdfReader(io.BytesIO(c.pallet_labels("SH-77"))).pages) == 3
        c.pack_labels("LM-1001")
    token_calls = lm.calls_to("/auth/token")
    assert len(token_calls) == 1
    q = token_calls[0].query
    assert q == {"client_id": [lm.client_id], "client_secret": [lm.client_secret],
                 "grant_type": ["client_credentials"]}
    labels = [c for c in lm.calls if c.path.startswith("/api/")]
    assert [(c.path, c.query) for c in labels] == [
        (LABEL_CALLS["packs"][0], {"orderNr": ["LM-1001"]}),
        (LABEL_CALLS["pallets"][0], {"shipmentId": ["SH-77"]}),
        (LABEL_CALLS["packs"][0], {"orderNr": ["LM-1001"]})]
    assert all(c.req_headers["authorization"] == "Bearer " + lm.issued[0] for c in labels)


def test_token_renewed_before_it_expires(fake_clock):
    with FakeLamoda(token_life=600) as lm:
        lm.add_order("A1")
        with client(lm, clock=fake_clock, sleep=fake_clock.sleep) as c:
            c.pack_labels("A1")
            fake_clock.now += 500  # inside the 60 s margin before expiry
            c.pack_labels("A1")
            fake_clock.now += 100
            c.pack_labels("A1")
        assert len(lm.calls_to("/auth/token")) == 2 and c.token_fetches == 2


@pytest.mark.parametrize("life", ["600", 600.0, None, "soon", -5])
def test_odd_expires_in(life, fake_clock):
    with FakeLamoda() as lm:
        lm.token_life = life
        lm.add_order("A1")
        with client(lm, clock=fake_clock, sleep=fake_clock.sleep) as c:
            c.pack_labels("A1")
            c.pack_labels("A1")
        assert len(lm.calls_to("/auth/token")) == 1


def test_401_refreshes_the_token_once_and_retries(lm):
    lm.add_order("A1")
    with client(lm) as c:
        c.pack_labels("A1")
        lm.expire_tokens()  # the server forgot the token early
        assert c.pack_labels("A1").startswith(b"%PDF")
    assert [c.path for c in lm.calls] == ["/auth/token", "/api/v1/label/packs", "/api/v1/label/packs",
                                          "/auth/token", "/api/v1/label/packs"]
    assert [c.status for c in lm.calls] == [200, 200, 401, 200, 200]


def test_401_after_the_refresh_is_an_auth_error(lm):
    lm.add_order("A1")
    lm.refuse_all = True
    with client(lm) as c:
        with pytest.raises(ApiAuthError) as ei:
            c.pack_labels("A1")
    assert ei.value.status == 401
    assert len(lm.calls_to("/auth/token")) == 2 and len(lm.calls_to("/api/")) == 2


def test_wrong_client_secret_never_shows(lm, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "wrong-secret-" + "q" * 20
    with LamodaClient(lm.url, bad, client_id=lm.client_id, retry=QUICK_RETRY) as c:
        with pytest.raises(ApiAuthError) as ei:
            c.pack_labels("A1")
        assert "***" in repr(c)
    assert len(lm.calls) == 1 and ei.value.status == 401
    assert bad not in str(ei.value) and bad not in repr(ei.value) and bad not in caplog.text


def test_refused_token_says_why_in_oauth_terms(lm):
    """The token call answers OAuth2's ``{error, error_description}``: both reach the message."""
    bad = "another-wrong-secret-" + "z" * 10
    with LamodaClient(lm.url, bad, client_id=lm.client_id, retry=QUICK_RETRY) as c:
        with pytest.raises(ApiAuthError) as ei:
            c.check()
    assert ei.value.code == "invalid_client" and "Client authentication failed" in str(ei.value)
    assert bad not in str(ei.value)


def test_access_token_and_secret_never_in_logs_or_errors(lm, caplog):
    caplog.set_level(logging.DEBUG)
    lm.add_order("A1")
    with client(lm) as c:
        c.pack_labels("A1")
        lm.fail_next(1, status=400, body={"code": "Bad", "message": f"token {lm.issued[0]} secret {lm.client_secret}"})
        with pytest.raises(ApiError) as ei:
            c.pack_labels("A1")
    blob = str(ei.value) + caplog.text
    assert lm.issued[0] not in blob and lm.client_secret not in blob and "token *** secret ***" in str(ei.value)


def test_not_found_not_pdf_and_bad_refs(lm, tmp_path):
    lm.add_order("A1")
    with client(lm) as c:
        f = LabelFetcher(lamoda=c, cache=LabelCache(tmp_path))
        ok, missing = f.lamoda_labels("packs", ["A1", "NOPE"])
        assert ok.ok and not missing.ok and "404" in missing.error and "NOPE" in missing.error
        lm.reset_calls()
        assert f.lamoda_labels("packs", ["A1"])[0].data == ok.data and lm.calls == []  # cached
        lm.add_shipment("S1")
        lm.serve_not_pdf = True
        with pytest.raises(BadLabel, match="not a PDF"):
            c.pallet_labels("S1")
        with pytest.raises(Exception, match="bad Lamoda order number"):
            c.pack_labels("../etc")


def test_5xx_retried(lm):
    lm.add_order("A1")
    with client(lm) as c:
        c.access_token()
        lm.fail_next(2, status=503, path="/api/")
        assert c.pack_labels("A1").startswith(b"%PDF")
