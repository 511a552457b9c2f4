"""``png``: the exact 1-bit raster the printer would print (previews and tests)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..spec import PrinterSpec

NAME = "png"
EXT = "png"


def emit(raster: np.ndarray, spec: PrinterSpec) -> bytes:
    im = Image.fromarray(~raster)  # bool → mode "1": True = white
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False, dpi=(spec.dpi, spec.dpi))
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    """PNG bytes → bool raster (True = black)."""
    im = Image.open(io.BytesIO(data)).convert("L")
    return np.asarray(im) < 128
