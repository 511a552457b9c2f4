"""A hot folder path that is a file: check-config warned nothing ("config OK") and the start logged
"[Errno 17] File exists: '/x'"; now a check-config warning names the key, and the start's line
says what is wrong."""

from __future__ import annotations

import logging

from printstation.face.cli import main
from printstation.face.config import loads
from printstation.triggers.hotfolder import HotFolder


def _toml(path) -> str:
    return f'[[printers]]\nname = "p"\nuri = "dir:///tmp/x"\n[hotfolder]\npath = "{path}"\n'


def test_check_config_warns_about_a_hot_folder_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "hot"
    f.write_text("not a folder")
    assert loads(_toml(f)).warnings == (f"hotfolder.path: {f} is not a directory: the hot folder will not start",)
    cfg = tmp_path / "c.toml"
    cfg.write_text(_toml(f))
    assert main(["check-config", "--config", str(cfg)]) == 0
    assert "hotfolder.path" in capsys.readouterr().err
    assert loads(_toml(tmp_path / "new")).warnings == ()  # a folder not there yet is made at start


def test_start_says_the_path_is_not_a_directory(tmp_path):
    f = tmp_path / "hot"
    f.write_text("x")
    folder = HotFolder(f, submitter=None, printers={}, default_printer="p")  # type: ignore[arg-type]
    try:
        folder.start()
    except Exception as exc:  # noqa: BLE001 - what the daemon logs
        assert "not a directory" in str(exc) and "Errno" not in str(exc), exc
    else:
        raise AssertionError("started on a file")
