"""ZPL II: a raster as ``^GFA`` (hex, ACS run-length or ``:Z64:``), and native ZPL passthrough.

ACS (Alternative Compression Scheme), per row of hex digits: ``G``–``Y`` repeat the next digit
1–19 times, ``g``–``z`` add 20–400; ``,`` fills the rest of the row with ``0``, ``!`` with ``F``;
``:`` repeats the previous row. ``:Z64:`` is base64 of zlib data, followed by ``:`` and the
CRC-16/XMODEM of the base64 text as four hex digits.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import TYPE_CHECKING

from ..spec import PrinterSpec, mm_to_dots
from ..status import PrinterStatus, StatusProtocol, decide, unreadable
from .placement import native_zpl_offset
from .zpl_identify import IDENTIFY  # noqa: F401 - how discovery recognises a ZPL printer

if TYPE_CHECKING:  # numpy is imported by the raster functions only: passthrough needs none
    import numpy as np


_RUN = re.compile(r"(.)\1+")
_HI = "ghijklmnopqrstuvwxyz"  # 20, 40, … 400
_LO = "GHIJKLMNOPQRSTUVWXY"  # 1 … 19


def _count(n: int) -> str:
    out = []
    while n >= 400:
        out.append("z")
        n -= 400
    if n >= 20:
        out.append(_HI[n // 20 - 1])
        n %= 20
    if n:
        out.append(_LO[n - 1])
    return "".join(out)


# Precomputed prefixes for the usual run lengths (a row is at most a few hundred digits).
_COUNTS = [""] + [_count(n) for n in range(1, 2401)]


def _run(m: re.Match[str]) -> str:
    s = m.group(0)
    n = len(s)
    return (_COUNTS[n] if n < len(_COUNTS) else _count(n)) + s[0]


def acs_encode(data: bytes, bytes_per_row: int) -> str:
    """ACS-compress packed raster bytes (row by row)."""
    hexdata = data.hex().upper()
    step = bytes_per_row * 2
    out: list[str] = []
    prev = None
    for i in range(0, len(hexdata), step):
        row = hexdata[i : i + step]
        if row == prev:
            out.append(":")
            continue
        prev = row
        tail = ""
        stripped = row.rstrip("0")
        if len(stripped) < len(row):
            row, tail = stripped, ","
        else:
            stripped = row.rstrip("F")
            if len(row) - len(stripped) > 1:
                row, tail = stripped, "!"
        out.append(_RUN.sub(_run, row) + tail)
    return "".join(out)


def acs_lower_bound(raster: np.ndarray) -> int:
    """A cheap lower bound of :func:`acs_encode`'s length for a raster (numpy, no strings)."""
    import numpy as np

    return _acs_bound(np.packbits(raster, axis=1))


def _acs_bound(packed: np.ndarray) -> int:
    """:func:`acs_lower_bound` of rows already packed (``rows × bytes_per_row`` uint8): a
    character per row that is not a repeat of the one above, and one per change of hex digit in
    those rows (the high and low digit of a byte, the low digit and the next byte's high one)."""
    import numpy as np

    if packed.shape[0] == 0:
        return 0
    new = np.ones(packed.shape[0], dtype=bool)
    new[1:] = (packed[1:] != packed[:-1]).any(axis=1)
    rows = packed[new]
    lo, hi = rows & 15, rows >> 4
    # Two comparisons of the digits in place of interleaving them into a digit array first:
    # 0.023 instead of 0.037 ms on a 58×40 sticker, 0.058 instead of 0.143 on a 100×150 page.
    changes = np.count_nonzero(lo != hi) + np.count_nonzero(lo[:, :-1] != hi[:, 1:])
    return int(changes) + int(np.count_nonzero(new))


def acs_decode(text: str, bytes_per_row: int, limit: int | None = None) -> bytes:
    """Inverse of :func:`acs_encode` (also accepts plain hex), in one pass over ``text``.

    ``limit``: stop once that many bytes (whole rows) are decoded — a repeat count or a long
    text never builds more than that (hostile ZPL declares one size and sends another)."""
    step = bytes_per_row * 2
    max_rows = None if limit is None else -(-limit // bytes_per_row)
    rows: list[str] = []
    cur: list[str] = []
    have = 0  # characters in ``cur``
    n = 0
    for ch in text:
        if max_rows is not None and len(rows) >= max_rows:
            break
        if ch in "\r\n ":
            continue
        if "G" <= ch <= "Y":
            n += ord(ch) - ord("F")
            continue
        if "g" <= ch <= "z":
            n += (ord(ch) - ord("f")) * 20
            continue
        if ch == ",":
            piece = "0" * (step - have)
        elif ch == "!":
            piece = "F" * (step - have)
        elif ch == ":":
            rows.append(rows[-1] if rows else "0" * step)
            continue
        else:
            count = n or 1
            if max_rows is not None:
                count = min(count, (max_rows - len(rows)) * step)
            piece = ch * count
            n = 0
        cur.append(piece)
        have += len(piece)
        if have >= step:
            line = "".join(cur)
            k = 0
            while len(line) - k >= step:
                rows.append(line[k : k + step])
                k += step
            rest = line[k:]
            cur, have = ([rest] if rest else []), len(rest)
    if have and (max_rows is None or len(rows) < max_rows):
        rows.append("".join(cur).ljust(step, "0"))
    return bytes.fromhex("".join(rows))


def crc16(data: bytes) -> str:
    return f"{binascii.crc_hqx(data, 0):04X}"


#: zlib settings of ``:Z64:``. Level 7 with the "filtered" strategy (fewer short matches, more
#: Huffman-coded literals: suits 1-bit rows of text and bars) is 1 % smaller than zebrafy's level
#: 6 for +0.1 ms on a 100×150 mm label at 203 dpi; level 9 would save 0.5 % more at 5× the time.
Z64_LEVEL = 7
Z64_STRATEGY = zlib.Z_FILTERED


def z64_encode(data: bytes) -> str:
    c = zlib.compressobj(Z64_LEVEL, zlib.DEFLATED, 15, 8, Z64_STRATEGY)
    b64 = base64.b64encode(c.compress(data) + c.flush())
    return f":Z64:{b64.decode()}:{crc16(b64)}"


def z64_decode(text: str) -> bytes:
    _, kind, b64, crc = text.split(":", 3)
    if kind not in ("Z64", "B64"):
        raise ValueError(f"not a Z64/B64 field: {kind}")
    if crc and crc16(b64.encode()) != crc.strip().upper():
        raise ValueError("Z64 CRC mismatch")
    raw = base64.b64decode(b64)
    return zlib.decompress(raw) if kind == "Z64" else raw


def graphic_field(raster: np.ndarray, compress: str = "auto") -> str:
    """``^GFA,b,total,bytes_per_row,data`` for a raster (True = black).

    ``b`` is the number of characters after the last parameter for ``:Z64:`` (what the printer
    reads; Zebra: "the total number of bytes that follow parameter d") and ``total`` otherwise.
    """
    import numpy as np

    from .bits import pack_rows

    data, bpr, rows = pack_rows(raster)
    total = bpr * rows
    if compress == "hex":
        body = data.hex().upper()
    elif compress == "acs":
        body = acs_encode(data, bpr)
    elif compress == "z64":
        body = z64_encode(data)
    else:
        z = z64_encode(data)
        # ACS is worth encoding only when it could be shorter: it needs at least one character
        # per run of equal hex digits in every row that is not a repeat of the one above.
        # The bound reads the packed rows (packing the raster again was 0.008 ms a sticker).
        packed = np.frombuffer(data, np.uint8).reshape(rows, bpr)
        a = acs_encode(data, bpr) if _acs_bound(packed) < len(z) else None
        body = a if a is not None and len(a) < len(z) else z
    count = len(body) if body.startswith(":Z64:") else total
    return f"^GFA,{count},{total},{bpr},{body}"


def ink_field(raster: np.ndarray, compress: str = "auto") -> str:
    """``^FOx,y^GFA…`` covering only the raster's inked box: the blank margins around it are
    the printer's own background, so they are not sent (no dot changes; ~1 % fewer bytes)."""
    import numpy as np

    rows = np.flatnonzero(raster.any(axis=1))
    if rows.size == 0:
        return f"^FO0,0{graphic_field(raster, compress)}"
    cols = np.flatnonzero(raster[rows[0] : rows[-1] + 1].any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    return f"^FO{x0},{y0}{graphic_field(raster[y0 : y1 + 1, x0 : x1 + 1], compress)}"


def _header(spec: PrinterSpec) -> str:
    parts = [f"^PW{spec.width_dots}", f"^LL{spec.height_dots}"]
    if spec.offset != (0, 0):
        parts.append(f"^LH{spec.offset[0]},{spec.offset[1]}")
    return "".join(parts)


def _darkness(spec: PrinterSpec) -> str:
    return f"~SD{spec.darkness:02d}\n" if spec.darkness is not None else ""


def emit(raster: np.ndarray, spec: PrinterSpec) -> bytes:
    """One label as a complete ZPL format."""
    pq = f"^PQ{spec.copies}" if spec.copies > 1 else ""
    text = (
        f"{_darkness(spec)}^XA{_header(spec)}{ink_field(raster, spec.zpl_compress)}"
        f"^FS{pq}^XZ\n"
    )
    return text.encode("ascii")


_PQ = re.compile(rb"\^PQ(\d*)", re.I)
_BOM = "\ufeff".encode()  # sniffing turned a UTF-16 file's marks into UTF-8 ones


_SIZE_CMD = re.compile(rb"\^(PW|LL)\s*(\d{1,5})", re.I)
#: How far a ``^PW``/``^LL`` may be from the media in the printer's dots and still name it (a 4×6"
#: layout, ^PW1200 at 300 dpi, on 100×150 mm media of 1181 dots: 1.6 %).
SIZE_MATCH = 0.06


def layout_dpi(zpl: bytes, spec: PrinterSpec, default: int = 203) -> int:
    """The resolution a ZPL stream was laid out for: the printer's own when a ``^PW`` (or ``^LL``) in
    it is the media's width (length) in the printer's dots — a tool made it for this printer —
    else ``default`` (WB lays its ZPL out in 203-dpi dots, without ``^PW``/``^LL``)."""
    if abs(spec.dpi - default) <= 20:
        return default
    for m in _SIZE_CMD.finditer(zpl):
        media = spec.width_dots if m.group(1).upper() == b"PW" else spec.height_dots
        at_default = mm_to_dots(spec.media.width_mm if m.group(1).upper() == b"PW" else spec.media.height_mm,
                                default)
        n = int(m.group(2))
        if abs(n - media) <= SIZE_MATCH * media and abs(n - media) < abs(n - at_default):
            return spec.dpi
    return default


def passthrough(zpl: bytes, spec: PrinterSpec, *, design_dpi: int | None = None) -> list[bytes]:
    """Keep native ZPL byte for byte; add only what the printer needs, per ``^XA…^XZ`` format.

    ``^PW``/``^LL`` when the format has none (WB ZPL carries neither), ``^LH`` for a configured
    offset, ``^PQ`` for copies (an existing ``^PQ`` gets its quantity replaced), ``~SD`` for a
    configured darkness, and ``^MU`` when the format was laid out for another resolution (WB lays
    its ZPL out in 203-dpi dots; a 300-dpi Zebra would otherwise print it at two thirds size) —
    not for a stream laid out at the printer's resolution (:func:`layout_dpi`).
    """
    from .zpl_tokens import split_zpl
    from .zpl_guard import check_stream

    out: list[bytes] = []
    check_stream(zpl)  # ~XA without ^XA, giant numbers, truncated formats/graphics: one clear reason
    formats = split_zpl(zpl)
    from .zpl_layout import LayoutCheck  # here: a raster label (a PDF page) never needs it (~3 ms)

    if design_dpi is None:
        design_dpi = layout_dpi(zpl, spec)
    layout = LayoutCheck(spec, design_dpi)  # each field's extent against the media
    for i, fmt in enumerate(formats):
        start = re.search(rb"\^XA", fmt, re.I)
        assert start is not None
        layout.check(fmt, i)
        add = b""
        if not re.search(rb"\^PW", fmt, re.I):
            add += f"^PW{spec.width_dots}".encode()
        if not re.search(rb"\^LL", fmt, re.I):
            add += f"^LL{spec.height_dots}".encode()
        add += native_zpl_offset(spec)
        if abs(spec.dpi - design_dpi) > 20 and not re.search(rb"\^MU", fmt, re.I):
            base = min((150, 200, 300), key=lambda d: abs(d - design_dpi))
            target = min((300, 600), key=lambda d: abs(d - spec.dpi))
            if target > base:
                add += f"^MUd,{base},{target}".encode()
        # (a byte-order mark before the format: files joined with their marks, never printed)
        head = fmt[: start.start()].replace(_BOM, b"")
        body = head + fmt[start.start() : start.end()] + add + fmt[start.end():]
        if spec.copies > 1:
            if _PQ.search(body):
                body = _PQ.sub(f"^PQ{spec.copies}".encode(), body, count=1)
            else:
                end = body.upper().rfind(b"^XZ")
                body = body[:end] + f"^PQ{spec.copies}".encode() + body[end:]
        if i == 0 and spec.darkness is not None:
            body = _darkness(spec).encode() + body.lstrip(b"\r\n")
        out.append(body)
    if out:  # what follows the last ^XZ (a line end) is kept byte for byte
        out[-1] += zpl[zpl.upper().rfind(b"^XZ") + 3 :].replace(_BOM, b"")
    return out


# -- status (~HS, Zebra "host status return") ------------------------------------------------

# Three <STX>…<ETX><CR><LF> strings: string 1 ``aaa,b,c,dddd,eee,f,g,h,iii,j,k,l`` (b paper out,
# c pause, eee formats in buffer, f buffer full, h partial format, j corrupt RAM, k under temp,
# l over temp), string 2 ``mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www`` (o head up, p ribbon out, t label
# waiting, uuuuuuuu labels remaining), string 3 ignored.

ZPL_ERRORS = {"paper_out": "paper out", "head_open": "head open", "ribbon_out": "ribbon out",
              "over_temperature": "head over temperature",
              "under_temperature": "head under temperature",
              "corrupt_ram": "configuration lost (corrupt RAM)"}
ZPL_PAUSED = {"paused": "paused"}
ZPL_PRINTING = {"buffer_full": "receive buffer full", "printing": "printing",
                "label_waiting": "label waiting to be taken"}


def parse_reply(raw: bytes) -> PrinterStatus:
    """Parse a ``~HS`` answer (at least strings 1 and 2)."""
    text = raw.decode("ascii", "replace")
    lines = []
    for part in text.split("\x02")[1:]:
        lines.append(part.split("\x03", 1)[0].strip())
    if len(lines) < 2:
        return unreadable(raw)
    s1 = [f.strip() for f in lines[0].split(",")]
    s2 = [f.strip() for f in lines[1].split(",")]
    if len(s1) < 12 or len(s2) < 9 or not all(f.isdigit() for f in s1[:12] + s2[:9]):
        return unreadable(raw)
    flags: set[str] = set()

    def on(value: str, name: str) -> None:
        if value == "1":
            flags.add(name)

    on(s1[1], "paper_out")
    on(s1[2], "paused")
    on(s1[5], "buffer_full")
    on(s1[9], "corrupt_ram")
    on(s1[10], "under_temperature")
    on(s1[11], "over_temperature")
    on(s2[2], "head_open")
    on(s2[3], "ribbon_out")
    on(s2[7], "label_waiting")
    if int(s1[4]) > 0 or int(s2[8]) > 0 or s1[7] == "1":
        flags.add("printing")
    return decide(flags, raw, errors=ZPL_ERRORS, paused=ZPL_PAUSED, printing=ZPL_PRINTING, notes={})


STATUS = StatusProtocol(b"~HS", lambda b: b.count(b"\x03") >= 3, parse_reply, "~HS")
