"""``printstation doctor`` checks the data dir's free space (a small tmpfs when mounting is
permitted stands in for a nearly full disk)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from printstation.face import doctor

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(tmp_path: Path, data_dir: Path) -> Path:
    p = tmp_path / "ps.toml"
    p.write_text(f"""
[station]
data_dir = "{data_dir}"
max_queue_mb = 1000000

[api]
listen = "127.0.0.1:{free_port()}"

[[printers]]
name = "files"
uri = "dir://{tmp_path / 'out'}"
""")
    return p


def test_free_space_row(tmp_path):
    cfg = config(tmp_path, tmp_path / "data" / "not-yet")
    c = {x.name: x for x in doctor.run_checks(cfg, timeout=2.0)}
    row = c["data dir space"]
    assert row.ok and "MB free on" in row.detail and str(tmp_path) in row.detail
    # 1 TB of queue quota is more than this disk has free: said, but not a failure
    assert row.detail.endswith(f"(less than [station] max_queue_mb = {1000000:g} MB)")


def test_a_nearly_full_data_dir_is_a_cross(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        cfg = config(tmp_path, mnt / "data")
        out = subprocess.run([sys.executable, "-m", "printstation", "doctor", "--config", str(cfg)],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert out.returncode == 1, out.stdout + out.stderr
        line = next(x for x in out.stdout.splitlines() if "data dir space" in x)
        assert "MB free on" in line and "at least 64 MB needed" in line
        assert "fix: free some space" in out.stdout
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
