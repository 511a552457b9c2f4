"""Real headless Chromium (Debian's ``chromium``) driven by Playwright for Python. No browser is
downloaded: Playwright is pointed at the system browser. Tests skip when it is not installed,
except in CI (``.ci/run`` installs it; see ``support/optional.py``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from support.optional import missing

CHROMIUM = os.environ.get("PRINTSTATION_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright  # installed by `make setup`: never skipped

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()
        pw.stop()


class Console:
    """Errors the page logged (console errors, uncaught exceptions) and dialogs it opened."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console {m.text} at {m.location.get('url')}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror {e}"))

        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """``open_page(url, viewport=…) -> (page, Console)``; contexts are closed after the test."""
    contexts: list[Any] = []

    def opener(url: str, viewport: dict[str, int] | None = None, **ctx: Any) -> tuple[Any, Console]:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800}, **ctx)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        console = Console(page)
        page.goto(url)
        return page, console

    yield opener
    for c in contexts:
        c.close()


@pytest.fixture
def station58(tmp_path: Path) -> Iterator[Any]:
    """The real daemon with one ZPL printer ``zebra`` on 58×40 mm labels (a TCP sink)."""
    from support.daemon_harness import running, write_config
    from support.printer_sinks import RecordingSink

    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "zebra", "uri": sink.uri, "media": "58x40"}])
        with running(cfg) as d:
            yield d

