"""Placing a source on the printer's media and making it 1-bit.

A *source* (bitmap, SVG, PDF page) is measured in its own units (pixels, SVG px, PDF points).
:func:`fit` decides rotation and scale so the source fills the printable area keeping its aspect;
:class:`Placement` remembers that mapping so later steps (barcode redraw) can find a point of the
source on the printer raster. Rasters are numpy ``bool`` arrays, ``True`` = a black dot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..spec import PrinterSpec


@dataclass(frozen=True)
class Placement:
    """How a source of ``src_w × src_h`` units sits on a ``canvas_w × canvas_h`` dot canvas."""

    src_w: float
    src_h: float
    #: Rendered size before rotation, in dots.
    out_w: int
    out_h: int
    #: Clockwise rotation applied after rendering (0, 90, 180, 270).
    rotation: int
    #: Top-left of the rotated render on the canvas.
    x0: int
    y0: int
    canvas_w: int
    canvas_h: int
    #: Media width in mm (for converting dots to printed size).
    canvas_w_mm: float = 0.0

    @property
    def sx(self) -> float:
        return self.out_w / self.src_w

    @property
    def sy(self) -> float:
        return self.out_h / self.src_h

    @property
    def placed_w(self) -> int:
        return self.out_h if self.rotation in (90, 270) else self.out_w

    @property
    def placed_h(self) -> int:
        return self.out_w if self.rotation in (90, 270) else self.out_h

    def to_canvas(self, x: float, y: float) -> tuple[float, float]:
        """A point in source units → canvas dots (continuous coordinates)."""
        u, v = x * self.sx, y * self.sy
        r = self.rotation
        if r == 90:
            u, v = self.out_h - v, u
        elif r == 180:
            u, v = self.out_w - u, self.out_h - v
        elif r == 270:
            u, v = v, self.out_w - u
        return u + self.x0, v + self.y0


def choose_rotation(src_w: float, src_h: float, spec: PrinterSpec) -> int:
    """``--rotate``: a number as given, or ``auto`` = turn a portrait source onto landscape media."""
    if spec.rotate != "auto":
        return int(spec.rotate)
    cw, ch = spec.width_dots, spec.height_dots
    if src_w == src_h or cw == ch:
        return 0
    return 90 if (src_w > src_h) != (cw > ch) else 0


def fit(src_w: float, src_h: float, spec: PrinterSpec, *, integer_scale: bool = False) -> Placement:
    """Scale to fill the media keeping aspect, centred.

    With ``integer_scale`` (bitmaps that would be enlarged) a whole-number factor is preferred when
    it still fills at least 85 % of the area: every source pixel then becomes the same number of
    dots and bars keep their exact ratios.
    """
    if src_w <= 0 or src_h <= 0:
        from ..errors import BadInput

        raise BadInput(f"label has no size ({src_w:g}×{src_h:g})")
    rot = choose_rotation(src_w, src_h, spec)
    cw, ch = spec.width_dots, spec.height_dots
    rw, rh = (src_h, src_w) if rot in (90, 270) else (src_w, src_h)
    s = min(cw / rw, ch / rh)
    if integer_scale and s >= 1 and int(s) / s >= 0.85:
        s = float(int(s))
    out_w = max(1, min(int(round(src_w * s)), ch if rot in (90, 270) else cw))
    out_h = max(1, min(int(round(src_h * s)), cw if rot in (90, 270) else ch))
    pw, ph = (out_h, out_w) if rot in (90, 270) else (out_w, out_h)
    return Placement(src_w, src_h, out_w, out_h, rot, (cw - pw) // 2, (ch - ph) // 2, cw, ch,
                     spec.media.width_mm)


def rotate_cw(a: np.ndarray, degrees: int) -> np.ndarray:
    """Rotate a 2-D array clockwise by a multiple of 90° (exact, no resampling)."""
    k = (degrees // 90) % 4
    return np.ascontiguousarray(np.rot90(a, -k)) if k else a


def compose(rendered: np.ndarray, p: Placement, fill: int = 255) -> np.ndarray:
    """Rotate a rendered grayscale source and centre it on a white canvas."""
    img = rotate_cw(rendered, p.rotation)
    canvas = np.full((p.canvas_h, p.canvas_w), fill, dtype=np.uint8)
    h = min(img.shape[0], p.canvas_h - p.y0)
    w = min(img.shape[1], p.canvas_w - p.x0)
    canvas[p.y0 : p.y0 + h, p.x0 : p.x0 + w] = img[:h, :w]
    return canvas


class Source(Protocol):
    """A label page that can be drawn at any resolution (for barcode detection)."""

    width: float
    height: float
    #: Pixels per source unit at which the source is exact (bitmaps: 1.0; vectors: None).
    native_scale: float | None

    def render(self, scale: float) -> np.ndarray:
        """Grayscale uint8 rendering at ``scale`` pixels per source unit (unrotated)."""
        ...


@dataclass
class Page:
    """One label: its grayscale canvas at printer resolution and where the source sits on it."""

    gray: np.ndarray
    placement: Placement
    source: Source
    #: The source as drawn for the canvas (unrotated, ``placement.out_w × out_h``), when kept.
    rendered: np.ndarray | None = None

    def binarize(self, spec: PrinterSpec) -> np.ndarray:
        return binarize(self.gray, spec)


def binarize(gray: np.ndarray, spec: PrinterSpec) -> np.ndarray:
    """1-bit raster (True = black). A plain threshold keeps bar edges; dither only on request."""
    if spec.dither:
        from PIL import Image

        im = Image.fromarray(gray, "L").convert("1", dither=Image.Dither.FLOYDSTEINBERG)
        return ~np.asarray(im, dtype=bool)
    return gray < spec.threshold
