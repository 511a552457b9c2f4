"""What makes the barcode proof cheap (issue 19) must not change what is printed: the SVG
recording replay draws exactly what a direct draw does, the ink-box graphic field prints the same
dots, and a ZPL passthrough does not load the raster engine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from printstation import Media, PrinterSpec, convert_labels
from printstation.lang import zpl
from printstation.render.svg import SvgSource
from support import labelgen as lg
from support import render_back as rb

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("make", [
    lambda: lg.wb_sticker_svg("!Replay001", size=(40, 30)),
    lambda: lg.two_barcode_svg("!Replay002", "WB-GI-55501234"),
    lambda: lg.qr_svg("WB-GI-12345678", module_px=8.7),
    lambda: lg._label_svg_mm("RU123456789CN", 100, 150),
], ids=["wb", "two", "qr", "mm"])
def test_svg_print_render_is_a_direct_draw(make) -> None:
    data = make()
    src = SvgSource(data)
    size = (int(src.width * 0.8), int(src.height * 0.8))
    replayed = src.render(0, size=size)           # recorded once, replayed at the print size
    direct = SvgSource(data)._direct(0, size)      # cairosvg's own walk at the same size
    assert replayed.shape == direct.shape == (size[1], size[0])
    assert np.array_equal(replayed, direct)
    # Detection: the recording scaled (vectors replayed, not pixels enlarged: edges stay sharp);
    # it differs from a direct draw at that scale only by sub-pixel edge coverage.
    finer, direct_fine = src.render(1.5), SvgSource(data)._direct(1.5)
    assert finer.shape == direct_fine.shape == (round(src.height * 1.5), round(src.width * 1.5))
    assert (finer < 128).mean() == pytest.approx((direct_fine < 128).mean(), abs=0.02)
    assert ((finer < 128) != (direct_fine < 128)).mean() < 0.05
    assert ((finer == 0) | (finer == 255)).mean() > 0.9


def test_graphic_field_covers_the_ink_only() -> None:
    raster = np.zeros((320, 464), bool)
    raster[100:140, 37:301] = np.random.default_rng(1).random((40, 264)) < 0.5
    raster[100, 37] = raster[139, 300] = True
    out = zpl.emit(raster, PrinterSpec(media=Media(58, 40)))
    m = re.search(rb"\^FO(\d+),(\d+)\^GFA,(\d+),(\d+),(\d+),", out)
    assert m and (int(m.group(1)), int(m.group(2))) == (37, 100)
    assert int(m.group(5)) == 33 and int(m.group(4)) == 33 * 40  # 264 dots = 33 bytes × 40 rows
    back = rb.zpl_raster(out)[0]
    assert np.array_equal(back.image, raster)


def test_z64_byte_count_is_what_follows() -> None:
    raster = np.zeros((64, 64), bool)
    raster[8:56, 8:56] = np.eye(48, dtype=bool)
    field = zpl.graphic_field(raster, "z64")
    _, count, total, bpr, body = field.split(",", 4)
    assert int(count) == len(body) and body.startswith(":Z64:")
    assert zpl.z64_decode(body) == np.packbits(raster, axis=1).tobytes()
    assert int(total) == 64 * 8 and int(bpr) == 8


def test_pdf_labels_print_the_same_dots_as_before_the_crop() -> None:
    data = lg.pdf_label(["RU123456789CN", "LP00987654321098"])
    spec = PrinterSpec(media=Media(100, 150))
    for label in convert_labels(data, spec):
        assert np.array_equal(rb.zpl_raster(label.data)[0].image, label.raster)


def _imports(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_zpl_passthrough_loads_no_raster_engine(tmp_path) -> None:
    src = tmp_path / "s.zpl"
    src.write_bytes(lg.wb_sticker_zpl("!Lazy0001"))
    mods = _imports(f"from printstation.face.cli import main; assert main(['convert', {str(src)!r}, '-o', {str(tmp_path / 'o.zpl')!r}]) == 0")
    assert (tmp_path / "o.zpl").read_bytes().startswith(b"^XA")
    assert not {"numpy", "PIL", "zxingcpp", "pypdfium2", "cairosvg"} & mods


def test_pdf_conversion_loads_no_pillow_or_cairo(tmp_path) -> None:
    src = tmp_path / "l.pdf"
    src.write_bytes(lg.pdf_label("RU123456789CN"))
    # in-process (the CLI converts in a forked child: what matters is what the conversion imports)
    mods = _imports("import pathlib; from printstation.pipeline import convert; from printstation.spec import "
                    "PrinterSpec, Media; assert convert(pathlib.Path(" + repr(str(src)) + ").read_bytes(), "
                    "PrinterSpec(media=Media(100, 150)))")
    assert {"numpy", "pypdfium2", "zxingcpp"} <= mods
    assert not {"PIL", "cairosvg", "cairocffi"} & mods
