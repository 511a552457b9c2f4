"""The operator console in real headless Chromium against the real daemon (in-process, real
TCP printers on 127.0.0.1): printers, previews, reprint, cancel, pause/resume, test print,
upload, drag-and-drop, scan, live updates across a daemon restart, hostile names as text."""

from __future__ import annotations

import base64
import io
import socket
import time

import httpx
import pytest
import zxingcpp
from PIL import Image

from support.daemon_harness import running, wait_until, write_config, zpl_values
from support.labelgen import wb_sticker_png, wb_sticker_zpl
from support.printer_sinks import RecordingSink


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

HOSTILE = '<img src=x onerror=alert(1)>"\'&amp;<script>alert(2)<b>bold'


@pytest.fixture
def station(tmp_path):
    with RecordingSink() as a, RecordingSink() as b:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data",
                           [{"name": "zebra", "uri": a.uri}, {"name": "tsc", "uri": b.uri, "lang": "tspl"}])
        with running(cfg) as d:
            yield d, d.api.url, a, b


def submit(url: str, data: bytes, **params: str) -> dict:
    r = httpx.post(url + "/jobs", params=params, content=data, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def loaded(page) -> None:
    page.wait_for_selector("body[data-loaded]")


def test_printers_jobs_previews_and_hostile_names(station, open_page, tmp_path):
    d, url, a, b = station
    png = submit(url, wb_sticker_png("!12345678"), printer="zebra", name="order-1.png")
    zpl = submit(url, wb_sticker_zpl("!NATIVE77"), printer="zebra", name="native.zpl")
    evil = submit(url, wb_sticker_png("!66666666"), printer="tsc", name=HOSTILE)
    wait_until(lambda: all(d.store.get(j["id"]).state == "done" for j in (png, zpl, evil)))

    page, console = open_page(url + "/")
    loaded(page)
    for name, sink in (("zebra", a), ("tsc", b)):
        card = page.locator(f'[data-printer="{name}"]')
        card.wait_for()
        assert sink.uri.split("//")[1] in card.inner_text()
        for action in ("pause", "resume", "test"):
            assert card.locator(f'button[data-action="{action}"]').is_visible()

    # the exact raster the printer got, as a loaded image
    img = page.locator(f'[data-job="{png["id"]}"] img')
    img.wait_for()
    assert img.get_attribute("src") == f"/jobs/{png['id']}/preview.png"
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("img => img.naturalWidth") > 0
    shown = httpx.get(url + img.get_attribute("src")).content  # what the page shows decodes
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(shown)))] == ["!12345678"]
    # native ZPL: the fields it prints, never a broken image
    native = page.locator(f'[data-job="{zpl["id"]}"]')
    native.get_by_text("printed natively by the printer").first.wait_for()
    native.get_by_text("!NATIVE77").wait_for()
    assert native.locator("img").count() == 0
    # click to enlarge
    img.click()
    page.locator("#zoom img.big").wait_for()
    page.wait_for_function("() => document.querySelector('#zoom img.big').naturalWidth > 0")
    page.locator('#zoom button[data-action="close"]').click()

    # a hostile job name is text, not markup
    evil_row = page.locator(f'[data-job="{evil["id"]}"]')
    assert d.store.get(evil["id"]).name == HOSTILE
    assert evil_row.locator(".jobname").inner_text() == HOSTILE
    assert page.locator('img[src="x"]').count() == 0
    assert evil_row.locator("script").count() == 0
    assert page.evaluate("() => document.querySelectorAll('script').length") == 1  # /app.js only

    shot = tmp_path / "console.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert console.dialogs == [] and console.errors == []


def test_reprint_cancel_pause_resume_and_test_print(station, open_page):
    d, url, a, b = station
    first = submit(url, wb_sticker_zpl("!FIRST001"), printer="zebra", name="first.zpl")
    wait_until(lambda: d.store.get(first["id"]).state == "done")
    page, console = open_page(url + "/")
    loaded(page)
    card = page.locator('[data-printer="zebra"]')

    card.locator('button[data-action="pause"]').click()
    wait_until(lambda: d.workers["zebra"].manual_paused)
    card.locator('.state[data-state="paused"]').wait_for()

    queued = submit(url, wb_sticker_zpl("!QUEUED02"), printer="zebra", name="queued.zpl")
    row = page.locator(f'[data-job="{queued["id"]}"]')
    row.locator('button[data-action="cancel"]').click()
    wait_until(lambda: d.store.get(queued["id"]).state == "canceled")
    page.locator(f'[data-job="{queued["id"]}"][data-state="canceled"]').wait_for()
    assert page.locator(f'[data-job="{queued["id"]}"] button[data-action="cancel"]').count() == 0

    card.locator('button[data-action="resume"]').click()
    wait_until(lambda: not d.workers["zebra"].manual_paused)

    page.locator(f'[data-job="{first["id"]}"] button[data-action="reprint"]').click()
    again = wait_until(lambda: [j for j in d.store.list_jobs() if j.reprint_of == first["id"]])
    page.locator(f'[data-job="{again[0].id}"]').wait_for()
    wait_until(lambda: d.store.get(again[0].id).state == "done")
    wait_until(lambda: zpl_values(a.data) == ["!FIRST001", "!FIRST001"])
    page.locator('[data-today="zebra"]').get_by_text("reprints 1", exact=False)

    before = {j.id for j in d.store.list_jobs()}
    page.locator('[data-printer="tsc"] button[data-action="test"]').click()
    test_job = wait_until(lambda: [j for j in d.store.list_jobs() if j.id not in before])
    assert test_job[0].printer == "tsc" and test_job[0].source == "test"
    page.locator(f'[data-job="{test_job[0].id}"]').wait_for()
    assert console.errors == []


def test_upload_drag_and_drop_and_scan(station, open_page, tmp_path):
    d, url, a, b = station
    page, console = open_page(url + "/")
    loaded(page)

    label = tmp_path / "my label.png"
    label.write_bytes(wb_sticker_png("!UPLOAD01"))
    page.locator('input[type=file][name="label"]').set_input_files(str(label))
    page.locator('select[name="printer"]').select_option("tsc")
    page.locator('input[name="copies"]').fill("2")
    page.locator('button[data-action="upload"]').click()
    job = wait_until(lambda: d.store.list_jobs(printer="tsc"))[0]
    assert (job.name, job.copies, job.source) == ("my label.png", 2, "api")
    page.locator(f'[data-job="{job.id}"]').wait_for()

    dropped = wb_sticker_png("!DROPPED1")
    page.evaluate("""([name, b64]) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, {type: "image/png"}));
        for (const type of ["dragenter", "dragover", "drop"])
            document.body.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", ["dropped.png", base64.b64encode(dropped).decode()])
    got = wait_until(lambda: [j for j in d.store.list_jobs() if j.name == "dropped.png"])
    assert d.store.payload(got[0].id) == dropped and got[0].printer == "tsc"

    # the scan box takes the hardware scan path: a PS: command pauses the default printer
    page.locator('input[name="code"]').fill("PS:PAUSE")
    page.locator('button[data-action="scan"]').click()
    wait_until(lambda: d.workers["zebra"].manual_paused)
    rec = wait_until(lambda: d.triggers.scans.recent(1))[0]  # recorded just after the command ran
    assert (rec["code"], rec["scanner"], rec["outcome"]) == ("PS:PAUSE", "api", "paused")
    page.locator(f'[data-scan="{rec["id"]}"]').wait_for()
    # a scan that names a job: its record's job is the id (a number), shown as a link to the job
    held = submit(url, wb_sticker_png("!HELD0001"), printer="zebra", name="held.png")
    page.locator('input[name="code"]').fill("PS:CANCEL")
    page.locator('button[data-action="scan"]').click()
    canceled = wait_until(lambda: [r for r in d.triggers.scans.recent(5) if r["outcome"] == "canceled"])[0]
    assert canceled["job"] == held["id"] and type(canceled["job"]) is int
    link = page.locator(f'[data-scan="{canceled["id"]}"] a[href="#job-{held["id"]}"]')
    link.wait_for()
    assert link.inner_text() == f"#{held['id']}"
    # a hostile scanned code is text too
    page.locator('input[name="code"]').fill(HOSTILE[:60])
    page.locator('input[name="code"]').press("Enter")
    rec2 = wait_until(lambda: [r for r in d.triggers.scans.recent(5) if r["id"] > canceled["id"]])[0]
    row = page.locator(f'[data-scan="{rec2["id"]}"]')
    row.wait_for()
    assert row.locator(".scancode").inner_text() == rec2["code"]
    assert page.locator('img[src="x"]').count() == 0
    assert console.errors == [] and console.dialogs == []


def test_live_updates_and_reconnect_after_restart(tmp_path, open_page):
    port = free_port()
    with RecordingSink() as a:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "zebra", "uri": a.uri}],
                           listen=f"127.0.0.1:{port}")
        with running(cfg) as d:
            url = d.api.url
            page, console = open_page(url + "/")
            loaded(page)
            page.locator('#live[data-live="live"]').wait_for()
            # a job submitted elsewhere shows up by itself (pushed: the page does not poll while live)
            t0 = time.monotonic()
            job = submit(url, wb_sticker_zpl("!ELSEWHERE"), name="elsewhere.zpl")
            page.locator(f'[data-job="{job["id"]}"]').wait_for()
            shown_after = time.monotonic() - t0
            page.locator(f'[data-job="{job["id"]}"][data-state="done"]').wait_for()
            assert console.errors == []
        # the daemon is gone: the page says so
        page.locator('#live[data-live="reconnecting"]').wait_for()
        with running(cfg) as d2:
            page.locator('#live[data-live="live"]').wait_for()
            job2 = submit(d2.api.url, wb_sticker_zpl("!AFTERRST"), name="after.zpl")
            page.locator(f'[data-job="{job2["id"]}"]').wait_for()
    print(f"live update shown {shown_after * 1000:.0f} ms after the submit")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_readable_on_desktop_and_phone(station, open_page, viewport, tmp_path):
    d, url, a, b = station
    submit(url, wb_sticker_png("!12345678"), printer="zebra", name="a-rather-long-file-name-" * 4 + ".png")
    page, console = open_page(url + "/", viewport=viewport)
    loaded(page)
    page.locator("[data-job] img").first.wait_for()
    # nothing wider than the screen: no sideways scrolling to reach a button
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    for sel in ('[data-printer="zebra"] button[data-action="pause"]', 'button[data-action="upload"]',
                'button[data-action="scan"]', '[data-job] button[data-action="reprint"]'):
        box = page.locator(sel).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], sel
    page.screenshot(path=str(tmp_path / f"console-{viewport['width']}.png"), full_page=True)
    assert console.errors == []


def test_login_with_the_api_token(tmp_path, open_page):
    tok = tmp_path / "token"
    tok.write_text("console-token-0123456789abcdef\n")
    with RecordingSink() as a:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "zebra", "uri": a.uri}],
                           api={"token_file": str(tok)})
        with running(cfg) as d:
            url = d.api.url
            page, console = open_page(url + "/")
            page.locator("#login").wait_for()
            assert page.locator('[data-printer="zebra"]').count() == 0
            page.locator('input[name="token"]').fill("wrong-token-0123456789")
            page.locator('button[data-action="login"]').click()
            page.locator("#notice.bad").wait_for()
            assert page.locator("#login").is_visible()
            page.locator('input[name="token"]').fill("console-token-0123456789abcdef")
            page.locator('button[data-action="login"]').click()
            page.locator('[data-printer="zebra"]').wait_for()
            page.locator('#live[data-live="live"]').wait_for()
            (cookie,) = page.context.cookies()
            assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == ("ps_session", True, "Strict")
            assert "console-token" not in cookie["value"]
            assert page.evaluate("() => document.cookie") == ""  # no script can read it
            job = submit_with_token(url, "console-token-0123456789abcdef")
            page.locator(f'[data-job="{job["id"]}"]').wait_for()
            page.locator('[data-printer="zebra"] button[data-action="pause"]').click()
            wait_until(lambda: d.workers["zebra"].manual_paused)
            page.locator('button[data-action="logout"]').click()
            page.locator("#login").wait_for()
            assert page.context.cookies() == []
            # log in again; a session that ends (cookie gone) brings the login back by itself
            page.locator('input[name="token"]').fill("console-token-0123456789abcdef")
            page.locator('button[data-action="login"]').click()
            page.locator('#live[data-live="live"]').wait_for()
            page.context.clear_cookies()
            submit_with_token(url, "console-token-0123456789abcdef")
            page.locator("#login").wait_for()
            assert page.locator('[data-printer="zebra"]').is_hidden()
            # the only error is the refused wrong token
            assert [e for e in console.errors if "401" not in e] == []


def submit_with_token(url: str, token: str) -> dict:
    r = httpx.post(url + "/jobs?name=t.zpl", content=wb_sticker_zpl("!TOKEN001"),
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()
