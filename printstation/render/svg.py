"""SVG → grayscale, drawn straight from the vectors by cairosvg at the asked scale.

Safety: XML entities and external documents are refused by defusedxml; any reference to an
outside resource (``href``/``url(...)`` that is not ``#id`` or ``data:``) refuses the label; a
``<use>`` chain that would expand past :data:`MAX_EXPANDED_NODES` is refused before drawing.
"""

from __future__ import annotations

import math
import re
import threading
from types import SimpleNamespace
from xml.etree.ElementTree import Element

import numpy as np

from ..errors import BadInput
from PIL import Image

from .pixels import gray_array

MAX_EXPANDED_NODES = 200_000
_XLINK = "{http://www.w3.org/1999/xlink}href"
_URL_REF = re.compile(r"url\(\s*['\"]?\s*([^)'\"\s]+)", re.I)
_IMPORT = re.compile(r"@import", re.I)
_lock = threading.Lock()


def _parse(data: bytes):  # -> cairosvg.parser.Tree
    import cairosvg.parser
    from defusedxml import DefusedXmlException

    try:
        return cairosvg.parser.Tree(bytestring=data, unsafe=False, url_fetcher=_refuse_fetch)
    except DefusedXmlException as exc:
        raise BadInput(f"SVG refused: {type(exc).__name__} (XML entities / external DTDs are not allowed)") from None
    except BadInput:
        raise
    except Exception as exc:  # ParseError, ValueError from cairosvg
        raise BadInput(f"broken SVG: {type(exc).__name__}: {exc}") from None


def _refuse_fetch(url: str, resource_type: str) -> bytes:
    if url.startswith("data:"):
        import cairosvg.url

        return cairosvg.url.fetch(url, resource_type)
    raise BadInput(f"SVG refers to an external resource ({url[:80]}): refused")


def _is_local_ref(ref: str) -> bool:
    ref = ref.strip()
    return ref.startswith("#") or ref.startswith("data:") or ref == ""


def check_tree(root: Element) -> None:
    """Refuse external references and exponential ``<use>`` expansion."""
    ids: dict[str, Element] = {}
    for el in root.iter():
        i = el.get("id")
        if i:
            ids[i] = el
        for attr in ("href", _XLINK):
            ref = el.get(attr)
            if ref is not None and not _is_local_ref(ref):
                raise BadInput(f"SVG refers to an external resource ({ref.strip()[:80]}): refused")
        style = el.get("style") or ""
        texts = [style]
        if el.tag.endswith("style") and el.text:
            texts.append(el.text)
            if _IMPORT.search(el.text):
                raise BadInput("SVG stylesheet uses @import: refused")
        for k, v in el.attrib.items():
            if "url(" in v and k not in ("href", _XLINK):
                texts.append(v)
        for t in texts:
            for ref in _URL_REF.findall(t):
                if not _is_local_ref(ref):
                    raise BadInput(f"SVG refers to an external resource ({ref[:80]}): refused")
    memo: dict[int, int] = {}

    def weight(el: Element, depth: int) -> int:
        key = id(el)
        if key in memo:
            return memo[key]
        if depth > 64:
            raise BadInput("SVG nests <use>/groups deeper than 64 levels: refused")
        total = 1
        for child in el:
            total += weight(child, depth + 1)
        if el.tag.rsplit("}", 1)[-1] == "use":
            ref = (el.get("href") or el.get(_XLINK) or "").strip()
            target = ids.get(ref[1:]) if ref.startswith("#") else None
            if target is not None:
                total += weight(target, depth + 1)
        if total > MAX_EXPANDED_NODES:
            raise BadInput(f"SVG expands past {MAX_EXPANDED_NODES} elements (a <use> bomb?): refused")
        memo[key] = total
        return total

    weight(root, 0)


class SvgSource:
    """An SVG document as a :class:`~printstation.render.raster.Source` (units: CSS px at 96 dpi)."""

    native_scale: float | None = None
    #: Barcodes are looked for at no less than the SVG's own pixel size (unitless SVGs such as
    #: WB's are drawn in their designer's pixels) or 200 dpi when it is sized in mm/cm/in/pt.
    min_detect_scale = 1.0

    def __init__(self, data: bytes) -> None:
        self.data = data
        tree = _parse(data)
        check_tree(tree.xml_tree)
        from cairosvg.helpers import node_format

        probe = SimpleNamespace(dpi=96, font_size=16.0, context_width=None, context_height=None)
        try:
            w, h, viewbox = node_format(probe, tree)
        except Exception as exc:
            raise BadInput(f"broken SVG size: {exc}") from None
        if (not w or not h) and viewbox:
            w, h = viewbox[2], viewbox[3]
        if viewbox and not all(math.isfinite(v) for v in viewbox):
            w = 0  # a viewBox of NaN or inf scales the drawing to nothing usable
        if not w or not h or not (0 < w < math.inf and 0 < h < math.inf):  # (NaN fails too)
            raise BadInput("SVG has no usable width/height or viewBox")
        if w * h > 1e10:
            raise BadInput(f"SVG canvas {w:g}×{h:g} is absurdly large: refused")
        self.width = float(w)
        self.height = float(h)
        if re.search(r"(mm|cm|in|pt|pc)\s*$", tree.get("width") or ""):
            self.min_detect_scale = 200 / 96
        self._tree = tree

    def render(self, scale: float, size: tuple[int, int] | None = None) -> np.ndarray:
        """Draw at ``scale`` px per unit (or exactly ``size`` = (w, h) px).

        The print render (``size``) walks the SVG tree once into a cairo recording and replays
        it (pixel for pixel what a direct draw gives); later renders (barcode detection at a finer
        scale) replay that recording scaled — cairo's C replay instead of cairosvg's Python walk,
        which is most of an SVG's drawing time.
        """
        try:
            with _lock:
                if size:
                    self._recording = (self._record(size), size)
                    return _replay(self._recording[0], size, 1.0, 1.0)
                if self._recording is not None:
                    rec, (rw, rh) = self._recording
                    out = (max(1, int(round(self.width * scale))), max(1, int(round(self.height * scale))))
                    return _replay(rec, out, scale * self.width / rw, scale * self.height / rh)
                return self._direct(scale)
        except BadInput:
            raise
        except MemoryError:
            raise BadInput("SVG too large to draw") from None
        except Exception as exc:
            raise BadInput(f"SVG could not be drawn: {type(exc).__name__}: {exc}") from None

    _recording: tuple[object, tuple[int, int]] | None = None

    def _record(self, size: tuple[int, int]) -> object:
        surface = _recording_class()(self._tree, None, 96, output_width=size[0], output_height=size[1])
        return surface.cairo

    def _direct(self, scale: float, size: tuple[int, int] | None = None) -> np.ndarray:
        """cairosvg's own walk of the (parsed once) tree onto pixels."""
        import cairosvg.surface

        kwargs: dict[str, object] = {"output_width": size[0], "output_height": size[1]} if size else {"scale": scale}
        surface = cairosvg.surface.PNGSurface(self._tree, None, 96, background_color="white", **kwargs)
        gray = _gray(surface.cairo)
        surface.finish()
        return gray


_RECORDING: type | None = None


def _recording_class() -> type:
    """cairosvg's surface drawing into a cairo recording (the class is made once: making it for
    every label was 0.009 ms)."""
    global _RECORDING
    if _RECORDING is None:
        import cairocffi
        import cairosvg.surface

        class Recording(cairosvg.surface.Surface):
            device_units_per_user_units = 1

            def _create_surface(self, width: float, height: float):  # noqa: ANN202
                w, h = int(round(width)), int(round(height))
                return cairocffi.RecordingSurface(cairocffi.CONTENT_COLOR_ALPHA, (0, 0, w, h)), w, h

        _RECORDING = Recording
    return _RECORDING


def _gray(buf) -> np.ndarray:  # noqa: ANN001 - a cairocffi ImageSurface
    buf.flush()
    w, h, stride = buf.get_width(), buf.get_height(), buf.get_stride()
    # cairo ARGB32 is native-endian BGRA on little-endian machines; Pillow's C
    # converter takes it to gray ~10× faster than numpy arithmetic. Read in place (a bytes()
    # copy of the surface was 0.85 ms of a 58×40 sticker's detection render); the gray image is
    # a new buffer, so the surface can be finished right after; gray_array skips np.asarray's two
    # copies of it (0.046 instead of 0.109 ms for a 1160×800 detection render).
    im = Image.frombuffer("RGBA", (w, h), buf.get_data(), "raw", "BGRA", stride, 1)
    return gray_array(im.convert("L"))


def _replay(rec: object, size: tuple[int, int], fx: float, fy: float) -> np.ndarray:
    """A recording drawn on white at ``size`` px, scaled by (fx, fy)."""
    import cairocffi

    img = cairocffi.ImageSurface(cairocffi.FORMAT_ARGB32, size[0], size[1])
    ctx = cairocffi.Context(img)
    ctx.set_source_rgb(1, 1, 1)
    ctx.paint()
    if (fx, fy) != (1.0, 1.0):
        ctx.scale(fx, fy)
    ctx.set_source_surface(rec, 0, 0)
    ctx.paint()
    gray = _gray(img)
    img.finish()
    return gray
