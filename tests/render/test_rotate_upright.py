"""``--rotate auto`` keeps vertical (``zplv``-style) WB stickers upright, whichever way they were
turned on their portrait page (issue 13: a fixed quarter turn printed half of them upside down).
Each sticker is converted, the printer bytes are rendered back independently and the barcode
must read left to right with the human-readable line under it."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from printstation import PrinterSpec, convert
from printstation.face.cli import main
from printstation.spec import Media
from support import labelgen as lg
from support.render_back import render_back

VALUE = "!vert42"


def _stickers() -> dict[str, bytes]:
    cw = lg.wb_sticker_svg_vertical(VALUE, turn=90)
    ccw = lg.wb_sticker_svg_vertical(VALUE, turn=270)
    return {"svg-cw": cw, "svg-ccw": ccw, "png-cw": lg.svg_to_png(cw), "png-ccw": lg.svg_to_png(ccw),
            "png-pil": lg.wb_sticker_png(VALUE, vertical=True)}


STICKERS = _stickers()


def upright(image: np.ndarray) -> tuple[int, bool]:
    """(zxing's orientation of the Code128, whether the text band lies under the bars)."""
    gray = np.pad(np.where(image, 0, 255).astype(np.uint8), 24, constant_values=255)
    found = [r for r in zxingcpp.read_barcodes(gray, try_rotate=True) if r.valid and r.text == VALUE]
    assert found, "the sticker's barcode must decode"
    r = found[0]
    ys = [p.y - 24 for p in (r.position.top_left, r.position.top_right, r.position.bottom_left,
                             r.position.bottom_right)]
    xs = [p.x - 24 for p in (r.position.top_left, r.position.top_right, r.position.bottom_left,
                             r.position.bottom_right)]
    x0, x1 = max(0, min(xs)), max(xs)
    ink = image[:, x0:x1 + 1]
    above = ink[: max(0, min(ys) - 2)].sum()
    below = ink[max(ys) + 3:].sum()
    return r.orientation, below > 4 * max(above, 1)


@pytest.mark.parametrize("name", sorted(STICKERS))
@pytest.mark.parametrize("lang, media, dpi", [("tspl", "58x40", 203), ("zpl", "40x30", 203),
                                              ("tspl", "58x40", 300)])
def test_vertical_sticker_prints_upright(name, lang, media, dpi):
    spec = PrinterSpec(lang=lang, media=Media.parse(media), dpi=dpi)
    data = b"".join(convert(STICKERS[name], spec))
    (back,) = render_back(lang, data, dpi)
    orientation, text_below = upright(back.image)
    assert orientation == 0, f"{name}: barcode reads at {orientation}°"
    assert text_below, f"{name}: the text line is not under the bars"


def test_fixed_rotation_still_wins(tmp_path, capsysbinary):
    """--rotate 90 is taken as given (the operator's choice), auto is what decides."""
    src = tmp_path / "v.svg"
    src.write_bytes(STICKERS["svg-cw"])
    out = tmp_path / "o.png"
    assert main(["convert", str(src), "--lang", "png", "--rotate", "90", "-o", str(out)]) == 0
    (back,) = render_back("png", out.read_bytes(), 203)
    assert upright(back.image)[0] == 180  # the cw sticker turned cw once more: upside down
    assert main(["convert", str(src), "--lang", "png", "-o", str(out)]) == 0
    (back,) = render_back("png", out.read_bytes(), 203)
    assert upright(back.image) == (0, True)


def test_landscape_sticker_is_not_turned():
    spec = PrinterSpec(lang="tspl")
    (back,) = render_back("tspl", b"".join(convert(lg.wb_sticker_svg(VALUE), spec)), 203)
    assert upright(back.image) == (0, True)
