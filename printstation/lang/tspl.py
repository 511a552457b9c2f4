"""TSPL / TSPL2 (TSC, Xprinter, many cheap label printers): ``BITMAP`` raster labels.

Most firmware prints a 0 bit as black in ``BITMAP`` data, so that is the default; ``invert``
flips it for the firmware that prints 1 bits.
"""

from __future__ import annotations

import numpy as np

from ..spec import PrinterSpec
from .bits import pack_rows

NAME = "tspl"
EXT = "tspl"


def _mm(v: float) -> str:
    return f"{v:g}"


def emit(raster: np.ndarray, spec: PrinterSpec) -> bytes:
    data, bpr, rows = pack_rows(raster, black_is_one=spec.invert)
    m = spec.media
    head = [
        f"SIZE {_mm(m.width_mm)} mm,{_mm(m.height_mm)} mm",
        f"GAP {_mm(m.gap_mm)} mm,0 mm",
        "DIRECTION 1,0",
        f"REFERENCE {spec.offset[0]},{spec.offset[1]}",
    ]
    if spec.darkness is not None:
        head.append(f"DENSITY {min(15, spec.darkness)}")
    head += ["CLS", f"BITMAP 0,0,{bpr},{rows},0,"]
    tail = f"\r\nPRINT 1,{spec.copies}\r\n"
    return "\r\n".join(head).encode("ascii") + data + tail.encode("ascii")
