"""ZPL command reading: splitting a stream into formats, the tokenizer and its bounded number parsing.

Parsing never raises: truncated commands, missing or giant numbers and unknown commands are
read as far as they make sense, numbers are clamped, data sizes are capped.
"""

from __future__ import annotations

import re

#: The start of a ZPL format (``^XA`` or ``~XA``).
_ZPL_START = re.compile(rb"[\^~]XA", re.I)


def split_zpl(data: bytes) -> list[bytes]:
    """Split a ZPL stream into its ``^XA…^XZ`` formats (each kept byte for byte)."""
    out: list[bytes] = []
    pos = 0
    for m in re.finditer(rb"\^XZ", data, re.I):
        chunk = data[pos : m.end()]
        if _ZPL_START.search(chunk):
            out.append(chunk)
        pos = m.end()
    return out


#: Largest number read from a command (positions, sizes): giant numbers are clamped, not trusted.
MAX_NUM = 32000
#: Largest graphic decoded to find its ink (bytes); larger ones count as their full box.
MAX_GRAPHIC_BYTES = 1024 * 1024


def num(s: str | None, default: float, lo: float = 0, hi: float = MAX_NUM) -> float:
    """A number from a command parameter; ``default`` when missing or not a number; clamped."""
    if s is None:
        return default
    m = re.match(r"\s*([+-]?\d{1,12}(?:\.\d{0,6})?)", s)
    if not m:
        return default
    return min(hi, max(lo, float(m.group(1))))


def param(p: list[str], i: int) -> str | None:
    if i >= len(p):
        return None
    v = p[i]
    return v if v.strip() else None


def store_key(name: str) -> str:
    """``R:LOGO.GRF`` and ``LOGO.GRF`` and ``LOGO`` name the same stored object."""
    name = name.split(":", 1)[-1]
    return name.split(".", 1)[0]


def tokenize(data: bytes, caret: str = "^", tilde: str = "~") -> list[tuple[str, str, bytes]]:
    """(prefix, command, argument bytes) of each command; text outside commands is skipped.

    ``^FD``/``^FV``/``^FX`` data runs to the next caret, other arguments to the next prefix;
    ``^GFB`` binary data is taken by its byte count. Prefix changes (``^CC``/``~CC``,
    ``^CT``/``~CT``) take effect at once.
    """
    out: list[tuple[str, str, bytes]] = []
    n = len(data)
    c, t = caret.encode("latin-1"), tilde.encode("latin-1")
    i = 0
    while i < n:
        ch = data[i : i + 1]
        if ch not in (c, t):
            i += 1
            continue
        if data[i + 1 : i + 2] in (c, t):
            i += 1  # an empty command ("~~CD," in ZebraDesigner's prefix)
            continue
        name = data[i + 1 : i + 3].decode("latin-1").upper()
        start = i + 3
        if name[:1] == "A" and name != "A@":
            name, start = "A", i + 2
        if len(name) < 1:
            break
        if name in ("CC", "CT", "CD"):
            arg = data[start : start + 1]
            out.append((ch.decode("latin-1"), name, arg))
            if name == "CC" and arg:
                c = arg
            elif name == "CT" and arg:
                t = arg
            i = start + 1
            continue
        if name in ("FD", "FV", "FX"):
            end = data.find(c, start)
        else:
            end = _next_prefix(data, start, c, t)
            if name == "GF":
                head = data[start:end].split(b",", 4)
                if len(head) == 5 and head[0].strip().upper() == b"B":
                    count = int(num(head[1].decode("latin-1"), 0, 0, MAX_GRAPHIC_BYTES))
                    body = start + sum(len(h) + 1 for h in head[:4])
                    end = min(n, body + count)
                    end = end if data[end : end + 1] in (c, t, b"") else _next_prefix(data, end, c, t)
        end = n if end < 0 else end
        out.append((ch.decode("latin-1"), name, data[start:end]))
        i = end
    return out


def _next_prefix(data: bytes, start: int, c: bytes, t: bytes) -> int:
    a, b = data.find(c, start), data.find(t, start)
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)
