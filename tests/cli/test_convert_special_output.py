"""``printstation convert -o`` onto a symlink or a FIFO (made in a temp dir, never a real /dev
node): written in place, never replaced; a FIFO with no reader is refused with exit 2. The
renderer runs in a child process killed after ``render_timeout``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from printstation.face.cli.convert import _convert
from printstation.errors import RenderTimeout
from printstation.spec import PrinterSpec
from support.daemon_harness import REPO
from support.labelgen import wb_sticker_zpl

LABEL = wb_sticker_zpl("SPECIAL1")


def convert_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "printstation", "convert", *args], capture_output=True,
                          env=env, timeout=120)


def test_output_onto_a_symlink_writes_through_it(tmp_path: Path) -> None:
    src = tmp_path / "in.zpl"
    src.write_bytes(LABEL)
    target = tmp_path / "device-stand-in"
    target.write_bytes(b"")
    link = tmp_path / "lp0"
    link.symlink_to(target)
    r = convert_cli(str(src), "-o", str(link))
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert b"SPECIAL1" in target.read_bytes()
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    r = convert_cli(str(src), "-o", str(dangling))
    assert r.returncode == 2 and b"a symlink to a missing file" in r.stderr
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()


def test_output_onto_a_fifo_streams_into_it_or_exits_2(tmp_path: Path) -> None:
    src = tmp_path / "in.zpl"
    src.write_bytes(LABEL)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = convert_cli(str(src), "-o", str(fifo))  # nobody reads it
    assert r.returncode == 2 and r.stderr.decode().strip() == f"printstation: error: cannot write {fifo}: a FIFO with no reader"
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader (the label fits the pipe buffer)
    try:
        r = convert_cli(str(src), "-o", str(fifo))
        got = os.read(fd, 1 << 20)
    finally:
        os.close(fd)
    assert r.returncode == 0, r.stderr
    assert fifo.is_fifo() and b"SPECIAL1" in got and got.rstrip().endswith(b"^XZ")


def test_a_directory_output_is_a_usage_error(tmp_path: Path) -> None:
    src = tmp_path / "in.zpl"
    src.write_bytes(LABEL)
    r = convert_cli(str(src), "-o", str(tmp_path))
    assert r.returncode == 2 and tmp_path.is_dir()


@pytest.mark.slow
def test_render_timeout_kills_a_renderer_stuck_anywhere() -> None:
    import random

    rnd = random.Random(3)
    pts = " ".join(f"L{rnd.uniform(0, 58):.2f},{rnd.uniform(0, 40):.2f}" for _ in range(60000))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="58mm" height="40mm" viewBox="0 0 58 40">'
           f'<path d="M0,0 {pts} Z" stroke="black" stroke-width="0.3"/></svg>').encode()
    with pytest.raises(RenderTimeout, match="rendering took longer than 1 s: refused"):
        _convert(svg, PrinterSpec(lang="tspl", render_timeout=1.0, verify="off"))


def test_input_is_read_with_a_limit(tmp_path: Path) -> None:
    import io

    from printstation.face.cli.convert import read_limited
    from printstation.errors import BadInput

    assert read_limited(io.BytesIO(b"x" * 10), "f", limit=10) == b"x" * 10
    with pytest.raises(BadInput, match="f: input larger than"):
        read_limited(io.BytesIO(b"x" * 11), "f", limit=10)
    # An endless FIFO input (a writer that never stops) is cut at the limit: the CLI exits 3.
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    code = ("import sys, printstation.face.cli.convert as c; c.MAX_INPUT = 1 << 20; "
            "from printstation.face.cli import main; sys.exit(main(['convert', sys.argv[1]]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(fifo)], env=env, stderr=subprocess.PIPE)
    try:
        with open(fifo, "wb") as w:
            try:
                while True:
                    w.write(b"\0" * 65536)
            except BrokenPipeError:
                pass
        assert proc.wait(60) == 3
        assert b"input larger than 1 MiB" in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
