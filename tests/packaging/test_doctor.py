"""``printstation doctor`` against real parts: TCP printer sinks, a dead port, a pty, fake WB/Ali."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from printstation.face import doctor
from support.printer_sinks import PaperOutSink, RecordingSink
from support.fakes.fake_ali import FakeAli
from support.fakes.fake_wb import FakeWB

ROOT = Path(__file__).resolve().parents[2]
BAD_TOKEN = "wbtok.WRONG-this-token-is-not-known-0123456789"


def dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_port() -> int:
    return dead_port()


@pytest.fixture
def parts(tmp_path):
    master, slave = os.openpty()  # the good config's serial scanner
    try:
        with RecordingSink() as ok_sink, PaperOutSink() as paper_out, FakeWB(rate_per_min=None) as wb, \
                FakeAli() as ali:
            yield {"ok": ok_sink, "paper_out": paper_out, "wb": wb, "ali": ali, "tty": os.ttyname(slave)}
    finally:
        os.close(master)
        os.close(slave)


def write_config(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "printstation.toml"
    p.write_text(body, encoding="utf-8")
    return p


def good_config(tmp_path: Path, parts, *, wb_token: str | None = None) -> Path:
    (tmp_path / "wb-token").write_text((wb_token or parts["wb"].token) + "\n")
    (tmp_path / "ali-token").write_text(parts["ali"].token)
    return write_config(tmp_path, f"""
[station]
data_dir = "{tmp_path / 'data'}"

[api]
listen = "127.0.0.1:{free_port()}"

[[printers]]
name = "zebra"
uri = "{parts['ok'].uri}"
lang = "zpl"

[[printers]]
name = "files"
uri = "dir://{tmp_path / 'out'}"

[[scanners]]
device = "serial://{parts['tty']}?baud=9600"

[hotfolder]
path = "{tmp_path / 'hot'}"

[markets.wb]
base_url = "{parts['wb'].url}"
token_file = "{tmp_path / 'wb-token'}"

[markets.ali]
base_url = "{parts['ali'].url}"
""")


def by_name(checks):
    return {c.name: c for c in checks}


def test_all_good(tmp_path, parts, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    cfg = good_config(tmp_path, parts)
    checks = doctor.run_checks(cfg, timeout=2.0)
    table = doctor.render(checks)
    assert doctor.exit_code(checks) == 0, table
    c = by_name(checks)
    assert c["printer zebra"].ok and "idle" in c["printer zebra"].detail
    assert parts["ok"].status_queries, "the doctor must really ask the printer"
    assert c["data dir"].ok and c["hot folder"].ok and c["api"].ok
    assert c[f"scanner serial://{parts['tty']}?baud=9600"].ok
    assert c["token wb"].ok and "token_file" in c["token wb"].detail
    # The Ali token was found as $CREDENTIALS_DIRECTORY/ali-token: the config's directory stands in.
    assert c["token ali"].ok and "credential ali-token" in c["token ali"].detail
    assert parts["wb"].calls_to("/api/v3/supplies", "GET")
    assert parts["ali"].calls_to("/seller-api/v1/logistic-order/get")
    assert parts["wb"].token not in table and parts["ali"].token not in table
    assert table.splitlines()[-1] == "all checks passed"


def test_every_failure_is_a_cross_with_a_hint(tmp_path, parts, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a regular file")
    (tmp_path / "wb-token").write_text(BAD_TOKEN)
    master, slave = os.openpty()
    not_input, not_input_slave = os.openpty()  # a character device, but no input event node
    try:
        cfg = write_config(tmp_path, f"""
[station]
data_dir = "{blocker / 'data'}"

[api]
listen = "127.0.0.1:{free_port()}"

[[printers]]
name = "dead"
uri = "tcp://127.0.0.1:{dead_port()}"
lang = "zpl"
timeout = 1

[[printers]]
name = "nopaper"
uri = "{parts['paper_out'].uri}"
lang = "zpl"

[[scanners]]
device = "{os.ttyname(not_input_slave)}"

[[scanners]]
device = "{tmp_path / 'no-such-event-device'}"

[[scanners]]
device = "serial://{os.ttyname(slave)}?baud=9600"

[hotfolder]
path = "{tmp_path / 'hot'}"

[markets.wb]
base_url = "{parts['wb'].url}"
token_file = "{tmp_path / 'wb-token'}"
""")
        checks = doctor.run_checks(cfg, timeout=1.0)
        grab_row = f"scanner {os.ttyname(not_input_slave)}"
    finally:
        for fd in (master, slave, not_input, not_input_slave):
            os.close(fd)
    c = by_name(checks)
    table = doctor.render(checks)
    assert doctor.exit_code(checks) == 1
    failed = {n for n, x in c.items() if x.ok is False}
    assert failed == {"data dir", "printer dead", "printer nopaper", grab_row,
                      f"scanner {tmp_path / 'no-such-event-device'}", "token wb"}, table
    assert all(c[n].hint for n in failed)
    assert "not a directory" in c["data dir"].detail
    assert c["printer dead"].detail.endswith("refused)") or "offline" in c["printer dead"].detail
    assert "paper out" in c["printer nopaper"].detail
    assert "grab" in c[grab_row].detail
    serial_row = next(x for n, x in c.items() if n.startswith("scanner serial://"))
    assert serial_row.ok and "opens at 9600 baud" in serial_row.detail
    assert "refused the token" in c["token wb"].detail
    assert c["token ali"].ok is None, "no [markets.ali] and no Ali token anywhere: skipped, not failed"
    assert c["hot folder"].ok
    assert BAD_TOKEN not in table
    # One fix line under every ✗.
    assert table.count("fix:") == len(failed)


def test_bad_config_is_one_cross_naming_the_key(tmp_path):
    cfg = write_config(tmp_path, '[[printers]]\nname = "p"\nuri = "tcp://127.0.0.1:9100"\nmedia = "abc"\n')
    checks = doctor.run_checks(cfg)
    assert [c.name for c in checks] == ["config"]
    assert checks[0].ok is False and "printers[0].media" in checks[0].detail
    assert doctor.exit_code(checks) == 1


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("PRINTSTATION_")}
    full.pop("CREDENTIALS_DIRECTORY", None)
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "printstation", *args], capture_output=True, text=True,
                          timeout=120, env=full, cwd=ROOT)


def test_cli_exit_codes_and_no_token_in_output(tmp_path, parts):
    cfg = good_config(tmp_path, parts)
    r = run_cli("doctor", "--config", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "✓" in r.stdout and "✗" not in r.stdout

    (tmp_path / "wb-token").write_text(BAD_TOKEN)
    r = run_cli("-vv", "doctor", "--config", str(cfg))
    assert r.returncode == 1
    assert "✗" in r.stdout and "token wb" in r.stdout and "fix:" in r.stdout
    assert BAD_TOKEN not in r.stdout + r.stderr


def test_packaged_config_is_checked_with_the_services_paths(tmp_path, parts, monkeypatch):
    """A config in /etc/printstation without data_dir: the data dir is the unit's state dir, and
    relative paths resolve from it (WorkingDirectory=) — as the service will see them."""
    etc, state = tmp_path / "etc" / "printstation", tmp_path / "var-lib-printstation"
    etc.mkdir(parents=True)
    state.mkdir()
    monkeypatch.setattr(doctor, "SYSTEM_CONFIG", etc / "printstation.toml")
    monkeypatch.setattr(doctor, "SERVICE_STATE_DIR", state)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    (etc / "wb-token").write_text(parts["wb"].token)  # what LoadCredential= hands the service
    (etc / "ali-token").write_text("")                  # both must exist; empty = off
    (etc / "printstation.toml").write_text(f"""
[api]
listen = "127.0.0.1:{free_port()}"

[[printers]]
name = "files"
uri = "dir://./out"

[hotfolder]

[markets.wb]
base_url = "{parts['wb'].url}"
""")
    cwd = os.getcwd()
    checks = doctor.run_checks(None, timeout=2.0)  # no --config: the packaged file is used
    assert os.getcwd() == cwd and "STATE_DIRECTORY" not in os.environ
    c = by_name(checks)
    assert doctor.exit_code(checks) == 0, doctor.render(checks)
    assert c["data dir"].detail == f"{state} writable"
    assert c["hot folder"].detail == f"{state / 'hot'} (will be created)"
    assert "dir://./out" in c["printer files"].detail and (state / "out").is_dir()
    assert c["token wb"].ok and "credential wb-token" in c["token wb"].detail
    assert c["token ali"].ok is None


def test_usb_printer_that_cannot_be_opened_gets_a_cross_and_a_hint():
    """No such USB printer here (and maybe no libusb): a ✗ with a fix, never a traceback."""
    from printstation.face.config import loads

    cfg = loads('[[printers]]\nname = "tsc"\nuri = "usb://1203:0230"\nlang = "tspl"\ntimeout = 1\n')
    c = doctor.check_printer(cfg.printers[0], 1.0)
    assert c.ok is False and c.detail.startswith("usb://1203:0230: ") and c.hint
