"""``doctor``: does the printer behind a configured uri speak the configured language and dpi?

Network and serial printers are asked with the discovery probes, the configured language first
(a printer that is what the config says never sees another language's query). Only when the
printer did not answer its status query (the language may be wrong) are the other languages
tried. USB printers (``usb://`` and ``file:///dev/usb/lp*``) are compared by their IEEE-1284
device ID. A printer that answers no identification query gets no row: nothing is claimed.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from ..errors import PrintstationError
from ..lang import registry
from ..transport import from_uri
from .probe import DEFAULT_TIMEOUT, Identity, probe_uri


def _lang_dpi(lang: str | None, dpi: int | None) -> str:
    return " ".join(x for x in (registry.shown(lang), f"{dpi} dpi" if dpi else "") if x)


def compare(p: Any, ident: Identity) -> tuple[bool, str, str]:
    """(matches, detail, hint) for printer config ``p`` and what the printer said."""
    said = _lang_dpi(ident.lang, ident.dpi)
    who = ", ".join(x for x in (ident.model, f"firmware {ident.firmware}" if ident.firmware else None) if x)
    config: list[str] = []
    fixes: list[str] = []
    if ident.lang and ident.lang != p.lang:
        config.append(registry.shown(p.lang))
        fixes.append(f'lang = "{ident.lang}"')
    if ident.dpi and ident.dpi != p.spec.dpi:
        config.append(f"{p.spec.dpi} dpi")
        fixes.append(f"dpi = {ident.dpi}")
    problems = []
    if config:
        problems.append(f"printer answers as {said}, config says {' '.join(config)}")
    width = p.spec.media.width_mm
    if ident.width_mm and width > ident.width_mm + 1:
        problems.append(f"printer's print width is {ident.width_mm:g} mm, config media is {width:g} mm wide")
        fixes.append(f'media = "{ident.media}"' if ident.media else "a media that fits the print width")
    if problems:
        hint = (f"set {', '.join(fixes)} for printer {p.name} in the config "
                "(printstation printers discover prints the whole block)")
        return False, "; ".join(problems) + (f" ({who})" if who else ""), hint
    return True, f"answers as {said}" + (f" ({who})" if who else "") + ": as configured", ""


def _usb_identity(uri: str) -> Identity | None:
    from . import usb as dusb

    parts = urllib.parse.urlsplit(uri)
    found, _ = dusb.scan()
    if parts.scheme == "file":
        return next((f for f in found if f.uri == uri), None)
    m = re.fullmatch(r"([0-9A-Fa-f]{4}):([0-9A-Fa-f]{4})", parts.netloc)
    if not m:
        return None
    serial = urllib.parse.parse_qs(parts.query).get("serial", [None])[0]
    want = f"{m.group(1).lower()}:{m.group(2).lower()}"
    for f in found:
        if f.extra.get("usb") == want and (serial is None or f.serial == serial):
            return f
    return None


def identify(p: Any, status_ok: bool | None, timeout: float) -> Identity | None:
    """What the printer behind ``p.uri`` says it is, or None (no way to ask / no answer)."""
    try:
        how = from_uri(p.uri).identify  # parses only
    except PrintstationError:
        return None
    t = min(timeout, DEFAULT_TIMEOUT)
    ident: Identity | None
    if how == "probe":
        ident = probe_uri(p.uri, t, first=p.lang, only=bool(status_ok))
    elif how == "usb":
        try:
            ident = _usb_identity(p.uri)
        except Exception:  # noqa: BLE001 - the printer row already tells what is wrong
            return None
    else:
        return None
    return ident if ident is not None and ident.found else None
