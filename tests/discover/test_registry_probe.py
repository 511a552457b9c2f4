"""Discovery follows the language registry: a toy language added by its registry line (its
module ``tests/support/toylang.py`` has ``IDENTIFY``) is probed over TCP, recognised in a USB
IEEE-1284 ID, written as a ``[[printers]]`` block and asked first by ``doctor`` — with no change
under ``printstation/discover/``, which names no language at all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from printstation.discover import blocks, usb as dusb
from printstation.discover.probe import NO_ANSWER, probe_uri, tcp_uri, unreadable
from printstation.face.cli import main
from printstation.face.config import loads
from printstation.lang import registry
from support.fake_printers import TcpPrinter

DISCOVER = Path(__file__).resolve().parents[2] / "printstation" / "discover"
TOY_MODULE = "support.toylang"
BUILT_IN = [b"~HI", b"~!T", b"\x1dI\x01", b"\r\nUI\r\n"]  # the first query of each built-in language


@pytest.fixture
def toy(monkeypatch):
    lang = registry.Language("toy", "toyb", module=TOY_MODULE, default_media="100x150")
    monkeypatch.setitem(registry.LANGUAGES, "toy", lang)
    return lang


def test_a_registered_language_is_probed_in_registry_order(toy):
    with TcpPrinter("toy") as printer:
        ident = probe_uri(tcp_uri(printer.address), 0.3)
        sent = bytes(printer.printer.received)
    assert (ident.lang, ident.model, ident.firmware, ident.dpi, ident.via) == ("toy", "Toy T1-300", "1.2", 300, "TOY?")
    # every built-in language was asked first (the registry's order), the toy's query last
    where = [sent.find(q) for q in BUILT_IN + [b"TOY?\n"]]
    assert all(i >= 0 for i in where) and where == sorted(where), sent
    assert unreadable() == "something answered, but not as a ZPL, TSPL, ESC/POS, EPL2 or TOY printer"


def test_without_its_registry_line_the_same_printer_is_unknown():
    with TcpPrinter("toy") as printer:
        ident = probe_uri(tcp_uri(printer.address), 0.2)
        sent = bytes(printer.printer.received)
    assert ident.lang is None and ident.problem == NO_ANSWER and b"TOY?" not in sent


def test_doctor_asks_the_configured_language_only(toy):
    with TcpPrinter("toy") as printer:
        ident = probe_uri(tcp_uri(printer.address), 0.3, first="toy", only=True)
        assert printer.printer.queries == [b"TOY?"]
    assert ident.lang == "toy"
    with TcpPrinter("zebra") as zebra:  # a built-in printer is never sent the toy's query
        assert probe_uri(tcp_uri(zebra.address), 0.3).lang == "zpl"
        assert b"TOY?" not in zebra.printer.received


def test_discover_writes_a_block_that_loads(toy, capsys):
    with TcpPrinter("toy") as printer:
        code = main(["printers", "discover", "--timeout", "0.3", "--tcp", printer.address])
    out = capsys.readouterr().out
    assert code == 0 and 'lang = "toy"' in out and "dpi = 300" in out, out
    assert '# media = "100x150"  # the printer does not report its labels' in out  # the registry's default
    cfg = loads(out)
    assert [(p.name, p.spec.lang, p.spec.dpi, p.spec.media.width_mm) for p in cfg.printers] == \
        [("toy-t1-300", "toy", 300, 100)]


def test_usb_device_id_names_a_registered_language(toy):
    ident = dusb.identity_from_id("usb://1234:5678", "MFG:Toys;CMD:XML,TOYL;MDL:T1-600;SN:42;")
    assert (ident.lang, ident.dpi, ident.model, ident.serial) == ("toy", 600, "T1-600", "42")
    assert dusb.lang_from_cmd("ZPL,TOYL") == "zpl" and dusb.lang_from_cmd("TOYL,ZPL") == "toy"  # printer's order
    generic = dusb.identity_from_id("usb://1234:5678", "MFG:Toys;CMD:TOYL;")
    assert blocks.base_name(generic) == "toy"  # the language's default name when the model says none


def test_usb_device_id_of_an_unregistered_language():
    ident = dusb.identity_from_id("usb://1234:5678", "MFG:Toys;CMD:TOYL;MDL:T1-600;")
    assert ident.lang is None and ident.problem == "Toys T1-600 speaks TOYL: not a language printstation prints"


def test_discover_names_no_language():
    """No string in printstation/discover/ is a language's name: they all come from the registry."""
    names = set(registry.LANGUAGES)
    found = []
    for f in sorted(DISCOVER.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in names:
                found.append(f"{f.name}:{node.lineno}: {node.value!r}")
    assert found == []
