"""What a printer needs to know to turn a label into its bytes.

Hardware facts live here as data (media presets, languages); the conversion code reads a frozen
:class:`PrinterSpec` and never a loose dict of options.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import UsageError
from .lang.registry import LANGUAGES, NAMES, PRINTER_NAMES

#: A printer language's name: one of :data:`LANGS` (listed in :mod:`printstation.lang.registry`).
Lang = str
#: Every language (a live view of the registry); :data:`PRINTER_LANGS` those a printer may use.
LANGS = NAMES
PRINTER_LANGS = PRINTER_NAMES
ZplCompress = Literal["auto", "z64", "acs", "hex"]
ROTATIONS = ("auto", "0", "90", "180", "270")
ZPL_COMPRESSIONS = ("auto", "z64", "acs", "hex")
#: The numeric options' ranges (inclusive), read by :class:`PrinterSpec` and the config's model.
RANGES: dict[str, tuple[int, int]] = {"dpi": (72, 1200), "copies": (1, 9999), "threshold": (0, 255),
                                      "darkness": (0, 30), "max_downscale": (0, 1)}

MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Media:
    """Label size in millimetres (width across the print head, height along the feed)."""

    width_mm: float
    height_mm: float
    gap_mm: float = 2.0

    @classmethod
    def parse(cls, text: str) -> "Media":
        """Parse ``58x40`` / ``58X40`` / ``100x150`` / ``57.5x40`` (mm)."""
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[xX×*]\s*(\d+(?:\.\d+)?)\s*(?:mm)?\s*", text or "")
        if not m:
            raise UsageError(f"bad media size {text!r}: expected WIDTHxHEIGHT in mm, e.g. 58x40")
        w, h = float(m.group(1)), float(m.group(2))
        if not (5 <= w <= 300 and 5 <= h <= 2000):
            raise UsageError(f"media size {text!r} out of range (5..300 x 5..2000 mm)")
        return cls(w, h)

    def __str__(self) -> str:
        return f"{self.width_mm:g}x{self.height_mm:g}"


def mm_to_dots(mm: float, dpi: int) -> int:
    """Dots for a length in mm at ``dpi``: ``round(mm × dpi / 25.4)``."""
    return int(round(mm * dpi / MM_PER_INCH))


@dataclass(frozen=True)
class PrinterSpec:
    """Everything the conversion needs about one printer and its media.

    ``offset`` is (x, y) in dots; ``darkness`` is in the printer language's own scale
    (ZPL ~SD 0-30, TSPL DENSITY 0-15, EPL2 D 0-15) and ``None`` leaves the printer's setting.
    """

    lang: str = "zpl"
    media: Media = field(default_factory=lambda: Media(58, 40))
    dpi: int = 203
    rotate: str = "auto"
    copies: int = 1
    darkness: int | None = None
    offset: tuple[int, int] = (0, 0)
    zpl_compress: str = "auto"
    invert: bool = False
    dither: bool = False
    threshold: int = 128
    cut: bool = False
    #: "redraw" puts every barcode back on whole printer dots; "keep" prints the plain render.
    barcodes: str = "redraw"
    #: "fail": a label whose barcode would not scan is an error; "warn": log and print; "off".
    verify: str = "fail"
    max_pages: int = 500
    max_pixels: int = 40_000_000
    #: Seconds a single renderer call may run (SVG/PDF) before the label is refused.
    render_timeout: float = 20.0
    #: A label of known physical size (PDF, SVG in mm/cm/in/pt) that fitting would shrink below
    #: this factor is refused (0 = never; ``[[printers]] max_downscale``, a job's ``fit=1`` lifts it).
    max_downscale: float = 0.0
    #: The printer's name, for messages ("printer zebra has 58×40 mm media"); "" outside the daemon.
    name: str = ""

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise UsageError(f"unknown printer language {self.lang!r} (one of {', '.join(LANGS)})")
        for key, (lo, hi) in RANGES.items():
            v = getattr(self, key)
            if v is not None and not lo <= v <= hi:
                raise UsageError(f"{key} {v} out of range ({lo}..{hi})")
        top = LANGUAGES[self.lang].max_darkness
        if self.darkness is not None and self.darkness > top:
            raise UsageError(f"darkness {self.darkness} out of range for {LANGUAGES[self.lang].shown} (0..{top})")
        if str(self.rotate) not in ROTATIONS:
            raise UsageError(f"bad rotate {self.rotate!r} (auto, 0, 90, 180 or 270)")
        if self.zpl_compress not in ZPL_COMPRESSIONS:
            raise UsageError(f"bad zpl compression {self.zpl_compress!r} (auto, z64, acs or hex)")
        if self.barcodes not in ("redraw", "keep"):
            raise UsageError(f"bad barcodes mode {self.barcodes!r} (redraw or keep)")
        if self.verify not in ("fail", "warn", "off"):
            raise UsageError(f"bad verify policy {self.verify!r} (fail, warn or off)")
        if self.max_pages < 1:
            raise UsageError("max_pages must be at least 1")
        if self.max_pixels < 10_000:
            raise UsageError("max_pixels must be at least 10000")

    @property
    def width_dots(self) -> int:
        return mm_to_dots(self.media.width_mm, self.dpi)

    @property
    def height_dots(self) -> int:
        return mm_to_dots(self.media.height_mm, self.dpi)

    @property
    def dots_per_mm(self) -> float:
        return self.dpi / MM_PER_INCH

    def replace(self, **changes: Any) -> "PrinterSpec":
        return dataclasses.replace(self, **changes)
