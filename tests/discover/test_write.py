"""``printstation printers discover --write CONFIG``: append in place, refuse duplicates, never
replace or follow a file it did not make, and leave a config that loads."""

from __future__ import annotations

import os
import stat

import pytest

from printstation.face import config as cfgmod
from printstation.face.cli import main
from printstation.face.cli.printers import append_to_config
from printstation.discover.probe import Identity
from support.fake_printers import TcpPrinter

T = "0.5"

BASE = """# my bench
[station]
data_dir = "./var"

[[printers]]
name = "zd421"
uri = "dir://./var/out"
lang = "zpl"
"""


def test_write_appends_in_place_and_refuses_duplicates(tmp_path, capsys):
    cfg = tmp_path / "printstation.toml"
    cfg.write_text(BASE)
    os.chmod(cfg, 0o600)
    inode = cfg.stat().st_ino
    with TcpPrinter("zebra") as z, TcpPrinter("tsc") as t, TcpPrinter("silent") as s:
        code = main(["printers", "discover", "--timeout", T, "--tcp", z.address, "--tcp", t.address,
                     "--tcp", s.address, "--write", str(cfg)])
        out, err = capsys.readouterr()
        assert code == 0
        # shown first (with the names it will get), then appended
        assert 'name = "zd421-2"' in out and 'name = "te200"' in out
        assert err.strip() == f"printstation: added printer(s) zd421-2, te200 to {cfg}"
        text = cfg.read_text()
        assert text.startswith(BASE) and "# added by printstation printers discover" in text
        assert s.address not in text.split("# added by", 1)[1].replace(f"# tcp://{s.address}", "")
        assert cfg.stat().st_ino == inode and stat.S_IMODE(cfg.stat().st_mode) == 0o600
        loaded = cfgmod.load(cfg)
        assert [(p.name, p.uri, p.lang, p.spec.dpi, str(p.spec.media)) for p in loaded.printers] == [
            ("zd421", "dir://./var/out", "zpl", 203, "58x40"),
            ("zd421-2", f"tcp://{z.address}", "zpl", 203, "100x150"),
            ("te200", f"tcp://{t.address}", "tspl", 203, "58x40"),
        ]
        # again: both are configured now → refused, file untouched, exit 1
        before = cfg.read_bytes()
        code = main(["printers", "discover", "--timeout", T, "--tcp", z.address, "--tcp", t.address,
                     "--write", str(cfg)])
        out, err = capsys.readouterr()
        assert code == 1 and cfg.read_bytes() == before
        assert f"tcp://{z.address} is already configured as printer 'zd421-2' in {cfg}: not added" in err
        assert f"tcp://{t.address} is already configured as printer 'te200'" in err


def test_duplicate_uri_spelled_without_port(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(BASE + '\n[[printers]]\nname = "net"\nuri = "tcp://10.1.2.3"\n')
    added, refused = append_to_config(cfg, [Identity(uri="tcp://10.1.2.3:9100", lang="zpl", model="ZD421")])
    assert added == [] and len(refused) == 1 and "'net'" in refused[0]


def test_write_creates_a_missing_config(tmp_path):
    cfg = tmp_path / "new.toml"
    added, refused = append_to_config(cfg, [Identity(uri="tcp://10.1.2.3:9100", lang="tspl",
                                                            model="TE300", dpi=300)])
    assert added == ["te300"] and not refused
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640
    assert cfgmod.load(cfg).printers[0].spec.dpi == 300


def test_write_refuses_a_symlink_and_a_broken_config(tmp_path):
    real = tmp_path / "real.toml"
    real.write_text(BASE)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    ident = [Identity(uri="tcp://10.1.2.3:9100", lang="zpl", model="ZD421")]
    with pytest.raises(Exception, match="symlink"):
        append_to_config(link, ident)
    assert real.read_text() == BASE
    broken = tmp_path / "broken.toml"
    broken.write_text("[[printers]\nname=")
    with pytest.raises(Exception, match="bad TOML"):
        append_to_config(broken, ident)
    assert broken.read_text() == "[[printers]\nname="
    d = tmp_path / "dir.toml"
    d.mkdir()
    with pytest.raises(Exception, match="cannot open: Is a directory"):
        append_to_config(d, ident)


def test_write_refuses_when_result_would_not_load(tmp_path):
    # a config that loads today must still load after the append, or nothing is written
    cfg = tmp_path / "c.toml"
    cfg.write_text(BASE)
    bad = [Identity(uri="tcp://10.1.2.3:9100", lang="zpl", model="ZD421", media="1x1")]
    with pytest.raises(Exception, match="nothing written"):
        append_to_config(cfg, bad)
    assert cfg.read_text() == BASE


def test_write_cli_error_is_one_line(tmp_path, capsys):
    link = tmp_path / "l.toml"
    link.symlink_to(tmp_path / "elsewhere.toml")
    with TcpPrinter("zebra") as z:
        code = main(["printers", "discover", "--timeout", T, "--tcp", z.address, "--write", str(link)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("printstation: error: ")
    assert not (tmp_path / "elsewhere.toml").exists()


def test_write_refuses_a_read_only_config_even_as_root(tmp_path, capsys):
    """A config made read-only (chmod a-w) is left alone, also for root (who could write it),
    with one line and exit 2; a FIFO given by mistake is refused without blocking."""
    cfg = tmp_path / "ro.toml"
    cfg.write_text(BASE)
    cfg.chmod(0o444)
    with TcpPrinter("zebra") as z:
        code = main(["printers", "discover", "--timeout", T, "--tcp", z.address, "--write", str(cfg)])
    err = capsys.readouterr().err
    assert code == 2 and err == f"printstation: error: {cfg}: is read-only (mode 0444): not changed\n", err
    assert cfg.read_text() == BASE and stat.S_IMODE(cfg.stat().st_mode) == 0o444
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(Exception, match="not a regular file"):
        append_to_config(fifo, [Identity(uri="tcp://10.1.2.3:9100", lang="zpl", model="ZD421")])
