"""EPL2 (Eltron / older Zebra desktop printers): ``GW`` direct graphic write.

In ``GW`` data a 0 bit prints a dot and a 1 bit leaves it white.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..spec import PrinterSpec, mm_to_dots

if TYPE_CHECKING:  # numpy loads with the first label: asking for status needs none
    import numpy as np


def emit(raster: np.ndarray, spec: PrinterSpec) -> bytes:
    from .bits import pack_rows

    data, bpr, rows = pack_rows(raster, black_is_one=False)
    head = [
        "",
        "N",
        f"q{spec.width_dots}",
        f"Q{spec.height_dots},{mm_to_dots(spec.media.gap_mm, spec.dpi)}",
    ]
    if spec.offset != (0, 0):
        head.append(f"R{spec.offset[0]},{spec.offset[1]}")
    if spec.darkness is not None:
        head.append(f"D{min(15, spec.darkness)}")
    head.append(f"GW0,0,{bpr},{rows},")
    return "\r\n".join(head).encode("ascii") + data + f"\r\nP{spec.copies}\r\n".encode("ascii")
