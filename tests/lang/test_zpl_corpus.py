"""Real-world-style ZPL (tests/data/zpl-corpus): passed through for a ZPL printer of the label's
size, rendered back by Zebrash, decoded by zxing-cpp — the same barcodes as the sidecar says.

Per label: no byte-order mark reaches the printer; the output is the source byte for byte
plus only ``^PW``/``^LL`` after ``^XA`` where the format had none; the output renders exactly
like the source; the barcodes decode to the sidecar's (MaxiCode, which zxing may misread, and
symbols Zebrash cannot draw are held by the render comparison and the kept command bytes).
The layout check lets the label through on media just holding its rendered ink and refuses it
on media 20 % smaller than that ink.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from printstation import BadInput, Media, PrinterSpec, convert
from printstation.render.sniff import drop_bom, sniff
from support import render_back as rb

CORPUS = Path(__file__).resolve().parent.parent / "data" / "zpl-corpus"
NAMES = sorted(p.stem for p in CORPUS.glob("*.zpl"))
DOTS_PER_MM = 8  # Zebrash renders 203 dpi as 8 dots/mm

_render: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}


def _load(name: str) -> tuple[bytes, dict]:
    return (CORPUS / f"{name}.zpl").read_bytes(), json.loads((CORPUS / f"{name}.json").read_text("utf-8"))


def _spec(side: dict, media: tuple[float, float] | None = None) -> PrinterSpec:
    w, h = media or side["media_mm"]
    return PrinterSpec(media=Media(w, h), dpi=side["dpi"])


def _renders(name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(source images, passthrough output images), all labels in one Zebrash call."""
    reason = rb.zplrender_ready()
    if reason:
        pytest.skip(reason)
    if not _render:
        jobs = []
        for n in NAMES:
            data, side = _load(n)
            text, _ = drop_bom(data)
            w, h = side["media_mm"]
            jobs.append((text, w, h, side["dpi"]))
            jobs.append((b"".join(convert(data, _spec(side))), w, h, side["dpi"]))
        images = rb.zpl_native(jobs)
        for i, n in enumerate(NAMES):
            _render[n] = (images[2 * i], images[2 * i + 1])
    return _render[name]


def _decode(image: np.ndarray) -> list[tuple[str, str]]:
    import zxingcpp

    gray = np.pad(np.where(image, 0, 255).astype(np.uint8), 24, constant_values=255)
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(gray, try_rotate=True, try_downscale=True)
            if r.valid]


def _ink_mm(images: list[np.ndarray]) -> tuple[float, float]:
    far_x = far_y = 0
    for img in images:
        ys, xs = np.nonzero(img)
        if len(xs):
            far_x, far_y = max(far_x, int(xs.max()) + 1), max(far_y, int(ys.max()) + 1)
    return far_x / DOTS_PER_MM, far_y / DOTS_PER_MM


def test_corpus_covers_what_the_issue_lists() -> None:
    assert len(NAMES) >= 30
    text = b"".join((CORPUS / f"{n}.zpl").read_bytes() for n in NAMES)
    for cmd in (b"^BC", b"^B3", b"^BA", b"^BE", b"^BU", b"^B2", b"^B7", b"^BX", b"^BQ", b"^BD", b"~DG", b"^GFA",
                b":Z64:", b"^DF", b"^XF", b"^FR", b"^FT", b"^FO", b"^CI28", b"^A0R", b"^BCB", b"\r\n",
                b"CT~~CD,~CC^~CT~", b"^FB", b"^LH", b">;", b">:", b">6", b"^XG"):
        assert cmd in text, cmd
    assert any((CORPUS / f"{n}.zpl").read_bytes().startswith(b"\xef\xbb\xbf") for n in NAMES)
    sizes = {tuple(_load(n)[1]["media_mm"]) for n in NAMES}
    assert (54, 86) in sizes and (178, 152) in sizes


@pytest.mark.parametrize("name", NAMES)
def test_passthrough_is_the_source_and_scans_back(name: str) -> None:
    data, side = _load(name)
    spec = _spec(side)
    out = convert(data, spec)
    joined = b"".join(out)
    assert not joined.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) and b"\xef\xbb\xbf" not in joined
    source, bom = drop_bom(data)
    assert sniff(data).kind == "zpl" and sniff(data).bom == bom
    # Byte for byte: only ^PW/^LL right after ^XA may be added (and only where the format had none).
    strip = re.compile(rb"\^XA(\^PW\d+)?(\^LL\d+)?")
    assert strip.sub(b"^XA", joined) == strip.sub(b"^XA", source)
    assert joined.endswith(source[source.upper().rfind(b"^XZ"):])  # the line end after ^XZ is kept
    for u in side["unrendered"]:
        assert u["command"].encode() in joined
    src_imgs, out_imgs = _renders(name)
    assert len(out_imgs) == len(src_imgs)
    for a, b in zip(src_imgs, out_imgs):
        assert np.array_equal(a, b), f"{name}: the passthrough renders differently from the source"
    found = Counter(fv for img in out_imgs for fv in _decode(img) if fv[0] != "MaxiCode")
    expected = Counter((b["format"], b["value"]) for b in side["barcodes"])
    assert found == expected
    if b"^BD" in source:  # MaxiCode: drawn (ink where the symbol stands) and unchanged (compared above)
        m = re.search(rb"\^FO(\d+),(\d+)\^BD", source)
        assert m is not None
        x, y = int(m.group(1)), int(m.group(2))
        assert out_imgs[-1][y : y + 200, x : x + 200].mean() > 0.2


@pytest.mark.parametrize("name", NAMES)
def test_layout_check_passes_what_fits_and_refuses_what_does_not(name: str) -> None:
    data, side = _load(name)
    src_imgs, _ = _renders(name)
    ink_w, ink_h = _ink_mm(src_imgs)
    w, h = side["media_mm"]
    # Media that just holds the rendered ink: never refused.
    tight = (min(w, math.ceil(ink_w) + 1), min(h, math.ceil(ink_h) + 1))
    assert convert(data, _spec(side, tight))
    # Media 20 % smaller than the ink: refused with the contract's wording.
    small = (max(5.0, round(ink_w * 0.8)), max(5.0, round(ink_h * 0.8)))
    with pytest.raises(BadInput) as exc:
        convert(data, _spec(side, small))
    msg = str(exc.value)
    media = f"{small[0]:g}×{small[1]:g}"
    assert re.fullmatch(rf"label layout is \d+×\d+ mm, media is {media} mm: fetch the sticker in {media}", msg), msg
