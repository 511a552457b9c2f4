"""Poison ZPL refused before passthrough, each with a one-line reason.

A ZPL stream goes to the printer byte for byte, so what the printer would misread must be caught
here: a "format" with ``~XA`` but no ``^XA`` start, a position or size with thousands of digits
(``^FO`` + 5,000 digits used to crash the parser), a stream that ends inside a format (``^XA``
after the last ``^XZ``), and binary graphic data (``^GFB``/``^GFC``) shorter than it declares —
the printer would swallow the following jobs' bytes as the rest of the picture; and a base64
graphic (``:Z64:``/``:B64:`` in ``^GF``, ``~DG``, ``~DY``) whose trailing CRC-16 (XMODEM: poly
0x1021, init 0, over the base64 text) does not match its data — the printer drops or garbles it.
"""

from __future__ import annotations

import binascii
import re

from ..errors import BadInput

#: Longest number a parameter of the commands below may have (dots, counts, sizes).
MAX_DIGITS = 7
#: Commands whose parameters are numbers (positions, sizes, counts) — not field data.
_NUMERIC = re.compile(rb"[\^~](F[OTB]|L[HTSL]|PW|PQ|BY|G[BCDE]|PR|MD|SD|A[0-9A-Z@]|B[0-9A-Z])([^\^~]*)", re.I)
_LONG = re.compile(rb"\d{%d,}" % (MAX_DIGITS + 1))
_GF = re.compile(rb"\^GF([ABC]),(\d*),(\d*),(\d*),", re.I)
_START = re.compile(rb"\^XA", re.I)
#: ``~DGd:name,t,w,``: a downloaded graphic's total bytes and bytes per row (anywhere in a stream).
_DG = re.compile(rb"~DG[^,\^~]*,([^,\^~]*),([^,\^~]*),", re.I)
_END = re.compile(rb"\^XZ", re.I)
_P = rb"[^,\^~]*,"  # one parameter and its comma
#: A graphic whose data is base64 (``:Z64:`` zlib, ``:B64:`` plain): its command, kind and the rest
#: of its data up to the next command (``base64[:crc]``; base64 has no ``:``, ``^`` or ``~``).
_B64 = re.compile(rb"(\^GF" + _P * 4 + rb"|~DG" + _P * 3 + rb"|~DY" + _P * 5 + rb")\s*:([ZB]64):([^\^~]*)", re.I)


def check_format(fmt: bytes, index: int) -> None:
    """Refuse one ``…^XZ`` format the printer would misread (``index`` counts from 0)."""
    label = f"ZPL label {index + 1}"
    start = _START.search(fmt)
    if start is None:
        raise BadInput(f"{label} has no ^XA start command before its ^XZ")
    for m in _NUMERIC.finditer(fmt, start.end()):
        long = _LONG.search(m.group(2))
        if long is not None:
            cmd = m.group(0)[:3].decode("latin-1")
            raise BadInput(f"{label}: {cmd} has a number with {len(long.group(0))} digits "
                           f"(at most {MAX_DIGITS})")
    for m in _GF.finditer(fmt, start.end()):
        if any(len(g) > MAX_DIGITS for g in m.groups()[1:]):
            raise BadInput(f"{label}: ^GF has a number with more than {MAX_DIGITS} digits")
        if m.group(1).upper() == b"A" or not m.group(2):
            continue  # ASCII hex ends at the next command; binary data is counted
        total = int(m.group(2))
        have = len(fmt) - m.end() - 3  # up to the closing ^XZ
        if have < total:
            raise BadInput(f"{label}: truncated ^GF graphic ({have} of {total} bytes)")
    check_crc(fmt, label)


def check_crc(zpl: bytes, label: str) -> None:
    """Refuse a ``:Z64:``/``:B64:`` graphic whose CRC does not match its base64 text. Only data
    that carries a CRC is checked (one C-speed pass over it); line breaks in it are ignored as
    the printer ignores them."""
    for m in _B64.finditer(zpl):
        data, sep, crc = m.group(3).rpartition(b":")
        crc = crc.strip()
        if not sep or not crc:
            continue  # no CRC given: nothing to compare
        cmd = m.group(1)[:3].decode("latin-1").upper()
        kind = m.group(2).decode().upper()
        want = crc.decode("latin-1")[:8]
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,4}", crc):
            raise BadInput(f"{label}: {cmd} :{kind}: graphic has a bad CRC {want!r} (4 hex digits)")
        got = binascii.crc_hqx(data.replace(b"\r", b"").replace(b"\n", b""), 0)
        if int(crc, 16) != got and int(crc, 16) != binascii.crc_hqx(data, 0):
            raise BadInput(f"{label}: {cmd} :{kind}: graphic fails its CRC check ({want.upper()}, "
                           f"its data gives {got:04X}): damaged data")


#: Commands that reconfigure the printer itself (for every later job), not the label: what they do.
DEVICE_COMMANDS = {
    "~JR": "resets the printer", "~JD": "turns on hex-dump diagnostics",
    "~JB": "clears the printer's battery-backed memory", "^JB": "erases the printer's flash memory",
    "^KP": "sets the printer's password", "^KC": "sets the printer's network client id",
    "^SC": "changes the printer's serial settings",
    **{f"^N{c}": "changes the printer's network settings" for c in "BCDINPSTW"},
    **{f"^W{c}": "changes the printer's wireless settings" for c in "AEILPRSX"},
    "~WR": "resets the printer's wireless card",
}
#: The default command prefixes (``^CC``, ``^CT``, ``^CD``): any other makes later jobs misread.
_PREFIXES = {"CC": b"^", "CT": b"~", "CD": b","}
#: The control commands of :data:`DEVICE_COMMANDS` and the prefix changes, inside field data.
_TILDE_IN_DATA = re.compile(rb"~(JR|JD|JB|WR|C[CTD])(.?)", re.I | re.S)
#: Set-Get-Do commands (``! U1 setvar``/``do``, Link-OS JSON ``{}{…}``) outside the formats.
_SGD = re.compile(rb"!\s*U1?\s+(?:setvar|do)\b|\{\s*\}\s*\{", re.I)


def check_device(zpl: bytes) -> None:
    """Refuse a stream that would reconfigure the printer rather than print a label (restore
    factory defaults, reset, network/serial/wireless settings, password, command prefixes,
    erase stored objects or flash, diagnostics mode, Set-Get-Do): every later job would misprint
    or never reach it. Label setup (``^PW``, ``^MN``, ``~SD``, ``^JUS``…) is not refused."""
    from .zpl_tokens import tokenize

    tokens = tokenize(zpl)
    for _prefix, name, data in [t for t in tokens if t[1] in ("FD", "FV", "FX")]:
        # a control (~) command is carried out where it is received, also inside field data
        tokens += [("~", m.group(1).decode().upper(), m.group(2)) for m in _TILDE_IN_DATA.finditer(data)]
    for prefix, name, arg in tokens:
        cmd = ("^" if prefix != "~" else "~") + name
        what = DEVICE_COMMANDS.get(cmd)
        if name == "JU" and arg[:1].upper() in (b"F", b"N"):
            cmd, what = cmd + arg[:1].decode().upper(), "restores the printer's factory settings"
        elif name in _PREFIXES and arg and arg != _PREFIXES[name]:
            what = "changes the printer's command prefix (later labels would be misread)"
        elif name == "ID" and re.match(rb"\s*[A-QS-Z*]:", arg, re.I):
            what = "deletes objects stored on the printer"
        if what:
            # (its argument is not shown: it may be a password)
            raise BadInput(f"ZPL {cmd} {what}: refused (a label may not reconfigure the printer)")
    outside = re.sub(rb"[\^~]XA.*?\^XZ", b"", zpl, flags=re.I | re.S)
    m = _SGD.search(outside)
    if m:
        raise BadInput("ZPL carries a printer settings command (Set-Get-Do "
                       f"{m.group(0).decode('latin-1')!r}): refused (a label may not reconfigure the printer)")


def check_stream(zpl: bytes) -> None:
    """Refuse a ZPL stream with a poisoned format or one that ends inside a format, or one that
    reconfigures the printer (:func:`check_device`)."""
    from .zpl_tokens import split_zpl

    last = None
    for last in _END.finditer(zpl):
        pass
    tail = zpl[last.end():] if last is not None else zpl
    if re.search(rb"[\^~]XA", tail, re.I):
        raise BadInput("truncated ZPL: the last label starts (^XA) but never ends (no ^XZ)")
    for m in _DG.finditer(zpl):
        if any(_LONG.search(g) for g in m.groups()):
            raise BadInput(f"ZPL ~DG graphic has a size with more than {MAX_DIGITS} digits")
    check_crc(tail, "ZPL after the last ^XZ")  # each format checks its own
    for i, fmt in enumerate(split_zpl(zpl)):
        check_format(fmt, i)
    check_device(zpl)


__all__ = ["DEVICE_COMMANDS", "MAX_DIGITS", "check_crc", "check_device", "check_format", "check_stream"]
