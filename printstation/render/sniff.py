"""Tell a label's format from its content, never from a file name.

WB sends every sticker base64-wrapped, so base64 text (raw or as a ``data:`` URL) is unwrapped
strictly and sniffed again. Anything we cannot name is refused with what was seen.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import BadInput

KINDS = ("zpl", "svg", "pdf", "png", "jpeg", "bmp", "gif", "tiff", "webp")
BITMAP_KINDS = frozenset({"png", "jpeg", "bmp", "gif", "tiff", "webp"})

_B64_TEXT = re.compile(rb"[A-Za-z0-9+/=_\-\s]+")
_DATA_URL = re.compile(rb"\s*data:[\w.+/-]*(?:;[\w=.-]+)*;base64,", re.I)
_SVG_HEAD = re.compile(rb"<svg[\s>]", re.I)
_ZPL_START = re.compile(rb"[\^~]XA", re.I)
#: Largest decompressed SVGZ we accept (a gzip bomb is refused, not inflated).
MAX_SVGZ_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Sniffed:
    """Label bytes with their format. ``data`` is unwrapped (base64 / gzip removed)."""

    kind: str
    data: bytes
    wrapped: str | None = None
    #: The byte-order mark dropped before the content ("utf-8", "utf-16-le", "utf-16-be").
    bom: str | None = None
    #: A marketplace JSON answer's stickers (``kind == "json"``), as :func:`json_labels` found them.
    labels: tuple[bytes, ...] = ()

    @property
    def is_bitmap(self) -> bool:
        return self.kind in BITMAP_KINDS


def describe(data: bytes, n: int = 24) -> str:
    """A short, safe picture of the first bytes for error messages."""
    head = data[:n]
    try:
        text = head.decode("ascii")
        if text.isprintable():
            return repr(text) + ("…" if len(data) > n else "")
    except UnicodeDecodeError:
        pass
    return "0x" + head.hex() + ("…" if len(data) > n else "")


#: Byte-order marks a text label may start with (Notepad, .NET and Windows label tools write them).
BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
)
TEXT_KINDS = frozenset({"zpl", "svg"})
_XML_ENCODING = re.compile(rb"(<\?xml[^>]*?encoding\s*=\s*)([\"'])utf-?16(?:le|be)?\2", re.I)


def bom_of(data: bytes) -> str | None:
    """The encoding named by a leading byte-order mark, or None."""
    for mark, name in BOMS:
        if data.startswith(mark):
            return name
    return None


def drop_bom(data: bytes) -> tuple[bytes, str | None]:
    """Text without its leading byte-order mark, as UTF-8 bytes, and the mark's encoding.

    A UTF-8 mark is dropped; UTF-16 (LE/BE) text is decoded and re-encoded as UTF-8 (an XML
    declaration saying UTF-16 is changed to UTF-8 to match). Bytes without a mark come back as
    they are. Raises :class:`BadInput` for UTF-16 that does not decode.
    """
    bom = bom_of(data)
    if bom is None:
        return data, None
    if bom == "utf-8":
        return data[3:], bom
    try:
        text = data[2:].decode(bom)
    except UnicodeDecodeError as exc:
        raise BadInput(f"text with a {bom.upper()} byte-order mark does not decode: {exc.reason} "
                       f"at byte {exc.start + 2}") from None
    return _XML_ENCODING.sub(rb"\1\2UTF-8\2", text.encode("utf-8"), count=1), bom


def decode_text(data: bytes) -> str:
    """Text of a plain-text file (a ``.txt`` code list): UTF-8, or UTF-16 after its BOM; a
    leading BOM is dropped. Raises :class:`UnicodeDecodeError` for anything else (also for
    NUL characters: UTF-16 without its mark)."""
    for mark, name in BOMS:
        if data.startswith(mark):
            text = data[len(mark):].decode(name)
            break
    else:
        text = data.decode("utf-8")
    if "\0" in text:  # UTF-16 without its mark, or binary: not a text file
        pos = text.index("\0")
        raise UnicodeDecodeError("utf-8", data, pos, pos + 1, "NUL character in text")
    return text


def _sniff_raw(data: bytes) -> str | None:
    """The kind of un-wrapped bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"BM") and len(data) >= 26 and data[14:15] in (b"\x0c", b"(", b"@", b"l", b"|", b"8"):
        return "bmp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") and _SVG_HEAD.search(head):
        return "svg"
    if head.startswith((b"<?", b"<!--")) or (not head and data.strip()[:1] == b"<"):
        root = _after_prolog(data)  # a licence comment or blank lines past the first 4 KiB
        if root is not None and _SVG_HEAD.match(data, root):
            return "svg"
    m = _ZPL_START.search(data[:4096])
    lead = data[:64].lstrip()
    if m is None and (lead[:1] in (b"^", b"~") or lead.startswith(b"CT~~") or not lead):
        m = _ZPL_START.search(data)  # a logo download (~DG, ~DY) or blank lines before the format
    if m and re.search(rb"\^XZ", data, re.I):
        before = data[: m.start()].strip()
        # Only ZPL commands, comments or whitespace may stand before the first ^XA.
        if not before or before[:1] in (b"^", b"~") or before.startswith(b"CT~~"):
            return "zpl"
    return None


_SPACE = re.compile(rb"\s*")
#: How far into a document its XML prolog (declaration, comments, instructions) is followed.
MAX_PROLOG = 1 << 20


def _after_prolog(data: bytes) -> int | None:
    """Where the root element of an XML document starts, past its declaration, processing
    instructions, comments and whitespace (not past a DOCTYPE: an SVG with one is refused anyway);
    None when the prolog does not end within :data:`MAX_PROLOG` bytes."""
    pos = 0
    while pos < MAX_PROLOG:
        pos = _SPACE.match(data, pos).end()  # type: ignore[union-attr] # (\s* always matches)
        for opener, closer in ((b"<?", b"?>"), (b"<!--", b"-->")):
            if data.startswith(opener, pos):
                end = data.find(closer, pos + len(opener), MAX_PROLOG + len(closer))
                if end < 0:
                    return None
                pos = end + len(closer)
                break
        else:
            return pos
    return None


def _unbase64(data: bytes) -> bytes | None:
    """Strictly decode base64 text; None when the text is not base64 at all."""
    m = _DATA_URL.match(data)
    if m:
        body = data[m.end():]
    else:
        body = data
        if not _B64_TEXT.fullmatch(body.strip() or b"!"):
            return None
    compact = re.sub(rb"\s+", b"", body)
    if not compact:
        raise BadInput("empty base64 payload")
    if b"-" in compact or b"_" in compact:
        compact = compact.replace(b"-", b"+").replace(b"_", b"/")
    if len(compact) < 8:
        return None
    if len(compact) % 4 in (2, 3) and not compact.endswith(b"="):
        compact += b"=" * (-len(compact) % 4)  # base64url writers drop the padding
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadInput(f"corrupt base64 label ({len(compact)} chars): {exc}") from None


def _gunzip(data: bytes) -> bytes:
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(data, MAX_SVGZ_BYTES + 1)
    except zlib.error as exc:
        raise BadInput(f"corrupt gzip data: {exc}") from None
    if len(out) > MAX_SVGZ_BYTES:
        raise BadInput(f"gzip data inflates past {MAX_SVGZ_BYTES // (1024 * 1024)} MiB: refused")
    return out


def sniff(data: bytes) -> Sniffed:
    """Name the format of ``data`` (raw or base64-wrapped). Raises :class:`BadInput`."""
    if not data:
        raise BadInput("empty input (0 bytes)")
    if not data.strip():
        raise BadInput(f"input is only whitespace ({len(data)} bytes)")
    bom = bom_of(data)
    if bom is not None:
        text, _ = drop_bom(data)
        if not text.strip():
            raise BadInput(f"input is only a byte-order mark ({len(data)} bytes)")
        s = _sniff(text)
        if s.kind not in TEXT_KINDS and s.wrapped is None:
            raise BadInput(f"a {bom.upper()} byte-order mark before {s.kind.upper()} data: "
                           "only ZPL, SVG and base64 text may start with one")
        return Sniffed(s.kind, s.data, s.wrapped, bom, s.labels)
    return _sniff(data)


def _json_string(data: bytes) -> bytes | None:
    """The text of a JSON string literal (``"iVBOR…"`` as ``jq .file`` saves a WB sticker: its
    quotes, ``\\/`` and ``\\n`` escapes), or None when ``data`` is not one."""
    text = data.strip()
    if len(text) < 2 or text[:1] != b'"' or text[-1:] != b'"':
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, str):
        return None
    try:
        return value.encode("ascii")  # base64 is ASCII: anything else is not a label
    except UnicodeEncodeError:
        return None


#: Keys of a marketplace JSON answer that hold a base64 label (WB ``file``, Ozon ``file_content``).
JSON_LABEL_KEYS = ("file", "file_content")


def json_labels(data: bytes) -> list[bytes]:
    """The labels of a marketplace's JSON answer, in order: the text of every ``file`` /
    ``file_content`` string in it (base64 as WB and Ozon send them; each is sniffed as a label).
    Raises :class:`BadInput` for broken JSON or an answer that holds no label."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"broken JSON ({len(data)} bytes): {exc}") from None
    found = [v.encode("utf-8") for v in _label_fields(doc)]
    if not found:
        raise BadInput('JSON answer without a label (no "file" or "file_content" field with a sticker)')
    return found


def _label_fields(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in JSON_LABEL_KEYS and isinstance(value, str) and value.strip():
                yield value
            else:
                yield from _label_fields(value)
    elif isinstance(node, list):
        for value in node:
            yield from _label_fields(value)


def _sniff(data: bytes) -> Sniffed:
    wrapped: str | None = None
    kind = _sniff_raw(data)
    if kind is None and data.lstrip()[:1] in (b"{", b"["):
        # A marketplace's JSON answer: its stickers are the labels (parsed once, kept).
        return Sniffed("json", data, "json", labels=tuple(json_labels(data)))
    if kind is None:
        inner = _json_string(data)
        decoded = _unbase64(data if inner is None else inner)
        if decoded is not None:
            wrapped = "base64"
            if not decoded:
                raise BadInput("base64 text decodes to nothing")
            data = decoded
            kind = _sniff_raw(data)
            if kind is None and bom_of(data) is not None:
                data, _ = drop_bom(data)  # a BOM inside the base64: a text file encoded as is
                kind = _sniff_raw(data)
                if kind not in TEXT_KINDS:
                    kind = None
            if kind is None and not data.startswith(b"\x1f\x8b"):
                raise BadInput(
                    f"base64 text decodes to an unrecognised format: starts with {describe(data)}"
                )
    if kind is None and data.startswith(b"\x1f\x8b"):
        inner = _gunzip(data)
        if _sniff_raw(inner) == "svg":
            return Sniffed("svg", inner, (wrapped + "+gzip") if wrapped else "gzip")
        raise BadInput(f"gzip data that is not an SVG: starts with {describe(inner)}")
    if kind is None:
        raise BadInput(
            f"unrecognised label format: starts with {describe(data)} "
            "(expected ZPL, SVG, PDF, PNG, JPEG or BMP, raw or base64)"
        )
    return Sniffed(kind, data, wrapped)


__all__ = ["Sniffed", "sniff", "describe", "drop_bom", "decode_text", "KINDS", "BITMAP_KINDS"]
