"""Fixtures for the marketplace tests: fake WB/LAliExpress servers on 127.0.0.1 and clients.

Most tests run with fast limits (the fake's bucket set far above what a test uses); only the
pacing tests use short real windows.
"""

from __future__ import annotations

import pytest

from printstation.markets import AliClient, RetryPolicy, WBClient
from support.fakes import FakeAli, FakeWB

FAST_RATE, FAST_BURST = 600_000, 10_000
#: Retries that do not slow the suite down (the backoff shape is tested on its own).
QUICK_RETRY = RetryPolicy(retries=3, base=0.001, cap=0.004)


class FakeClock:
    """A clock whose ``sleep`` only moves time forward (deterministic limiter tests)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_wb():
    with FakeWB(rate_per_min=FAST_RATE, burst=FAST_BURST) as f:
        yield f


@pytest.fixture
def fake_ali():
    with FakeAli() as f:
        yield f


@pytest.fixture
def wb(fake_wb):
    c = WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY,
                 timeout=5)
    yield c
    c.close()


@pytest.fixture
def ali(fake_ali):
    c = AliClient(fake_ali.url, fake_ali.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=QUICK_RETRY,
                  timeout=5)
    yield c
    c.close()


@pytest.fixture
def market_env(monkeypatch, fake_wb, fake_ali, tmp_path):
    """Env pointing the CLI at the fakes (and nothing else)."""
    for k in ("PRINTSTATION_WB_URL", "PRINTSTATION_WB_TOKEN", "PRINTSTATION_ALI_URL", "PRINTSTATION_ALI_TOKEN",
              "CREDENTIALS_DIRECTORY", "PRINTSTATION_DATA_DIR"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("PRINTSTATION_WB_URL", fake_wb.url)
    monkeypatch.setenv("PRINTSTATION_WB_TOKEN", fake_wb.token)
    monkeypatch.setenv("PRINTSTATION_ALI_URL", fake_ali.url)
    monkeypatch.setenv("PRINTSTATION_ALI_TOKEN", fake_ali.token)
    return {"wb": fake_wb, "ali": fake_ali, "tmp": tmp_path}
