"""WBClient against the fake WB server: stickers, supply QR, boxes, orders, supplies, errors."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from printstation.errors import AuthError
from printstation.markets import ApiAuthError, ApiError, SupplyNotClosed, WBClient
from printstation.render.sniff import sniff
from support.fakes import FakeWB

from conftest import FAST_BURST, FAST_RATE, QUICK_RETRY


def _decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))]


@pytest.mark.parametrize("type,kind", [("zplv", "zpl"), ("zplh", "zpl"), ("svg", "svg"), ("png", "png")])
def test_stickers_every_type_decoded_and_checked(wb, fake_wb, type, kind):
    ids = fake_wb.add_orders(3)
    res = wb.order_stickers(ids, type, (58, 40))
    assert [r.order_id for r in res] == ids
    for r in res:
        assert r.ok, r.error
        assert r.data == fake_wb.sticker_file(r.order_id, type, (58, 40))
        assert sniff(r.data).kind == kind
        o = fake_wb.orders[r.order_id]
        assert (r.barcode, r.part_a, r.part_b) == (o["barcode"], o["partA"], o["partB"])
    call = fake_wb.calls_to("/api/v3/orders/stickers")[0]
    assert call.query == {"type": [type], "width": ["58"], "height": ["40"]}


def test_sticker_barcode_field_is_the_code128_in_the_file(wb, fake_wb):
    (oid,) = fake_wb.add_orders(1)
    (r,) = wb.order_stickers([oid], "png", (40, 30))
    assert Image.open(io.BytesIO(r.data)).size == (400, 300)
    assert r.barcode in _decode(r.data)


def test_stickers_split_in_calls_of_100_and_kept_in_callers_order(wb, fake_wb):
    ids = fake_wb.add_orders(250)
    fake_wb.reverse_stickers = True  # WB may answer in any order: matched by orderId
    asked = list(reversed(ids))[:120] + ids[:130] + [ids[5]]  # duplicates are fine too
    res = wb.order_stickers(asked, "zplv")
    assert [r.order_id for r in res] == asked
    assert all(r.ok for r in res)
    assert all(r.data == fake_wb.sticker_file(r.order_id) for r in res)
    sizes = [len(c.json()["orders"]) for c in fake_wb.calls_to("/api/v3/orders/stickers")]
    assert sizes == [100, 100, 50]


def test_one_corrupt_sticker_fails_that_order_alone(wb, fake_wb):
    ids = fake_wb.add_orders(4)
    fake_wb.corrupt(ids[1])
    fake_wb.wrong_type_ids.add(ids[2])
    res = wb.order_stickers(ids, "zplv")
    assert [r.ok for r in res] == [True, False, False, True]
    assert "corrupt base64" in res[1].error
    assert "expected a zpl file" in res[2].error
    assert res[0].data == fake_wb.sticker_file(ids[0]) and res[3].data == fake_wb.sticker_file(ids[3])


def test_orders_missing_from_the_answer_get_an_error(wb, fake_wb):
    ok = fake_wb.add_order()["id"]
    new = fake_wb.add_order(status="new")["id"]
    omitted = fake_wb.add_order()["id"]
    fake_wb.omit_ids.add(omitted)
    res = wb.order_stickers([ok, new, 999, omitted])
    assert [r.ok for r in res] == [True, False, False, False]
    assert all("no sticker" in r.error for r in res[1:])


def test_bad_type_or_size_is_a_usage_error(wb):
    from printstation.errors import UsageError

    with pytest.raises(UsageError):
        wb.order_stickers([1], "pdf")
    with pytest.raises(UsageError):
        wb.order_stickers([1], "zplv", (100, 150))
    with pytest.raises(UsageError):
        wb.order_stickers(["12x"], "zplv")


def test_an_id_past_int64_is_refused_before_it_sinks_its_batch(wb, fake_wb):
    """Order ids are int64 (the spec's format): a longer one WB cannot parse would fail the
    whole call of up to 100 orders with 400 IncorrectRequestBody; it is a usage error naming it."""
    from printstation.errors import UsageError

    ok = fake_wb.add_order()["id"]
    fake_wb.reset_calls()
    with pytest.raises(UsageError, match="9223372036854775808"):
        wb.order_stickers([ok, 2**63], "zplv")
    with pytest.raises(UsageError, match="99999999999999999999"):
        wb.order_statuses(["99999999999999999999"])
    assert fake_wb.calls_to("/api/") == []
    assert wb.order_stickers([2**63 - 1])[0].ok is False  # the largest int64 is still asked


def test_supply_qr_needs_a_delivered_supply(wb, fake_wb):
    s = fake_wb.add_supply(orders=fake_wb.add_orders(2))
    with pytest.raises(SupplyNotClosed) as ei:
        wb.supply_barcode(s["id"], "png")
    assert ei.value.status == 409 and ei.value.code == "SupplyNotClosed"
    assert "delivered" in str(ei.value)
    fake_wb.deliver(s["id"])
    qr = wb.supply_barcode(s["id"], "png")
    assert qr.barcode == s["id"] and qr.data == fake_wb.supply_file(s["id"], "png")
    assert s["id"] in _decode(qr.data)
    for t, kind in (("svg", "svg"), ("zplv", "zpl")):
        assert sniff(wb.supply_barcode(s["id"], t).data).kind == kind


def test_box_stickers_matched_by_position(wb, fake_wb):
    s = fake_wb.add_supply(boxes=4)
    boxes = wb.supply_boxes(s["id"])
    assert boxes == s["boxes"]
    asked = [boxes[2], boxes[0], boxes[3]]
    res = wb.box_stickers(s["id"], asked, "png")
    assert [b.trbx_id for b in res] == asked
    for b in res:
        assert b.ok and b.data == fake_wb.box_file(b.trbx_id, "png")
        assert b.barcode == fake_wb.box_barcodes[b.trbx_id]
        assert b.barcode in _decode(b.data)


def test_box_stickers_out_of_order_still_go_to_their_boxes(wb, fake_wb):
    """The answer names no box, but each sticker's barcode ``$WBMP:1:123:<n>`` carries the number
    of box ``WB-TRBX-<n>``: an answer in another order than asked must not put box A's sticker
    under box B's name (position alone would, silently)."""
    s = fake_wb.add_supply(boxes=4)
    fake_wb.reverse_box_stickers = True
    asked = [s["boxes"][2], s["boxes"][0], s["boxes"][3]]
    res = wb.box_stickers(s["id"], asked, "png")
    assert [b.trbx_id for b in res] == asked
    for b in res:
        assert b.ok and b.barcode == fake_wb.box_barcodes[b.trbx_id]
        assert b.data == fake_wb.box_file(b.trbx_id, "png")


def test_box_sticker_count_mismatch_is_an_error(wb, fake_wb):
    s = fake_wb.add_supply(boxes=3)
    fake_wb.box_count_delta = -1
    res = wb.box_stickers(s["id"], s["boxes"], "zplv")
    assert not any(b.ok for b in res)
    assert all("CountMismatch" in b.error for b in res)


def test_orders_paging_statuses_supplies(wb, fake_wb):
    ids = fake_wb.add_orders(25)
    new = fake_wb.add_order(status="new", skus=["4601234567893"])
    all_orders = wb.orders(limit=10)
    assert [o["id"] for o in all_orders] == ids + [new["id"]]
    assert len(fake_wb.calls_to("/api/v3/orders", "GET")) == 3
    got_new = wb.new_orders()
    assert [o["id"] for o in got_new] == [new["id"]] and got_new[0]["skus"] == ["4601234567893"]
    sts = wb.order_statuses(ids)
    assert {s["id"]: s["supplierStatus"] for s in sts} == {i: "confirm" for i in ids}
    sups = [fake_wb.add_supply(orders=ids[i:i + 5])["id"] for i in range(0, 25, 5)]
    assert [s["id"] for s in wb.supplies(limit=2)] == sups
    assert wb.supply_order_ids(sups[1]) == ids[5:10]


def test_order_statuses_batches_of_1000(wb, fake_wb):
    wb.order_statuses(range(1, 2501))
    assert [len(c.json()["orders"]) for c in fake_wb.calls_to("/api/v3/orders/status")] == [1000, 1000, 500]


def test_error_shapes_become_one_typed_error(wb, fake_wb):
    # business shape {code, message}
    with pytest.raises(ApiError) as ei:
        wb.supply_order_ids("WB-GI-404")
    assert (ei.value.status, ei.value.code) == (404, "NotFound")
    # gateway shape {title, detail, …}
    with pytest.raises(ApiError) as ei:
        wb.request("GET", "/api/v3/nowhere")
    assert (ei.value.status, ei.value.code) == (404, "path not found")
    # plain text
    fake_wb.fail_next(1, status=400, body="bad thing happened")
    with pytest.raises(ApiError) as ei:
        wb.new_orders()
    assert ei.value.status == 400 and ei.value.message == "bad thing happened"
    # 4xx are not retried
    assert len(fake_wb.calls_to("/api/v3/orders/new")) == 1


@pytest.mark.parametrize("plain", [False, True])
def test_refused_token_is_an_auth_error(fake_wb, plain):
    fake_wb.plain_401 = plain
    c = WBClient(fake_wb.url, "wrong-token-123", rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY)
    with pytest.raises(ApiAuthError) as ei:
        c.order_stickers(fake_wb.add_orders(1))
    assert isinstance(ei.value, AuthError) and ei.value.exit_code == 4 and ei.value.status == 401
    assert ("proxy: invalid token" in str(ei.value)) == plain
    assert len(fake_wb.calls) == 1


def test_bearer_scheme_and_bearer_prefixed_token(fake_wb):
    for c in (WBClient(fake_wb.url, fake_wb.token, auth_scheme="bearer", rate_per_min=FAST_RATE, burst=FAST_BURST),
              WBClient(fake_wb.url, "Bearer " + fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST)):
        assert c.new_orders() == []
    assert [c.req_headers["authorization"] for c in fake_wb.calls] == ["Bearer " + fake_wb.token, fake_wb.token]
    fake_wb.accept_bearer = False
    with pytest.raises(ApiAuthError):
        WBClient(fake_wb.url, fake_wb.token, auth_scheme="bearer", rate_per_min=FAST_RATE,
                 burst=FAST_BURST).new_orders()


def test_fake_enforces_its_own_request_schema():
    with FakeWB(rate_per_min=None) as f:
        c = WBClient(f.url, f.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY)
        with pytest.raises(ApiError) as ei:
            c.request("POST", "/api/v3/orders/stickers", params={"type": "zplv", "width": 58, "height": 40},
                      json_body={"orders": list(range(1, 102))})
        assert ei.value.code == "IncorrectRequestBody"


NGINX_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def test_html_error_page_is_one_line_reason(wb, fake_wb, market_env, capsys):
    """A proxy's HTML error page (502 after the retries, a 400 from a captive portal) becomes a
    one-line message with its title, not markup over several lines."""
    from printstation.face.cli import main

    fake_wb.fail_next(10, status=502, body=NGINX_502, headers={"Content-Type": "text/html"})
    with pytest.raises(ApiError) as ei:
        wb.new_orders()
    assert "502 Bad Gateway" in str(ei.value) and "<" not in str(ei.value) and "\n" not in str(ei.value)
    fake_wb.clear_faults()
    page = "<!DOCTYPE html>\n<html><head>\n<title>\n  Access   denied\n</title></head>\n<body><p>Your request\nwas blocked</p></body></html>"
    fake_wb.fail_next(1, status=400, body=page, headers={"Content-Type": "text/html; charset=utf-8"})
    capsys.readouterr()  # only the command's own output below
    code = main(["wb", "orders", "--new"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Access denied" in err and "<" not in err, err
    fake_wb.fail_next(1, status=400, body="line one\nline two", headers={"Content-Type": "text/plain"})
    with pytest.raises(ApiError) as ei:
        wb.new_orders()
    assert ei.value.message == "line one line two"


def test_a_batch_wb_refuses_is_split_so_one_bad_order_fails_alone(wb, fake_wb):
    """WB answers one 400 for a whole sticker call when one id in it is refused (another
    seller's order, say): the call is split until the refused order stands alone, and the other
    99 orders get their stickers."""
    ids = fake_wb.add_orders(100)
    bad = ids[37]
    fake_wb.refuse_ids.add(bad)
    fake_wb.reset_calls()
    res = wb.order_stickers(ids)
    assert [r.order_id for r in res] == ids
    assert [r.order_id for r in res if not r.ok] == [bad]
    assert "IncorrectRequest" in res[37].error
    calls = fake_wb.calls_to("/api/v3/orders/stickers")
    assert len(calls) <= 2 * 7 + 1  # halving: about two calls a level, log2(100) levels
    assert all(len(c.json()["orders"]) <= 100 for c in calls)
