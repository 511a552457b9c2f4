"""Untrusted names (dropped file names, job names, error texts) made safe to log, store and print.

A file name may hold a newline (a forged log line), ESC sequences (a repainted terminal), NUL, or
bytes that are not UTF-8 (``os.fsdecode`` keeps them as lone surrogates, which SQLite and the
terminal refuse). :func:`printable` escapes all of them: control characters as ``\\n``, ``\\r``,
``\\t`` or ``\\xNN``/``\\uNNNN``, and each byte that is not UTF-8 as ``\\xNN``.
"""

from __future__ import annotations

import os
import re
import unicodedata

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Bidirectional overrides and isolates: they reorder what a terminal shows.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _SHORT:
        return _SHORT[ch]
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _unsafe(ch: str) -> bool:
    return ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")


def printable(text: str | bytes | None) -> str:
    """``text`` with every control, line-breaking, bidi or undecodable character escaped."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text.isprintable() and not any(ch in _BIDI for ch in text):
        return text
    return "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)


_ESCAPE = re.compile(r"\\(?!x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[nrt])")


def base_name(name: str) -> str:
    """The last component of a client's file name: ``/`` always separates; ``\\`` does for a
    Windows path, but not inside a name :func:`printable` already escaped (``lbl-\\xff.zpl``)."""
    if re.match(r"[A-Za-z]:\\|\\\\", name) or _ESCAPE.search(name):
        name = name.replace("\\", "/")
    return os.path.basename(name)


def preview(text: str, keep: int = 4) -> str:
    """A redacted picture of a line of a dropped file: its first ``keep`` characters and length
    (``'eyJh…' (312 chars)``), so an error message never repeats what the file holds."""
    head = printable(text[:keep])
    more = "…" if len(text) > keep else ""
    return f"'{head}{more}' ({len(text)} chars)"


__all__ = ["base_name", "preview", "printable"]
