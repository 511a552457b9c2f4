"""A printer in trouble, seen by the operator: what ``printers`` and a job record say is true.

- A printer the worker could not connect to counts an attempt on the job that waits for it, with
  the reason in its ``error`` — also when the status query (default ``status_poll``) is what found
  it unreachable.
- A printer in trouble is asked again every ``status_poll`` seconds (with backoff when it is
  unreachable) even when nothing is queued for it any more: fixed, it shows ``idle`` again instead
  of the old trouble forever (and a new job is not answered with a trouble long gone).
"""

from __future__ import annotations

import logging

import pytest

from printstation.face.config import loads
from printstation.isolate import Converter
from printstation.queue import worker as worker_mod
from printstation.queue.store import JobStore
from printstation.queue.worker import PrinterWorker
from support.daemon_harness import wait_until
from support.labelgen import wb_sticker_zpl
from support.printer_sinks import DroppingSink, PaperOutSink, StuckSink, refused_uri


def _cfg(uri: str, **kw):
    extra = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in kw.items())
    return loads(f'[[printers]]\nname = "p"\nuri = "{uri}"\n{extra}').printers[0]


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path)
    yield s
    s.close()


@pytest.fixture
def run(store, monkeypatch):
    """Start a worker for a config on ``store``; stopped at the end."""
    monkeypatch.setattr(worker_mod, "BACKOFF_MIN", 0.05)
    monkeypatch.setattr(worker_mod, "BACKOFF_MAX", 0.2)
    converter = Converter(timeout=20)
    started: list[PrinterWorker] = []

    def start(cfg):
        w = PrinterWorker(cfg, store, converter.convert)
        store.on_change(lambda job: w.wake())
        w.start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
        w.join(5)
    converter.close()


def test_unreachable_printer_counts_attempts_with_status_polling_on(store, run):
    w = run(_cfg(refused_uri(), status_poll=0.1))  # status queries on (the default is 3 s)
    job = store.submit("p", wb_sticker_zpl("!later"))[0]
    wait_until(lambda: store.get(job.id).attempts >= 2, what="attempts counted")
    got = store.get(job.id)
    assert got.state == "queued" and "connection refused" in (got.error or "")
    assert w.state == "offline"


def test_paper_out_printer_shows_idle_again_once_fixed_with_nothing_queued(store, run):
    with PaperOutSink() as sink:
        w = run(_cfg(sink.uri, status_poll=0.1))
        job = store.submit("p", wb_sticker_zpl("!paper"))[0]
        wait_until(lambda: w.state == "error" and "paper out" in (w.reason or ""), what="paper out seen")
        store.cancel(job.id)  # the packer takes the job away, then loads paper
        asked = len(sink.status_queries)
        sink.recover()
        wait_until(lambda: len(sink.status_queries) > asked and w.state == "idle", what="idle again")
        assert w.reason is None and sink.data == b""


def test_printer_that_dropped_a_job_is_asked_again_and_shows_idle(store, run):
    with DroppingSink(drop_after=40, drops=1) as sink:
        w = run(_cfg(sink.uri, status_poll=0.1))
        job = store.submit("p", wb_sticker_zpl("!dropme") * 3)[0]
        wait_until(lambda: store.get(job.id).state == "interrupted", what="interrupted")
        wait_until(lambda: w.state == "idle", what="idle again after the drop")
        assert sink.dropped == 1


def _big_zpl(labels: int = 40) -> bytes:
    """Native ZPL far larger than socket buffers (a never-reading printer holds it on the wire)."""
    row = bytes(range(58)).hex().upper()
    body = row * 320
    return b"".join(f"^XA^FO0,0^GFA,{58 * 320},{58 * 320},58,{body}^FS^XZ\n".encode() for _ in range(labels))


def test_stop_cuts_a_job_on_the_wire_into_interrupted_without_a_traceback(store, run, caplog):
    """SIGTERM's last resort (``abort`` after the grace period) closes the connection under the
    write: the job may have printed in part, so it is ``interrupted`` — not left ``sending``
    with a ``worker error`` traceback in the journal."""
    with StuckSink() as sink:
        w = run(_cfg(sink.uri, status_poll=0, timeout=60))
        job = store.submit("p", _big_zpl())[0]
        wait_until(lambda: store.get(job.id).state == "sending" and sink.connections, what="on the wire")
        w.stop()
        w.abort()
        assert w.join(5)
        got = store.get(job.id)
        assert got.state == "interrupted", got
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
