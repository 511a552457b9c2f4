"""Packing a bool raster into printer rows (MSB = leftmost dot, rows padded to whole bytes)."""

from __future__ import annotations

import numpy as np


def pack_rows(raster: np.ndarray, *, black_is_one: bool = True) -> tuple[bytes, int, int]:
    """Return ``(data, bytes_per_row, rows)``; with ``black_is_one=False`` black dots are 0 bits."""
    bits = raster if black_is_one else ~raster
    packed = np.packbits(bits, axis=1)
    if not black_is_one and raster.shape[1] % 8:
        # Padding bits past the right edge must stay white too.
        pad = 8 - raster.shape[1] % 8
        packed[:, -1] |= (1 << pad) - 1
    return packed.tobytes(), packed.shape[1], packed.shape[0]


def unpack_rows(data: bytes, bytes_per_row: int, rows: int, width: int | None = None,
                *, black_is_one: bool = True) -> np.ndarray:
    """Inverse of :func:`pack_rows` (used by previews and tests)."""
    arr = np.frombuffer(data, dtype=np.uint8, count=bytes_per_row * rows).reshape(rows, bytes_per_row)
    bits = np.unpackbits(arr, axis=1).astype(bool)
    if width is not None:
        bits = bits[:, :width]
    return bits if black_is_one else ~bits
