"""Bitmaps of extreme proportions (1×65535 px) end with a label or a clear reason, never with the
barcode reader's own limit leaking out as "conversion failed: ValueError: Maximum image …"."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from printstation import BadInput, Media, PrinterSpec, convert


def _png(size: tuple[int, int], fill: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, fill).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("size", [(1, 65535), (65535, 1)])
def test_a_blank_sliver_is_refused_as_blank(size) -> None:
    with pytest.raises(BadInput, match="renders blank"):
        convert(_png(size, 255), PrinterSpec(media=Media(58, 40)))


def test_an_inked_sliver_converts() -> None:
    (label,) = convert(_png((1, 65535), 0), PrinterSpec(media=Media(58, 40)))
    assert label.startswith(b"^XA") or b"^XA" in label
