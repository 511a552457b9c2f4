"""A toy printer language for the "adding a language touches one module" tests.

``emit``: a header line ``TOY <width> <height> <copies>``, then the raster packed 8 dots a byte;
``STATUS``: TSPL's one-byte status query (so the printer sinks answer it), ``0`` = ready;
``IDENTIFY``: ``TOY?`` → ``TOYPRINTER <model>,<firmware>`` (``support.fake_printers`` model
``toy``), USB printers say ``CMD:TOYL``; a model ``T1-300`` is 300 dpi.
"""

from __future__ import annotations

import re

import numpy as np

from printstation.identify import Channel, IdentifyProtocol, Identity, clean, eol, text
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


def toy_dpi(model: str) -> int | None:
    m = re.search(r"-(\d{3})$", model)
    return int(m.group(1)) if m else None


def probe(ch: Channel, timeout: float, ident: Identity) -> bool:
    m = re.match(r"TOYPRINTER ([\w.-]+),([\w.-]+)", text(ch.ask(b"TOY?\n", timeout, eol)))
    if not m:
        return False
    ident.lang, ident.via = "toy", "TOY?"
    ident.model, ident.firmware = f"Toy {clean(m.group(1))}", clean(m.group(2))
    ident.dpi = toy_dpi(ident.model)
    return True


IDENTIFY = IdentifyProtocol(probe, usb_command=re.compile(r"^TOYL\b", re.I), dpi_from_model=toy_dpi, default_name="toy")
