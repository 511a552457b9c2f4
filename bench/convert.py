#!/usr/bin/env python3
"""Conversion benchmark: ours next to zebrafy, measured in the same run; then barcode decode rates.

    python bench/convert.py [--runs N] [--values N] [--procs N]

Per label: median wall time of N warm runs, ours and zebrafy interleaved run by run (so a busy
machine slows both alike; the speed-up is the median of the per-run ratios), our caches cleared
before every run (each run converts from scratch), and output bytes. Ours includes sniffing,
fit/scale/rotate to the media, binarisation, barcode detection + redraw + verification (the
defaults) and the emitter; zebrafy converts an image/PDF page at the size it is given (we pass
the media size in dots) with no fitting, rotation, barcode handling or verification.

The 40-page PDF row is the whole process, as a user runs it: ``python -m printstation convert``
against a ``python -c`` running zebrafy on the same file, both writing the ZPL to a file
(interpreter start, imports, conversion, write). "decode" renders our output back (zebrafy's
^GFA reader) and decodes every page with zxing-cpp: it must be 100 % with redraw on.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import cairosvg  # noqa: E402
from PIL import Image  # noqa: E402
from zebrafy import ZebrafyImage, ZebrafyPDF  # noqa: E402

conv = __import__("importlib").import_module("printstation.pipeline")
from printstation import Media, PrinterSpec  # noqa: E402
from printstation.render import barcodes, pattern, redraw  # noqa: E402
from support import labelgen as lg  # noqa: E402
from support import render_back as rb  # noqa: E402


def _content_caches() -> None:
    """Every cache keyed by a label's content: cleared, each run converts from scratch."""
    conv._CACHE.clear()
    barcodes._DETECTED.clear()
    redraw._decodes_cached.cache_clear()
    redraw._encode_cached.cache_clear()


def _fresh() -> None:
    """Every cache: each run converts from scratch (the layout caches too)."""
    _content_caches()
    barcodes._LAYOUTS.clear()
    pattern._cells.cache_clear()
    pattern._widths.cache_clear()


def timed(fn, runs: int) -> tuple[float, object]:
    fn()  # warm-up
    ts, out = [], None
    for _ in range(runs):
        _fresh()
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000, out


#: CPU-time speed-ups of the last paired() call (median of per-run ratios; see speed_table).
CPU: dict[str, float] = {}


def paired(ours, theirs, runs: int) -> tuple[float, float, float, object, object]:
    """Interleaved runs: (our median ms, their median ms, median of per-run speed-ups, outputs).
    The CPU time of each run (this process's) goes to :data:`CPU` as well."""
    ours(), theirs()  # warm-up
    a, b, ratios, cpu = [], [], [], []
    o1 = o2 = None
    for i in range(runs):
        pair = []
        for side in ((0, 1) if i % 2 == 0 else (1, 0)):
            _fresh()
            c, t = time.process_time(), time.perf_counter()
            out = (ours if side == 0 else theirs)()
            pair.append((side, time.perf_counter() - t, time.process_time() - c, out))
        for side, dt, dc, out in pair:
            if side == 0:
                a.append(dt)
                o1, ca = out, dc
            else:
                b.append(dt)
                o2, cb = out, dc
        ratios.append(b[-1] / a[-1])
        cpu.append(cb / max(ca, 1e-9))
    CPU["ratio"] = statistics.median(cpu)
    return statistics.median(a) * 1000, statistics.median(b) * 1000, statistics.median(ratios), o1, o2


def _decoded(zpl: bytes, want: list[str]) -> str:
    got = [rb.decode(back.image) for back in rb.zpl_raster(zpl)]
    ok = sum(g == [w] for g, w in zip(got, want))
    return f"{100 * ok / len(want):.0f} %"


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
        ("PNG → ZPL (58×40, 203)", png, spec, zf_png, "!Bench0001"),
        ("SVG → ZPL (58×40, 203)", svg, spec, zf_svg, "!Bench0002"),
        ("PDF 100×150 page → ZPL (203)", pdf, pdf_spec, zf_pdf, "RU123456789CN"),
    ]
    out = ["| conversion | ours ms (redraw+verify) | zebrafy ms (no barcode work) | speed-up | CPU speed-up "
           "| ours bytes | zebrafy bytes | decode (ours) | ours without redraw+verify ms |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    plain = {"barcodes": "keep", "verify": "off"}
    for name, data, sp, theirs, value in rows:
        t1, t2, ratio, o1, o2 = paired(lambda d=data, s=sp: conv.convert(d, s)[0], theirs, runs)
        t3, _ = timed(lambda d=data, s=sp: conv.convert(d, s.replace(**plain))[0], runs)
        out.append(f"| {name} | {t1:.1f} | {t2:.1f} | {ratio:.2f}× | {CPU['ratio']:.2f}× | {len(o1)} | {len(o2)} "
                   f"| {_decoded(o1, [value])} | {t3:.1f} |")
    out.append(floor_row(png, spec, zf_png, runs))
    out.append(batch_row(spec, w, h, runs))
    out.extend(whole_process_rows(max(3, runs // 3)))
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


def floor_row(png: bytes, spec: PrinterSpec, theirs, runs: int) -> str:
    """The PNG row with only our conversion's library calls, no Python between them: Pillow's
    decode and resize to the media, every zxing-cpp read the pipeline makes (the very images and
    options, captured from one conversion of this sticker), then packing and Z64 (zlib + base64) of
    the label's raster. What no tuning of our own steps can go below: if this is not faster than
    zebrafy, the PNG row cannot be either without dropping part of the barcode proof."""
    import base64
    import zlib

    import numpy as np
    import zxingcpp

    calls: list[tuple[object, dict]] = []
    real = zxingcpp.read_barcodes

    def spy(image, **kw):
        calls.append((np.array(image, copy=True), kw))
        return real(image, **kw)

    _fresh()
    zxingcpp.read_barcodes = spy
    try:
        raster = conv.convert_labels(png, spec)[0].raster
    finally:
        zxingcpp.read_barcodes = real
    size = (spec.width_dots, spec.height_dots)

    def floor():
        im = Image.open(io.BytesIO(png))
        im.load()
        im.resize(size, Image.Resampling.BOX)
        for image, kw in calls:
            real(image, **kw)
        c = zlib.compressobj(7, zlib.DEFLATED, 15, 8, zlib.Z_FILTERED)
        return base64.b64encode(c.compress(np.packbits(raster, axis=1).tobytes()) + c.flush())

    t1, t2, ratio, _, _ = paired(floor, theirs, runs)
    return (f"| PNG → ZPL (58×40, 203), our library calls alone ({len(calls)} zxing reads, decode, resize, "
            f"Z64; no Python step between) | {t1:.1f} | {t2:.1f} | {ratio:.2f}× | {CPU['ratio']:.2f}× "
            f"| — | — | — | — |")


def batch_row(spec: PrinterSpec, w: int, h: int, runs: int) -> str:
    """A WB batch: every label a new sticker (its own Code128 value and its own printed sticker
    number, partA/partB, as WB draws them; same layout). Our content caches
    are cleared before every label; the layout caches (barcodes._LAYOUTS, pattern._cells) are kept,
    as in a batch."""
    stickers = [lg.wb_sticker_png(f"!Batch{i:05d}", part_a=f"{3141592 + 7 * i:07d}", part_b=f"{1000 + i:04d}")
                for i in range(2 * runs + 4)]
    at = {"o": 0, "z": 0}

    def nxt(side: str) -> bytes:
        at[side] += 1
        return stickers[at[side] % len(stickers)]

    def ours():
        _content_caches()
        return conv.convert(nxt("o"), spec)[0]

    def theirs():
        return ZebrafyImage(nxt("z"), format="Z64", width=w, height=h, dither=False).to_zpl()

    global _fresh
    keep, _fresh = _fresh, lambda: None  # paired() would clear the layout cache too
    try:
        t1, t2, ratio, o1, o2 = paired(ours, theirs, runs)
    finally:
        _fresh = keep
    value = f"!Batch{at['o'] % len(stickers):05d}"
    return (f"| PNG → ZPL batch (58×40, 203; a new sticker every label) | {t1:.1f} | {t2:.1f} | {ratio:.2f}× "
            f"| {CPU['ratio']:.2f}× | {len(o1)} | {len(o2)} | {_decoded(o1, [value])} | — |")


PAGES = 40
TRACKINGS = [f"RU{100000000 + i * 7919:09d}CN" for i in range(PAGES)]


def whole_process_rows(runs: int) -> list[str]:
    """The 40-page PDF as whole processes, ours (default workers, and one process) vs zebrafy.

    Both packages start from compiled bytecode, as installed packages do: zebrafy's was written
    by pip at install time; ours (an editable checkout, and the dev box sets
    PYTHONDONTWRITEBYTECODE) would otherwise be compiled from source at every start (~50 ms)."""
    py = sys.executable
    runs = max(runs, 5)  # whole processes on a shared box: fewer runs leave the median to chance
    import compileall

    compileall.compile_dir(str(ROOT / "printstation"), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "labels.pdf")
        src.write_bytes(lg.pdf_label(TRACKINGS))
        ours_out, one_out, zf_out = Path(tmp, "ours.zpl"), Path(tmp, "one.zpl"), Path(tmp, "zf.zpl")
        ours = [py, "-m", "printstation", "convert", str(src), "--media", "100x150", "-o", str(ours_out)]
        zf = [py, "-c", "import sys; from zebrafy import ZebrafyPDF; "
              "open(sys.argv[2], 'w').write(ZebrafyPDF(open(sys.argv[1], 'rb').read(), format='Z64', "
              "width=799, height=1199, dither=False, dpi=203).to_zpl())", str(src), str(zf_out)]
        one_env = {**os.environ, "PRINTSTATION_CONVERT_WORKERS": "1"}
        two_env = {**os.environ, "PRINTSTATION_CONVERT_WORKERS": "2"}
        one = ours[:-1] + [str(one_out)]
        two = ours[:-1] + [str(Path(tmp, "two.zpl"))]

        cpu: dict[str, list[float]] = {"o": [], "z": [], "1": [], "2": []}

        def run(cmd, env=None, key: str | None = None) -> float:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=ROOT, env=env)
            dt = time.perf_counter() - t
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if key is not None:  # user + sys of the process and every process it waited for
                cpu[key].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
            return dt

        run(ours), run(zf)  # warm the page cache
        a, b, c, d, ratios, ratios2 = [], [], [], [], [], []
        for i in range(runs):
            order = [("o", ours, None), ("z", zf, None), ("1", one, one_env), ("2", two, two_env)]
            if i % 2:
                order.reverse()
            got = {k: run(cmd, env, k) for k, cmd, env in order}
            a.append(got["o"])
            b.append(got["z"])
            c.append(got["1"])
            d.append(got["2"])
            ratios.append(got["z"] / got["o"])
            ratios2.append(got["z"] / got["2"])
        ob, zb, onb = ours_out.read_bytes(), zf_out.read_bytes(), one_out.read_bytes()
        dec = _decoded(ob, TRACKINGS)
    med = statistics.median
    zc = med(cpu["z"])
    return [
        f"| PDF {PAGES} pages → ZPL, whole process | {med(a) * 1000:.0f} | {med(b) * 1000:.0f} "
        f"| {med(ratios):.2f}× | {zc / med(cpu['o']):.2f}× | {len(ob)} | {len(zb)} | {dec} | — |",
        f"| same, ours on one process (`PRINTSTATION_CONVERT_WORKERS=1`) | {med(c) * 1000:.0f} "
        f"| {med(b) * 1000:.0f} | {med(b) / med(c):.2f}× | {zc / med(cpu['1']):.2f}× | {len(onb)} | {len(zb)} | — | — |",
        f"| same, ours on two page workers whatever the load (`PRINTSTATION_CONVERT_WORKERS=2`) "
        f"| {med(d) * 1000:.0f} | {med(b) * 1000:.0f} | {med(ratios2):.2f}× | {zc / med(cpu['2']):.2f}× "
        f"| {len(onb)} | {len(zb)} | — | — |",
        "",
        f"CPU (user + sys, medians) of the {PAGES}-page whole process: ours {med(cpu['o']):.2f} s (default), "
        f"{med(cpu['1']):.2f} s (one process), {med(cpu['2']):.2f} s (two page workers); zebrafy {zc:.2f} s. "
        f"Least disturbed of {runs} runs (each side's fastest): ours {min(a) * 1000:.0f} ms (default), "
        f"{min(d) * 1000:.0f} ms (two page workers); zebrafy {min(b) * 1000:.0f} ms.",
    ]


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
    ap.add_argument("--no-decode-table", action="store_true", help="only the speed table")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({len(os.sched_getaffinity(0))} cores)")
    print()
    print("\n".join(speed_table(args.runs)))
    print()
    print(f"load average after the speed table: {os.getloadavg()[0]:.1f}")
    print()
    if args.no_decode_table:
        return 0
    print(f"Decode rate of emitted ZPL rendered back by zebrafy + zxing-cpp, {args.values} random WB values:")
    print()
    print("\n".join(decode_table(args.values)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
