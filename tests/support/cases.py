"""Shared, cached test inputs for the conversion tests (generated in memory, once per session)."""

from __future__ import annotations

from functools import lru_cache

from . import labelgen as lg

#: Source values: WB Code128 sticker values, WB QR codes (supply, box), Ali tracking numbers.
STICKER = {"zpl": "!Zp4kQ81x", "svg": "!Sv9Tb27m", "png": "!Pn3Hc55w", "jpeg": "!Jp8Ld02r"}
SUPPLY_QR = "WB-GI-92837465"
BOX_QR = "$WBMP:1:123:1234567"
TRACKING = {"pdf100": "RU100150777CN", "pdfa4": "RA004223195CN",
            "pdfmulti": ("RA111222333CN", "RA444555666CN", "RA777888999CN")}

MEDIA = ((58, 40), (40, 30), (100, 150))
DPIS = (203, 300)
LANGS = ("zpl", "tspl", "escpos", "epl2", "png")
KINDS = ("zpl", "svg", "png", "jpeg", "bmp", "pdf100", "pdfa4", "pdfmulti")


@lru_cache(maxsize=None)
def source(kind: str) -> tuple[bytes, tuple[tuple[str, ...], ...]]:
    """(input bytes, expected barcode texts per page) for one input kind of the matrix."""
    if kind == "zpl":
        return lg.wb_sticker_zpl(STICKER["zpl"]), ((STICKER["zpl"],),)
    if kind == "svg":  # the 40×30 WB sticker: 0.2 mm modules, the hard case at 203 dpi
        return lg.wb_sticker_svg(STICKER["svg"], size=(40, 30)), ((STICKER["svg"],),)
    if kind == "png":
        return lg.wb_sticker_png(STICKER["png"], size=(58, 40)), ((STICKER["png"],),)
    if kind == "jpeg":
        return lg.wb_sticker_jpeg(STICKER["jpeg"], size=(40, 30)), ((STICKER["jpeg"],),)
    if kind == "bmp":
        return lg.qr_bmp(BOX_QR), ((BOX_QR,),)
    if kind == "pdf100":
        return lg.pdf_label(TRACKING["pdf100"]), ((TRACKING["pdf100"],),)
    if kind == "pdfa4":
        return lg.pdf_label(TRACKING["pdfa4"], a4_layout=True), ((TRACKING["pdfa4"],),)
    if kind == "pdfmulti":
        t = TRACKING["pdfmulti"]
        return lg.pdf_label(list(t)), tuple((v,) for v in t)
    raise KeyError(kind)


@lru_cache(maxsize=None)
def wrapped(kind: str, wrap: str) -> bytes:
    data = source(kind)[0]
    return lg.b64(data) if wrap == "b64" else data


@lru_cache(maxsize=None)
def zpl_for(media: tuple[int, int], wrap: str = "raw") -> bytes:
    """WB ZPL laid out for the media (WB makes ZPL per sticker size; ZPL cannot be rescaled).

    100×150 media gets the 58×40 sticker (it fits)."""
    size = media if media in ((58, 40), (40, 30)) else (58, 40)
    data = lg.wb_sticker_zpl(STICKER["zpl"], size=size)
    return lg.b64(data) if wrap == "b64" else data
