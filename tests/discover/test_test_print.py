"""The calibration label: drawn by our renderer, converted like any label, rendered back by the
independent path and decoded; queued through ``POST /printers/{name}/test`` and ``test-print``."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from printstation.face.cli import main
from printstation.pipeline import convert_labels
from printstation.render.calibration import calibration_png, calibration_raster
from printstation.spec import Media, PrinterSpec
from support.daemon_harness import running, wait_until, write_config
from support.printer_sinks import RecordingSink
from support.render_back import decode, render_back

URL = "http://127.0.0.1:8631/"


def mm_dots(mm: float, dpi: int) -> int:
    return int(round(mm * dpi / 25.4))


def check_geometry(img: np.ndarray, dpi: int, w_mm: float, h_mm: float) -> None:
    h, w = img.shape
    assert (w, h) == (mm_dots(w_mm, dpi), mm_dots(h_mm, dpi))
    i = mm_dots(1, dpi)
    mid = slice(mm_dots(min(12, w_mm / 3), dpi), w - mm_dots(min(12, w_mm / 3), dpi))
    # the 1-dot border 1 mm inside each edge: the line is black, its neighbours are not a line
    for row in (i, h - 1 - i):
        assert img[row, mid].all()
        assert not img[row - 1, mid].all() and not img[row + 1, mid].all()
    vmid = slice(mm_dots(min(12, h_mm / 3), dpi), h - mm_dots(min(12, h_mm / 3), dpi))
    for col in (i, w - 1 - i):
        assert img[vmid, col].all()
        assert not img[vmid, col - 1].all() and not img[vmid, col + 1].all()
    # the ruler: a tick at every mm on the top and the left edge, none between
    for k in range(1, int(w_mm) - 1):
        x = mm_dots(k, dpi)
        assert img[0, x] and img[mm_dots(0.8, dpi), x], k
    for k in range(1, int(h_mm) - 1):
        y = mm_dots(k, dpi)
        assert img[y, 0] and img[y, mm_dots(0.8, dpi)], k
    between = [mm_dots(k + 0.5, dpi) for k in range(3, int(w_mm) - 2)]  # past the corner
    assert not img[0, between].any()


CASES = [("zpl", 58, 40, 203), ("tspl", 100, 150, 300), ("escpos", 40, 30, 203), ("epl2", 58, 40, 203),
         ("zpl", 100, 150, 300), ("tspl", 40, 30, 203)]


@pytest.mark.parametrize("lang,w,h,dpi", CASES)
def test_calibration_label_prints_and_scans(lang, w, h, dpi):
    spec = PrinterSpec(lang=lang, media=Media(w, h), dpi=dpi, darkness=12)
    png = calibration_png("bench-zebra", spec, URL)
    labels = convert_labels(png, spec)
    assert len(labels) == 1 and all(b.verified for b in labels[0].barcodes)
    back = render_back(lang, labels[0].data, dpi)
    assert len(back) == 1
    img = back[0].image
    if lang == "escpos":  # ESC/POS has no media height: the raster is the label's rows
        img = img[: mm_dots(h, dpi)]
    check_geometry(img, dpi, w, h)
    assert decode(img) == sorted(["bench-zebra", URL])
    # what prints is what we drew (the barcodes kept as drawn)
    drawn, codes = calibration_raster("bench-zebra", spec, URL)
    assert codes == {"Code128": "bench-zebra", "QRCode": URL}
    kept = convert_labels(png, spec.replace(barcodes="keep"))[0].raster
    assert np.array_equal(kept, drawn)


def test_rotated_printer_gets_the_label_unrotated():
    spec = PrinterSpec(lang="zpl", media=Media(58, 40), dpi=203, rotate="90", barcodes="keep")
    png = calibration_png("r", spec, URL)
    drawn, _ = calibration_raster("r", spec, URL)
    assert np.array_equal(convert_labels(png, spec)[0].raster, drawn)


def test_tiny_media_keeps_border_and_ruler():
    spec = PrinterSpec(lang="zpl", media=Media(25, 15), dpi=203)
    drawn, codes = calibration_raster("a-rather-long-printer-name", spec, URL)
    assert "QRCode" not in codes  # no room: left out rather than drawn unreadable
    check_geometry(drawn, 203, 25, 15)
    convert_labels(calibration_png("a-rather-long-printer-name", spec, URL), spec)


@pytest.fixture
def station(tmp_path, monkeypatch):
    with RecordingSink() as a, RecordingSink() as b:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
            {"name": "zebra", "uri": a.uri, "media": "58x40", "dpi": 203, "status_poll": 1.0},
            {"name": "tsc", "uri": b.uri, "lang": "tspl", "media": "40x30", "dpi": 203, "darkness": 8,
             "status_poll": 1.0},
        ])
        with running(cfg) as d:
            monkeypatch.setenv("PRINTSTATION_API", d.api.url)
            yield d, {"zebra": a, "tsc": b}


def _done(d, job_id):
    return d.store.get(job_id).state not in ("queued", "sending")


def test_api_test_print_queues_a_calibration_label(station):
    d, sinks = station
    with httpx.Client(base_url=d.api.url, timeout=30) as http:
        r = http.post("/printers/zebra/test")
        assert r.status_code == 201, r.text
        job = r.json()
        assert job["printer"] == "zebra" and job["name"] == "calibration label" and job["source"] == "test"
        wait_until(lambda: _done(d, job["id"]), timeout=30)
        assert d.store.get(job["id"]).state == "done"
        r = http.post("/printers/nope/test")
        assert r.status_code == 404 and "nope" in r.json()["error"]
        assert http.get("/printers/zebra/test").status_code == 405
    back = render_back("zpl", bytes(sinks["zebra"].data), 203)
    assert len(back) == 1
    check_geometry(back[0].image, 203, 58, 40)
    assert decode(back[0].image) == sorted(["zebra", f"{d.api.url}/"])


def test_cli_test_print(station, capsys):
    d, sinks = station
    assert main(["test-print", "tsc"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("job ") and out.endswith("queued on tsc (calibration label)")
    job_id = int(out.split()[1])
    wait_until(lambda: _done(d, job_id), timeout=30)
    data = bytes(sinks["tsc"].data)
    assert b"DENSITY 8" in data
    back = render_back("tspl", data, 203)
    check_geometry(back[0].image, 203, 40, 30)
    assert decode(back[0].image) == sorted(["tsc", f"{d.api.url}/"])
    assert main(["test-print", "missing"]) == 2
    assert "no printer named 'missing'" in capsys.readouterr().err


def test_test_print_names_printer_trouble_and_lists_printers(tmp_path, monkeypatch, capsys):
    """A calibration label sent to a printer that never answers ~HS says so at once (as `print`
    does), and an unknown printer name lists the configured ones."""
    with RecordingSink(answer_status=False) as mute:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
            {"name": "mute", "uri": mute.uri, "media": "58x40", "dpi": 203, "timeout": 1.0},
        ])
        with running(cfg) as d:
            monkeypatch.setenv("PRINTSTATION_API", d.api.url)
            with httpx.Client(base_url=d.api.url, timeout=30) as http:
                body = http.post("/printers/mute/test").json()
                assert body["printer_state"] == "error", body
                assert "no answer to status query" in body["printer_reason"]
            assert main(["test-print", "mute"]) == 0
            out = capsys.readouterr().out.strip()
            assert out.endswith(" — printer mute: error: " + body["printer_reason"]), out
            assert main(["test-print", "zebar"]) == 2
            err = capsys.readouterr().err.strip()
            assert err == "printstation: error: no printer named 'zebar' (configured printers: mute)", err
