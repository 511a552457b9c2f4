"""Barcode proof on crops (issue 19): each redrawn symbol is verified on its own crop of the final
1-bit raster; a redraw that would not scan is still refused under ``verify="fail"``."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from printstation import BarcodeVerifyError, Media, PrinterSpec, convert_labels
from printstation.render import barcodes
from printstation.render import redraw as redraw_mod
from support import labelgen as lg
from support.render_back import decode, render_back


@pytest.fixture(autouse=True)
def _fresh():
    sys.modules["printstation.pipeline"]._CACHE.clear()
    barcodes._DETECTED.clear()
    yield
    barcodes._DETECTED.clear()


def _breaking_place(monkeypatch: pytest.MonkeyPatch, how: str) -> list[int]:
    """Make every redraw draw a symbol that does not scan (after drawing it properly)."""
    real = redraw_mod._place
    calls: list[int] = []

    def broken(r, mods, box, quiet, linear, drawn=None):
        k = real(r, mods, box, quiet, linear, drawn)
        if k and drawn:
            x0, y0, x1, y1 = drawn
            mid = (x0 + x1) // 2
            if how == "bars":  # a solid black block over the middle third of the symbol
                r[y0:y1, mid - (x1 - x0) // 6 : mid + (x1 - x0) // 6] = True
            else:  # a bar of ink in the left quiet zone, right against the start pattern
                r[y0:y1, max(0, x0 - 2 * k) : x0 - k] = True
            calls.append(k)
        return k

    monkeypatch.setattr(redraw_mod, "_place", broken)
    return calls


@pytest.mark.parametrize("kind", ["svg", "png"])
@pytest.mark.parametrize("lang", ["zpl", "tspl"])
def test_broken_redraw_is_refused(monkeypatch: pytest.MonkeyPatch, kind: str, lang: str) -> None:
    v = "!Broken123"
    make = lg.wb_sticker_svg if kind == "svg" else lg.wb_sticker_png
    data = make(v, size=(58, 40), module_px=2)
    spec = PrinterSpec(lang=lang, media=Media(58, 40), dpi=203)
    calls = _breaking_place(monkeypatch, "bars")
    with pytest.raises(BarcodeVerifyError, match="barcode would not scan at 203 dpi: Code128 '!Broken123'"):
        convert_labels(data, spec)
    assert calls  # the redraw did run and was broken


def test_broken_redraw_warn_prints_unverified(monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    data = lg.wb_sticker_png("!WarnOnly1", size=(40, 30), module_px=2)
    _breaking_place(monkeypatch, "bars")
    label = convert_labels(data, PrinterSpec(media=Media(40, 30), verify="warn"))[0]
    assert [(r.redrawn, r.verified) for r in label.barcodes] == [(True, False)]
    assert "barcode would not scan at 203 dpi" in caplog.text


def test_ink_in_the_quiet_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The crop carries the symbol's quiet zone: ink pushed against the start pattern fails it."""
    data = lg.wb_sticker_svg("!QuietZone", size=(58, 40), module_px=2)
    _breaking_place(monkeypatch, "quiet")
    spec = PrinterSpec(lang="png", media=Media(58, 40), dpi=300)
    with pytest.raises(BarcodeVerifyError, match="would not scan"):
        convert_labels(data, spec)


def test_good_label_is_proven_on_crops_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A label that scans costs no whole-label read: every 1-bit read is a crop smaller than the label."""
    data = lg.two_barcode_svg("!TwoCodes9", "WB-GI-55509876")
    spec = PrinterSpec(lang="zpl", media=Media(58, 40), dpi=203)
    crops: list[tuple[int, int]] = []
    whole: list[int] = []
    real_crop, real_whole = barcodes.crop_verifies, barcodes.decoded_set

    def crop_spy(raster, b, box, module_dots, turns=None, **kw):
        ok = real_crop(raster, b, box, module_dots, turns, **kw)
        crops.append((int(box[2] - box[0]) * int(box[3] - box[1]), ok))
        return ok

    monkeypatch.setattr(barcodes, "crop_verifies", crop_spy)
    monkeypatch.setattr(barcodes, "decoded_set", lambda *a, **k: whole.append(1) or real_whole(*a, **k))
    label = convert_labels(data, spec)[0]
    assert sorted((r.barcode.format, r.redrawn, r.verified) for r in label.barcodes) == [
        ("Code128", True, True), ("QRCode", True, True)]
    raster = label.raster
    assert raster is not None
    assert len(crops) == 2 and all(ok and area < raster.size // 3 for area, ok in crops)
    assert whole == []
    back = render_back("zpl", label.data, 203)[0].image
    assert sorted(decode(back)) == sorted(["!TwoCodes9", "WB-GI-55509876"])


def test_crop_verification_matches_whole_label_reads() -> None:
    """On real labels the crop proof and a whole-label read agree symbol by symbol."""
    for v in ("!Agree0001", "!Agree0002"):
        for spec in (PrinterSpec(media=Media(40, 30), dpi=203), PrinterSpec(media=Media(30, 40), dpi=300)):
            label = convert_labels(lg.wb_sticker_png(v, size=(40, 30), module_px=2, vertical=True), spec)[0]
            assert label.raster is not None
            assert [r.verified for r in label.barcodes] == [True]
            assert barcodes.decoded_set(label.raster) == [("Code128", v.encode())]


def test_unredrawn_symbol_is_verified_on_its_crop() -> None:
    """``barcodes="keep"`` still proves the plain render per symbol (and refuses what fails)."""
    data = lg.qr_svg("WB-GI-77700011", module_px=9)
    label = convert_labels(data, PrinterSpec(media=Media(58, 40), barcodes="keep"))[0]
    assert [(r.redrawn, r.verified) for r in label.barcodes] == [(False, True)]
    blank = np.zeros_like(label.raster)
    (b,) = [r.barcode for r in label.barcodes]
    assert not barcodes.crop_verifies(blank, b, (0, 0, blank.shape[1], blank.shape[0]), 2)
