"""Checks that label bytes are what was asked for: WB base64 files, cached files, label PDFs."""

from __future__ import annotations

import base64
import binascii
import io
import re

from ..errors import BadInput
from ..render.sniff import sniff
from .base import BadLabel

#: WB sticker type → the kind :func:`printstation.render.sniff.sniff` names, and the file extension.
WB_TYPES: dict[str, str] = {"zplv": "zpl", "zplh": "zpl", "svg": "svg", "png": "png"}
WB_SIZES: tuple[tuple[int, int], ...] = ((58, 40), (40, 30))
EXT = {"zpl": "zpl", "svg": "svg", "png": "png", "pdf": "pdf"}

_WS = re.compile(r"\s+")
_SVG_END = re.compile(rb"</svg\s*>", re.I)


def check_content(data: bytes, kind: str) -> None:
    """Raise :class:`BadLabel` unless ``data`` is a whole, raw ``kind`` file (zpl/svg/png/pdf)."""
    if not data:
        raise BadLabel("empty label file")
    try:
        sn = sniff(data)
    except BadInput as exc:
        raise BadLabel(f"not a label file: {exc}") from None
    if sn.wrapped:
        raise BadLabel(f"label file is wrapped ({sn.wrapped}), expected raw {kind}")
    if sn.kind != kind:
        raise BadLabel(f"expected a {kind} file, got {sn.kind}")
    if kind == "png":
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as im:
                im.verify()
        except Exception as exc:  # PIL raises many types for broken files
            raise BadLabel(f"broken PNG: {exc}") from None
    elif kind == "svg":
        if not _SVG_END.search(data[-2048:]):
            raise BadLabel("truncated SVG: no closing </svg>")
    elif kind == "pdf":
        pdf_pages(data)


def decode_wb_file(text: object, sticker_type: str) -> bytes:
    """Strictly decode a WB ``file`` field (base64) and check it is the asked ``sticker_type``."""
    kind = WB_TYPES[sticker_type]
    if not isinstance(text, str) or not text.strip():
        raise BadLabel("WB sent no file for this sticker")
    compact = _WS.sub("", text)
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadLabel(f"corrupt base64 in WB sticker file ({len(compact)} chars): {exc}") from None
    check_content(raw, kind)
    return raw


def pdf_pages(data: bytes) -> int:
    """Page count of a PDF that must start with ``%PDF``; :class:`BadLabel` if it is not one."""
    if not data.startswith(b"%PDF"):
        head = data[:16]
        raise BadLabel(f"label file is not a PDF (starts with {head!r})")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        return len(PdfReader(io.BytesIO(data), strict=False).pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise BadLabel(f"broken PDF: {exc}") from None


def split_pdf(data: bytes) -> list[bytes]:
    """One single-page PDF per page of ``data``."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(data), strict=False)
    out = []
    for page in reader.pages:
        w = PdfWriter()
        w.add_page(page)
        buf = io.BytesIO()
        w.write(buf)
        out.append(buf.getvalue())
    return out


__all__ = ["WB_TYPES", "WB_SIZES", "EXT", "check_content", "decode_wb_file", "pdf_pages", "split_pdf"]
