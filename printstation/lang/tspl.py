"""TSPL / TSPL2 (TSC, Xprinter, many cheap label printers): ``BITMAP`` raster labels.

Most firmware prints a 0 bit as black in ``BITMAP`` data, so that is the default; ``invert``
flips it for the firmware that prints 1 bits.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..identify import Channel, IdentifyProtocol, Identity, clean, dpi_from_name, eol, text
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


# -- identification (discovery) ------------------------------------------------------------------
# ``~!T`` (model name, e.g. ``TE200``<CR>) and ``~!I`` (code page and country). The dpi comes from
# the model family; TSPL has no query for the loaded media. ``~!D`` is **not** sent: on TSC
# firmware it enters DUMP mode (every byte received is then printed as hex until power-off).

#: TSC model families whose number tells the resolution: TE200 / TE300, TTP-244 / TTP-344,
#: DA200 / DA300, TX200 / TX300 / TX600, ME240 / ME340, MH240 / MH340 / MH640 …
_TSC_FAMILY = re.compile(r"^(?:TSC\s+)?(?:TTP-|TDP-|TE|TX|TA|DA|DH|ME|MH|MX|ML|MB|TC|TH|TTP|T)\s*([236])\d{2}",
                         re.I)
#: A model name: short, one line, no protocol banner (``220 …``, ``SSH-2.0``, ``HTTP/1.1``).
_TSPL_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+/()-]{1,39}")
_BANNER = re.compile(r"^(?:\d{3}[ -]|SSH-|HTTP/|RFB )", re.I)


def tspl_dpi(model: str) -> int | None:
    m = _TSC_FAMILY.match(model.strip())
    if m:
        return {"2": 203, "3": 300, "6": 600}[m.group(1)]
    if re.match(r"^XP-", model, re.I):  # Xprinter label printers are 203 dpi
        return 203
    return dpi_from_name(model)


def probe(ch: Channel, timeout: float, ident: Identity) -> bool:
    raw = ch.ask(b"~!T", timeout, eol)
    model = clean(text(raw).splitlines()[0] if raw.strip() else "")
    if not _TSPL_MODEL.fullmatch(model) or _BANNER.match(model):
        return False
    ident.lang, ident.via, ident.model = "tspl", "TSPL ~!T", model
    ident.dpi = tspl_dpi(model)
    cp = clean(text(ch.ask(b"~!I", timeout, eol)))
    if cp:
        ident.via += " + ~!I"
        ident.extra["code_page"] = cp
    return True


IDENTIFY = IdentifyProtocol(probe, usb_command=re.compile(r"^TSPL", re.I), dpi_from_model=tspl_dpi)
