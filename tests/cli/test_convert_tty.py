"""``convert --lang png`` never dumps binary onto a terminal (issue 13)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from support import labelgen as lg


def _run_on_a_tty(args: list[str]) -> tuple[int, bytes, str]:
    """Run the console entry point with stdout on a pseudo-terminal; (rc, tty bytes, stderr)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "printstation", *args], stdout=slave,
                           stderr=subprocess.PIPE, timeout=120)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return p.returncode, b"".join(chunks), p.stderr.decode()
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)


def test_png_to_a_terminal_is_refused_with_a_hint(tmp_path):
    src = tmp_path / "s.png"
    src.write_bytes(lg.wb_sticker_png("!tty1"))
    rc, shown, err = _run_on_a_tty(["convert", str(src), "--lang", "png"])
    assert rc == 2
    assert err.strip().startswith("printstation: error:") and "use -o FILE" in err and len(err.strip().splitlines()) == 1
    assert b"\x89PNG" not in shown and shown == b""


def test_png_to_a_file_or_a_pipe_still_works(tmp_path):
    src = tmp_path / "s.png"
    src.write_bytes(lg.wb_sticker_png("!tty2"))
    rc, shown, err = _run_on_a_tty(["convert", str(src), "--lang", "png", "-o", str(tmp_path / "o.png")])
    assert rc == 0 and shown == b"" and (tmp_path / "o.png").read_bytes().startswith(b"\x89PNG")
    p = subprocess.run([sys.executable, "-m", "printstation", "convert", str(src), "--lang", "png"],
                       capture_output=True, timeout=120)
    assert p.returncode == 0 and p.stdout.startswith(b"\x89PNG")
    # ZPL is text: a terminal still gets it
    rc, shown, err = _run_on_a_tty(["convert", str(src)])
    assert rc == 0 and b"^XA" in shown
