"""Printer workers against real TCP printer sinks: send boundary, retries, status pauses."""

from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3

import pytest

from printstation.face.config import loads
from printstation.errors import RenderTimeout
from printstation.spec import PrinterSpec
from printstation.isolate import Converter
from printstation.queue.store import JobStore
from printstation.queue import worker as worker_mod
from printstation.queue.worker import PrinterWorker
from support.daemon_harness import wait_until, zpl_values
from support.labelgen import pdf_label, wb_sticker_svg, wb_sticker_zpl
from support.printer_sinks import DroppingSink, MuteSink, PaperOutSink, RecordingSink, StuckSink, refused_uri


def printer_cfg(uri: str, verify: str = "fail", **kw):
    extra = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in kw.items())
    return loads(f'[barcodes]\nverify = "{verify}"\n[[printers]]\nname = "p"\nuri = "{uri}"\n{extra}').printers[0]


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path)
    yield s
    s.close()


@pytest.fixture
def converter():
    c = Converter(timeout=20)
    yield c
    c.close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(worker_mod, "BACKOFF_MIN", 0.05)
    monkeypatch.setattr(worker_mod, "STATUS_FRESH", 0.0)


def start(cfg, store, converter, **kw):
    w = PrinterWorker(cfg, store, converter.convert, **kw)
    store.on_change(lambda job: w.wake())
    w.start()
    return w


def count_steps(w) -> list[int]:
    """``[n]``: turns of ``w``'s loop finished from now on (two more than seen = one ran whole)."""
    steps = [0]
    real = w._step

    def step() -> None:
        try:
            real()
        finally:
            steps[0] += 1

    w._step = step
    return steps


def finished(store, ids):
    return all(store.get(i).state in ("done", "failed", "canceled", "interrupted") for i in ids)


def test_jobs_print_in_fifo_order_and_corrupt_input_fails_alone(store, converter):
    with RecordingSink() as sink:
        w = start(printer_cfg(sink.uri, status_poll=1.0), store, converter)
        try:
            ids = [store.submit("p", wb_sticker_zpl(f"!val{i:04d}"))[0].id for i in range(5)]
            bad = store.submit("p", b"\x00\x01 definitely not a label")[0].id
            ids += [store.submit("p", wb_sticker_zpl(f"!val{i:04d}"))[0].id for i in range(5, 8)]
            wait_until(lambda: finished(store, ids + [bad]))
        finally:
            w.stop(), w.join(5)
        assert [store.get(i).state for i in ids] == ["done"] * 8
        failed = store.get(bad)
        assert failed.state == "failed" and "unrecognised label format" in failed.error
        assert zpl_values(sink.data) == [f"!val{i:04d}" for i in range(8)]
        assert sink.status_queries  # asked ~HS before sending
        # the converted bytes are kept beside the job
        assert store.converted(ids[0], "zpl").startswith(b"^XA")


def test_sending_is_committed_before_the_first_byte(tmp_path, store, converter):
    seen = []
    with RecordingSink() as sink:
        orig = sink._on_chunk

        def spy(conn, index, chunk, responder):
            if b"^XA" in chunk:  # read the committed state through another connection
                db = sqlite3.connect(tmp_path / "queue.sqlite3")
                seen.append([r[0] for r in db.execute("SELECT state FROM jobs")])
                db.close()
            return orig(conn, index, chunk, responder)

        sink._on_chunk = spy
        # status_poll > 0: "done" waits for the ~HS answer, which the sink sends after the spy
        w = start(printer_cfg(sink.uri, status_poll=1.0), store, converter)
        try:
            job = store.submit("p", wb_sticker_zpl("!first"))[0]
            wait_until(lambda: store.get(job.id).state == "done")
        finally:
            w.stop(), w.join(5)
    assert seen and seen[0] == ["sending"]


def test_connection_dropped_mid_job_is_interrupted_not_resent(store, converter):
    """Bytes may have printed before the reset: sending again could print a sticker twice."""
    with DroppingSink(drop_after=40, drops=1) as sink:
        w = start(printer_cfg(sink.uri, status_poll=1.0), store, converter)
        try:
            job = store.submit("p", wb_sticker_zpl("!dropme") * 3)[0]
            nxt = store.submit("p", wb_sticker_zpl("!after"))[0]
            wait_until(lambda: store.get(nxt.id).state == "done", 15)
        finally:
            w.stop(), w.join(5)
        got = store.get(job.id)
        assert sink.dropped == 1 and got.state == "interrupted"
        assert "may or may not have printed" in got.error
        assert zpl_values(sink.connections[-1]) == ["!after"]


def test_connection_dropped_mid_job_is_resent_once_when_configured(store, converter):
    with DroppingSink(drop_after=40, drops=1) as sink:
        # the job fits in the socket buffer: only the status answer after it proves receipt
        w = start(printer_cfg(sink.uri, status_poll=1.0, on_interrupted="resend"), store, converter)
        try:
            job = store.submit("p", wb_sticker_zpl("!dropme") * 3)[0]
            wait_until(lambda: store.get(job.id).state == "done", 15)
        finally:
            w.stop(), w.join(5)
        got = store.get(job.id)
        assert sink.dropped == 1 and got.attempts >= 1 and got.resends == 1
        assert zpl_values(sink.connections[-1]) == ["!dropme"] * 3


@pytest.mark.parametrize("status_poll", [0, 0.1])  # 0.1: the status query is what finds it unreachable
def test_refused_printer_is_offline_and_job_stays_queued(store, converter, status_poll):
    uri = refused_uri()
    w = start(printer_cfg(uri, status_poll=status_poll), store, converter)
    try:
        job = store.submit("p", wb_sticker_zpl("!later"))[0]
        wait_until(lambda: store.get(job.id).attempts >= 2)
        assert w.state == "offline" and "refused" in w.reason
        assert store.get(job.id).state == "queued" and "connection refused" in (store.get(job.id).error or "")
    finally:
        w.stop(), w.join(5)


def test_paper_out_pauses_queue_until_status_clears(store, converter):
    with PaperOutSink() as sink:
        w = start(printer_cfg(sink.uri, status_poll=0.1), store, converter)
        try:
            job = store.submit("p", wb_sticker_zpl("!paper"))[0]
            wait_until(lambda: w.state == "error" and len(sink.status_queries) >= 3)
            assert "paper out" in w.reason and store.get(job.id).state == "queued"
            assert sink.data == b""
            sink.recover()
            wait_until(lambda: store.get(job.id).state == "done")
            assert zpl_values(sink.data) == ["!paper"]
        finally:
            w.stop(), w.join(5)


def test_silent_printer_is_not_fine(store, converter):
    with MuteSink() as sink:
        w = start(printer_cfg(sink.uri, status_poll=0.2, timeout=0.5), store, converter)
        try:
            job = store.submit("p", wb_sticker_zpl("!mute"))[0]
            wait_until(lambda: w.state == "error" and w.reason and "no answer" in w.reason)
            # two more unanswered questions: between them the worker decided again, and a job it
            # sent would have reached the sink before the next question (one connection, in order)
            asked = len(sink.status_queries)
            assert sink.wait_for(lambda s: len(s.status_queries) >= asked + 2, 15)
            assert store.get(job.id).state == "queued" and sink.data == b""
        finally:
            w.stop(), w.join(5)


def test_manual_pause_and_resume(store, converter):
    with RecordingSink() as sink:
        w = start(printer_cfg(sink.uri), store, converter)
        try:
            w.pause()
            steps = count_steps(w)
            job = store.submit("p", wb_sticker_zpl("!held"))[0]
            # a whole turn of the worker's loop ran after the job was queued, and left it there
            after = steps[0]
            wait_until(lambda: (w.wake(), steps[0] >= after + 2)[1])
            assert w.state == "paused" and store.get(job.id).state == "queued" and sink.data == b""
            assert store.paused() == {"p"}
            w.resume()
            wait_until(lambda: store.get(job.id).state == "done")
        finally:
            w.stop(), w.join(5)


def test_rendering_timeout_fails_the_job_and_the_next_one_prints(store):
    conv = Converter(timeout=0.2)
    try:
        with RecordingSink() as sink:
            # status_poll > 0: "done" waits for the status answer, which the sink sends only after
            # it has read every byte before the question (so "done" = the sink has the label)
            w = start(printer_cfg(sink.uri, verify="off", lang="tspl", dpi=300, status_poll=1.0), store, conv)
            try:
                # 500 different pages (the page limit; no cache can skip one) at 300 dpi: seconds of
                # work, far past 0.2 s (+2 s slack).
                pages = pdf_label([f"RU{i:09d}CN" for i in range(500)])
                slow = store.submit("p", pages, fit=True)[0]
                ok = store.submit("p", wb_sticker_svg("!after"))[0]
                wait_until(lambda: finished(store, [slow.id, ok.id]), 60)
                assert store.get(slow.id).state == "failed"
                # Sent page by page (queue/stream.py): the pages converted before the limit printed,
                # and the record says which.
                assert re.fullmatch(r"(page (\d+): )?rendering timed out(; (page 1 was|pages 1–\d+ were) "
                                    r"sent to the printer)?", store.get(slow.id).error)
                assert store.get(ok.id).state == "done" and b"BITMAP" in sink.data
            finally:
                w.stop(), w.join(5)
    finally:
        conv.close()


def test_a_hung_conversion_process_is_killed_and_replaced():
    conv = Converter(timeout=0.5)
    try:
        conv.isolate.start()
        pid = conv.isolate.pid
        os.kill(pid, signal.SIGSTOP)  # hung in C code: no Python-level alarm can fire
        with pytest.raises(RenderTimeout, match="rendering timed out"):
            conv.isolate.convert(wb_sticker_svg("!x"), PrinterSpec(lang="tspl"))
        assert conv.isolate.restarts == 1
        out = conv.isolate.convert(wb_sticker_svg("!x"), PrinterSpec(lang="tspl"))
        assert conv.isolate.pid not in (None, pid) and b"BITMAP" in out[0]
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        conv.close()


def test_zpl_layout_larger_than_the_media_fails_the_job_and_a_bom_never_reaches_the_printer(store, converter):
    """A 58×40 WB layout on 40×30 stock: failed with the advice, nothing sent; the next job (a
    Notepad-saved ZPL with a BOM) prints without the mark."""
    with RecordingSink() as sink:
        w = start(printer_cfg(sink.uri, media="40x30"), store, converter)
        try:
            big = store.submit("p", wb_sticker_zpl("!Big00001", size=(58, 40)))[0].id
            ok = store.submit("p", b"\xef\xbb\xbf" + wb_sticker_zpl("!Fit00001", size=(40, 30)))[0].id
            wait_until(lambda: finished(store, [big, ok]))
        finally:
            w.stop(), w.join(5)
        failed = store.get(big)
        assert failed.state == "failed"
        assert failed.error == "label layout is 58×40 mm, media is 40×30 mm: fetch the sticker in 40×30"
        assert store.get(ok).state == "done"
        assert zpl_values(sink.data) == ["!Fit00001"]
        assert b"\xef\xbb\xbf" not in sink.data and sink.data.lstrip(b"\r\n").startswith(b"^XA")


# -- a printer in trouble, seen by the operator: what `printers` and a job record say is true ----
# (A printer the status query found unreachable counts the waiting job's attempts: see
# test_refused_printer_is_offline_and_job_stays_queued.) A printer in trouble
# is asked again when due even with nothing queued: fixed, it shows idle again instead of the old
# trouble forever. SIGTERM's last resort (abort) cuts a job on the wire into interrupted.


def test_paper_out_printer_shows_idle_again_once_fixed_with_nothing_queued(store, converter):
    with PaperOutSink() as sink:
        w = start(printer_cfg(sink.uri, status_poll=0.1), store, converter)
        try:
            job = store.submit("p", wb_sticker_zpl("!paper"))[0]
            wait_until(lambda: w.state == "error" and "paper out" in (w.reason or ""), what="paper out seen")
            store.cancel(job.id)  # the packer takes the job away, then loads paper
            asked = len(sink.status_queries)
            sink.recover()
            wait_until(lambda: len(sink.status_queries) > asked and w.state == "idle", what="idle again")
            assert w.reason is None and sink.data == b""
        finally:
            w.stop(), w.join(5)


def test_silent_printer_is_not_asked_again_with_nothing_queued(store, converter):
    """A printer that never answers its status query may not speak the configured language at all
    (a receipt printer set up as lang = "zpl" prints "~HS" as text): with nothing queued it is
    left alone until the next job, not asked every status_poll seconds all day."""
    with MuteSink() as sink:
        w = start(printer_cfg(sink.uri, status_poll=0.1, timeout=0.3), store, converter)
        try:
            job = store.submit("p", wb_sticker_zpl("!mute"))[0]
            wait_until(lambda: w.state == "error" and len(sink.status_queries) >= 2, what="silent seen")
            store.cancel(job.id)
            steps = count_steps(w)

            def due_turns(n: int) -> bool:  # turns of the loop with the next ask due (no waiting on time)
                w._next_try = 0.0
                w.wake()
                return steps[0] >= n

            wait_until(lambda: due_turns(2), what="a turn with nothing queued")
            asked = len(sink.status_queries)
            after = steps[0]
            wait_until(lambda: due_turns(after + 3), what="three more turns")
            assert len(sink.status_queries) == asked and w.state == "error"
        finally:
            w.stop(), w.join(5)


def test_printer_that_dropped_a_job_is_asked_again_and_shows_idle(store, converter):
    with DroppingSink(drop_after=40, drops=1) as sink:
        w = start(printer_cfg(sink.uri, status_poll=0.1), store, converter)
        try:
            job = store.submit("p", wb_sticker_zpl("!dropme") * 3)[0]
            wait_until(lambda: store.get(job.id).state == "interrupted", what="interrupted")
            wait_until(lambda: w.state == "idle", what="idle again after the drop")
            assert sink.dropped == 1
        finally:
            w.stop(), w.join(5)


def test_stop_cuts_a_job_on_the_wire_into_interrupted_without_a_traceback(store, converter, caplog):
    """Not left ``sending`` with a ``worker error`` traceback in the journal: the job may have
    printed in part, so it is ``interrupted``."""
    row = bytes(range(58)).hex().upper() * 320  # far larger than socket buffers: held on the wire
    big = b"".join(f"^XA^FO0,0^GFA,{58 * 320},{58 * 320},58,{row}^FS^XZ\n".encode() for _ in range(40))
    with StuckSink() as sink:
        w = start(printer_cfg(sink.uri, status_poll=0, timeout=60), store, converter)
        job = store.submit("p", big)[0]
        wait_until(lambda: store.get(job.id).state == "sending" and sink.connections, what="on the wire")
        w.stop()
        w.abort()
        assert w.join(5)
        assert store.get(job.id).state == "interrupted", store.get(job.id)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
