"""EPL2 (Eltron / older Zebra desktop printers): ``GW`` direct graphic write.

In ``GW`` data a 0 bit prints a dot and a 1 bit leaves it white.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..identify import Channel, IdentifyProtocol, Identity, clean, eol, text
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


# -- identification (discovery) ------------------------------------------------------------------
# ``UI`` (sent after a line break so garbage from earlier probes ends its own line):
# ``UKQ1935HLU     V4.29,8,437,001`` = firmware, data bits, code page, country.

_UI = re.compile(r"^\s*(?:UI\s*)?(.*?V\d[\w.]*|[A-Z]{2,}[\w .-]*?)\s*,\s*(\d)\s*,\s*(\d{3,4})\s*,\s*(\d{3})")


def parse_ui(raw: bytes) -> dict[str, str] | None:
    m = _UI.match(clean(text(raw), 200))
    if not m:
        return None
    return {"firmware": " ".join(m.group(1).split()), "code_page": m.group(3), "country": m.group(4)}


def probe(ch: Channel, timeout: float, ident: Identity) -> bool:
    ui = parse_ui(ch.ask(b"\r\nUI\r\n", timeout, eol))
    if ui is None:
        return False
    ident.lang, ident.via = "epl2", "EPL2 UI"
    ident.firmware = ui["firmware"]
    ident.model = f"EPL2 printer ({ui['firmware'].split()[0]})"
    ident.extra["code_page"] = ui["code_page"]
    return True


IDENTIFY = IdentifyProtocol(probe, usb_command=re.compile(r"^(?:EPL|EPL2|GEPL)\b", re.I), default_name="epl2")
