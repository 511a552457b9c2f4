"""ESC/POS raster (receipt-style printers with label stock): ``GS v 0`` in bands.

Bands of at most :data:`BAND_ROWS` rows keep cheap printers' receive buffers from overflowing.
``spec.cut`` adds a feed-and-cut after each label; copies repeat the label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..spec import PrinterSpec
from ..status import PrinterStatus, StatusProtocol, decide, unreadable

if TYPE_CHECKING:  # numpy loads with the first label: asking for status needs none
    import numpy as np

BAND_ROWS = 128

ESC_INIT = b"\x1b@"
CUT = b"\x1dVB\x00"  # GS V 66 0: feed to the cutter and cut


def emit(raster: np.ndarray, spec: PrinterSpec) -> bytes:
    from .bits import pack_rows

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


# -- status (DLE EOT 1..4, sent together) ---------------------------------------------------------

# Up to four bytes, each with fixed bits (``b & 0x93 == 0x12``): n=1 bit3 offline; n=2 bit2 cover
# open, bit3 feed button, bit5 paper-end stop, bit6 error; n=3 bit2 mechanical, bit3 autocutter,
# bit5 unrecoverable, bit6 auto-recoverable error; n=4 bits2-3 paper near end, bits5-6 paper end.
# Printers that answer only the first n are parsed from what came.

ESCPOS_ERRORS = {"cover_open": "cover open", "paper_out": "paper out",
                 "cutter_error": "autocutter error", "mechanical_error": "mechanical error",
                 "unrecoverable_error": "unrecoverable error",
                 "recoverable_error": "recoverable error (e.g. head too hot)",
                 "error": "printer error", "offline": "printer reports offline"}
ESCPOS_PAUSED = {"feeding": "paper being fed by the feed button"}


#: ``DLE EOT n`` answers n=1..4: (mask, flag) set when any bit of the mask is set.
ESCPOS_BITS: tuple[tuple[tuple[int, str], ...], ...] = (
    ((0x08, "offline"),),
    ((0x04, "cover_open"), (0x08, "feeding"), (0x20, "paper_out"), (0x40, "error")),
    ((0x04, "mechanical_error"), (0x08, "cutter_error"), (0x20, "unrecoverable_error"), (0x40, "recoverable_error")),
    ((0x0C, "paper_near_end"), (0x60, "paper_out")),
)


def parse_reply(raw: bytes) -> PrinterStatus:
    """Parse the answers to ``DLE EOT 1..4`` (1 to 4 bytes, in order n=1,2,3,4)."""
    got = raw[:4]
    if not got or any((b & 0x93) != 0x12 for b in got):
        return unreadable(raw)
    flags = {name for byte, bits in zip(got, ESCPOS_BITS) for mask, name in bits if byte & mask}
    # "offline" and "error" are summaries: report them only without a more precise cause
    precise = flags & {"cover_open", "paper_out", "cutter_error", "mechanical_error",
                       "unrecoverable_error", "recoverable_error", "feeding"}
    if precise:
        flags.discard("offline")
        if flags & (precise - {"feeding"}):
            flags.discard("error")
    return decide(flags, got, errors=ESCPOS_ERRORS, paused=ESCPOS_PAUSED, printing={},
                  notes={"paper_near_end": "paper near end"})


STATUS = StatusProtocol(b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04", lambda b: len(b) >= 4,
                        parse_reply, "DLE EOT 1-4")
