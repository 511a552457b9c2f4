"""ESC/POS raster (receipt-style printers with label stock): ``GS v 0`` in bands.

Bands of at most :data:`BAND_ROWS` rows keep cheap printers' receive buffers from overflowing.
``spec.cut`` adds a feed-and-cut after each label; copies repeat the label.
"""

from __future__ import annotations

import numpy as np

from ..spec import PrinterSpec
from .bits import pack_rows

NAME = "escpos"
EXT = "escpos"
BAND_ROWS = 128

ESC_INIT = b"\x1b@"
CUT = b"\x1dVB\x00"  # GS V 66 0: feed to the cutter and cut


def emit(raster: np.ndarray, spec: PrinterSpec) -> bytes:
    data, bpr, rows = pack_rows(raster)
    parts = [ESC_INIT]
    for top in range(0, rows, BAND_ROWS):
        n = min(BAND_ROWS, rows - top)
        parts.append(
            b"\x1dv0\x00" + bpr.to_bytes(2, "little") + n.to_bytes(2, "little")
            + data[top * bpr : (top + n) * bpr]
        )
    if spec.cut:
        parts.append(CUT)
    label = b"".join(parts)
    return label * spec.copies
