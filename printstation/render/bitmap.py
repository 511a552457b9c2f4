"""PNG / JPEG / BMP / GIF / TIFF / WebP → grayscale at the printer's resolution.

Resampling is chosen to keep bar edges where they were: area averaging when shrinking (each dot
takes the share of ink it covers, the threshold then puts every edge on the nearest dot
boundary), bilinear when enlarging by a non-integer factor, and plain pixel repetition when an
integer factor fits (see :func:`~printstation.render.raster.fit`).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import BadInput
from .pixels import gray_array

# Our own pixel cap is checked before decoding; keep Pillow's bomb guard as a second fence.
Image.MAX_IMAGE_PIXELS = 200_000_000


class BitmapSource:
    """A decoded bitmap as a :class:`~printstation.render.raster.Source` (units: pixels)."""

    native_scale: float | None = 1.0

    #: Pages of the document (a multi-page TIFF; every other bitmap is one picture).
    pages = 1

    def __init__(self, data: bytes, kind: str, max_pixels: int, frame: int = 0) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im: Image.Image = Image.open(io.BytesIO(data))
                if kind == "tiff" and frame == 0:
                    self.pages = getattr(im, "n_frames", 1)
                if frame or getattr(im, "n_frames", 1) > 1:
                    im.seek(frame)
                w, h = im.size
                if w * h > max_pixels:
                    page = f" page {frame + 1}" if frame else ""
                    raise BadInput(
                        f"{kind.upper()}{page} is {w}×{h} = {w * h} pixels, over the limit of {max_pixels}"
                    )
                im.load()
        except BadInput:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BadInput(f"{kind.upper()} refused as a decompression bomb: {exc}") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise BadInput(f"broken {kind.upper()} ({len(data)} bytes): {exc}") from None
        except Exception as exc:  # Pillow's parsers raise IndexError, struct.error … on cut files
            why = f"{type(exc).__name__}: {str(exc).strip() or '-'}"
            raise BadInput(f"broken {kind.upper()} ({len(data)} bytes): {why}") from None
        # In place: an image without an EXIF orientation is left as it is (a copy of it was
        # 0.01 ms of every sticker); one with an orientation is turned exactly as before.
        ImageOps.exif_transpose(im, in_place=True)
        self.gray = _flatten(im)
        self.height, self.width = (float(x) for x in self.gray.shape)

    def close(self) -> None:
        """Free the decoded pixels of a later page once it is printed (a no-op for the first)."""

    def render(self, scale: float, size: tuple[int, int] | None = None) -> np.ndarray:
        h, w = self.gray.shape
        if size is None:
            size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
        if size == (w, h):
            return self.gray
        im = Image.fromarray(self.gray, "L")
        sx, sy = size[0] / w, size[1] / h
        if sx < 1 or sy < 1:
            resample = Image.Resampling.BOX
        elif float(sx).is_integer() and float(sy).is_integer():
            resample = Image.Resampling.NEAREST
        else:
            resample = Image.Resampling.BILINEAR
        return gray_array(im.resize(size, resample))


class _LaterPage(BitmapSource):
    """Page ``frame`` of a multi-page TIFF, decoded when first looked at and freed once closed, so
    a long document holds one page's pixels at a time."""

    def __init__(self, data: bytes, kind: str, max_pixels: int, frame: int) -> None:  # noqa: D107
        self._args = (data, kind, max_pixels, frame)

    def __getattr__(self, name: str) -> object:
        if name in ("gray", "width", "height"):
            BitmapSource.__init__(self, *self._args)
            return getattr(self, name)
        raise AttributeError(name)

    def close(self) -> None:
        for name in ("gray", "width", "height"):
            self.__dict__.pop(name, None)


def bitmap_pages(data: bytes, kind: str, max_pixels: int, max_pages: int) -> list[BitmapSource]:
    """The pages of a bitmap as sources: one per page of a multi-page TIFF (each a label, like a
    PDF's pages; refused past ``max_pages``), else the picture (an animated GIF's first frame)."""
    first = BitmapSource(data, kind, max_pixels)
    if first.pages > max_pages:
        raise BadInput(f"TIFF has {first.pages} pages, more than the limit of {max_pages}")
    return [first] + [_LaterPage(data, kind, max_pixels, i) for i in range(1, first.pages)]


def _flatten(im: Image.Image) -> np.ndarray:
    """Any mode → 8-bit gray, transparency composited onto white."""
    if im.mode == "L":  # already gray (convert("L") would copy it: ~0.1 ms a sticker)
        return gray_array(im)
    if im.mode == "1":
        return gray_array(im.convert("L"))
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = arr.max() or 1.0
        return (arr * (255.0 / top)).clip(0, 255).astype(np.uint8)
    if im.mode == "P" or im.mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "RGBa", "La"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    if im.mode == "CMYK":
        im = im.convert("RGB")
    return gray_array(im.convert("L"))
