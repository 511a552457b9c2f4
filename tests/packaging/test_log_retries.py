"""A job waiting for an unreachable printer is retried every few seconds (backoff up to 30 s): the
journal gets its first failed try at INFO and the repeats at DEBUG — not an INFO "state=queued"
line every retry all night for a printer left switched off (the printer going offline and coming
back are the worker's own WARNING / INFO lines)."""

from __future__ import annotations

import io
import logging
from types import SimpleNamespace

import pytest

from printstation import logs
from printstation.queue.joblog import log_job


@pytest.fixture
def stream(monkeypatch):
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    root = logging.getLogger()
    old_level, old_handlers = root.level, list(root.handlers)
    logs.setup_logging()
    handler = next(h for h in root.handlers if getattr(h, "_printstation", False))
    buf = io.StringIO()
    handler.setStream(buf)
    yield buf
    for h in list(root.handlers):
        if h not in old_handlers:
            root.removeHandler(h)
    root.setLevel(old_level)


def test_repeated_tries_of_a_queued_job_are_debug(stream):
    job = SimpleNamespace(id=3, printer="gone", state="queued", source="api", attempts=0,
                          created=100.0, sent=None, done=None, error=None)
    log_job(job)
    for n in range(1, 6):
        log_job(SimpleNamespace(**{**job.__dict__, "attempts": n, "error": "tcp://h:9100: connect: connection refused"}))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith("job job=3 printer=gone state=queued source=api")
    assert "attempts=1 " in lines[1] and "connection refused" in lines[1]
