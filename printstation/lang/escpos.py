"""ESC/POS raster (receipt-style printers with label stock): ``GS v 0`` in bands.

Bands of at most :data:`BAND_ROWS` rows keep cheap printers' receive buffers from overflowing.
``spec.cut`` adds a feed-and-cut after each label; copies repeat the label.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..identify import Channel, IdentifyProtocol, Identity, clean, dpi_from_name, text
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


# -- identification (discovery) ------------------------------------------------------------------
# ``GS I 1``, ``GS I 2``, ``GS I 3`` (model id, type id, version id: one byte each), then
# ``GS I 67``/``66``/``65`` (model name, maker, firmware as ``_…NUL`` blocks) where the printer
# has them; finally ``ESC @`` clears the receipt printer's buffer, so the text of the earlier
# probes (other languages' queries) never prints with the next receipt.


def _gs_i_block(raw: bytes) -> str | None:
    """``_`` + text + ``NUL`` (GS I 65…69) → the text."""
    m = re.search(rb"_([^\x00]{0,80})\x00", raw)
    return clean(m.group(1).decode("latin-1")) if m else None


def probe(ch: Channel, timeout: float, ident: Identity) -> bool:
    ids = []
    for n in (1, 2, 3):
        # one byte each: wait for the quiet after it, an echo or a chatty device sends more
        raw = ch.ask(b"\x1dI" + bytes([n]), timeout, lambda b: len(b) >= 2)
        if len(raw) != 1:
            if n == 1:
                return False
            break
        ids.append(raw[0])
    ident.lang, ident.via = "escpos", "ESC/POS GS I"
    ident.extra["model_id"] = f"0x{ids[0]:02x}"
    if len(ids) > 2:
        ident.firmware = f"version id 0x{ids[2]:02x}"
    short = max(0.05, timeout / 2)
    name = _gs_i_block(ch.ask(b"\x1dI\x43", short, lambda b: b"\x00" in b))
    if name:
        maker = _gs_i_block(ch.ask(b"\x1dI\x42", short, lambda b: b"\x00" in b))
        fw = _gs_i_block(ch.ask(b"\x1dI\x41", short, lambda b: b"\x00" in b))
        ident.model, ident.manufacturer = name, maker or None
        if fw:
            ident.firmware = fw
        ident.via += " 1-3, 65-67"
    else:
        ident.model = f"ESC/POS printer (model id 0x{ids[0]:02x})"
    ident.dpi = dpi_from_name(ident.model)
    ch.send(ESC_INIT)  # settings in NV memory stay
    return True


IDENTIFY = IdentifyProtocol(probe, usb_command=re.compile(r"^(?:ESC/?POS|ESCPOS|EPSON|POS)\b", re.I),
                            default_name="receipt")
