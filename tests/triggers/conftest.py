"""Shared pieces for the trigger tests: a real queue (JobStore) as the submitter (the waiter is
``support.daemon_harness.wait_until``, the one of every test)."""

from __future__ import annotations

import pytest

from printstation.queue.store import JobStore
from printstation.spec import PrinterSpec

ZPL = b"^XA^FO40,40^BCN,80,Y,N,N^FD%s^FS^XZ"


def zpl(value: str) -> bytes:
    return ZPL % value.encode()


def fake_markets(tmp, wb, ali) -> str:
    """``[markets.wb]``/``[markets.ali]`` TOML for the fake servers (tokens written into ``tmp``)."""
    (tmp / "wb.tok").write_text(wb.token)
    (tmp / "ali.tok").write_text(ali.token)
    return f"""
[markets.wb]
base_url = "{wb.url}"
token_file = "{tmp / 'wb.tok'}"
rate_per_min = 60000
burst = 1000
[markets.ali]
base_url = "{ali.url}"
token_file = "{tmp / 'ali.tok'}"
"""


class StoreSubmitter:
    """The daemon's submit contract on a real JobStore (the daemon wraps the same store)."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    def submit_ex(self, printer, data, *, copies=1, key=None, name=None, source=None, source_ref=None,
                  reprint=False):
        return self.store.submit(printer, data, copies=copies, key=key, name=name,
                                 source=source or "api", source_ref=source_ref, reprint=reprint)

    def submit(self, printer, data, **kw):
        return self.submit_ex(printer, data, **kw)[0]


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def printers():
    return {"default": PrinterSpec(), "p2": PrinterSpec(lang="tspl"), "p3": PrinterSpec()}
