"""A job that prints several labels (a multi-page TIFF, a WB JSON answer of ZPL stickers) in real
headless Chromium against the real daemon: its row says how many, and the enlarged view shows
every label, not only the first."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
import zxingcpp
from PIL import Image

from support import labelgen as lg
from support.daemon_harness import wait_until

VALUES = ["!Page1aaaa", "!Page2bbbb", "!Page3cccc"]


@pytest.fixture
def station(station58):
    return station58, station58.api.url


def submit(d, url: str, data: bytes, name: str) -> int:
    r = httpx.post(url + "/jobs", params={"name": name}, content=data, timeout=30)
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    wait_until(lambda: d.store.get(job_id).state == "done", timeout=60)
    return job_id


def test_a_multi_label_job_says_how_many_and_shows_each(station, open_page):
    d, url = station
    pages = submit(d, url, lg.tiff_pages(VALUES), "pages.tiff")
    single = submit(d, url, lg.wb_sticker_png("!Single11"), "one.png")
    answer = json.dumps({"stickers": [{"file": base64.b64encode(lg.wb_sticker_zpl(v, size=(58, 40))).decode()}
                                      for v in VALUES]}).encode()
    native = submit(d, url, answer, "stickers.json")

    page, console = open_page(url + "/")
    page.wait_for_selector("body[data-loaded]")
    row = page.locator(f'[data-job="{pages}"]')
    row.locator(".labels").wait_for()
    assert row.locator(".labels").inner_text() == "3 labels"
    row.locator("img.thumb").click()
    big = page.locator("#zoom img.big")
    page.wait_for_function("() => document.querySelectorAll('#zoom img.big').length === 3")
    page.wait_for_function("() => [...document.querySelectorAll('#zoom img.big')].every(i => i.complete && i.naturalWidth > 0)")
    shown = []
    for i in range(3):  # each enlarged label is that label: its barcode decodes
        png = httpx.get(url + big.nth(i).get_attribute("src")).content
        shown.append([r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))])
    assert shown == [[v] for v in VALUES]
    assert page.locator("#zoom").get_by_text("label 3 of 3").count() == 1
    page.locator('#zoom button[data-action="close"]').click()

    # one label: no count, one enlarged image
    one = page.locator(f'[data-job="{single}"]')
    one.locator("img.thumb").click()
    page.wait_for_function("() => document.querySelectorAll('#zoom img.big').length === 1"
                           " && document.querySelector('#zoom img.big').naturalWidth > 0")
    assert one.locator(".labels").count() == 0
    page.locator('#zoom button[data-action="close"]').click()

    # a JSON answer of ZPL stickers: its fields, with how many labels and which label each is on
    z = page.locator(f'[data-job="{native}"]')
    z.locator(".labels").wait_for()
    assert z.locator(".labels").inner_text() == "3 labels" and z.locator("img").count() == 0
    z.locator("button.thumbbox").click()
    page.locator("#zoom").get_by_text(VALUES[2]).wait_for()
    assert "label 3" in page.locator("#zoom li", has_text=VALUES[2]).inner_text()
    assert console.dialogs == [] and console.errors == []
