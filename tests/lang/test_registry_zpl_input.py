"""Which languages take native ZPL input comes from the language's module (``passthrough``),
read through the registry — not from a ``lang == "zpl"`` test in the CLI, the converter or the
daemon: a registered language whose module passes ZPL through is printed like ZPL, every other
one refuses ZPL with the same one-line message."""

from __future__ import annotations

import pytest

from printstation.errors import BadInput
from printstation.face.cli.client import check_label
from printstation.isolate import Converter
from printstation.lang import registry
from printstation.spec import PrinterSpec
from printstation.triggers.service import sticker_type
from support.labelgen import wb_sticker_zpl
from support.toylang import toy_raster  # noqa: F401 - the toy module must import

TOY_MODULE = "support.toylang"


@pytest.fixture
def langs(monkeypatch):
    """``toy`` (no passthrough) and ``zpl2`` (a ZPL dialect: the ZPL module, another extension)."""
    monkeypatch.setitem(registry.LANGUAGES, "toy", registry.Language("toy", "toyb", module=TOY_MODULE))
    monkeypatch.setitem(registry.LANGUAGES, "zpl2",
                        registry.Language("zpl2", "zpl2", module="printstation.lang.zpl"))


def test_zpl_input_is_taken_by_the_languages_whose_module_passes_it_through(langs):
    assert [n for n in registry.NAMES if registry.get(n).passes_zpl] == ["zpl", "zpl2"]


def test_cli_print_refuses_zpl_only_for_a_language_without_passthrough(langs):
    check_label("a.zpl", "zpl", {"name": "z", "lang": "zpl2"})
    check_label("a.zpl", "zpl", {"name": "z", "lang": "zpl"})
    check_label("a.svg", "svg", {"name": "t", "lang": "toy"})
    for lang in ("toy", "tspl", "unknown"):
        with pytest.raises(BadInput, match=rf"^a\.zpl: ZPL cannot be printed on t \({lang.upper()} printer\): "
                                           r"fetch the label as SVG, PNG or PDF$"):
            check_label("a.zpl", "zpl", {"name": "t", "lang": lang})


def test_converter_passes_zpl_through_in_process_for_a_zpl_dialect(langs):
    c = Converter(timeout=20)
    try:
        label = wb_sticker_zpl("!dial0001")
        out = c.convert(label, PrinterSpec(lang="zpl2"))
        assert b"dial0001" in b"".join(out)
        assert c.isolate.pids == [], "a ZPL dialect's native ZPL went to a renderer child"
    finally:
        c.close()


def test_wb_stickers_are_fetched_as_zpl_for_a_language_that_takes_zpl(langs):
    assert [sticker_type(PrinterSpec(lang=n)) for n in ("zpl", "zpl2", "toy", "tspl")] == ["zplv", "zplv", "svg", "svg"]
    assert sticker_type(None) == "zplv"
