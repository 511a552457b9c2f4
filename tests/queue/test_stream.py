"""A job sent page by page while its later pages convert (issue 19, queue/stream.py), against a
real TCP printer sink, a real job store and a real conversion child."""

from __future__ import annotations

import functools
import io
import multiprocessing as mp
import sys

import pytest

from printstation import isolate as isolate_mod
from printstation.face.config import loads
from printstation.errors import BadInput
from printstation.isolate import Converter
from printstation.queue import worker as worker_mod
from printstation.queue.store import JobStore
from printstation.queue.worker import PrinterWorker
from support.daemon_harness import wait_until
from support.labelgen import pdf_label
from support.printer_sinks import RecordingSink
from support.render_back import decode, zpl_raster

TRACKINGS = ["RU000000101CN", "RU000000202CN", "RU000000303CN"]
FINAL = ("done", "failed", "canceled", "interrupted")


def printer_cfg(uri: str):
    return loads(f'[[printers]]\nname = "p"\nuri = "{uri}"\nlang = "zpl"\nmedia = "100x150"\n'
                 f'status_poll = 0\n').printers[0]


@pytest.fixture
def station(tmp_path, monkeypatch):
    """A job store and a converter (and quick retries of an unreachable printer)."""
    monkeypatch.setattr(worker_mod, "BACKOFF_MIN", 0.05)
    parts = JobStore(tmp_path), Converter(timeout=60)
    yield parts
    parts[1].close()
    parts[0].close()


def run(store, converter, uri: str, payload: bytes):
    w = PrinterWorker(printer_cfg(uri), store, converter.convert)
    store.on_change(lambda job: w.wake())
    w.start()
    try:
        job = store.submit("p", payload)[0]
        wait_until(lambda: store.get(job.id).state in FINAL, 90)
        return store.get(job.id)
    finally:
        w.stop(), w.join(5)


def printed(data: bytes) -> list[list[str]]:
    return [decode(back.image) for back in zpl_raster(data)]


def with_blank_page(pdf: bytes, at: int) -> bytes:
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    box = reader.pages[0].mediabox
    writer.insert_blank_page(width=box.width, height=box.height, index=at)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_page_one_reaches_the_printer_before_the_last_page_converts(station, monkeypatch):
    """The conversion child (forked, so it runs this patch) holds page 2 until the sink has
    received page 1's bytes: a worker that waited for the whole job would never get page 2
    (the child gives up after 30 s and the job fails)."""
    fork = mp.get_context("fork")
    store = station[0]
    page_one_arrived = fork.Event()
    conversion = sys.modules["printstation.pipeline"]
    real = conversion.iter_labels

    def held(data, spec, **kw):
        labels = real(data, spec, **kw)
        yield next(labels)
        if not page_one_arrived.wait(30):
            raise BadInput("page 1 never reached the printer while page 2 waited")
        yield from labels

    monkeypatch.setattr(conversion, "iter_labels", held)
    monkeypatch.setattr(isolate_mod, "Isolate", functools.partial(isolate_mod.Isolate, context="fork"))
    conv = Converter(timeout=60)
    try:
        conv.isolate.start()  # forked now, before the sink's threads exist
        with RecordingSink() as sink:
            real_chunk = sink._on_chunk

            def spy(conn, index, chunk, responder):
                if b"^XA" in chunk:
                    page_one_arrived.set()
                return real_chunk(conn, index, chunk, responder)

            sink._on_chunk = spy
            job = run(store, conv, sink.uri, pdf_label(TRACKINGS))
            assert (job.state, job.error) == ("done", None)
            # done = the printer's kernel ACKed every byte (status_poll = 0: no answer to wait
            # for); the sink's thread may still be reading the last page from its buffer
            assert sink.wait_for(lambda s: s.data.count(b"^XZ") >= len(TRACKINGS), 10)
            assert printed(sink.data) == [[t] for t in TRACKINGS]
        assert page_one_arrived.is_set()
        assert store.converted(job.id, "zpl").count(b"^XA") == len(TRACKINGS)  # kept once whole
    finally:
        conv.close()


def test_a_later_page_that_fails_fails_the_job_saying_what_was_printed(station):
    store, conv = station
    with RecordingSink() as sink:
        job = run(store, conv, sink.uri, with_blank_page(pdf_label(TRACKINGS), 2))
        assert job.state == "failed"
        assert job.error == ("page 3 renders blank at 203 dpi (empty or broken label); "
                             "pages 1–2 were sent to the printer")
        # "sent" is when the bytes left; the sink's thread may record page 2 a moment later
        wait_until(lambda: sink.data.count(b"^XZ") >= 2, 30, what="pages 1-2 at the sink")
        assert printed(sink.data) == [[TRACKINGS[0]], [TRACKINGS[1]]]
    assert not store.converted(job.id, "zpl")  # nothing kept: a reprint converts again


def test_page_one_failing_sends_nothing(station):
    store, conv = station
    with RecordingSink() as sink:
        job = run(store, conv, sink.uri, with_blank_page(pdf_label(TRACKINGS[:1]), 0))
        assert (job.state, job.error) == ("failed", "page 1 renders blank at 203 dpi (empty or broken label)")
        assert sink.data == b""


def test_a_dir_printer_takes_the_job_whole(station, tmp_path):
    """dir:// writes a job all or nothing: a failing page 2 leaves no file at all."""
    store, conv = station
    out = tmp_path / "out"
    out.mkdir()
    job = run(store, conv, f"dir://{out}", with_blank_page(pdf_label(TRACKINGS[:2]), 1))
    assert (job.state, job.error) == ("failed", "page 2 renders blank at 203 dpi (empty or broken label)")
    assert list(out.iterdir()) == []
    ok = run(store, conv, f"dir://{out}", pdf_label(TRACKINGS))
    assert ok.state == "done"
    assert printed((out / f"{ok.id}.zpl").read_bytes()) == [[t] for t in TRACKINGS]
