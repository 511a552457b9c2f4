"""Take the README's screenshot of the web console from a demo station (not a test).

    .venv/bin/python tests/face/demo_screenshot.py docs/console.png

Starts a real daemon in-process with two printers on loopback TCP sinks (one out of paper), a
few jobs (a WB sticker PNG, native ZPL, a 100×150 PDF, a broken file) and scans, then shoots
the page in Debian's headless Chromium at 1280×800.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))


def main(out: str) -> None:
    import httpx
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from face.conftest import CHROMIUM, CHROMIUM_ARGS
    from support.daemon_harness import running, wait_until, write_config
    from support.labelgen import pdf_label, wb_sticker_png, wb_sticker_zpl
    from support.printer_sinks import PaperOutSink, RecordingSink

    with tempfile.TemporaryDirectory() as tmp, RecordingSink() as zebra, PaperOutSink() as tsc:
        t = Path(tmp)
        cfg = write_config(t / "c.toml", t / "data", [
            {"name": "zebra-58x40", "uri": zebra.uri},
            {"name": "tsc-100x150", "uri": tsc.uri, "lang": "tspl", "media": "100x150"}])
        with running(cfg) as d:
            url = d.api.url
            post = lambda data, **q: httpx.post(url + "/jobs", params=q, content=data, timeout=30).json()  # noqa: E731
            post(wb_sticker_png("!1234567890"), name="wb-order-3456789012.png")
            post(wb_sticker_zpl("!9876543210"), name="sticker-9876543210.zpl")
            wait_until(lambda: all(j.state == "done" for j in d.store.list_jobs()))
            for code in ("PS:REPRINT", "4607012345678"):
                httpx.post(url + "/scan", json={"code": code}, timeout=30)
            post(b"not a label at all", name="scan-0042.txt")
            post(pdf_label("RU123456789CN"), printer="tsc-100x150", name="ali-8150329921.pdf")
            wait_until(lambda: d.workers["tsc-100x150"].state != "idle")
            with sync_playwright() as pw:
                b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = b.new_page(viewport={"width": 1280, "height": 800})
                page.goto(url + "/")
                page.wait_for_selector('#live[data-live="live"]')
                page.wait_for_function("() => [...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth)")
                png = page.screenshot()
                b.close()
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
    img.save(out, optimize=True)
    print(f"{out}: {Path(out).stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/console.png")
