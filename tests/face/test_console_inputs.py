"""The console's previews for the input kinds conversion learnt later: a whole WB/Ozon JSON
answer (every sticker prints, ZPL ones natively), multi-page TIFF, quoted/unpadded base64 — on
the real daemon: the job row's preview kind, ``/jobs/{id}/preview.png`` and ``/jobs/{id}/fields``."""

from __future__ import annotations

import base64
import json

import pytest

from support import labelgen as lg
from support.daemon_harness import wait_until
from support.rawhttp import exchange, request

VALUES = ["!Cons1aaaa", "!Cons2bbbb", "!Cons3cccc"]


def wb_answer(*kinds: str) -> bytes:
    make = {"png": lg.wb_sticker_png, "svg": lg.wb_sticker_svg, "zpl": lg.wb_sticker_zpl}
    stickers = [{"orderId": 100 + i, "barcode": v, "file": base64.b64encode(make[k](v, size=(58, 40))).decode()}
                for i, (k, v) in enumerate(zip(kinds, VALUES))]
    return json.dumps({"stickers": stickers}, indent=1).encode()


@pytest.fixture
def station(station58):
    return station58, station58.api.port


def submit(d, port: int, name: str, body: bytes) -> dict:
    status, _, job = exchange(port, request("POST", f"/jobs?name={name}", body=body))
    assert status == 201, job
    wait_until(lambda: d.store.get(job["id"]).state in ("done", "failed"), timeout=60)
    assert d.store.get(job["id"]).state == "done", d.store.get(job["id"]).error
    return job


def row(port: int, job_id: int) -> dict:
    status, _, state = exchange(port, request("GET", "/console/state"))
    assert status == 200
    return next(j for j in state["jobs"] if j["id"] == job_id)


def test_a_json_answer_of_zpl_stickers_lists_every_stickers_fields(station):
    d, port = station
    job = submit(d, port, "stickers.json", wb_answer("zpl", "zpl", "zpl"))
    assert row(port, job["id"])["preview"] == "fields"  # not a preview.png that can only fail
    status, _, f = exchange(port, request("GET", f"/jobs/{job['id']}/fields"))
    assert status == 200 and f["native"] and f["note"] == "printed natively by the printer"
    codes = [(x["label"], x["data"]) for x in f["fields"] if x["kind"] == "Code 128"]
    assert codes == [(1, VALUES[0]), (2, VALUES[1]), (3, VALUES[2])]


def test_a_json_answer_mixing_zpl_and_bitmap_stickers_says_so(station):
    d, port = station
    job = submit(d, port, "mixed.json", wb_answer("png", "zpl"))
    assert row(port, job["id"])["preview"] == "fields"
    f = exchange(port, request("GET", f"/jobs/{job['id']}/fields"))[2]
    assert f["native"] and f["note"].startswith("1 of 2 stickers printed natively")
    assert [x["data"] for x in f["fields"] if x["kind"] == "Code 128"] == [VALUES[1]]


def test_a_json_answer_of_bitmap_stickers_has_a_raster_preview(station):
    d, port = station
    job = submit(d, port, "png.json", wb_answer("png", "svg"))
    assert row(port, job["id"])["preview"] == "png"
    status, headers, _ = exchange(port, request("GET", f"/jobs/{job['id']}/preview.png"))
    assert status == 200 and headers["content-type"] == "image/png"
    f = exchange(port, request("GET", f"/jobs/{job['id']}/fields"))[2]
    assert not f["native"] and f["note"].startswith("a JSON answer of 2 png/svg stickers")


@pytest.mark.parametrize("name,body,labels,native", [
    ("three.json", wb_answer("zpl", "zpl", "zpl"), 3, True),
    ("three.json", wb_answer("png", "svg", "png"), 3, False),
    ("ozon.json", json.dumps({"content_type": "application/pdf", "file_content": base64.b64encode(
        lg.pdf_label(["RU100000001CN", "RU100000002CN"], size_mm=(58, 40))).decode()}).encode(), 2, False),
    ("pages.tiff", lg.tiff_pages(VALUES), 3, False),
    ("one.tiff", lg.tiff_pages(VALUES[:1]), 1, False),
    ("quoted.b64", b'"' + base64.b64encode(lg.wb_sticker_zpl("!Q1")) + b'"', 1, True),
    ("unpadded.b64", base64.b64encode(lg.wb_sticker_png("!Q22")).rstrip(b"="), 1, False),
])
def test_the_operator_sees_how_many_labels_a_job_prints(station, name, body, labels, native):
    d, port = station
    job = submit(d, port, name, body)
    assert row(port, job["id"])["preview"] == ("fields" if native else "png")
    f = exchange(port, request("GET", f"/jobs/{job['id']}/fields"))[2]
    assert f["native"] is native and f["labels"] == labels
    if not native:  # every label has its page, and no more
        for page in range(1, labels + 1):
            assert exchange(port, request("GET", f"/jobs/{job['id']}/preview.png?page={page}"))[0] == 200
        assert exchange(port, request("GET", f"/jobs/{job['id']}/preview.png?page={labels + 1}"))[0] == 404


def test_a_long_answer_says_its_fields_list_is_cut(station):
    d, port = station
    stickers = [{"file": base64.b64encode(lg.wb_sticker_zpl(f"!Long{i:04d}", size=(58, 40))).decode()} for i in range(80)]
    job = submit(d, port, "long.json", json.dumps({"stickers": stickers}).encode())
    f = exchange(port, request("GET", f"/jobs/{job['id']}/fields"))[2]
    assert f["labels"] == 80 and len(f["fields"]) == 200
    assert f["note"] == "printed natively by the printer (its first 200 fields)"
    assert f["fields"][-1]["label"] < 80  # the list stops before the last label: the note says so
