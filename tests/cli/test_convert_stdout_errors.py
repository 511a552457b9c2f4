"""``printstation convert -o -`` when stdout cannot take the label: one line on stderr, exit 2,
no traceback (a full disk behind ``>``, stdout closed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import labelgen as lg

REPO = Path(__file__).resolve().parents[2]


def _convert(tmp_path: Path, **popen) -> subprocess.CompletedProcess[bytes]:
    src = tmp_path / "sticker.svg"
    src.write_bytes(lg.wb_sticker_svg("!Stdout0001"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "printstation", "convert", str(src), "--media", "58x40"],
                          stderr=subprocess.PIPE, env=env, timeout=120, **popen)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_stdout_is_one_line(tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        r = _convert(tmp_path, stdout=full)
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert err == "printstation: error: cannot write stdout: No space left on device\n"


def test_a_closed_stdout_is_one_line(tmp_path: Path) -> None:
    r = _convert(tmp_path, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert err == "printstation: error: cannot write stdout: it is closed (use -o FILE)\n"
