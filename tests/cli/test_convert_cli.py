"""``printstation convert`` from the outside: bad input → exit 3 + one error line, usage → 2."""

from __future__ import annotations

import base64
import functools
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from printstation.face.cli import main
from support import cases
from support import labelgen as lg
from support import render_back as rb


def run(capsysbinary, *argv: str) -> tuple[int, bytes, str]:
    code = main(list(argv))
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


@functools.lru_cache(maxsize=1)
def _bomb_png() -> bytes:
    """A 30000×30000 1-bit PNG of a few hundred KB (900 M pixels)."""
    w = h = 30000
    row = b"\x00" + b"\xff" * (w // 8)
    z = zlib.compressobj(1)
    block = row * 1000
    raw = b"".join(z.compress(block) for _ in range(h // 1000)) + z.flush()

    def chunk(t: bytes, d: bytes) -> bytes:
        return len(d).to_bytes(4, "big") + t + d + zlib.crc32(t + d).to_bytes(4, "big")

    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text y="50">&lol3;</text></svg>"""


def _bad_inputs() -> dict[str, tuple[bytes, str]]:
    png = lg.wb_sticker_png("!Bad00001")
    pdf = cases.source("pdf100")[0]
    return {
        "corrupt-base64": (b"data:image/png;base64,iVBORw0KGgo$$$$AAAA", "base64"),
        "truncated-png": (png[: len(png) // 2], "PNG"),
        "truncated-png-base64": (base64.b64encode(png[: len(png) // 3]), "PNG"),
        "truncated-pdf": (pdf[: len(pdf) // 2], "PDF"),
        "svg-external-href": (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
                              b'<image href="file:///etc/passwd" width="10" height="10"/></svg>', "external"),
        "svg-xlink-http": (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                           b'width="9" height="9"><image xlink:href="http://127.0.0.1:9/x.png"/></svg>', "external"),
        "svg-entities": (BILLION_LAUGHS, "SVG"),
        "png-bomb": (_bomb_png(), "pixels"),
        "empty": (b"", "empty"),
        "unknown": (b"GIF? no. just words\n", "unrecognised"),
        "blank-page": (lg.reencode(lg.svg_to_png(b'<svg xmlns="http://www.w3.org/2000/svg" width="50" height="40"/>'), "PNG"), "blank"),
    }


BAD = ["blank-page", "corrupt-base64", "empty", "png-bomb", "svg-entities", "svg-external-href",
       "svg-xlink-http", "truncated-pdf", "truncated-png", "truncated-png-base64", "unknown"]


def test_bad_input_list_is_complete() -> None:
    assert sorted(_bad_inputs()) == BAD


@pytest.mark.parametrize("name", BAD)
def test_bad_input_exits_3_with_one_clear_line(name: str, tmp_path: Path, capsysbinary) -> None:
    data, word = _bad_inputs()[name]
    p = tmp_path / "label.bin"
    p.write_bytes(data)
    code, out, err = run(capsysbinary, "convert", str(p))
    assert code == 3
    assert out == b""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("printstation: error: ")
    assert word.lower() in lines[0].lower()
    assert "Traceback" not in err


def test_zpl_for_a_tspl_printer_exits_3(tmp_path: Path, capsysbinary) -> None:
    p = tmp_path / "wb.zpl"
    p.write_bytes(lg.wb_sticker_zpl("!Zpl00001"))
    code, out, err = run(capsysbinary, "convert", str(p), "--lang", "tspl")
    assert (code, out) == (3, b"")
    assert err == "printstation: error: ZPL cannot be converted for a TSPL printer: fetch the label as SVG or PNG\n"


@pytest.mark.parametrize("argv", [
    ["convert"],
    ["convert", "x.png", "--lang", "pcl"],
    ["convert", "x.png", "--media", "58by40"],
    ["convert", "x.png", "--threshold", "300"],
    ["convert", "x.png", "--copies", "0"],
    ["convert", "x.png", "--rotate", "45"],
    ["convert", "x.png", "--zpl-compress", "lz4"],
    ["convert", "x.png", "--barcodes", "maybe"],
    ["convert", "/nonexistent/label.png"],
])
def test_usage_errors_exit_2(argv: list[str], capsysbinary) -> None:
    with pytest.raises(SystemExit) as exc:
        code, out, err = run(capsysbinary, *argv)
        raise SystemExit(code)
    assert exc.value.code == 2
    out, err = capsysbinary.readouterr()
    assert out == b""


def test_png_pages_go_to_numbered_files(tmp_path: Path, capsysbinary) -> None:
    src = tmp_path / "ali.pdf"
    src.write_bytes(cases.source("pdfmulti")[0])
    code, out, err = run(capsysbinary, "convert", str(src), "--lang", "png", "--media", "100x150",
                         "-o", str(tmp_path / "page.png"))
    assert (code, out, err) == (0, b"", "")
    names = sorted(p.name for p in tmp_path.glob("page*"))
    assert names == ["page-1.png", "page-2.png", "page-3.png"]
    for n, want in zip((1, 2, 3), cases.TRACKING["pdfmulti"]):
        assert rb.decode(rb.png((tmp_path / f"page-{n}.png").read_bytes())[0].image) == [want]
    # One page goes to OUT itself.
    one = tmp_path / "one.png"
    single = tmp_path / "single.pdf"
    single.write_bytes(cases.source("pdf100")[0])
    assert main(["convert", str(single), "--lang", "png", "--media", "100x150", "-o", str(one)]) == 0
    assert one.exists() and not (tmp_path / "one-1.png").exists()


def test_stdin_to_stdout_through_the_console_script() -> None:
    data = base64.b64encode(lg.wb_sticker_svg("!Std10001"))
    proc = subprocess.run([sys.executable, "-m", "printstation", "convert", "-", "--lang", "epl2",
                           "--copies", "2"], input=data, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    backs = rb.epl2(proc.stdout)
    assert len(backs) == 1 and backs[0].copies == 2
    assert rb.decode(backs[0].image) == ["!Std10001"]
    bad = subprocess.run([sys.executable, "-m", "printstation", "convert", "-"], input=b"\x00junk",
                         capture_output=True, timeout=120)
    assert bad.returncode == 3 and bad.stdout == b""
    assert bad.stderr.decode().count("\n") == 1


def test_output_file_is_written_whole(tmp_path: Path, capsysbinary) -> None:
    src = tmp_path / "s.png"
    src.write_bytes(lg.wb_sticker_png("!Out00001"))
    out = tmp_path / "s.zpl"
    code, stdout, _ = run(capsysbinary, "convert", str(src), "-o", str(out), "--dpi", "300", "--media", "40x30")
    assert code == 0 and stdout == b""
    back = rb.zpl_raster(out.read_bytes())[0]
    assert (back.header["PW"], back.header["LL"]) == (472, 354)
    assert rb.decode(back.image) == ["!Out00001"]
    assert not list(tmp_path.glob("*.tmp"))


def test_unwritable_output_is_one_line_usage_error(tmp_path, capsys):
    from printstation.face.cli import main

    src = tmp_path / "s.svg"
    src.write_bytes((Path(__file__).resolve().parents[1] / "data" / "demo-sticker.svg").read_bytes())
    code = main(["convert", str(src), "-o", str(tmp_path / "missing" / "out.zpl")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("printstation: error: cannot write ")


def test_zpl_with_a_bom_passes_through_without_it(tmp_path: Path, capsysbinary) -> None:
    src = lg.wb_sticker_zpl("!Bom00001")
    p = tmp_path / "notepad.zpl"
    p.write_bytes(b"\xef\xbb\xbf" + src)
    code, out, err = run(capsysbinary, "convert", str(p))
    assert (code, err) == (0, "")
    assert out == b"^XA^PW464^LL320" + src[3:]  # byte for byte, the line end after ^XZ too


def test_zpl_layout_larger_than_the_media_exits_3(tmp_path: Path, capsysbinary) -> None:
    p = tmp_path / "wb58x40.zpl"
    p.write_bytes(lg.wb_sticker_zpl("!Big00001", size=(58, 40)))
    code, out, err = run(capsysbinary, "convert", str(p), "--media", "40x30")
    assert (code, out) == (3, b"")
    assert err == ("printstation: error: label layout is 58×40 mm, media is 40×30 mm: "
                   "fetch the sticker in 40×30\n")
