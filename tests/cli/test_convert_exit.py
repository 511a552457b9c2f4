"""``python -m printstation convert`` ends without the interpreter's teardown (printstation/__main__.py):
its output must still be complete, its error line still shown, and no process it started may
outlive it (the conversion child and its page workers are reaped before it exits)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import labelgen as lg
from support import render_back as rb

TRACKINGS = [f"RU{200000000 + i * 7919:09d}CN" for i in range(4)]


def _session_members(sid: int) -> list[int]:
    """Pids of live (not yet reaped) processes in session ``sid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # state ppid pgrp session …
        if int(fields[3]) == sid:
            found.append(int(entry.name))
    return found


def _convert(args: list[str], data: bytes | None = None) -> tuple[subprocess.CompletedProcess, list[int]]:
    env = {**os.environ, "PRINTSTATION_CONVERT_WORKERS": "2"}
    p = subprocess.Popen([sys.executable, "-m", "printstation", "convert", *args], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    out, err = p.communicate(data, timeout=120)
    left = _session_members(p.pid)  # the session is named after its leader (the command), reaped now
    return subprocess.CompletedProcess(p.args, p.returncode, out, err), left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_pages_to_a_pipe_are_complete_and_nothing_outlives_the_command(tmp_path: Path) -> None:
    src = tmp_path / "labels.pdf"
    src.write_bytes(lg.pdf_label(TRACKINGS))
    res, left = _convert([str(src), "--media", "100x150"])
    assert res.returncode == 0, res.stderr
    assert left == []
    assert [rb.decode(back.image) for back in rb.zpl_raster(res.stdout)] == [[t] for t in TRACKINGS]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_refused_input_still_prints_its_error_line() -> None:
    res, left = _convert(["-", "--media", "100x150"], b"%PDF-1.4\nnot really a pdf\n%%EOF\n")
    assert res.returncode == 3
    lines = res.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("printstation: error: ") and "PDF" in lines[0]
    assert left == [] and res.stdout == b""


@pytest.mark.skipif(not Path("/proc/self/task").exists() or len(os.sched_getaffinity(0)) < 2,
                    reason="needs /proc and two cores (OpenBLAS starts no thread on one)")
def test_the_cli_keeps_numpy_blas_on_one_thread(tmp_path: Path) -> None:
    """numpy's OpenBLAS would start a busy-waiting thread per extra core in every process that
    imports numpy after the CLI started (its conversion children); the station's BLAS calls are tiny."""
    src, out = tmp_path / "label.png", tmp_path / "out.zpl"
    src.write_bytes(lg.wb_sticker_png("!Blas0001"))
    code = ("import os, sys; from printstation.face.cli import main; "
            "rc = main(['convert', sys.argv[1], '-o', sys.argv[2]]); import numpy; "
            "print(rc, os.environ.get('OPENBLAS_NUM_THREADS'), len(os.listdir('/proc/self/task')))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    res = subprocess.run([sys.executable, "-c", code, str(src), str(out)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.stdout.split() == ["0", "1", "1"], res.stderr
    chosen = subprocess.run([sys.executable, "-c", code, str(src), str(out)], capture_output=True, text=True,
                            env={**env, "OPENBLAS_NUM_THREADS": "2"}, timeout=120)
    assert chosen.stdout.split()[:2] == ["0", "2"], chosen.stderr  # the caller's choice is kept
