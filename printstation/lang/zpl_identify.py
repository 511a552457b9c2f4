"""Recognising a ZPL printer (``IDENTIFY`` of :mod:`printstation.lang.zpl`).

``~HI`` (host identification) → ``<STX>ZD421-203dpi,V84.20.18Z,8,8192KB<ETX>``: model, firmware,
dots per mm (6/8/12/24 → 152/203/300/600 dpi; a ``-300dpi`` model suffix wins). Then ``^XA^HH^XZ``
(configuration returned to the host, nothing printed): ``PRINT WIDTH`` and ``LABEL LENGTH`` in
dots give the media. ``~HQES`` only reports error/warning flags, so it is not needed for
identification. USB printers name it ``ZPL``, ``ZPL2``, ``ZPLII`` or ``GZPL`` in their 1284 ID.
"""

from __future__ import annotations

import re
from typing import Any

from ..identify import Channel, IdentifyProtocol, Identity, clean, dpi_from_name, etx, mm, text

ZPL_DPM = {6: 152, 8: 203, 12: 300, 24: 600}
_HI = re.compile(r"\x02?\s*([^,\x02\x03]+?)\s*,\s*([^,\x03]+?)\s*,\s*(\d+)\s*(?:,\s*([^,\x03]*))?")
_HH_LINE = re.compile(r"^\s*(.*?)\s*\.{2,}\s*([A-Z][A-Z0-9 /#-]*?)\s*$")


def parse_hi(raw: bytes) -> dict[str, Any] | None:
    """``~HI`` answer → {model, firmware, dpi, memory}; None when it is not one."""
    t = text(raw)
    if "\x02" in t:
        t = t.split("\x02", 1)[1]
    t = t.split("\x03", 1)[0]
    m = _HI.match(t)
    if not m:
        return None
    model, firmware, dpm = clean(m.group(1)), clean(m.group(2)), int(m.group(3))
    if not model or dpm not in ZPL_DPM:
        return None
    model = re.sub(r"\s+ZPL$", "", model)
    dpi = dpi_from_name(model) or ZPL_DPM[dpm]
    return {"model": model, "firmware": firmware, "dpi": dpi, "memory": clean(m.group(4) or "")}


def parse_hh(raw: bytes) -> dict[str, str]:
    """``^HH`` configuration lines ``  832 ........ PRINT WIDTH`` → {"PRINT WIDTH": "832", …}."""
    out: dict[str, str] = {}
    for line in text(raw).replace("\x02", "\n").replace("\x03", "\n").splitlines():
        m = _HH_LINE.match(line)
        if m and m.group(1):
            out.setdefault(m.group(2).strip(), m.group(1).strip())
    return out


def _dots(value: str | None) -> int | None:
    m = re.match(r"\s*(\d{2,5})\b", value or "")
    return int(m.group(1)) if m else None


def probe(ch: Channel, timeout: float, ident: Identity) -> bool:
    hi = parse_hi(ch.ask(b"~HI", timeout, etx))
    if hi is None:
        return False
    ident.lang, ident.via = "zpl", "ZPL ~HI"
    ident.model, ident.firmware, ident.dpi = hi["model"], hi["firmware"], hi["dpi"]
    conf = parse_hh(ch.ask(b"^XA^HH^XZ", timeout, lambda b: b.count(b"\x03") >= 1))
    width, length = _dots(conf.get("PRINT WIDTH")), _dots(conf.get("LABEL LENGTH"))
    if conf:
        ident.via += " + ^HH"
    if width and ident.dpi:
        ident.width_mm = mm(width, ident.dpi)
        if length:
            ident.media = f"{ident.width_mm:g}x{mm(length, ident.dpi):g}"
    if conf.get("DARKNESS"):
        ident.extra["darkness"] = conf["DARKNESS"]
    return True


IDENTIFY = IdentifyProtocol(probe, usb_command=re.compile(r"^(?:ZPL|ZPL2|ZPLII|GZPL)\b", re.I))
