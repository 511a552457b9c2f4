"""LabelCache and LabelFetcher: fetched once, corrupt files refetched, atomic, keyed right."""

from __future__ import annotations

import io
import os

import pytest
from pypdf import PdfReader

from printstation.errors import MarketplaceError
from printstation.markets import BadLabel, LabelCache, LabelFetcher, LabelKey, SupplyNotClosed


@pytest.fixture
def fetcher(wb, ali, tmp_path):
    return LabelFetcher(wb=wb, ali=ali, cache=LabelCache(tmp_path / "data"))


def _files(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_order_sticker_fetched_once(fetcher, fake_wb, tmp_path):
    oid = fake_wb.add_order()["id"]
    a = fetcher.wb_order_sticker(oid, "zplv", (58, 40))
    b = fetcher.wb_order_sticker(oid, "zplv", (58, 40))
    assert a == b == fake_wb.sticker_file(oid)
    assert len(fake_wb.calls) == 1
    assert _files(tmp_path / "data") == [f"labels/wb/order/{oid}-zplv-58x40.zpl"]
    # type and size are part of the key
    fetcher.wb_order_sticker(oid, "png", (40, 30))
    fetcher.wb_order_sticker(oid, "zplv", (40, 30))
    assert len(fake_wb.calls) == 3


def test_batch_mixes_cached_and_fetched_in_callers_order(fetcher, fake_wb):
    ids = fake_wb.add_orders(5)
    fetcher.wb_order_stickers(ids[1:3], "svg")
    fake_wb.reset_calls()
    res = fetcher.wb_order_stickers(ids, "svg")
    assert [r.order_id for r in res] == ids and all(r.ok for r in res)
    (call,) = fake_wb.calls
    assert call.json()["orders"] == [ids[0], ids[3], ids[4]]


@pytest.mark.parametrize("damage", [b"", b"^XA^FDtruncated", b"garbage \x00\x01", None])
def test_corrupt_cached_file_dropped_and_refetched(fetcher, fake_wb, damage):
    oid = fake_wb.add_order()["id"]
    fetcher.wb_order_sticker(oid)
    path = fetcher.cache.path(LabelKey("wb", "order", str(oid), "zplv", (58, 40)))
    path.write_bytes(damage if damage is not None else b"PK\x03\x04 a zip, not zpl")
    assert fetcher.wb_order_sticker(oid) == fake_wb.sticker_file(oid)
    assert len(fake_wb.calls) == 2
    assert path.read_bytes() == fake_wb.sticker_file(oid)


def test_failed_sticker_not_cached(fetcher, fake_wb):
    oid = fake_wb.add_order()["id"]
    fake_wb.corrupt(oid)
    with pytest.raises(MarketplaceError, match="corrupt base64"):
        fetcher.wb_order_sticker(oid)
    fake_wb.corrupt_ids.clear()
    assert fetcher.wb_order_sticker(oid) == fake_wb.sticker_file(oid)


def test_supply_qr_and_box_stickers_cached(fetcher, fake_wb, tmp_path):
    s = fake_wb.add_supply(boxes=2)
    with pytest.raises(SupplyNotClosed):
        fetcher.wb_supply_qr(s["id"], "png")
    fake_wb.deliver(s["id"])
    assert fetcher.wb_supply_qr(s["id"], "png") == fetcher.wb_supply_qr(s["id"], "png")
    box = s["boxes"][1]
    assert fetcher.wb_box_sticker(box, s["id"], "zplv") == fake_wb.box_file(box, "zplv")
    fetcher.wb_box_sticker(box, s["id"], "zplv")
    res = fetcher.wb_box_stickers(s["id"], type="zplv")
    assert [b.trbx_id for b in res] == s["boxes"] and all(b.ok for b in res)
    paths = [c.path for c in fake_wb.calls]
    assert paths.count(f"/api/v3/supplies/{s['id']}/barcode") == 2  # the 409, then one fetch
    assert [c.json()["trbxIds"] for c in fake_wb.calls if c.path.endswith("/trbx/stickers")] == [[box], [s["boxes"][0]]]
    assert f"labels/wb/supply/{s['id']}-png-58x40.png" in _files(tmp_path / "data")


def test_ali_labels_split_per_shipment_one_bad_id_fails_alone(fetcher, fake_ali, tmp_path):
    ids = [fake_ali.add_order()["logistic_order_id"] for _ in range(3)]
    res = fetcher.ali_labels([ids[0], 555, ids[1], ids[2]])
    assert [r.ok for r in res] == [True, False, True, True]
    assert "LogisticOrdersNotFound" in res[1].error
    for r in res:
        if r.ok:
            assert len(PdfReader(io.BytesIO(r.data)).pages) == 1
    fake_ali.reset_calls()
    assert fetcher.ali_label(ids[1]) == res[2].data
    assert fake_ali.calls == []
    assert f"labels/ali/label/{ids[0]}-pdf-0x0.pdf" in _files(tmp_path / "data")


def test_ali_label_for_tracking(fetcher, fake_ali):
    o = fake_ali.add_order(tracking="RU000111222CN")
    lid, pdf = fetcher.ali_label_for_tracking("RU000111222CN")
    assert lid == o["logistic_order_id"] and pdf.startswith(b"%PDF")
    with pytest.raises(MarketplaceError, match="no shipment"):
        fetcher.ali_find("RU999CN")


def test_cache_put_is_atomic_and_checked(tmp_path):
    c = LabelCache(tmp_path)
    key = LabelKey("wb", "order", "1", "zplv", (58, 40))
    with pytest.raises(BadLabel):
        c.put(key, b"not a label")
    assert c.get(key) is None
    c.put(key, b"^XA^FO10,10^FDx^FS^XZ")
    assert c.get(key) == b"^XA^FO10,10^FDx^FS^XZ"
    assert [p.name for p in c.path(key).parent.iterdir()] == ["1-zplv-58x40.zpl"]


def test_odd_ids_never_escape_the_cache_dir(tmp_path):
    c = LabelCache(tmp_path)
    for ident in ("../../etc/passwd", "a/b", "..", "$WBMP:1:2:3"):
        p = c.path(LabelKey("wb", "box", ident, "png", (58, 40)))
        assert p.parent == tmp_path / "labels" / "wb" / "box" and "/" not in p.name


@pytest.mark.parametrize("plant", ["fifo", "symlink", "huge"])
def test_planted_cache_entry_is_never_followed_or_read_whole(fetcher, fake_wb, tmp_path, plant):
    """What sits at a cache path and is not a regular file the station wrote — a FIFO (reading it
    would hang the scan), a symlink (to another label, or anything) or a file past the size limit
    — is dropped unread and the label fetched again."""
    from printstation.markets import cache as cache_mod

    oid = fake_wb.add_order()["id"]
    key = LabelKey("wb", "order", str(oid), "zplv", (58, 40))
    p = fetcher.cache.path(key)
    p.parent.mkdir(parents=True)
    if plant == "fifo":
        os.mkfifo(p)
    elif plant == "symlink":
        other = tmp_path / "elsewhere.zpl"
        other.write_bytes(b"^XA^FO10,10^FDnot this order^FS^XZ")
        p.symlink_to(other)
    else:
        p.write_bytes(b"^XA" + b" " * (cache_mod.MAX_CACHED_BYTES + 10) + b"^XZ")
    assert fetcher.wb_order_sticker(oid, "zplv", (58, 40)) == fake_wb.sticker_file(oid)
    assert p.is_file() and not p.is_symlink() and p.read_bytes() == fake_wb.sticker_file(oid)
    if plant == "symlink":
        assert (tmp_path / "elsewhere.zpl").read_bytes().startswith(b"^XA^FO10")  # untouched
