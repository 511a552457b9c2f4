"""``darkness`` is checked against the printer language's own scale (README: ZPL ``~SD`` 0–30,
TSPL ``DENSITY`` / EPL2 ``D`` 0–15): ``darkness = 20`` for a TSPL printer loaded and printed at 15
without a word."""

from __future__ import annotations

import pytest

from printstation.errors import UsageError
from printstation.face.cli import main
from printstation.face.config import loads
from printstation.spec import PrinterSpec


@pytest.mark.parametrize("lang,ok,bad", [("tspl", 15, 16), ("epl2", 15, 20), ("zpl", 30, 31)])
def test_darkness_range_follows_the_language(lang, ok, bad):
    base = f'[[printers]]\nname = "p"\nuri = "tcp://10.0.0.5"\nlang = "{lang}"\n'
    assert loads(base + f"darkness = {ok}\n").printers[0].spec.darkness == ok
    with pytest.raises(UsageError) as ei:
        loads(base + f"darkness = {bad}\n")
    assert str(ei.value).startswith(f"printers[0].darkness: {bad} out of range"), ei.value
    assert "(0.." in str(ei.value)


def test_spec_and_convert_refuse_a_darkness_the_language_cannot_take(tmp_path, capsys):
    with pytest.raises(UsageError):
        PrinterSpec(lang="tspl", darkness=20)
    src = tmp_path / "a.zpl"
    src.write_bytes(b"^XA^FO10,10^GB100,100,3^FS^XZ")
    assert main(["convert", str(src), "--lang", "epl2", "--darkness", "16", "-o", str(tmp_path / "o")]) == 2
    assert "darkness 16 out of range for EPL2 (0..15)" in capsys.readouterr().err
