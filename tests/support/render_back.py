"""Render emitted printer bytes back to pixels by a path independent of our emitters.

- ZPL ``^GFA`` rasters (hex, ACS, ``:Z64:``): the graphic field is decoded by zebrafy's
  ``ZebrafyZPL(...).to_images()``; the format's ``^PW``/``^LL``/``^LH``/``^FO``/``^PQ``/``~SD`` are
  parsed here and the image is placed on the label canvas.
- Native ZPL (passthrough, ``^BC``/``^A0``/``^FO`` …): the Zebrash renderer (npm package
  ``zpl-renderer-js``, WebAssembly) run by ``tests/zplrender/render.cjs`` under node, many labels
  per node call.
- TSPL ``BITMAP``, ESC/POS ``GS v 0`` bands and EPL2 ``GW``: small parsers written from the
  command references (TSPL: a 0 bit prints black unless the printer inverts; EPL2 GW: a 0 bit
  prints black; ESC/POS: a 1 bit prints black; MSB = leftmost dot in all three).
- PNG: Pillow decodes the 1-bit PNG.

None of this imports ``printstation``: a bug in an emitter cannot hide itself here.
Barcodes are then decoded with zxing-cpp after adding a white quiet-zone margin.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ZPLRENDER_DIR = Path(__file__).resolve().parent.parent / "zplrender"
MM_PER_INCH = 25.4


@dataclass
class Back:
    """One label as the printer would print it: ``image`` is bool, True = black dot."""

    image: np.ndarray
    copies: int = 1
    header: dict[str, object] = field(default_factory=dict)


def dots(mm: float, dpi: int) -> int:
    return int(round(mm * dpi / MM_PER_INCH))


def _bits(data: bytes, bytes_per_row: int, rows: int, *, black_is_one: bool) -> np.ndarray:
    if len(data) != bytes_per_row * rows:
        raise ValueError(f"raster data is {len(data)} bytes, header says {bytes_per_row}×{rows}")
    a = np.unpackbits(np.frombuffer(data, np.uint8).reshape(rows, bytes_per_row), axis=1).astype(bool)
    return a if black_is_one else ~a


def _paste(canvas: np.ndarray, img: np.ndarray, x: int, y: int) -> None:
    """Paste (OR) a bitmap onto the canvas; whatever falls past the edge is clipped like a printer."""
    h = max(0, min(img.shape[0], canvas.shape[0] - y))
    w = max(0, min(img.shape[1], canvas.shape[1] - x))
    canvas[y : y + h, x : x + w] |= img[:h, :w]


def _crlf_line(data: bytes, pos: int) -> tuple[int, int]:
    """Where the CRLF-terminated line at ``pos`` ends (or the end of ``data``) and the next begins."""
    end = data.find(b"\r\n", pos)
    line_end = len(data) if end < 0 else end
    return line_end, line_end + 2


def _paste_block(canvas: np.ndarray, data: bytes, start: int, x: int, y: int, bytes_per_row: int, rows: int,
                 *, black_is_one: bool) -> int:
    """Paste the binary raster at ``data[start:]`` (TSPL BITMAP, EPL2 GW) at ``x, y``; returns where
    the next command begins (after the raster's optional CRLF)."""
    nxt = start + bytes_per_row * rows
    _paste(canvas, _bits(data[start:nxt], bytes_per_row, rows, black_is_one=black_is_one), x, y)
    if data[nxt : nxt + 2] == b"\r\n":
        nxt += 2
    return nxt


# --------------------------------------------------------------------------- ZPL (raster)

_ZPL_FORMAT = re.compile(rb"((?:~SD\d+\s*)?)\^XA(.*?)\^XZ", re.S | re.I)


def _zpl_int(body: str, cmd: str, default: int | None = None) -> int | None:
    m = re.search(r"\^" + cmd + r"(\d+)", body)
    return int(m.group(1)) if m else default


def zpl_raster(data: bytes) -> list[Back]:
    """Every ``^XA…^XZ`` format holding a ``^GFA`` field, drawn on a ``^PW``×``^LL`` canvas."""
    from zebrafy import ZebrafyZPL

    out: list[Back] = []
    for m in _ZPL_FORMAT.finditer(data):
        pre = m.group(1).decode("ascii")
        body = m.group(2).decode("ascii")
        pw, ll = _zpl_int(body, "PW"), _zpl_int(body, "LL")
        if pw is None or ll is None:
            raise ValueError("ZPL raster format without ^PW/^LL")
        lh = re.search(r"\^LH(\d+),(\d+)", body)
        hx, hy = (int(lh.group(1)), int(lh.group(2))) if lh else (0, 0)
        canvas = np.zeros((ll, pw), bool)
        # Each ^FOx,y ^GFA…^FS: zebrafy decodes the field, we place it.
        fields = list(re.finditer(r"\^FO(\d+),(\d+)(\^GFA,[^\^]*\^FS)", body))
        if not fields:
            raise ValueError("no ^FO…^GFA…^FS graphic field in the format")
        compressions = []
        for f in fields:
            gf = f.group(3)
            payload = gf.split(",", 4)[4]
            compressions.append("z64" if payload.startswith(":Z64:") else
                                "hex" if re.fullmatch(r"[0-9A-F]+\^FS", payload) else "acs")
            img = ZebrafyZPL(gf).to_images()[0]
            arr = ~np.asarray(img.convert("1"), dtype=bool)  # zebrafy shows black as 0
            _paste(canvas, arr, hx + int(f.group(1)), hy + int(f.group(2)))
        sd = re.search(r"~SD(\d+)", pre)
        out.append(Back(canvas, _zpl_int(body, "PQ", 1) or 1, {
            "PW": pw, "LL": ll, "LH": (hx, hy), "SD": int(sd.group(1)) if sd else None,
            "compress": compressions, "fields": len(fields),
        }))
    return out


# --------------------------------------------------------------------------- ZPL (native, Zebrash)

def node_available() -> bool:
    return shutil.which("node") is not None


def zplrender_ready() -> str | None:
    """None when the Zebrash renderer can run, else the reason it cannot."""
    if not node_available():
        return "node is not installed: native ZPL cannot be rendered back (Zebrash via zpl-renderer-js)"
    if not (ZPLRENDER_DIR / "node_modules" / "zpl-renderer-js").is_dir():
        return "zpl-renderer-js is not installed: run `npm ci --prefix tests/zplrender` (make test does)"
    return None


def zpl_native(jobs: list[tuple[bytes, float, float, int]]) -> list[list[np.ndarray]]:
    """Render native ZPL with Zebrash: jobs of (zpl, width_mm, height_mm, dpi), one node call.

    Returns per job one bool image per ``^XA…^XZ`` format. Note: Zebrash lays every format out
    on a ``width_mm × height_mm`` canvas at ``dpi / 25.4`` dots per mm and ignores ``^MU``.
    """
    if not jobs:
        return []
    payload = [
        {"zpl": z.decode("utf-8"), "width_mm": w, "height_mm": h, "dpmm": round(dpi / MM_PER_INCH)}
        for z, w, h, dpi in jobs
    ]
    proc = subprocess.run(
        ["node", str(ZPLRENDER_DIR / "render.cjs")], input=json.dumps(payload).encode(),
        capture_output=True, timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"zpl-renderer-js failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    results = json.loads(proc.stdout)
    out: list[list[np.ndarray]] = []
    for r in results:
        if "error" in r:
            raise RuntimeError(f"zpl-renderer-js: {r['error']}")
        out.append([np.asarray(Image.open(io.BytesIO(base64.b64decode(p))).convert("L")) < 128
                    for p in r["pngs"]])
    return out


# --------------------------------------------------------------------------- TSPL

def tspl(data: bytes, dpi: int, *, invert: bool = False) -> list[Back]:
    """TSPL labels: SIZE/GAP/DIRECTION/REFERENCE/DENSITY/CLS/BITMAP/PRINT."""
    out: list[Back] = []
    pos = 0
    header: dict[str, object] = {}
    canvas: np.ndarray | None = None
    while pos < len(data):
        line_end, nxt = _crlf_line(data, pos)
        if data.startswith(b"BITMAP ", pos):
            line = "BITMAP"  # binary data follows on the same "line"
        else:
            line = data[pos:line_end].decode("ascii")
        if not line.strip():
            pos = nxt
            continue
        cmd, _, args = line.strip().partition(" ")
        cmd = cmd.upper()
        if cmd == "SIZE":
            m = re.fullmatch(r"([\d.]+) mm,\s*([\d.]+) mm", args)
            if not m:
                raise ValueError(f"bad SIZE {args!r}")
            header["SIZE"] = (float(m.group(1)), float(m.group(2)))
        elif cmd == "GAP":
            m = re.fullmatch(r"([\d.]+) mm,\s*([\d.]+) mm", args)
            if not m:
                raise ValueError(f"bad GAP {args!r}")
            header["GAP"] = (float(m.group(1)), float(m.group(2)))
        elif cmd in ("DIRECTION", "REFERENCE", "DENSITY"):
            header[cmd] = tuple(int(x) for x in args.split(","))
        elif cmd == "CLS":
            if "SIZE" not in header:
                raise ValueError("CLS before SIZE")
            w, h = header["SIZE"]  # type: ignore[misc]
            canvas = np.zeros((dots(h, dpi), dots(w, dpi)), bool)
        elif cmd == "BITMAP":
            # BITMAP x,y,width_bytes,height,mode,<binary data>
            head = re.match(rb"BITMAP (\d+),(\d+),(\d+),(\d+),(\d+),", data[pos:])
            if not head or canvas is None:
                raise ValueError("BITMAP without a header or before CLS")
            x, y, wb, h, mode = (int(v) for v in head.groups())
            if mode != 0:
                raise ValueError(f"BITMAP mode {mode} (expected 0 = overwrite)")
            nxt = _paste_block(canvas, data, pos + head.end(), x, y, wb, h, black_is_one=invert)
        elif cmd == "PRINT":
            m = re.fullmatch(r"(\d+)(?:,(\d+))?", args)
            if not m or canvas is None:
                raise ValueError(f"bad PRINT {args!r} (or PRINT before CLS)")
            if int(m.group(1)) != 1:
                raise ValueError("PRINT m must be 1 (one set)")
            out.append(Back(canvas, int(m.group(2) or 1), dict(header)))
            canvas = None
        else:
            raise ValueError(f"unexpected TSPL command {cmd!r}")
        pos = nxt
    if canvas is not None:
        raise ValueError("TSPL label without PRINT")
    return out


# --------------------------------------------------------------------------- ESC/POS

def escpos(data: bytes) -> list[Back]:
    """ESC/POS: ``ESC @`` starts a label, ``GS v 0`` bands stack downwards, ``GS V`` cuts."""
    labels: list[tuple[list[np.ndarray], bool, list[int]]] = []
    pos = 0
    while pos < len(data):
        if data.startswith(b"\x1b@", pos):
            labels.append(([], False, []))
            pos += 2
        elif data.startswith(b"\x1dv0", pos):
            if not labels:
                raise ValueError("GS v 0 before ESC @")
            mode = data[pos + 3]
            if mode != 0:
                raise ValueError(f"GS v 0 mode {mode} (expected 0 = normal)")
            xl = int.from_bytes(data[pos + 4 : pos + 6], "little")
            yl = int.from_bytes(data[pos + 6 : pos + 8], "little")
            raw = data[pos + 8 : pos + 8 + xl * yl]
            labels[-1][0].append(_bits(raw, xl, yl, black_is_one=True))
            labels[-1][2].append(yl)
            pos += 8 + xl * yl
        elif data.startswith(b"\x1dVB", pos):
            if not labels:
                raise ValueError("cut before ESC @")
            bands, _, sizes = labels[-1]
            labels[-1] = (bands, True, sizes)
            pos += 4
        else:
            raise ValueError(f"unexpected ESC/POS bytes at {pos}: {data[pos:pos + 8].hex()}")
    out: list[Back] = []
    for bands, cut, sizes in labels:
        if not bands:
            raise ValueError("ESC/POS label without raster")
        widths = {b.shape[1] for b in bands}
        if len(widths) != 1:
            raise ValueError(f"bands of different widths {widths}")
        img = np.vstack(bands)
        # Copies are sent as repeated labels: fold identical repeats into a count.
        if out and out[-1].header["cut"] == cut and np.array_equal(out[-1].image, img):
            out[-1].copies += 1
            continue
        out.append(Back(img, 1, {"cut": cut, "bands": sizes}))
    return out


# --------------------------------------------------------------------------- EPL2

def epl2(data: bytes) -> list[Back]:
    """EPL2: N (clear), q width, Q height,gap, R ref, D density, GW x,y,bpr,rows,data, P copies."""
    out: list[Back] = []
    pos = 0
    header: dict[str, object] = {}
    canvas: np.ndarray | None = None
    while pos < len(data):
        line_end, nxt = _crlf_line(data, pos)
        line = data[pos:line_end]
        if line.startswith(b"GW"):
            head = re.match(rb"GW(\d+),(\d+),(\d+),(\d+),", data[pos:])
            if not head or canvas is None:
                raise ValueError("GW without a header or before q/Q")
            x, y, bpr, rows = (int(v) for v in head.groups())
            pos = _paste_block(canvas, data, pos + head.end(), x, y, bpr, rows, black_is_one=False)
            continue
        text = line.decode("ascii").strip()
        if not text:
            pass
        elif text == "N":
            header = {}
            canvas = None
        elif text[0] == "q":
            header["q"] = int(text[1:])
        elif text[0] == "Q":
            h, gap = text[1:].split(",")[:2]
            header["Q"] = (int(h), int(gap))
            canvas = np.zeros((int(h), int(header["q"])), bool)  # type: ignore[call-overload]
        elif text[0] in "RD":
            header[text[0]] = tuple(int(v) for v in text[1:].split(","))
        elif text[0] == "P":
            if canvas is None:
                raise ValueError("P before q/Q")
            out.append(Back(canvas, int(text[1:].split(",")[0]), dict(header)))
        else:
            raise ValueError(f"unexpected EPL2 command {text!r}")
        pos = nxt
    return out


# --------------------------------------------------------------------------- PNG

def png(data: bytes) -> list[Back]:
    im = Image.open(io.BytesIO(data))
    if im.mode != "1":
        raise ValueError(f"PNG preview is mode {im.mode}, expected 1-bit")
    return [Back(~np.asarray(im, dtype=bool), 1, {"dpi": im.info.get("dpi")})]


def render_back(lang: str, data: bytes, dpi: int, *, invert: bool = False) -> list[Back]:
    """Printer bytes of a raster label (any of our languages) → the labels as printed."""
    if lang == "zpl":
        return zpl_raster(data)
    if lang == "tspl":
        return tspl(data, dpi, invert=invert)
    if lang == "escpos":
        return escpos(data)
    if lang == "epl2":
        return epl2(data)
    if lang == "png":
        return png(data)
    raise ValueError(f"unknown language {lang}")


# --------------------------------------------------------------------------- decoding

def decode(image: np.ndarray, margin: int = 24) -> list[str]:
    """Texts of every barcode zxing-cpp finds in a bool image (a white quiet zone is added)."""
    import zxingcpp

    gray = np.where(image, 0, 255).astype(np.uint8) if image.dtype == bool else image
    gray = np.pad(gray, margin, constant_values=255)
    return sorted(r.text for r in zxingcpp.read_barcodes(gray, try_rotate=True, try_downscale=True)
                  if r.valid)
