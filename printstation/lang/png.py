"""``png``: the exact 1-bit raster the printer would print (previews and tests)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from ..spec import PrinterSpec

if TYPE_CHECKING:  # numpy and Pillow load with the first label
    import numpy as np


def emit(raster: np.ndarray, spec: PrinterSpec) -> bytes:
    from PIL import Image

    im = Image.fromarray(~raster)  # bool → mode "1": True = white
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False, dpi=(spec.dpi, spec.dpi))
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    """PNG bytes → bool raster (True = black)."""
    import numpy as np
    from PIL import Image

    im = Image.open(io.BytesIO(data)).convert("L")
    return np.asarray(im) < 128
