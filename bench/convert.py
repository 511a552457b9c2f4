#!/usr/bin/env python3
"""Conversion benchmark: ours next to zebrafy, measured in the same run; then barcode decode rates.

    python bench/convert.py [--runs N] [--values N]

Per label: median wall time of N warm runs (our result cache is cleared before every run, so
each run converts from scratch) and output bytes. Ours includes sniffing, fit/scale/rotate to the
media, binarisation, barcode detection + redraw + verification (defaults) and the emitter;
zebrafy converts an image/PDF page at the size it is given (we pass the media size in dots) with
no fitting, rotation, barcode handling or verification.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import cairosvg  # noqa: E402
from PIL import Image  # noqa: E402
from zebrafy import ZebrafyImage, ZebrafyPDF  # noqa: E402

conv = __import__("importlib").import_module("printstation.convert")
from printstation import Media, PrinterSpec  # noqa: E402
from printstation.render import barcodes  # noqa: E402
from support import labelgen as lg  # noqa: E402
from support import render_back as rb  # noqa: E402


def _fresh() -> None:
    conv._CACHE.clear()
    barcodes._DETECTED.clear()


def timed(fn, runs: int) -> tuple[float, object]:
    fn()  # warm-up
    ts, out = [], None
    for _ in range(runs):
        _fresh()
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000, out


def speed_table(runs: int) -> list[str]:
    spec = PrinterSpec(media=Media(58, 40), dpi=203)
    w, h = spec.width_dots, spec.height_dots
    png = lg.wb_sticker_png("!Bench0001")
    svg = lg.wb_sticker_svg("!Bench0002")
    pdf = lg.pdf_label("RU123456789CN")
    pdf_spec = PrinterSpec(media=Media(100, 150), dpi=203)

    def zf_png(data=png, fmt="Z64"):
        return ZebrafyImage(data, format=fmt, width=w, height=h, dither=False).to_zpl()

    def zf_svg():
        return ZebrafyImage(cairosvg.svg2png(bytestring=svg, output_width=w, output_height=h),
                            format="Z64", width=w, height=h, dither=False).to_zpl()

    def zf_pdf():
        return ZebrafyPDF(pdf, format="Z64", width=pdf_spec.width_dots, height=pdf_spec.height_dots,
                          dither=False, dpi=203).to_zpl()

    rows = [
        ("PNG → ZPL (58×40, 203)", lambda: conv.convert(png, spec)[0], zf_png),
        ("SVG → ZPL (58×40, 203)", lambda: conv.convert(svg, spec)[0], zf_svg),
        ("PDF 100×150 → ZPL (203)", lambda: conv.convert(pdf, pdf_spec)[0], zf_pdf),
        ("PNG → TSPL (58×40, 203)", lambda: conv.convert(png, spec.replace(lang="tspl"))[0], zf_png),
    ]
    out = ["| conversion | ours ms | ours bytes | zebrafy ms | zebrafy bytes | speed-up | ours without barcode redraw+verify ms | speed-up |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    plain = {"barcodes": "keep", "verify": "off"}
    plain_fns = [
        lambda: conv.convert(png, spec.replace(**plain))[0],
        lambda: conv.convert(svg, spec.replace(**plain))[0],
        lambda: conv.convert(pdf, pdf_spec.replace(**plain))[0],
        lambda: conv.convert(png, spec.replace(lang="tspl", **plain))[0],
    ]
    for (name, ours, theirs), bare in zip(rows, plain_fns):
        t1, o1 = timed(ours, runs)
        t2, o2 = timed(theirs, runs)
        t3, _ = timed(bare, runs)
        out.append(f"| {name} | {t1:.1f} | {len(o1)} | {t2:.1f} | {len(o2)} | {t2 / t1:.1f}× "
                   f"| {t3:.1f} | {t2 / t3:.1f}× |")
    # Z64 size: the same 1-bit raster (ours, at the media size) through both encoders.
    label = conv.convert_labels(png, spec.replace(zpl_compress="z64"))[0]
    im = Image.fromarray(~label.raster).convert("L")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    theirs = ZebrafyImage(buf.getvalue(), format="Z64", dither=False).to_zpl()
    out.append("")
    out.append(f"Z64 of the same {w}×{h} raster: ours {len(label.data)} bytes (whole format), "
               f"zebrafy {len(theirs)} bytes.")
    return out


def decode_table(n: int) -> list[str]:
    rng = random.Random(2024)
    values = [lg.random_wb_barcode(rng) for _ in range(n)]
    out = ["| input | media | dpi | decode keep | decode redraw | redraw extra ms/label |",
           "|---|---|---:|---:|---:|---:|"]
    for kind in ("svg", "png"):
        for size in ((40, 30), (58, 40)):
            for dpi in (203, 300):
                ok = {"keep": 0, "redraw": 0}
                ms = {"keep": [], "redraw": []}
                for v in values:
                    data = (lg.wb_sticker_svg if kind == "svg" else lg.wb_sticker_png)(v, size=size)
                    for mode in ("keep", "redraw"):
                        spec = PrinterSpec(lang="zpl", media=Media(*size), dpi=dpi, barcodes=mode, verify="off")
                        _fresh()
                        t = time.perf_counter()
                        z = conv.convert(data, spec)[0]
                        ms[mode].append((time.perf_counter() - t) * 1000)
                        ok[mode] += rb.decode(rb.zpl_raster(z)[0].image) == [v]
                extra = statistics.median(ms["redraw"]) - statistics.median(ms["keep"])
                out.append(f"| {kind.upper()} {size[0]*10}×{size[1]*10} px | {size[0]}×{size[1]} | {dpi} | "
                           f"{100 * ok['keep'] / n:.0f} % | {100 * ok['redraw'] / n:.0f} % | {extra:+.1f} |")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--values", type=int, default=200)
    args = ap.parse_args()
    print("\n".join(speed_table(args.runs)))
    print()
    print(f"Decode rate of emitted ZPL rendered back by zebrafy + zxing-cpp, {args.values} random WB values:")
    print()
    print("\n".join(decode_table(args.values)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
