#!/usr/bin/env python3
"""Write a fixture set of synthetic marketplace labels for humans and benchmarks.

    python tests/make_fixtures.py [OUTDIR]      (default: tests/data/fixtures/, git-ignored)

WB-like stickers (Code128 + partA/partB) as SVG and PNG at 580×400 and 400×300 px, WB ZPL,
base64 versions (as WB sends them), QR supply/box stickers, Ali-like 100×150 mm and A4-ish PDFs
and a multipage PDF. Tests do not read these files: they generate the same labels in memory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import labelgen as lg  # noqa: E402


def build() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for size, tag in (((58, 40), "580x400"), ((40, 30), "400x300")):
        value = "!WbSt" + tag.replace("x", "")
        files[f"wb-sticker-{tag}.svg"] = lg.wb_sticker_svg(value, size=size)
        files[f"wb-sticker-{tag}.png"] = lg.wb_sticker_png(value, size=size)
        files[f"wb-sticker-{tag}.zpl"] = lg.wb_sticker_zpl(value, size=size)
    files["wb-sticker-vertical.svg"] = lg.wb_sticker_svg_vertical("!WbVert0001")
    files["wb-sticker-580x400.jpg"] = lg.wb_sticker_jpeg("!WbJpeg0001")
    files["wb-two-barcodes.svg"] = lg.two_barcode_svg("!WbTwo00001", "WB-GI-12345678")
    files["wb-supply-qr.svg"] = lg.qr_svg("WB-GI-12345678")
    files["wb-supply-qr.png"] = lg.qr_png("WB-GI-12345678")
    files["wb-box-qr.png"] = lg.qr_png("$WBMP:1:123:1234567")
    files["wb-box-qr.bmp"] = lg.qr_bmp("$WBMP:1:123:1234567")
    files["ali-100x150.pdf"] = lg.pdf_label("RU123456789CN")
    files["ali-a4.pdf"] = lg.pdf_label("RA987654321CN", a4_layout=True)
    files["ali-multipage.pdf"] = lg.pdf_label(["RA000000001CN", "RA000000002CN", "RA000000003CN"])
    for name in list(files):
        if name.startswith("wb-") and not name.endswith((".jpg", ".bmp")):
            files[name + ".b64"] = lg.b64(files[name])
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", default=str(Path(__file__).resolve().parent / "data" / "fixtures"))
    args = ap.parse_args(argv)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    files = build()
    for name, data in sorted(files.items()):
        (out / name).write_bytes(data)
    print(f"wrote {len(files)} fixtures to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
