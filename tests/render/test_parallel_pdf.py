"""Multipage PDFs on several processes (issue 19): same labels, same order, page by page."""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading

import pytest

from printstation import BarcodeVerifyError, Media, PrinterSpec, convert, convert_labels
from printstation.pipeline import iter_labels
from printstation.render import barcodes, parallel
from support import labelgen as lg
from support.render_back import decode, render_back

TRACKINGS = [f"RU{100000000 + i * 7919:09d}CN" for i in range(6)]


@pytest.fixture(autouse=True)
def _fresh():
    sys.modules["printstation.pipeline"]._CACHE.clear()
    barcodes._DETECTED.clear()
    yield


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return lg.pdf_label(TRACKINGS)


def test_parallel_pages_equal_serial_in_order(pdf: bytes) -> None:
    spec = PrinterSpec(lang="zpl", media=Media(100, 150), dpi=203)
    serial = list(iter_labels(pdf, spec, workers=1))
    par = list(iter_labels(pdf, spec, workers=2))
    assert [lb.page for lb in par] == list(range(len(TRACKINGS)))
    assert [lb.data for lb in par] == [lb.data for lb in serial]
    for a, b in zip(serial, par):
        assert b.raster is not None and (a.raster == b.raster).all()
        assert [(r.barcode.text, r.redrawn, r.verified) for r in b.barcodes] == [(a.barcodes[0].barcode.text, True, True)]
    backs = render_back("zpl", b"".join(lb.data for lb in par), 203)
    assert [decode(x.image) for x in backs] == [[t] for t in TRACKINGS]


def test_default_uses_the_cores_and_matches(pdf: bytes) -> None:
    spec = PrinterSpec(lang="tspl", media=Media(100, 150), dpi=203)
    assert convert(pdf, spec) == [lb.data for lb in iter_labels(pdf, spec, workers=1)]


def test_first_label_before_the_rest_and_pool_is_gone(pdf: bytes) -> None:
    spec = PrinterSpec(lang="zpl", media=Media(100, 150), dpi=203)
    before = set(mp.active_children())
    it = iter_labels(pdf, spec, workers=2, rasters=False)
    first = next(it)
    assert first.page == 0 and first.raster is None and first.data.startswith(b"^XA")
    it.close()  # the consumer stops early: workers are terminated, none left behind
    assert set(mp.active_children()) <= before


def test_refusal_in_a_worker_reaches_the_caller() -> None:
    """A page whose barcode cannot scan is refused from the worker, as it is serially."""
    dense = lg._label_svg_mm("RU" + "ABCDEFGHIJKLMNOPQRST" + "CN", 100, 150, module_mm=0.25)
    import io

    import cairosvg
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter()
    for data in (lg.pdf_label(TRACKINGS[:2]), cairosvg.svg2pdf(bytestring=dense), lg.pdf_label(TRACKINGS[2:3])):
        for page in PdfReader(io.BytesIO(data)).pages:
            w.add_page(page)
    buf = io.BytesIO()
    w.write(buf)
    spec = PrinterSpec(lang="zpl", media=Media(40, 30), dpi=203)
    before = set(mp.active_children())
    with pytest.raises(BarcodeVerifyError, match="barcode would not scan at 203 dpi"):
        list(iter_labels(buf.getvalue(), spec, workers=2))
    assert set(mp.active_children()) <= before


def test_no_fork_while_other_threads_run(pdf: bytes) -> None:
    if threading.active_count() == 1:  # (another test may have left a thread running)
        assert parallel.workers_for(40, 2) == 2
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert parallel.workers_for(40, 2) == 1
        labels = convert_labels(pdf, PrinterSpec(lang="zpl", media=Media(100, 150)))
        assert len(labels) == len(TRACKINGS)
    finally:
        stop.set()
        t.join()
    assert parallel.workers_for(2, 2) == 1  # too few pages for a pool


def _in_daemonic_child(pdf: bytes, conn) -> None:  # pragma: no cover - runs in the child
    labels = convert_labels(pdf, PrinterSpec(lang="zpl", media=Media(100, 150)))
    conn.send((parallel.workers_for(40, 2), len(labels)))


def test_daemonic_process_converts_serially(pdf: bytes) -> None:
    """The daemon's conversion child is daemonic: no worker pool there, pages still all convert."""
    ctx = mp.get_context("spawn")
    a, b = ctx.Pipe()
    p = ctx.Process(target=_in_daemonic_child, args=(pdf, b), daemon=True)
    p.start()
    try:
        assert a.poll(120)
        assert a.recv() == (1, len(TRACKINGS))
    finally:
        p.join(10)


def test_the_cli_converts_pages_on_workers(pdf: bytes, tmp_path) -> None:
    """``printstation convert`` converts in a child with a time limit (face/cli/convert.py); that
    child may fork page workers (isolate.Isolate(pages=True)): its watch on its parent is the one
    thread besides the main one, and it holds no lock a fork could copy."""
    import os
    import subprocess

    from support.render_back import zpl_raster

    src, out = tmp_path / "labels.pdf", tmp_path / "out.zpl"
    src.write_bytes(pdf)
    env = {**os.environ, parallel.WORKERS_ENV: "2"}
    res = subprocess.run([sys.executable, "-m", "printstation", "-vv", "convert", str(src), "--media", "100x150",
                          "-o", str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"converting {len(TRACKINGS)} pages on 2 processes" in res.stderr
    assert [decode(back.image) for back in zpl_raster(out.read_bytes())] == [[t] for t in TRACKINGS]


def _dense_first_pdf() -> bytes:
    import io

    import cairosvg
    from pypdf import PdfReader, PdfWriter

    dense = lg._label_svg_mm("RU" + "ABCDEFGHIJKLMNOPQRST" + "CN", 100, 150, module_mm=0.25)
    w = PdfWriter()
    for data in (cairosvg.svg2pdf(bytestring=dense), lg.pdf_label(TRACKINGS[:3])):
        for page in PdfReader(io.BytesIO(data)).pages:
            w.add_page(page)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_refusal_of_the_converting_process_own_page() -> None:
    """Page 1 is converted by the converting process itself (the workers take the next ones):
    its refusal is raised first, before any label, and no worker is left behind."""
    spec = PrinterSpec(lang="zpl", media=Media(40, 30), dpi=203)
    before = set(mp.active_children())
    it = iter_labels(_dense_first_pdf(), spec, workers=2)
    with pytest.raises(BarcodeVerifyError, match="barcode would not scan at 203 dpi"):
        next(it)
    assert set(mp.active_children()) <= before


def test_a_worker_that_dies_fails_its_page_only_at_its_turn(pdf: bytes, monkeypatch) -> None:
    """A worker killed mid-page (here: it exits while converting page 2): the pages before it
    are delivered, then that page fails with one clear error."""
    import os

    from printstation import BadInput

    me, real = os.getpid(), parallel._page

    def dying(i: int, rasters: bool) -> tuple:
        if i == 1 and os.getpid() != me:
            os._exit(3)
        return real(i, rasters)

    monkeypatch.setattr(parallel, "_page", dying)
    spec = PrinterSpec(lang="zpl", media=Media(100, 150), dpi=203)
    got = []
    # convert_pdf itself: iter_labels would convert serially if an earlier test left a thread running
    with pytest.raises(BadInput, match="a page worker died while converting this label"):
        for label in parallel.convert_pdf(pdf, spec, "k", len(TRACKINGS), 2, False):
            got.append(label.page)
    assert got == [0]


def test_workers_reaped_and_no_detection_image_kept_after_a_whole_document(pdf: bytes) -> None:
    """A finished document leaves no worker behind and none of its pages' detection images in
    this process (each page is detected once; keeping ~2 MB per page cost fresh memory each)."""
    import hashlib

    spec = PrinterSpec(lang="zpl", media=Media(100, 150), dpi=203)
    before = set(mp.active_children())
    digest = hashlib.sha256(pdf).hexdigest()
    # convert_pdf itself: iter_labels would convert serially if an earlier test left a thread running
    labels = list(parallel.convert_pdf(pdf, spec, digest, len(TRACKINGS), 2, False))
    assert [lb.page for lb in labels] == list(range(len(TRACKINGS)))
    assert set(mp.active_children()) <= before
    assert not [k for k in barcodes._DETECTED if str(k).startswith(digest)]
