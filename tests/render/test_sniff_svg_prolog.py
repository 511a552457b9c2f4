"""An SVG whose root element comes after more than 4 KiB of prolog — a licence comment, an XML
declaration and a stylesheet instruction, blank lines — is an SVG.

Sniffing looked for ``<svg`` in the first 4 KiB only and refused such a file as "unrecognised
label format: starts with '<?xml version=…'"."""

from __future__ import annotations

import pytest

from printstation import BadInput, PrinterSpec, convert_labels
from printstation.render.sniff import sniff
from support import labelgen as lg
from support.render_back import decode, render_back

SVG = lg.wb_sticker_svg("!Prolog123")
ROOT = SVG.index(b"<svg")


@pytest.mark.parametrize("prolog", [
    b"<!-- " + b"licence text " * 500 + b"-->\n",
    b'<?xml-stylesheet type="text/css" href="#s"?>\n' + b"\n" * 5000,
    b"<!-- a -->\n" * 600,
    b"<!-- generated -->\r\n" + b"\t \r\n" * 2000 + b"<!-- " + b"x" * 5000 + b" -->",
])
def test_a_long_prolog_before_the_svg_root(prolog: bytes) -> None:
    data = SVG[:ROOT] + prolog + SVG[ROOT:]
    assert data.find(b"<svg") > 4096
    assert sniff(data).kind == "svg"
    (label,) = convert_labels(data, PrinterSpec(lang="png"))
    assert decode(render_back("png", label.data, 203)[0].image) == ["!Prolog123"]


@pytest.mark.parametrize("data", [
    b"<!-- " + b"x" * 5000 + b" -->\n<html><body><svg></svg></body></html>",
    b"<!-- " + b"x" * 5000,  # a comment that never ends
    b"<?xml version='1.0'?>\n<!-- " + b"x" * 5000 + b" -->\n<note>not a label</note>",
])
def test_other_xml_after_a_long_prolog_is_still_refused(data: bytes) -> None:
    with pytest.raises(BadInput, match="unrecognised label format"):
        sniff(data)
