"""The layout cache of the 2-D pass (:func:`printstation.render.barcodes.matrix_pass`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .barcodes import Barcode

#: The 2-D pass of the last few layouts (image size, scale): its input image (bars of the
#: linear symbols found blanked) and what it found. WB stickers of one batch share a layout: only
#: the Code128 value differs, and it lies in the blanked bars, so the 2-D pass would read the very
#: same pixels again. It is skipped only when its input is pixel for pixel the one it answered
#: for (a pure function of the image: same input, same symbols); every linear symbol is read again
#: on every label, so a new value is always the new label's own.
_LAYOUTS: "OrderedDict[tuple, tuple[np.ndarray, list[Barcode]]]" = OrderedDict()
_LAYOUT_LOCK = threading.Lock()
#: Layouts kept, and the largest 2-D pass input kept (pixels: a 100×150 mm page at 12 px/mm fits).
LAYOUTS_KEPT = 4
LAYOUT_MAX_PIXELS = 4_000_000


def _layout_hit(layout: tuple, mimg: np.ndarray) -> list[Barcode] | None:
    with _LAYOUT_LOCK:
        hit = _LAYOUTS.get(layout)
    # Every 8th pixel first (a different label almost always differs there: ~1 % of the work),
    # then every pixel.
    if hit is not None and np.array_equal(hit[0][::8, ::8], mimg[::8, ::8]) and np.array_equal(hit[0], mimg):
        return list(hit[1])
    return None


def _layout_keep(layout: tuple, mimg: np.ndarray, found: list[Barcode]) -> None:
    if mimg.size > LAYOUT_MAX_PIXELS:
        return
    with _LAYOUT_LOCK:
        _LAYOUTS[layout] = (mimg, list(found))
        _LAYOUTS.move_to_end(layout)
        while len(_LAYOUTS) > LAYOUTS_KEPT:
            _LAYOUTS.popitem(last=False)
