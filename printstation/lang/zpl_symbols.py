"""ZPL symbology sizes: how many modules a barcode's data takes, per symbology.

Module ``w`` from ``^BY``, wide bars ``W = round(w × ratio)``:
Code 128 ``11 × (symbols + 2) + 13`` modules; Code 39 ``(6w + 3W)`` per character plus a
narrow gap, start/stop ``*``; Code 93 ``9 × (chars + 4) + 1``; I2of5 ``4w + pairs × 2(3w + 2W)
+ W + 2w``; EAN-13/UPC-A 95, EAN-8 67, UPC-E 51 modules; PDF417 ``17 × columns + 69``
(truncated ``+ 35``) wide, rows × row height tall; DataMatrix ECC 200 sizes from the codeword
count; QR the version (segno) × magnification. Used by :mod:`printstation.lang.zpl_sizes`.
"""

from __future__ import annotations

import functools
import math
import re

# ECC 200 square DataMatrix: (size, data codewords).
_DM_SIZES = ((10, 3), (12, 5), (14, 8), (16, 12), (18, 18), (20, 22), (22, 30), (24, 36), (26, 44),
             (32, 62), (36, 86), (40, 114), (44, 144), (48, 174), (52, 204), (64, 280), (72, 368),
             (80, 456), (88, 576), (96, 696), (104, 816), (120, 1050), (132, 1304), (144, 1558))


def round_half_up(v: float) -> int:
    return int(math.floor(v + 0.5))


def code128_symbols(data: str, mode: str = "N") -> tuple[int, int]:
    """(as encoded, shortest possible) number of data symbols of a ``^BC`` field (check and
    start/stop symbols not counted)."""
    mode = (mode or "N").upper()[:1]
    if mode == "U":
        return 11, 11  # FNC1 + 19 digits and a check digit in subset C
    if mode == "D":
        digits = re.sub(r"[()]", "", data)
        best = 1 + _code128_shortest(digits)
        return best, best
    if mode == "A":
        best = _code128_shortest(data)
        return best, best
    n = 0
    subset = "B"
    i = 0
    while i < len(data):
        ch = data[i]
        if ch == ">" and i + 1 < len(data):
            code = data[i + 1]
            i += 2
            if code in "9:;" and n == 0 and i == 2:
                subset = {"9": "A", ":": "B", ";": "C"}[code]
            elif code in "567":
                subset = {"5": "C", "6": "B", "7": "A"}[code]
                n += 1
            else:
                n += 1  # >0 >< >= literal characters, >1-4 >8 FNC codes
            continue
        if subset == "C":
            if ch.isdigit() and i + 1 < len(data) and data[i + 1].isdigit():
                i += 2
            else:
                i += 1
            n += 1
            continue
        n += 1
        i += 1
    # Mode N is encoded as written (start B unless told, switches only where invocation codes
    # say): the firmware does not shorten it, so both bounds are the same.
    return n, n


def _code128_shortest(data: str) -> int:
    """The fewest Code 128 data symbols (subset C for digit runs of 4 or more)."""
    n = 0
    for i, run in enumerate(re.findall(r"\d+|\D+", data)):
        if run[0].isdigit() and len(run) >= 4:  # a switch to C unless the symbol starts in C
            n += len(run) // 2 + (len(run) % 2) + (1 if i else 0)
        else:
            n += len(run)
    return max(n, 1)


def code39_width(chars: int, w: float, wide: float) -> float:
    return chars * (6 * w + 3 * wide) + (chars - 1) * w


def i2of5_width(digits: int, w: float, wide: float) -> float:
    pairs = (digits + 1) // 2
    return 4 * w + pairs * 2 * (3 * w + 2 * wide) + wide + 2 * w


def code93_chars(data: str) -> int:
    """Code 93 characters (full-ASCII ones take a shift character each)."""
    plain = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%")
    return sum(1 if c in plain else 2 for c in data)


def datamatrix_size(n_codewords: int) -> int | None:
    for size, cap in _DM_SIZES:
        if cap >= n_codewords:
            return size
    return None


def datamatrix_codewords(data: bytes) -> tuple[int, int]:
    """(ASCII encodation, lower bound by C40/text) data codewords."""
    n = 0
    i = 0
    while i < len(data):
        if chr(data[i]).isdigit() and i + 1 < len(data) and chr(data[i + 1]).isdigit():
            n += 1  # two digits to a codeword
            i += 2
        else:
            n += 2 if data[i] > 127 else 1
            i += 1
    return n, min(n, math.ceil(len(data) * 2 / 3))


@functools.lru_cache(maxsize=256)
def qr_version(data: str, ecc: str) -> int | None:
    """The QR version a printer picks for ``data`` at error level ``ecc`` (segno's choice)."""
    if len(data) > 7089:
        return None
    try:
        import segno

        return int(segno.make_qr(data, error=ecc.lower(), boost_error=False).version)
    except Exception:  # too long for any version, unencodable: not judged
        return None


def pdf417_codewords(data: bytes, security: int) -> tuple[int, int]:
    """(upper, lower) bounds of the total PDF417 codewords (length, data, error correction)."""
    ecc = 2 ** (security + 1)
    upper = math.ceil(len(data) * 6 / 5) + 2
    lower = math.ceil(len(data) / 2.93)
    return 1 + upper + ecc, 1 + lower + ecc

