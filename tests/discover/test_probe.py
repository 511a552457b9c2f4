"""Probing fake printers on loopback TCP and on a pty: each answers only its own language."""

from __future__ import annotations

import json
import socket
import tomllib

import pytest

from printstation.face import config as cfgmod
from printstation.face.cli import main
from printstation.discover import blocks
from printstation.errors import UsageError
from printstation.discover.probe import Identity, NO_ANSWER, probe_uri, serial_uri, tcp_uri, unreadable
from printstation.lang.epl2 import parse_ui
from printstation.lang.zpl_identify import parse_hh, parse_hi
from support.fake_printers import PtyPrinter, TcpPrinter, hh_answer

T = 0.5  # per-probe timeout for printers that answer (generous under load); silent ones use less

EXPECTED = {
    "zebra": dict(lang="zpl", model="ZD421-203dpi", firmware="V84.20.18Z", dpi=203, media="100x150"),
    "zebra300": dict(lang="zpl", model="ZT411-300dpi", firmware="V85.20.19Z", dpi=300, media="100x150"),
    "tsc": dict(lang="tspl", model="TE200", firmware=None, dpi=203, media=None),
    "escpos": dict(lang="escpos", model="ESC/POS printer (model id 0x20)", firmware="version id 0x64",
                   dpi=None, media=None),
    "epson": dict(lang="escpos", model="TM-T20III", firmware="1.01 ESC/POS", dpi=None, media=None),
    "epl2": dict(lang="epl2", model="EPL2 printer (UKQ1935HLU)", firmware="UKQ1935HLU V4.29", dpi=None,
                 media=None),
}
#: Queries each printer must have seen, in order: the probes stop at the first answer.
QUERIES = {
    "zebra": [b"~HI", b"^HH"],
    "tsc": [b"~!T", b"~!I"],
    "escpos": [b"\x1dI\x01", b"\x1dI\x02", b"\x1dI\x03"],
    "epson": [b"\x1dI\x01", b"\x1dI\x02", b"\x1dI\x03", b"\x1dIC", b"\x1dIB", b"\x1dIA"],
}


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_tcp_probe_identifies_each_printer(model):
    with TcpPrinter(model) as p:
        ident = probe_uri(f"tcp://{p.address}", T)
    assert {k: v for k, v in ident.to_json().items() if k != "uri"} == EXPECTED[model]
    assert ident.uri == f"tcp://{p.address}" and ident.problem is None
    if model in QUERIES:
        assert p.printer.queries == QUERIES[model]
    # nothing that prints or changes a setting went out
    sent = bytes(p.printer.received)
    for bad in (b"^XA^FO", b"PRINT", b"~!D", b"~JR", b"^JU", b"\x1dV", b"~WC"):
        assert bad not in sent
    # an ESC/POS printer gets its buffer cleared (the earlier probes' text must not print), last
    assert sent.endswith(b"\x1b@") == (model in ("escpos", "epson"))
    assert not p.printer.dump_mode


def test_zebra_stops_before_other_languages():
    with TcpPrinter("zebra") as p:
        probe_uri(f"tcp://{p.address}", T)
    assert b"~!T" not in p.printer.received and b"\x1dI" not in p.printer.received
    assert b"UI" not in p.printer.received


def test_silent_port_and_closed_port():
    with TcpPrinter("silent") as p:
        ident = probe_uri(f"tcp://{p.address}", 0.1)
    assert ident.lang is None and ident.problem == NO_ANSWER
    # every language was tried, in order
    sent = bytes(p.printer.received)
    order = [sent.find(q) for q in (b"~HI", b"~!T", b"\x1dI\x01", b"\r\nUI\r\n")]
    assert all(i >= 0 for i in order) and order == sorted(order)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    ident = probe_uri(f"tcp://127.0.0.1:{port}", 0.1)
    assert ident.lang is None and ident.problem.startswith("cannot connect: ")
    assert "refused" in ident.problem


@pytest.mark.parametrize("model", ["echo", "chatty"])
def test_a_device_that_is_no_printer_gets_no_language(model):
    with TcpPrinter(model) as p:
        ident = probe_uri(f"tcp://{p.address}", 0.1)
    assert ident.lang is None and ident.problem == unreadable() == \
        "something answered, but not as a ZPL, TSPL, ESC/POS or EPL2 printer"
    assert "[[printers]]" not in blocks.render_text([ident])


@pytest.mark.parametrize("model", ["zebra", "tsc", "epson", "epl2"])
def test_serial_probe_over_a_pty(model):
    with PtyPrinter(model) as p:
        ident = probe_uri(serial_uri(p.path), T)
    assert ident.uri == f"serial://{p.path}"
    assert {k: v for k, v in ident.to_json().items() if k != "uri"} == EXPECTED[model]


def test_serial_silent_pty():
    with PtyPrinter("silent") as p:
        ident = probe_uri(serial_uri(p.path + "?baud=19200"), 0.1)
    assert ident.lang is None and ident.problem == NO_ANSWER


def test_parsers_on_real_answer_shapes():
    assert parse_hi(b"\x02GK420d-200dpi,V61.17.17Z,8,2104KB\x03\r\n")["dpi"] == 203
    assert parse_hi(b"\x02ZT410-300dpi ZPL,V75.20.01Z,12,8192KB\x03")["model"] == "ZT410-300dpi"
    assert parse_hi(b"\x02105SL,V60.13.0.12,12,4096KB,CUTTER\x03")["dpi"] == 300
    assert parse_hi(b"\x02S4M,V53.17.5Z,6,2048KB\x03")["dpi"] == 152
    assert parse_hi(b"\x02garbage\x03") is None and parse_hi(b"") is None
    assert parse_hi(b"\x02X,V1,7,1KB\x03") is None  # 7 dots/mm is no Zebra head
    conf = parse_hh(hh_answer(832, 1218))
    assert conf["PRINT WIDTH"] == "832" and conf["LABEL LENGTH"] == "1218" and conf["DARKNESS"] == "+10.0"
    assert parse_ui(b"UKQ1935HLU     V4.29,8,437,001\r\n")["firmware"] == "UKQ1935HLU V4.29"
    assert parse_ui(b"UKQ1935H U UPS V4.14A,8,001,001\r\n")["code_page"] == "001"
    assert parse_ui(b"\x12\x12") is None


def test_target_syntax():
    assert tcp_uri("10.0.0.5") == "tcp://10.0.0.5:9100"
    assert tcp_uri("printer.local:6101") == "tcp://printer.local:6101"
    assert tcp_uri("[fe80::1]:9100") == "tcp://[fe80::1]:9100"
    assert tcp_uri("tcp://h:9101") == "tcp://h:9101"
    for bad, why in (("h:99999", "port out of range"), ("a b", "expected HOST"), ("h:x", "expected HOST"),
                     ("", "expected HOST")):
        with pytest.raises(UsageError, match=f"bad --tcp '{bad}': {why}"):
            tcp_uri(bad)
    assert serial_uri("/dev/ttyUSB0") == "serial:///dev/ttyUSB0"
    with pytest.raises(UsageError, match="expected a device path"):
        serial_uri("ttyUSB0")


@pytest.mark.parametrize("argv, words", [
    (["--tcp", "127.0.0.1:99999"], "bad --tcp '127.0.0.1:99999': port out of range"),
    (["--tcp", "a b"], "bad --tcp 'a b': expected HOST[:PORT]"),
    (["--serial", "ttyUSB0"], "bad --serial 'ttyUSB0'"),
])
def test_bad_target_is_usage_exit_2(argv, words, capsys):
    """A malformed --tcp/--serial is bad usage (exit 2, one line), not "no printer found"."""
    assert main(["printers", "discover", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("printstation: error: ") and words in err and err.count("\n") == 1


# -- the command --------------------------------------------------------------------------------


def _discover(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["printers", "discover", "--timeout", str(T), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_discover_text_blocks_paste_into_a_config(capsys, tmp_path):
    with TcpPrinter("zebra") as z, TcpPrinter("tsc") as t, TcpPrinter("epson") as e, \
            TcpPrinter("silent") as s, PtyPrinter("epl2") as pty:
        code, out, _ = _discover(capsys, "--tcp", z.address, "--tcp", t.address, "--tcp", e.address,
                                 "--tcp", s.address, "--serial", pty.path)
    assert code == 0
    doc = tomllib.loads(out)
    printers = doc["printers"]
    assert [(p["name"], p["lang"]) for p in printers] == [("zd421", "zpl"), ("te200", "tspl"),
                                                          ("tm-t20iii", "escpos"), ("epl2", "epl2")]
    assert printers[0] == {"name": "zd421", "uri": f"tcp://{z.address}", "lang": "zpl", "dpi": 203,
                           "media": "100x150"}
    assert "media" not in printers[1] and printers[1]["dpi"] == 203
    assert "dpi" not in printers[2]  # unknown: left commented
    assert f"# tcp://{s.address}: no printer answered" in out
    assert "# Zebra" not in out and "# ZD421-203dpi, firmware V84.20.18Z (answered ZPL ~HI + ^HH)" in out
    assert '# media = "58x40"' in out
    # the silent port never became a block; the whole output is a valid config
    assert s.address not in json.dumps(printers)
    cfg_text = out.replace("# printstation", "# x")
    cfg = cfgmod.loads(cfg_text)
    assert [p.name for p in cfg.printers] == ["zd421", "te200", "tm-t20iii", "epl2"]


def test_discover_json(capsys):
    with TcpPrinter("zebra300") as z, TcpPrinter("silent") as s:
        code, out, _ = _discover(capsys, "--tcp", z.address, "--tcp", s.address, "--json")
    assert code == 0
    got = json.loads(out)
    assert got == [
        {"uri": f"tcp://{z.address}", "lang": "zpl", "model": "ZT411-300dpi", "firmware": "V85.20.19Z",
         "dpi": 300, "media": "100x150"},
        {"uri": f"tcp://{s.address}", "lang": None, "model": None, "firmware": None, "dpi": None,
         "media": None},
    ]


def test_discover_nothing_found_exits_1(capsys):
    with TcpPrinter("silent") as s:
        code = main(["printers", "discover", "--timeout", "0.1", "--tcp", s.address])
        out = capsys.readouterr().out
    assert code == 1 and "no printer answered" in out and "[[printers]]" not in out


def test_names_are_unique():
    a = Identity(uri="tcp://a:9100", lang="zpl", model="ZD421-203dpi")
    b = Identity(uri="tcp://b:9100", lang="zpl", model="ZTC ZD421-203dpi ZPL")
    c = Identity(uri="tcp://c:9100", lang="escpos", model="ESC/POS printer (model id 0x20)")
    assert blocks.assign_names([a, b, c], taken=["ZD421"]) == {0: "zd421-2", 1: "zd421-3", 2: "receipt"}
    evil = Identity(uri='tcp://x:9100', lang="zpl", model='"]\n[api]\nlisten="0.0.0.0:1')
    text = blocks.render_text([evil])
    doc = tomllib.loads(text)
    assert set(doc) == {"printers"} and blocks.valid_name(doc["printers"][0]["name"])


# -- doctor -----------------------------------------------------------------------------------


def _doctor_config(tmp_path, printers: list[dict]) -> "Path":
    from support.daemon_harness import write_config

    return write_config(tmp_path / "c.toml", tmp_path / "data", printers, listen="127.0.0.1:0")


def test_doctor_says_when_the_printer_is_not_what_the_config_says(tmp_path):
    from printstation.face import doctor

    with TcpPrinter("zebra") as z, TcpPrinter("zebra300") as z3, TcpPrinter("tsc") as t, \
            PtyPrinter("epson") as pty:
        cfg = _doctor_config(tmp_path, [
            {"name": "right", "uri": f"tcp://{z.address}", "lang": "zpl", "dpi": 203, "media": "100x150"},
            {"name": "wrongdpi", "uri": f"tcp://{z3.address}", "lang": "zpl", "dpi": 203},
            {"name": "wronglang", "uri": f"tcp://{t.address}", "lang": "zpl", "dpi": 203},
            {"name": "receipt", "uri": f"serial://{pty.path}", "lang": "escpos", "media": "80x60"},
        ])
        checks = doctor.run_checks(cfg, timeout=0.5)
        rows = {c.name: c for c in checks}
        # the right printer only ever heard ZPL
        assert b"~!T" not in z.printer.received and b"\x1dI" not in z.printer.received
        assert b"~HI" not in pty.printer.received  # configured ESC/POS: asked in ESC/POS first
    assert rows["printer right model"].ok is True
    assert rows["printer right model"].detail.startswith("answers as ZPL 203 dpi (ZD421-203dpi")
    bad = rows["printer wrongdpi model"]
    assert bad.ok is False and bad.detail.startswith("printer answers as ZPL 300 dpi, config says 203 dpi")
    assert "dpi = 300" in bad.hint
    lang = rows["printer wronglang model"]
    assert lang.ok is False and lang.detail.startswith("printer answers as TSPL 203 dpi, config says ZPL")
    assert 'lang = "tspl"' in lang.hint
    # its status row (silent to ~HS) points at the language, not at media or status_poll = 0
    status = rows["printer wronglang"]
    assert status.ok is False and status.hint.startswith("the printer does not speak ZPL (see the model row): "
                                                         'set lang = "tspl"'), status.hint
    assert "status_poll" not in status.hint and "load media" not in status.hint
    assert rows["printer receipt model"].ok is True
    table = doctor.render(checks)
    assert "printer answers as ZPL 300 dpi, config says 203 dpi" in table
    assert doctor.exit_code(checks) == 1


def test_doctor_no_row_for_a_silent_or_dead_printer(tmp_path):
    from printstation.face import doctor

    with TcpPrinter("silent") as s:
        cfg = _doctor_config(tmp_path, [
            {"name": "mute", "uri": f"tcp://{s.address}", "lang": "zpl"},
            {"name": "dead", "uri": "tcp://127.0.0.1:1", "lang": "zpl"},
        ])
        checks = doctor.run_checks(cfg, timeout=0.3)
    names = [c.name for c in checks]
    assert "printer mute" in names and "printer mute model" not in names
    assert "printer dead model" not in names
