"""ZPL passthrough checks the CRC of base64 graphics (``:Z64:``/``:B64:`` in ``^GF``, ``~DG``,
``~DY``): a damaged one is refused with one line (a failed job, exit 3), an intact one passes
byte for byte. Real corpus labels carry Z64; the damage is made here."""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from pathlib import Path

import httpx
import pytest

from printstation import BadInput, Media, PrinterSpec
from printstation.face.cli import main
from printstation.lang.zpl import passthrough
from support.daemon_harness import running, wait_until, write_config

CORPUS = Path(__file__).resolve().parent.parent / "data" / "zpl-corpus"
Z64_FIELD = re.compile(rb":Z64:([A-Za-z0-9+/=]+):([0-9A-F]{4})")
SPEC = PrinterSpec(media=Media(102, 152))


def corpus_z64() -> list[Path]:
    """Every corpus label that carries a ``:Z64:`` field with a CRC (at least one does)."""
    found = [p for p in sorted(CORPUS.glob("*.zpl")) if Z64_FIELD.search(p.read_bytes())]
    assert found
    return found


def crc(b64: bytes) -> str:
    return f"{binascii.crc_hqx(b64, 0):04X}"


def wrong_crc(zpl: bytes) -> bytes:
    """The label with the CRC of its first Z64 field changed (data intact)."""
    m = Z64_FIELD.search(zpl)
    assert m is not None
    bad = f"{(int(m.group(2), 16) ^ 0x0101):04X}".encode()
    return zpl[: m.start(2)] + bad + zpl[m.end(2):]


def damaged_data(zpl: bytes) -> bytes:
    """One base64 character of the first Z64 field changed (the CRC as it was)."""
    m = Z64_FIELD.search(zpl)
    assert m is not None
    i = m.start(1) + len(m.group(1)) // 2
    return zpl[:i] + (b"B" if zpl[i:i + 1] != b"B" else b"C") + zpl[i + 1:]


def test_the_crc_is_the_one_zebra_computes():
    """CRC-16/XMODEM (init 0) of the base64 text: a label from the field (BinaryKits.Zpl
    discussion #178) ends ``:D069`` for its data; CRC-16/CCITT-FALSE (init 0xFFFF) is wrong."""
    assert binascii.crc_hqx(b"123456789", 0) == 0x31C3
    b64 = base64.b64encode(zlib.compress(bytes(range(256)) * 4))
    xmodem, false = binascii.crc_hqx(b64, 0), binascii.crc_hqx(b64, 0xFFFF)
    assert xmodem != false
    label = b"^XA^FO0,0^GFA,1024,1024,32,:Z64:" + b64 + b":%04X^FS^XZ"
    assert passthrough(label % xmodem, SPEC)
    with pytest.raises(BadInput, match="fails its CRC check"):
        passthrough(label % false, SPEC)


@pytest.mark.parametrize("path", corpus_z64(), ids=lambda p: p.stem)
def test_a_corpus_label_with_a_right_crc_passes_byte_for_byte(path):
    zpl = path.read_bytes()
    out = b"".join(passthrough(zpl, SPEC))
    assert all(m.group(0) in out for m in Z64_FIELD.finditer(zpl))


@pytest.mark.parametrize("path", corpus_z64(), ids=lambda p: p.stem)
@pytest.mark.parametrize("damage", [wrong_crc, damaged_data])
def test_a_corpus_label_with_a_broken_crc_is_refused(path, damage):
    zpl = damage(path.read_bytes())
    with pytest.raises(BadInput, match=r"^ZPL label 1: \^GF :Z64: graphic fails its CRC check") as e:
        passthrough(zpl, SPEC)
    assert "\n" not in str(e.value)


def b64_graphic(kind: str, crc_text: str | None = None, wrap: bool = False) -> tuple[bytes, str]:
    """``(data, crc)`` of a small 16×16 picture as base64 graphic data."""
    raw = bytes([0xF0, 0x0F] * 16)
    b64 = base64.b64encode(zlib.compress(raw) if kind == "Z64" else raw)
    good = crc(b64)
    text = b64.decode()
    if wrap:
        text = text[:10] + "\r\n" + text[10:]
    return f":{kind}:{text}:{crc_text if crc_text is not None else good}".encode(), good


@pytest.mark.parametrize("kind", ["Z64", "B64"])
def test_gf_fields_with_and_without_a_crc(kind):
    good, value = b64_graphic(kind)
    ok = [good, b64_graphic(kind, value.lower())[0],  # the CRC in lower case
          b64_graphic(kind, wrap=True)[0],  # a line break in the data (the printer ignores it)
          good[: good.rfind(b":")]]  # no CRC at all: nothing to compare
    for data in ok:
        label = b"^XA^FO10,10^GFA,32,32,2," + data + b"\r\n^FS^XZ"
        assert b"".join(passthrough(label, SPEC)).count(data) == 1
    bad_value = f"{int(value, 16) ^ 1:04X}"
    for data, why in ((b64_graphic(kind, bad_value)[0], "fails its CRC check"),
                      (b64_graphic(kind, "XYZW")[0], "has a bad CRC 'XYZW'")):
        with pytest.raises(BadInput, match=rf"^ZPL label 2: \^GF :{kind}: graphic {why}"):
            passthrough(b"^XA^FDfirst^FS^XZ\n^XA^FO10,10^GFA,32,32,2," + data + b"^FS^XZ", SPEC)


def test_downloaded_graphics_are_checked_too():
    data, value = b64_graphic("Z64")
    bad = data[:-4] + f"{int(value, 16) ^ 0x8000:04X}".encode()
    for cmd in (b"~DGR:LOGO.GRF,32,2,", b"~DYR:LOGO,A,G,32,2,"):
        use = b"^XA^FO0,0^XGR:LOGO.GRF,1,1^FS^XZ\n"
        assert passthrough(cmd + data + b"\n" + use, SPEC)
        with pytest.raises(BadInput, match=r"~D[GY] :Z64: graphic fails its CRC check"):
            passthrough(cmd + bad + b"\n" + use, SPEC)
        with pytest.raises(BadInput, match=r"^ZPL after the last \^XZ: ~D[GY] :Z64:"):
            passthrough(use + cmd + bad + b"\n", SPEC)


def test_field_data_that_looks_like_z64_is_only_text():
    label = b"^XA^FO10,10^A0N,20,20^FD:Z64:abc:1234^FS^XZ"
    assert passthrough(label, SPEC)


def test_convert_exits_3_and_the_daemon_fails_the_job(tmp_path, capsysbinary):
    src = next(iter(corpus_z64()))
    bad = tmp_path / "bad.zpl"
    bad.write_bytes(wrong_crc(src.read_bytes()))
    assert main(["convert", str(bad), "--media", "102x152", "-o", str(tmp_path / "out.zpl")]) == 3
    err = capsysbinary.readouterr().err.decode().strip()
    assert "fails its CRC check" in err and len(err.splitlines()) == 1
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
        {"name": "z", "uri": f"dir://{tmp_path / 'out'}", "lang": "zpl", "media": "102x152",
         "status_poll": 0}], api={"unix_socket": False})
    with running(cfg) as d:
        with httpx.Client(base_url=d.api.url, timeout=30) as http:
            ids = [http.post("/jobs", params={"printer": "z"}, content=c).json()["id"]
                   for c in (bad.read_bytes(), src.read_bytes())]
            wait_until(lambda: all(http.get(f"/jobs/{i}").json()["state"] in ("done", "failed") for i in ids), 30)
            jobs = [http.get(f"/jobs/{i}").json() for i in ids]
    assert jobs[0]["state"] == "failed" and "fails its CRC check" in jobs[0]["error"]
    assert jobs[1]["state"] == "done"
    assert (tmp_path / "out" / f"{ids[1]}.zpl").read_bytes().count(Z64_FIELD.search(src.read_bytes()).group(0)) == 1
