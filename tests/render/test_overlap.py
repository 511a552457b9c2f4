"""One label on two cores (issue 19): a bitmap's barcode search runs on the helper thread while
the print raster is drawn. What prints must be what one thread prints, byte for byte; a failure
on the helper is the label's own; a fork (PDF page workers) stays safe."""

from __future__ import annotations

import io
import os
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from printstation import Media, PrinterSpec, convert_labels
from printstation.errors import BadInput
from printstation.render import barcodes, overlap, parallel
from support import labelgen as lg
from support.render_back import decode, render_back

SPEC = PrinterSpec(lang="zpl", media=Media(58, 40), dpi=203)


@pytest.fixture(autouse=True)
def _fresh():
    yield
    sys.modules["printstation.pipeline"]._CACHE.clear()
    barcodes._DETECTED.clear()
    barcodes._LAYOUTS.clear()


def _clear() -> None:
    sys.modules["printstation.pipeline"]._CACHE.clear()
    barcodes._DETECTED.clear()
    barcodes._LAYOUTS.clear()


def _symbol(value: str, fmt: str, scale: int, height: int | None = None) -> Image.Image:
    mods = lg.modules(value, fmt)
    if height is not None:
        mods = np.repeat(mods, height, axis=0)
    a = np.kron(mods, np.ones((1 if height else scale, scale), dtype=bool))
    return Image.fromarray(np.where(a, 0, 255).astype(np.uint8))


def busy_png() -> bytes:
    """A 58×40 mm bitmap (10 px/mm) with a horizontal Code128, a vertical Code39 (found by the
    column pass: its bars get blanked before the 2-D pass) and a QR code."""
    im = Image.new("L", (580, 400), 255)
    im.paste(_symbol("!Overlap01", "Code128", 2, 120), (30, 30))
    im.paste(_symbol("SIDE39", "Code39", 2, 90).rotate(90, expand=True), (470, 40))
    im.paste(_symbol("WB-GI-12345678", "QRCode", 5), (40, 200))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _convert(data: bytes, env: str, monkeypatch: pytest.MonkeyPatch, spec: PrinterSpec = SPEC):
    monkeypatch.setenv(overlap.ENV, env)
    _clear()
    return convert_labels(data, spec)


INPUTS = {
    "wb-png": lambda: lg.wb_sticker_png("!Bench0001"),
    "wb-png-40x30": lambda: lg.wb_sticker_png("!Bench0002", size=(40, 30)),
    "vertical-png": lambda: lg.wb_sticker_png("!Vert00003", vertical=True),
    "qr-png": lambda: lg.qr_png("$WBMP:1:2:3"),
    "jpeg": lambda: lg.wb_sticker_jpeg("!Jpeg00004"),
    "busy": busy_png,
}


@pytest.mark.parametrize("name", sorted(INPUTS))
@pytest.mark.parametrize("spec", [SPEC, PrinterSpec(lang="tspl", media=Media(40, 30), dpi=300),
                                  PrinterSpec(lang="zpl", media=Media(58, 40), dpi=203, verify="warn")])
def test_two_cores_print_what_one_prints(name: str, spec: PrinterSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    data = INPUTS[name]()
    one = _convert(data, "0", monkeypatch, spec)
    one_layout = list(barcodes._LAYOUTS.values())[-1]
    two = _convert(data, "2", monkeypatch, spec)
    assert [lb.data for lb in two] == [lb.data for lb in one]
    assert [lb.barcodes for lb in two] == [lb.barcodes for lb in one]
    assert barcodes._DETECTED  # the answer is cached as one thread caches it
    # The 2-D pass read (and the layout cache keeps) the image one thread reads: with the bars of
    # the column pass's symbols blanked too.
    two_layout = list(barcodes._LAYOUTS.values())[-1]
    assert np.array_equal(two_layout[0], one_layout[0]) and two_layout[1] == one_layout[1]


def test_the_search_runs_on_the_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    where: list[tuple[bool, str]] = []
    real = barcodes.linear_pass

    def spy(img, scale, transposed):
        where.append((transposed, threading.current_thread().name))
        return real(img, scale, transposed)

    monkeypatch.setattr(barcodes, "linear_pass", spy)
    labels = _convert(busy_png(), "2", monkeypatch)
    assert (False, overlap.THREAD_NAME) in where  # rows (and the 2-D pass) on the helper
    assert (True, threading.current_thread().name) in where  # columns here, beside the render
    got = {(r.barcode.format, r.barcode.text) for r in labels[0].barcodes}
    assert got == {("Code128", "!Overlap01"), ("Code39", "SIDE39"), ("QRCode", "WB-GI-12345678")}
    assert all(r.verified for r in labels[0].barcodes)
    back = render_back("zpl", labels[0].data, 203)[0].image
    assert decode(back) == sorted(["!Overlap01", "SIDE39", "WB-GI-12345678"])


def test_one_thread_when_asked_or_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(overlap.ENV, "0")
    assert not overlap.available()
    monkeypatch.delenv(overlap.ENV)
    monkeypatch.setattr(overlap, "_cores", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.6, 1.0, 1.0))
    assert not overlap.available()  # the second core is taken
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 1.0, 1.0))
    assert overlap.available()
    monkeypatch.setattr(overlap, "_cores", lambda: 1)
    assert not overlap.available()
    monkeypatch.setenv(overlap.ENV, "2")
    assert not overlap.available()  # one core: nothing to gain
    monkeypatch.setattr(overlap, "_cores", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert overlap.available()  # asked for, whatever the load


def test_vector_sources_stay_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[object] = []
    real = overlap.Beside.__init__

    def spy(self, *a):
        started.append(a)
        real(self, *a)

    monkeypatch.setattr(overlap.Beside, "__init__", spy)
    _convert(lg.wb_sticker_svg("!Svg000005"), "2", monkeypatch)
    assert started == []
    _convert(lg.wb_sticker_png("!Png000006"), "2", monkeypatch)
    assert len(started) == 1


def test_a_failure_on_the_helper_is_the_labels_own(monkeypatch: pytest.MonkeyPatch) -> None:
    real = barcodes.matrix_pass

    def poison(*a, **kw):
        if threading.current_thread().name == overlap.THREAD_NAME:
            raise BadInput("poisoned 2-D pass")
        return real(*a, **kw)

    monkeypatch.setattr(barcodes, "matrix_pass", poison)
    with pytest.raises(BadInput, match="poisoned 2-D pass"):
        _convert(lg.wb_sticker_png("!Poison007"), "2", monkeypatch)
    assert overlap.idle()
    monkeypatch.setattr(barcodes, "matrix_pass", real)
    labels = _convert(lg.wb_sticker_png("!After0008"), "2", monkeypatch)
    assert decode(render_back("zpl", labels[0].data, 203)[0].image) == ["!After0008"]


def test_a_blank_page_leaves_the_helper_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.BytesIO()
    Image.new("L", (580, 400), 255).save(buf, "PNG")
    with pytest.raises(BadInput, match="renders blank"):
        _convert(buf.getvalue(), "2", monkeypatch)
    overlap.submit(lambda: None).result()  # the helper takes the next job
    assert overlap.idle()


def test_fork_safe_only_while_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    _convert(lg.wb_sticker_png("!Fork00009"), "2", monkeypatch)
    assert any(t.name == overlap.THREAD_NAME for t in threading.enumerate())
    others = [t for t in threading.enumerate()
              if t is not threading.current_thread() and t.name not in parallel.FORK_SAFE_THREADS]
    if not others:  # (another test's thread would refuse the fork anyway)
        assert not parallel._other_threads()
    gate = threading.Event()
    job = overlap.submit(gate.wait, 30)
    try:
        assert not overlap.idle() and parallel._other_threads()
    finally:
        gate.set()
        job.result()
    assert overlap.idle()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_gets_its_own_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    data = lg.wb_sticker_png("!Child0010")
    want = _convert(data, "2", monkeypatch)[0].data  # the parent's helper exists now
    _clear()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            out = convert_labels(data, SPEC)[0].data
            ok = out == want and overlap._jobs is not None
            os.write(w, b"ok" if ok else b"differs")
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read()
    os.waitpid(pid, 0)
    assert got == b"ok"
