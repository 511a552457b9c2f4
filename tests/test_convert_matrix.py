"""Every input kind × printer language × media × dpi: convert, print back independently, scan.

The emitted bytes are rendered back by a path that shares no code with our emitters
(:mod:`support.render_back`: zebrafy for ZPL ``^GFA``, Zebrash for native ZPL, small parsers for
TSPL/ESC-POS/EPL2) and every barcode is decoded with zxing-cpp: the decoded values must equal the
source values, with the default ``barcodes="redraw"`` and ``verify="fail"``.
A label that cannot be made to scan must be refused (BarcodeVerifyError), never printed.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from printstation import Media, PrinterSpec, UnsupportedConversion, convert, convert_labels
from support import cases
from support import render_back as rb

MEDIA_IDS = [f"{w}x{h}" for w, h in cases.MEDIA]


@pytest.fixture(autouse=True)
def _fresh_engine_caches():
    """Every case converts from scratch, as a first print would: the engine caches results by
    content, and its barcode-detection cache is keyed by content only (not by the scale it
    detected at), so without this a case's outcome would depend on which case ran before it."""
    import sys

    from printstation.render import barcodes

    sys.modules["printstation.pipeline"]._CACHE.clear()
    barcodes._DETECTED.clear()
    yield


def _spec(lang: str, media: tuple[int, int], dpi: int, **kw: object) -> PrinterSpec:
    return PrinterSpec(lang=lang, media=Media(*media), dpi=dpi, **kw)  # type: ignore[arg-type]


def check_header(lang: str, back: rb.Back, spec: PrinterSpec) -> None:
    """The label's setup commands match the printer spec."""
    w, h = spec.width_dots, spec.height_dots
    if lang == "zpl":
        assert (back.header["PW"], back.header["LL"]) == (w, h)
        assert back.header["LH"] == spec.offset
        assert back.header["SD"] == spec.darkness
    elif lang == "tspl":
        assert back.header["SIZE"] == (spec.media.width_mm, spec.media.height_mm)
        assert back.header["GAP"] == (spec.media.gap_mm, 0.0)
        assert back.header["DIRECTION"] == (1, 0)
    elif lang == "epl2":
        assert back.header["q"] == w
        assert back.header["Q"] == (h, round(spec.media.gap_mm * spec.dpi / 25.4))
    elif lang == "escpos":
        bands = back.header["bands"]
        assert all(1 <= b <= 128 for b in bands) and sum(bands) == h
        assert back.header["cut"] == spec.cut
    elif lang == "png":
        assert back.header["dpi"] is not None and round(back.header["dpi"][0]) == spec.dpi
    assert back.copies == (1 if lang == "png" else spec.copies)


def printed(lang: str, data: bytes, spec: PrinterSpec) -> rb.Back:
    """One label's bytes → the label as printed, cropped to the media (padding must be white)."""
    backs = rb.render_back(lang, data, spec.dpi, invert=spec.invert)
    assert len(backs) == 1, f"expected one label in the bytes, got {len(backs)}"
    back = backs[0]
    check_header(lang, back, spec)
    h, w = spec.height_dots, spec.width_dots
    assert back.image.shape[0] == h and back.image.shape[1] >= w
    assert not back.image[:, w:].any(), "row padding past the media width prints black"
    back.image = back.image[:, :w]
    return back


# ----------------------------------------------------------------------------- raster inputs

RASTER_KINDS = [k for k in cases.KINDS if k != "zpl"]


def _matrix():
    for kind in RASTER_KINDS:
        for wrap in ("raw", "b64"):
            for lang in cases.LANGS:
                for media, mid in zip(cases.MEDIA, MEDIA_IDS):
                    for dpi in cases.DPIS:
                        yield pytest.param(kind, wrap, lang, media, dpi,
                                           id=f"{kind}-{wrap}-{lang}-{mid}-{dpi}")


@pytest.mark.parametrize(("kind", "wrap", "lang", "media", "dpi"), list(_matrix()))
def test_raster_input_scans_back(kind: str, wrap: str, lang: str, media: tuple[int, int], dpi: int) -> None:
    data = cases.wrapped(kind, wrap)
    expected = cases.source(kind)[1]
    spec = _spec(lang, media, dpi)
    labels = convert_labels(data, spec)
    assert len(labels) == len(expected), "one label per page"
    for label, want in zip(labels, expected):
        back = printed(lang, label.data, spec)
        # The printer prints exactly the raster the engine made (emitter proof) …
        assert np.array_equal(back.image, label.raster)
        # … and every barcode on it scans to its source value (barcode proof).
        assert rb.decode(back.image) == sorted(want), f"page {label.page + 1}"


@pytest.mark.parametrize("lang", cases.LANGS)
@pytest.mark.parametrize("kind", RASTER_KINDS)
def test_base64_wrapping_changes_nothing(kind: str, lang: str) -> None:
    spec = _spec(lang, (58, 40), 203, verify="off")
    assert convert(cases.wrapped(kind, "b64"), spec) == convert(cases.wrapped(kind, "raw"), spec)


# ----------------------------------------------------------------------------- ZPL input

_native_lock = threading.Lock()
_native: dict[tuple, list[np.ndarray]] = {}


def _zpl_jobs() -> list[tuple[tuple, bytes, PrinterSpec]]:
    jobs = []
    for wrap in ("raw", "b64"):
        for media in cases.MEDIA:
            for dpi in cases.DPIS:
                spec = _spec("zpl", media, dpi)
                out = convert(cases.zpl_for(media, wrap), spec)
                assert len(out) == 1
                jobs.append(((wrap, media, dpi), out[0], spec))
    return jobs


def native_render(key: tuple) -> tuple[bytes, list[np.ndarray]]:
    """All ZPL passthrough outputs of the matrix are rendered by Zebrash in one node call."""
    reason = rb.zplrender_ready()
    if reason:
        pytest.skip(reason)
    with _native_lock:
        if not _native:
            jobs = _zpl_jobs()
            images = rb.zpl_native([(z, s.media.width_mm, s.media.height_mm, s.dpi) for _, z, s in jobs])
            for (k, z, _), imgs in zip(jobs, images):
                _native[k] = (z, imgs)  # type: ignore[assignment]
        return _native[key]  # type: ignore[return-value]


@pytest.mark.parametrize("dpi", cases.DPIS)
@pytest.mark.parametrize("media", cases.MEDIA, ids=MEDIA_IDS)
@pytest.mark.parametrize("wrap", ["raw", "b64"])
def test_zpl_passthrough_scans_back(wrap: str, media: tuple[int, int], dpi: int) -> None:
    zpl, images = native_render((wrap, media, dpi))
    source = cases.zpl_for(media, "raw")
    spec = _spec("zpl", media, dpi)
    # Passthrough keeps the source byte for byte and only adds what the printer needs.
    body = source.strip()
    assert body[3:] in zpl, "the original format body must be kept byte for byte"
    added = zpl.replace(body[3:], b"").decode()
    assert added.startswith("^XA") and f"^PW{spec.width_dots}" in added and f"^LL{spec.height_dots}" in added
    if dpi != 203:
        assert "^MUd,200,300" in added  # WB lays ZPL out in 203-dpi dots
    assert len(images) == 1
    assert rb.decode(images[0]) == [cases.STICKER["zpl"]]


@pytest.mark.parametrize("lang", [lang for lang in cases.LANGS if lang != "zpl"])
@pytest.mark.parametrize("wrap", ["raw", "b64"])
def test_zpl_input_for_other_printer_is_refused(wrap: str, lang: str) -> None:
    target = {"tspl": "a TSPL printer", "escpos": "an ESC/POS printer", "epl2": "an EPL2 printer",
              "png": "PNG output"}[lang]
    with pytest.raises(UnsupportedConversion) as exc:
        convert(cases.wrapped("zpl", wrap), _spec(lang, (58, 40), 203))
    assert str(exc.value) == f"ZPL cannot be converted for {target}: fetch the label as SVG or PNG"


# ----------------------------------------------------------------------------- more label shapes

EXTRA = {
    "supply-qr-svg": lambda: (cases.lg.qr_svg(cases.SUPPLY_QR, module_px=7.3), [cases.SUPPLY_QR]),
    "box-qr-png": lambda: (cases.lg.qr_png(cases.BOX_QR, size=(40, 30), module_px=7), [cases.BOX_QR]),
    "vertical-svg": lambda: (cases.lg.wb_sticker_svg_vertical("!Vt5Rq88z"), ["!Vt5Rq88z"]),
    "vertical-png": lambda: (cases.lg.wb_sticker_png("!Vp6Ws19k", vertical=True), ["!Vp6Ws19k"]),
    "two-barcodes-svg": lambda: (cases.lg.two_barcode_svg("!Tw0Bc77d", cases.SUPPLY_QR),
                                 sorted(["!Tw0Bc77d", cases.SUPPLY_QR])),
    "sticker-400x300-png": lambda: (cases.lg.wb_sticker_png("!Sm4Ll30p", size=(40, 30)), ["!Sm4Ll30p"]),
    "rotated-pdf": lambda: (cases.lg.pdf_label("RR000111222CN", rotate=90), ["RR000111222CN"]),
}


@pytest.mark.parametrize("dpi", cases.DPIS)
@pytest.mark.parametrize("media", [(58, 40), (40, 30)], ids=["58x40", "40x30"])
@pytest.mark.parametrize("lang", ["zpl", "tspl"])
@pytest.mark.parametrize("name", sorted(EXTRA))
def test_more_label_shapes_scan_back(name: str, lang: str, media: tuple[int, int], dpi: int) -> None:
    data, want = EXTRA[name]()
    spec = _spec(lang, media, dpi)
    labels = convert_labels(data, spec)
    back = printed(lang, labels[0].data, spec)
    assert np.array_equal(back.image, labels[0].raster)
    assert rb.decode(back.image) == want
