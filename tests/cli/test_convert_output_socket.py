"""``printstation convert -o`` onto a unix socket (made in a temp dir): refused with exit 2 and a
reason that names what is there — it said "a FIFO with no reader" — and the socket is kept."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from support.daemon_harness import REPO
from support.labelgen import wb_sticker_zpl


def test_output_onto_a_socket_says_socket(tmp_path: Path) -> None:
    src = tmp_path / "in.zpl"
    src.write_bytes(wb_sticker_zpl("SOCK1"))
    path = tmp_path / "printstation.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
        env = dict(os.environ, PYTHONPATH=str(REPO))
        r = subprocess.run([sys.executable, "-m", "printstation", "convert", str(src), "-o", str(path)],
                           capture_output=True, env=env, timeout=120)
    assert r.returncode == 2
    assert r.stderr.decode().strip() == f"printstation: error: cannot write {path}: a socket, not a file or device"
    assert path.is_socket()
