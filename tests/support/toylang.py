"""A toy printer language for the "adding a language touches one module" tests.

``emit``: a header line ``TOY <width> <height> <copies>``, then the raster packed 8 dots a byte;
``STATUS``: TSPL's one-byte status query (so the printer sinks answer it), ``0`` = ready.
"""

from __future__ import annotations

import numpy as np

from printstation.spec import PrinterSpec
from printstation.status import PrinterStatus, StatusProtocol


def emit(raster: np.ndarray, spec: PrinterSpec) -> bytes:
    h, w = raster.shape
    return f"TOY {w} {h} {spec.copies}\n".encode() + np.packbits(raster, axis=1).tobytes()


def toy_raster(data: bytes) -> np.ndarray:
    """The raster back from ``emit``'s bytes."""
    head, _, body = data.partition(b"\n")
    _, w, h, _ = head.split()
    bits = np.unpackbits(np.frombuffer(body, np.uint8).reshape(int(h), -1), axis=1)
    return bits[:, : int(w)].astype(bool)


def parse_reply(raw: bytes) -> PrinterStatus:
    if raw[:1] == b"\x00":
        return PrinterStatus("idle", "", raw[:1])
    return PrinterStatus("error", "toy trouble", raw[:1], frozenset({"toy"}))


STATUS = StatusProtocol(b"\x1b!?", lambda b: len(b) >= 1, parse_reply, "<ESC>!?")
