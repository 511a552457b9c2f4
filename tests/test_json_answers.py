"""A marketplace's JSON answer is a label input: every sticker in it prints, in order.

WB answers ``{"stickers": [{"orderId", "partA", "partB", "barcode", "file": <base64>}, …]}`` (base64
for every type, ZPL and SVG included); Ozon's package-label answer can be
``{"content_type", "file_name", "file_content": <base64 PDF>}``. Saved as it came (``curl … >
stickers.json``) and dropped in the hot folder or given to ``printstation convert``, it was refused
as "unrecognised label format: starts with '{"stickers": …'"."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from printstation import BadInput, Media, PrinterSpec, convert_labels
from support import labelgen as lg
from support.render_back import decode, render_back

VALUES = ["!Json1aaaa", "!Json2bbbb", "!Json3cccc"]


def _wb_answer(kind: str) -> bytes:
    make = {"png": lg.wb_sticker_png, "svg": lg.wb_sticker_svg, "zpl": lg.wb_sticker_zpl}[kind]
    stickers = [{"orderId": 100 + i, "partA": 1234567, "partB": 8901 + i, "barcode": v,
                 "file": base64.b64encode(make(v, size=(58, 40))).decode()} for i, v in enumerate(VALUES)]
    return json.dumps({"stickers": stickers}, indent=1).encode()


@pytest.mark.parametrize("kind", ["png", "svg"])
@pytest.mark.parametrize("lang", ["zpl", "tspl", "escpos", "epl2"])
def test_every_sticker_of_a_wb_answer_prints_in_order(kind: str, lang: str) -> None:
    labels = convert_labels(_wb_answer(kind), PrinterSpec(lang=lang, media=Media(58, 40)))
    assert [label.page for label in labels] == [0, 1, 2]
    assert [decode(render_back(lang, label.data, 203)[0].image) for label in labels] == [[v] for v in VALUES]


def test_zpl_stickers_of_a_wb_answer_pass_through() -> None:
    labels = convert_labels(_wb_answer("zpl"), PrinterSpec(media=Media(58, 40)))
    assert [label.data for label in labels] == [
        lg.wb_sticker_zpl(v, size=(58, 40)).replace(b"^XA", b"^XA^PW464^LL320", 1) for v in VALUES]


def test_an_ozon_json_answer_prints_its_pdf_pages() -> None:
    pdf = lg.pdf_label(["RU100000001CN", "RU100000002CN"], size_mm=(75, 120))
    answer = json.dumps({"content_type": "application/pdf", "file_name": "labels.pdf",
                         "file_content": base64.b64encode(pdf).decode()}).encode()
    labels = convert_labels(answer, PrinterSpec(lang="tspl", media=Media(75, 120)))
    assert [decode(render_back("tspl", label.data, 203)[0].image) for label in labels] == [
        ["RU100000001CN"], ["RU100000002CN"]]


@pytest.mark.parametrize("answer,message", [
    (b'{"stickers": []}', "JSON answer without a label"),
    (b'{"data": {"label_url": "https://example.invalid/x.pdf"}}', "JSON answer without a label"),
    (b'{"stickers": [{"file": "not base64!"}]}', "sticker 1 of the JSON answer: unrecognised label format"),
    (b'{"stickers": [', "broken JSON"),
    (b"[1, 2, 3]", "JSON answer without a label"),
])
def test_a_json_answer_without_a_printable_sticker_is_refused(answer: bytes, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        convert_labels(answer, PrinterSpec())


def test_cli_writes_one_png_per_sticker(tmp_path: Path) -> None:
    src = tmp_path / "stickers.json"
    src.write_bytes(_wb_answer("png"))
    proc = subprocess.run([sys.executable, "-m", "printstation", "convert", str(src), "--lang", "png",
                           "-o", str(tmp_path / "out.png")], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.glob("out-*.png")) == ["out-1.png", "out-2.png", "out-3.png"]
