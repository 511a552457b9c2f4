"""Config loading: the embedded default, the documented example, and key-path errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from printstation.face import config
from printstation.errors import ConfigError
from printstation.schema import Section, convert

REPO = Path(__file__).resolve().parents[2]


def test_embedded_default_is_the_documented_one():
    c = config.load()
    assert [p.name for p in c.printers] == ["default"]
    p = c.printers[0]
    assert (p.uri, p.spec.lang, str(p.spec.media), p.spec.dpi) == ("dir://./var/out", "zpl", "58x40", 203)
    assert c.data_dir == Path("./var")
    assert c.hotfolder.path == Path("./var/hot") and c.hotfolder.enabled
    assert (c.api.host, c.api.port) == ("127.0.0.1", 8631)
    assert c.default_printer == "default"


def test_example_file_loads_with_every_section():
    c = config.load(REPO / "config" / "printstation.example.toml")
    assert [p.name for p in c.printers] == ["zebra", "tsc", "files"]
    zebra = c.printer("zebra")
    assert zebra.spec.darkness == 15 and zebra.status_poll == 3.0 and zebra.on_interrupted == "hold"
    assert c.printer("files").on_interrupted == "resend"
    assert c.printer("tsc").spec.lang == "tspl" and str(c.printer("tsc").spec.media) == "100x150"
    assert c.default_printer == "zebra"
    assert c.scanners[0].printer == "zebra" and c.rules[0].action == "pause"
    assert c.hotfolder.settle_ms == 500 and c.hotfolder.keep_days == 14
    assert c.markets is not None


def _load(text: str) -> config.Config:
    return config.loads(text)


PRINTER = '[[printers]]\nname = "p"\nuri = "dir:///tmp/x"\n'


@pytest.mark.parametrize("text, message", [
    (PRINTER + '[[printers]]\nname = "q"\nuri = "dir:///tmp/y"\nmedia = "abc"\n',
     "printers[1].media: bad media size 'abc'"),
    (PRINTER + "colour = 1\n", "printers[0].colour: unknown key"),
    (PRINTER + 'lang = "pcl"\n', "printers[0].lang: bad value 'pcl'"),
    (PRINTER + "dpi = 5\n", "printers[0].dpi: 5 out of range"),
    (PRINTER + 'dpi = "203"\n', "printers[0].dpi: expected an integer"),
    (PRINTER + 'on_interrupted = "maybe"\n', "printers[0].on_interrupted: bad value 'maybe'"),
    (PRINTER + "offset = [1]\n", "printers[0].offset: expected [x, y]"),
    (PRINTER + "darkness = 99\n", "printers[0].darkness: 99 out of range"),
    ('[[printers]]\nname = "p"\nuri = "lpt://x"\n', "printers[0].uri: bad printer URI"),
    ('[[printers]]\nname = "a b"\nuri = "dir:///x"\n', "printers[0].name: bad printer name"),
    ('[[printers]]\nuri = "dir:///x"\n', "printers[0].name: required key is missing"),
    (PRINTER + PRINTER, "printers[1].name: duplicate printer name 'p'"),
    ("[station]\n", "printers: at least one"),
    (PRINTER + "[nonsense]\n", "nonsense: unknown section"),
    (PRINTER + "[station]\ndata = 1\n", "station.data: unknown key"),
    (PRINTER + '[station]\ndefault_printer = "zz"\n', "station.default_printer: no printer named 'zz'"),
    (PRINTER + '[api]\nlisten = "0.0.0.0:8631"\n', "api.listen: refusing non-loopback address"),
    (PRINTER + '[api]\nlisten = "nope"\n', "api.listen: bad listen address"),
    (PRINTER + '[barcodes]\nverify = "maybe"\n', "barcodes.verify: bad value"),
    (PRINTER + "[hotfolder]\nsettle_ms = -1\n", "hotfolder.settle_ms: -1 out of range"),
    (PRINTER + '[[scanners]]\ndevice = "/dev/x"\nprinter = "zz"\n', "scanners[0].printer: no printer named 'zz'"),
    (PRINTER + '[[rules]]\nmatch = "("\naction = "x"\n', "rules[0].match: bad regular expression"),
    (PRINTER + '[[rules]]\nmatch = "x"\n', "rules[0].action: required key is missing"),
    ("[[printers]\n", "bad TOML"),
])
def test_bad_values_name_the_key_path(text, message):
    with pytest.raises(ConfigError) as err:
        _load(text)
    assert message in str(err.value)


def test_barcode_options_map_onto_the_printer_spec():
    c = _load(PRINTER + '[barcodes]\nverify = "warn"\nredraw = false\n')
    assert c.printers[0].spec.verify == "warn" and c.printers[0].spec.barcodes == "keep"


def test_api_token_allows_a_lan_address_and_stays_out_of_repr(tmp_path):
    tok = tmp_path / "token"
    tok.write_text("s3cret-token-0123456789\n")
    c = _load(PRINTER + f'[api]\nlisten = "0.0.0.0:9000"\ntoken_file = "{tok}"\n')
    assert c.api.token == "s3cret-token-0123456789" and c.api.port == 9000
    assert "s3cret" not in repr(c)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        config.load(tmp_path / "missing.toml")
    f = tmp_path / "c.toml"
    f.write_text(PRINTER + "copies = 0\n")
    with pytest.raises(ConfigError, match=r"c\.toml: printers\[0\]\.copies: 0 out of range"):
        config.load(f)


class Extra(Section):
    speed: int


def test_sections_are_pluggable():
    seen = []

    def parse_extra(value, path):
        seen.append(path)
        return convert(value, Extra, path).speed

    config.register_section("extra", parse_extra)
    try:
        c = _load(PRINTER + "[extra]\nspeed = 3\n")
        assert c.sections["extra"] == 3 and seen == ["extra"]
        with pytest.raises(ConfigError, match="extra.slow: unknown key"):
            _load(PRINTER + "[extra]\nslow = 3\n")
    finally:
        config.unregister_section("extra")
