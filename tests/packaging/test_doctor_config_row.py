"""doctor's config row: a config file that is not there gets a fix about the file (where the
example is), not "fix the key named above" (there is no key above)."""

from __future__ import annotations

from printstation.face.cli import main


def test_missing_config_file_fix_names_the_file_and_the_example(tmp_path, capsys):
    missing = tmp_path / "printstation.toml"
    assert main(["doctor", "--config", str(missing)]) == 1
    out = capsys.readouterr().out
    assert "no such config file" in out and "fix the key named above" not in out, out
    assert "printstation.example.toml" in out and str(missing) in out


def test_bad_key_keeps_the_key_fix(tmp_path, capsys):
    bad = tmp_path / "c.toml"
    bad.write_text('[[printers]]\nname = "z"\nuri = "tcp://10.0.0.5"\nlnag = "zpl"\n')
    assert main(["doctor", "--config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "printers[0].lnag: unknown key" in out and "fix the key named above" in out, out
