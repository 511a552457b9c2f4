"""The fields of a native ZPL label, for a preview where no raster exists: the ZPL goes to the
printer byte for byte and the printer draws it (no ZPL renderer is kept in Python here).

:func:`fields` reads each ``^XA…^XZ`` format with :func:`printstation.lang.zpl_layout.tokenize`
and lists what each field prints: its kind (text, a barcode symbology, box, graphic), its origin
in dots and its data (``^FH`` hex escapes decoded). Bounded: at most :data:`MAX_FIELDS` fields,
each data at most :data:`MAX_DATA` characters. Never raises on odd input.
"""

from __future__ import annotations

import re
from typing import Any

from ..lang.zpl_layout import tokenize

MAX_FIELDS = 200
MAX_DATA = 200

#: ZPL field commands → the name shown.
KINDS = {
    "BC": "Code 128", "B3": "Code 39", "BA": "Code 93", "B2": "Interleaved 2 of 5", "BE": "EAN-13",
    "B8": "EAN-8", "BU": "UPC-A", "B9": "UPC-E", "BQ": "QR code", "BX": "DataMatrix", "B7": "PDF417",
    "BD": "MaxiCode", "B0": "Aztec", "BO": "Aztec", "BK": "Codabar", "BT": "TLC39", "BR": "GS1 DataBar",
    "GB": "box", "GC": "circle", "GD": "diagonal line", "GE": "ellipse", "GF": "graphic", "XG": "graphic",
    "A": "text",
}
_NUM = re.compile(r"\s*(-?\d{1,6})")


def _num(text: str) -> int | None:
    m = _NUM.match(text)
    return int(m.group(1)) if m else None


def _unhex(data: bytes, escape: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i:i + 1] == escape and re.fullmatch(rb"[0-9A-Fa-f]{2}", data[i + 1:i + 3]):
            out.append(int(data[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def fields(zpl: bytes) -> list[dict[str, Any]]:
    """``[{"label": n, "kind": …, "x": dots, "y": dots, "data": text}, …]`` in print order."""
    out: list[dict[str, Any]] = []
    label = 0
    x = y = None
    kind: str | None = None
    data: bytes | None = None
    hexesc: bytes | None = None
    for _prefix, cmd, arg in tokenize(zpl):
        if len(out) >= MAX_FIELDS:
            break
        text = arg.decode("latin-1")
        if cmd == "XA":
            label += 1
            x = y = kind = data = hexesc = None
        elif cmd in ("FO", "FT"):
            parts = text.split(",")
            x, y = _num(parts[0]) if parts else None, _num(parts[1]) if len(parts) > 1 else None
        elif cmd in KINDS:
            kind = KINDS[cmd]
            if cmd in ("GB", "GC", "GD", "GE", "GF") and data is None:
                data = b""
        elif cmd == "FH":
            hexesc = (arg[:1] or b"_")
        elif cmd in ("FD", "FV"):
            data = arg
        elif cmd == "FS":
            if data is not None:
                raw = _unhex(data, hexesc) if hexesc else data
                try:
                    shown = raw.decode("utf-8")
                except UnicodeDecodeError:
                    shown = raw.decode("latin-1")
                out.append({"label": max(label, 1), "kind": kind or "text", "x": x, "y": y,
                            "data": shown[:MAX_DATA]})
            kind = data = hexesc = None
    return out
