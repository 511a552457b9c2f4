"""PDF → grayscale pages with pdfium, each page measured from its own box and rotation."""

from __future__ import annotations

import threading

import numpy as np

from ..errors import BadInput

#: pdfium is not thread-safe: every call into it holds this lock.
PDFIUM_LOCK = threading.RLock()


def _pdfium():
    import pypdfium2 as pdfium

    return pdfium


class PdfPageSource:
    """One PDF page as a :class:`~printstation.render.raster.Source` (units: PDF points)."""

    native_scale: float | None = None

    def __init__(self, doc: object, index: int) -> None:
        self._doc = doc
        self.index = index
        with PDFIUM_LOCK:
            page = doc[index]  # type: ignore[index]
            try:
                # get_size() follows the page's /Rotate and its crop/media box.
                w, h = page.get_size()
            finally:
                page.close()
        if not (w > 0 and h > 0):
            raise BadInput(f"PDF page {index + 1} has no size")
        self.width, self.height = float(w), float(h)

    def render(self, scale: float, size: tuple[int, int] | None = None) -> np.ndarray:
        if size:
            scale = max(size[0] / self.width, size[1] / self.height)
        try:
            with PDFIUM_LOCK:
                page = self._doc[self.index]  # type: ignore[index]
                try:
                    bitmap = page.render(
                        scale=scale, grayscale=True, fill_color=(255, 255, 255, 255),
                        may_draw_forms=True,
                    )
                    arr = bitmap.to_numpy()
                    if arr.ndim == 3:
                        arr = arr[..., 0] if arr.shape[2] == 1 else arr.mean(axis=2).astype(np.uint8)
                    arr = np.array(arr, dtype=np.uint8, copy=True)
                finally:
                    page.close()
        except BadInput:
            raise
        except Exception as exc:
            raise BadInput(f"PDF page {self.index + 1} could not be drawn: {exc}") from None
        if size:
            arr = arr[: size[1], : size[0]]
            if arr.shape != (size[1], size[0]):
                pad = np.full((size[1], size[0]), 255, np.uint8)
                pad[: arr.shape[0], : arr.shape[1]] = arr
                arr = pad
        return arr


def open_pdf(data: bytes, max_pages: int) -> list[PdfPageSource]:
    """Open a PDF and measure every page; refuse broken, encrypted or over-long documents."""
    pdfium = _pdfium()
    with PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise BadInput(f"broken PDF ({len(data)} bytes): {exc}") from None
        n = len(doc)
    if n == 0:
        raise BadInput("PDF has no pages")
    if n > max_pages:
        raise BadInput(f"PDF has {n} pages, more than the limit of {max_pages}")
    return [PdfPageSource(doc, i) for i in range(n)]
