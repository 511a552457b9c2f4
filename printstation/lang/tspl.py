"""TSPL / TSPL2 (TSC, Xprinter, many cheap label printers): ``BITMAP`` raster labels.

Most firmware prints a 0 bit as black in ``BITMAP`` data, so that is the default; ``invert``
flips it for the firmware that prints 1 bits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..spec import PrinterSpec
from ..status import PrinterStatus, StatusProtocol, decide, unreadable

if TYPE_CHECKING:  # numpy loads with the first label: asking for status needs none
    import numpy as np


def _mm(v: float) -> str:
    return f"{v:g}"


def emit(raster: np.ndarray, spec: PrinterSpec) -> bytes:
    from .bits import pack_rows

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


# -- status (<ESC>!?) -----------------------------------------------------------------------------

# One byte: bit0 head opened, bit1 paper jam, bit2 out of paper, bit3 out of ribbon, bit4 pause,
# bit5 printing, bit6 cover opened, bit7 temperature out of range.

TSPL_BITS = {0x01: "head_open", 0x02: "paper_jam", 0x04: "paper_out", 0x08: "ribbon_out",
             0x10: "paused", 0x20: "printing", 0x40: "cover_open", 0x80: "temperature"}
TSPL_ERRORS = {"head_open": "head open", "paper_jam": "paper jam", "paper_out": "paper out",
               "ribbon_out": "ribbon out", "cover_open": "cover open",
               "temperature": "temperature out of range"}


def parse_reply(raw: bytes) -> PrinterStatus:
    """Parse the one-byte ``<ESC>!?`` answer."""
    if not raw:
        return unreadable(raw)
    b = raw[0]
    flags = {name for bit, name in TSPL_BITS.items() if b & bit}
    return decide(flags, raw[:1], errors=TSPL_ERRORS, paused={"paused": "paused"},
                  printing={"printing": "printing"}, notes={})


STATUS = StatusProtocol(b"\x1b!?", lambda b: len(b) >= 1, parse_reply, "<ESC>!?")
