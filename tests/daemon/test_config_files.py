"""What the config names on disk is checked when it loads (``check-config``, ``run``, SIGHUP):
``[[scanners]] device`` and every ``*_file`` key read at start. A malformed value is one line naming
the key; a scanner that is only not plugged in yet is a warning and the station starts. Real files,
FIFOs, ptys, symlinks; the real CLI and the real daemon in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from printstation.errors import ConfigError
from printstation.face import config
from printstation.triggers.scandev import parse_device
from support.daemon_harness import REPO, DaemonProcess, wait_until

SECRET = "Hook-secret_0123456789abcdef"
PRINTER = '[[printers]]\nname = "p"\nuri = "dir:///tmp/printstation-test-out"\nstatus_poll = 0\n'


def load(tmp_path: Path, extra: str) -> config.Config:
    path = tmp_path / "ps.toml"
    path.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n[api]\nlisten = "127.0.0.1:0"\n'
                    f"unix_socket = false\n{PRINTER}{extra}")
    return config.load(path)


def scanner(device: str) -> str:
    return f'[[scanners]]\ndevice = "{device}"\n'


def error_of(tmp_path: Path, extra: str) -> str:
    with pytest.raises(ConfigError) as ei:
        load(tmp_path, extra)
    msg = str(ei.value)
    assert "\n" not in msg
    return msg.split(": ", 1)[1]  # after the config file's name


@pytest.fixture
def pty():
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


# -- scanners ------------------------------------------------------------------------------------


@pytest.mark.parametrize("device,why", [
    ("", "expected a scanner device"),
    ("   ", "expected a scanner device"),
    ("dev/input/event3", "is a relative path"),
    ("./scanner", "is a relative path"),
    ("event3", "is a relative path"),
    ("http://example.com/scanner", "unsupported scheme 'http://'"),
    ("usb://0c2e:0b61", "unsupported scheme 'usb://'"),
    ("file:///dev/input/event3", "unsupported scheme 'file://'"),
    ("evdev:/dev/input/event3", "is not a scanner device"),
    ("evdev://other/input/event3", "no host in a evdev:// device"),
    ("serial://other/ttyACM0?baud=9600", "no host in a serial:// device; three slashes: serial:///dev/…"),
    ("serial://localhost/dev/ttyACM0", "no host in a serial:// device"),
    ("serial://dev:9600/ttyACM0", "no host in a serial:// device"),
    ("evdev://DEV/input/event3", "no host in a evdev:// device"),
    ("serial://dev", "/dev is a directory, not a serial port (tty)"),
    ("evdev:///dev/input/event3?grab=0", "evdev:// takes no options"),
    ("evdev://input", "no host"),
    ("serial://", "the device path must be absolute"),
    ("serial:///dev/ttyACM0?baud=fast", "bad baud rate"),
    ("serial:///dev/ttyACM0?baud=0", "bad baud rate"),
    ("serial:///dev/ttyACM0?baud=99999999", "bad baud rate"),
    ("serial:///dev/ttyACM0?baud=9600&baud=19200", "bad baud rate"),
    ("serial:///dev/ttyACM0?parity=E", "unknown option 'parity'"),
    ("serial:///dev/ttyACM0#x", "no #fragment"),
    ("/dev/input/event3\\u0000", "control characters"),
    ("/dev/input/ev\\u001b[31mil", "control characters"),
    ("/dev/input/event3\\n", "control characters"),
    ("/dev/input/\\u009bevent", "control characters"),
])
def test_a_malformed_device_is_one_line_naming_the_key(tmp_path, device, why):
    msg = error_of(tmp_path, scanner(device))
    assert msg.startswith("scanners[0].device: ") and why in msg, msg
    assert "\x00" not in msg and "\x1b" not in msg


def test_the_second_scanner_is_named(tmp_path):
    msg = error_of(tmp_path, scanner("stdin") + scanner("tcp://10.0.0.1:4000"))
    assert msg.startswith("scanners[1].device: unsupported scheme 'tcp://'"), msg


def test_a_path_that_is_not_a_character_device_is_refused(tmp_path):
    regular = tmp_path / "events.bin"
    regular.write_bytes(b"\0" * 24)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        for path, kind in ((regular, "regular file"), (tmp_path, "directory"), (fifo, "FIFO"), (sock_path, "socket")):
            for device in (str(path), f"evdev://{path}"):
                assert error_of(tmp_path, scanner(device)) == \
                    f"scanners[0].device: {path} is a {kind}, not an input event device"
            assert error_of(tmp_path, scanner(f"serial://{path}?baud=9600")) == \
                f"scanners[0].device: {path} is a {kind}, not a serial port (tty)"
        assert error_of(tmp_path, scanner(f"{regular}/event0")).endswith("Not a directory")
    finally:
        sock.close()


@pytest.mark.skipif(not os.path.exists("/sys/dev/char/1:3/subsystem"), reason="sysfs does not list /dev/null")
def test_a_character_device_of_another_kind_is_refused(tmp_path):
    """/dev/null is a character device, but sysfs says it is a 'mem' device: not a scanner."""
    assert error_of(tmp_path, scanner("/dev/null")) == \
        "scanners[0].device: /dev/null is a 'mem' character device, not an input event device"
    assert error_of(tmp_path, scanner("serial:///dev/null?baud=9600")) == \
        "scanners[0].device: /dev/null is a 'mem' character device, not a serial port (tty)"


def test_unplugged_scanners_load_with_a_warning_and_a_present_tty_without(tmp_path, pty):
    gone = tmp_path / "by-id" / "usb-Scanner-event-kbd"
    cfg = load(tmp_path, scanner(str(gone)) + scanner("serial:///dev/ttyACM-printstation-test?baud=115200")
               + scanner(f"serial://{pty}?baud=9600") + scanner(f"evdev://{pty}") + scanner("stdin"))
    assert [s.device for s in cfg.scanners][2:] == [f"serial://{pty}?baud=9600", f"evdev://{pty}", "stdin"]
    assert cfg.warnings == (
        f"scanners[0].device: {gone} is not there now (unplugged?): the station opens it when it appears",
        "scanners[1].device: /dev/ttyACM-printstation-test is not there now (unplugged?): "
        "the station opens it when it appears",
    )


def test_the_old_two_slash_form_with_host_dev_loads_as_dev_with_a_warning(tmp_path, pty):
    """Before the check, ``serial://dev/ttyACM0`` opened host + path ("dev/ttyACM0") from the
    station's cwd ``/``: it still means /dev/…, with a warning to write three slashes."""
    rel = pty.removeprefix("/dev/")
    cfg = load(tmp_path, scanner("serial://dev/ttyACM-printstation-test?baud=115200")
               + scanner("evdev://dev/input/event-printstation-test") + scanner(f"serial://dev/{rel}")
               + scanner(f"evdev://dev/{rel}") + scanner("serial:///dev/ttyACM-printstation-test"))
    assert cfg.warnings == (
        "scanners[0].device: 'serial://dev/ttyACM-printstation-test?baud=115200' is read as "
        "/dev/ttyACM-printstation-test; write serial:///dev/ttyACM-printstation-test?baud=115200 (three slashes)",
        "scanners[0].device: /dev/ttyACM-printstation-test is not there now (unplugged?): "
        "the station opens it when it appears",
        "scanners[1].device: 'evdev://dev/input/event-printstation-test' is read as "
        "/dev/input/event-printstation-test; write evdev:///dev/input/event-printstation-test (three slashes)",
        "scanners[1].device: /dev/input/event-printstation-test is not there now (unplugged?): "
        "the station opens it when it appears",
        f"scanners[2].device: 'serial://dev/{rel}' is read as {pty}; write serial:///dev/{rel} (three slashes)",
        f"scanners[3].device: 'evdev://dev/{rel}' is read as {pty}; write evdev:///dev/{rel} (three slashes)",
        "scanners[4].device: /dev/ttyACM-printstation-test is not there now (unplugged?): "
        "the station opens it when it appears",
    )
    got = [(d.kind, d.path, d.baud) for d in map(parse_device, (s.device for s in cfg.scanners))]
    assert got == [("serial", "/dev/ttyACM-printstation-test", 115200), ("evdev", "/dev/input/event-printstation-test", 9600),
                   ("serial", pty, 9600), ("evdev", pty, 9600), ("serial", "/dev/ttyACM-printstation-test", 9600)]
    assert parse_device("serial://dev/ttyACM0") == parse_device("serial:///dev/ttyACM0")


def test_a_two_slash_device_of_the_wrong_kind_is_refused_at_its_dev_path(tmp_path):
    assert error_of(tmp_path, scanner("serial://dev/null")) == \
        "scanners[0].device: /dev/null is a 'mem' character device, not a serial port (tty)"
    assert error_of(tmp_path, scanner("evdev://dev/input/event3?grab=0")) == \
        "scanners[0].device: 'evdev://dev/input/event3?grab=0': evdev:// takes no options"


def test_the_reader_takes_the_same_forms():
    dev = parse_device("SERIAL:///dev/ttyUSB0?baud=115200")
    assert (dev.kind, dev.path, dev.baud) == ("serial", "/dev/ttyUSB0", 115200)
    assert parse_device("serial:///dev/ttyUSB0").baud == 9600
    assert parse_device("-").kind == parse_device("stdin").kind == "stdin"
    assert (parse_device("/dev/input/by-id/x-event-kbd").kind, parse_device("evdev:///dev/input/event3").path) == \
        ("evdev", "/dev/input/event3")


# -- files named by *_file keys -----------------------------------------------------------------


def hooks(path: str) -> str:
    return f'[webhooks]\nlisten = "127.0.0.1:0"\nsecret_file = "{path}"\n'


def test_webhook_secret_file_must_be_there_and_good(tmp_path):
    good = tmp_path / "hook.secret"
    good.write_text(SECRET + "\n")
    assert load(tmp_path, hooks("hook.secret")).sections["webhooks"].secret_file == good
    assert error_of(tmp_path, hooks("nope.secret")) == \
        f"webhooks.secret_file: cannot read {tmp_path / 'nope.secret'}: it does not exist"
    assert error_of(tmp_path, hooks(str(tmp_path))) == \
        f"webhooks.secret_file: {tmp_path}: not a regular file (directory) (a token or secret file)"
    link = tmp_path / "link.secret"  # the admin's symlink (a /run/secrets mount): followed
    link.symlink_to(good)
    assert load(tmp_path, hooks(str(link))).sections["webhooks"].secret_file == link
    loop = tmp_path / "loop.secret"
    loop.symlink_to(loop)
    assert error_of(tmp_path, hooks(str(loop))) == f"webhooks.secret_file: {loop}: a symlink loop"
    dangling = tmp_path / "dangling.secret"
    dangling.symlink_to(tmp_path / "gone")
    assert error_of(tmp_path, hooks(str(dangling))) == \
        f"webhooks.secret_file: cannot read {dangling}: it does not exist"
    fifo_link = tmp_path / "fifo-link.secret"
    fifo = tmp_path / "fifo.secret"
    os.mkfifo(fifo)  # no writer: opening it must not hang the load
    assert error_of(tmp_path, hooks(str(fifo))) == \
        f"webhooks.secret_file: {fifo}: not a regular file (FIFO) (a token or secret file)"
    fifo_link.symlink_to(fifo)  # a symlink to what is not a regular file: refused the same way
    assert error_of(tmp_path, hooks(str(fifo_link))) == \
        f"webhooks.secret_file: {fifo_link}: not a regular file (FIFO) (a token or secret file)"
    bad = tmp_path / "bad.secret"
    bad.write_text("my secret has spaces 1234")
    msg = error_of(tmp_path, hooks(str(bad)))
    assert msg.startswith(f"webhooks.secret_file: {bad} must hold 16..256 URL-safe characters")
    assert "spaces" not in msg  # never the file's contents
    bad.write_bytes(b"\xff\xfe" + SECRET.encode())
    assert error_of(tmp_path, hooks(str(bad))) == f"webhooks.secret_file: {bad} is not UTF-8 text"
    big = tmp_path / "big.secret"
    big.write_bytes(b"a" * (64 * 1024 + 1))
    assert "larger than 65536 bytes" in error_of(tmp_path, hooks(str(big)))
    # a secret_file is checked even with the listener off: the key names a file that must be there
    assert error_of(tmp_path, '[webhooks]\nsecret_file = "nope.secret"\n').startswith("webhooks.secret_file: ")


def test_webhook_listener_without_any_secret_is_a_warning(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    cfg = load(tmp_path, '[webhooks]\nlisten = "127.0.0.1:0"\n')
    assert cfg.warnings == ("webhooks.listen: no secret_file and no $CREDENTIALS_DIRECTORY/webhook-secret: "
                            "the webhook listener will not start",)
    creds = tmp_path / "creds"
    creds.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    (creds / "webhook-secret").write_text("short")  # under the unit: the credential is checked too
    assert error_of(tmp_path, '[webhooks]\nlisten = "127.0.0.1:0"\n').startswith(
        f"webhooks.secret_file: {creds / 'webhook-secret'} must hold 16..256")
    (creds / "webhook-secret").write_text(SECRET)
    assert load(tmp_path, '[webhooks]\nlisten = "127.0.0.1:0"\n').warnings == ()


@pytest.mark.parametrize("market,key", [("wb", "token_file"), ("ali", "token_file"), ("ozon", "api_key_file"),
                                        ("lamoda", "client_secret_file")])
def test_market_secret_files_missing_or_bad_keep_the_marketplace_off(tmp_path, market, key):
    """A marketplace's secret file that is not there, not readable as one, or empty turns that
    marketplace off with a warning: the station still prints from its hot folder, scanners and
    API (README, Install as a service: "logged at WARNING at start")."""
    (tmp_path / "real").write_text("a-real-token-0123456789")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "empty").write_text("\n")
    os.mkfifo(tmp_path / "fifo")
    want = {"missing": f"cannot read {tmp_path / 'missing'}: it does not exist",
            "fifo": "not a regular file",
            "empty": f"{tmp_path / 'empty'} is empty"}
    for name, says in want.items():
        cfg = load(tmp_path, f'[markets.{market}]\n{key} = "{name}"\n')
        (line,) = cfg.warnings
        assert line.startswith(f"markets.{market}.{key}: ") and says in line, line
        assert line.endswith(f"the {market} marketplace stays off")
        assert "a-real-token" not in line
    for good in ("real", "link"):  # the admin's symlink is followed
        assert load(tmp_path, f'[markets.{market}]\n{key} = "{good}"\n').warnings == ()


def test_api_token_file_is_read_with_the_same_rules(tmp_path):
    path = tmp_path / "ps.toml"
    os.mkfifo(tmp_path / "fifo")
    for name, expect in (("missing", "cannot read"), ("fifo", r"not a regular file \(FIFO\)")):
        path.write_text(f'[api]\nlisten = "127.0.0.1:0"\ntoken_file = "{tmp_path / name}"\n{PRINTER}')
        with pytest.raises(ConfigError, match=rf"api\.token_file: .*{expect}"):
            config.load(path)
    (tmp_path / "tok").write_text("an-api-token-0123456789")
    (tmp_path / "link").symlink_to(tmp_path / "tok")  # the admin's symlink: followed
    path.write_text(f'[api]\nlisten = "127.0.0.1:0"\ntoken_file = "{tmp_path / "link"}"\n{PRINTER}')
    config.load(path)


# -- the CLI and the daemon ----------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("CREDENTIALS_DIRECTORY", None)
    return subprocess.run([sys.executable, "-m", "printstation", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, env=env)


def test_check_config_command(tmp_path):
    path = tmp_path / "ps.toml"
    (tmp_path / "hook.secret").write_text(SECRET)
    path.write_text(f'{PRINTER}{scanner("serial:///dev/ttyACM-printstation-test?baud=9600")}'
                    f'{hooks("hook.secret")}')
    r = cli("check-config", "--config", str(path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{path}: config OK (1 printer(s), 1 scanner(s), 1 warning(s))\n"
    assert r.stderr == ("printstation: warning: scanners[0].device: /dev/ttyACM-printstation-test is not there "
                        "now (unplugged?): the station opens it when it appears\n")
    assert SECRET not in r.stdout + r.stderr
    (tmp_path / "hook.secret").write_text(SECRET + " but with spaces")
    r = cli("check-config", "--config", str(path), cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"printstation: error: {path}: webhooks.secret_file: {tmp_path / 'hook.secret'} "
                               "must hold 16..256") and r.stderr.count("\n") == 1
    assert SECRET not in r.stderr
    path.write_text(PRINTER + scanner("bluetooth://00:11:22:33:44:55"))
    r = cli("check-config", "--config", str(path), cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == (f"printstation: error: {path}: scanners[0].device: unsupported scheme 'bluetooth://' in "
                        "'bluetooth://00:11:22:33:44:55' (a /dev/input path, evdev:///dev/input/…, "
                        "serial:///dev/tty…?baud=N or stdin)\n")


@pytest.mark.slow
def test_the_daemon_refuses_a_bad_device_and_starts_without_an_unplugged_one(tmp_path):
    data = tmp_path / "data"
    path = tmp_path / "ps.toml"
    head = f'[station]\ndata_dir = "{data}"\n[api]\nlisten = "127.0.0.1:0"\nunix_socket = false\n{PRINTER}'
    path.write_text(head + scanner(str(tmp_path)))
    r = cli("run", "--config", str(path), cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == \
        f"printstation: error: {path}: scanners[0].device: {tmp_path} is a directory, not an input event device"
    gone = tmp_path / "by-id" / "usb-Scanner-event-kbd"
    path.write_text(head + scanner(str(gone)))
    d = DaemonProcess(path, tmp_path / "notify.sock")
    try:
        d.wait_ready()
        wait_until(lambda: f"scanners[0].device: {gone} is not there now" in d.log(), what="the warning")
        assert "WARNING" in next(line for line in d.log().splitlines() if "is not there now" in line)
        # a reload checks the same way: a bad device keeps the running config, an absent one warns
        path.write_text(head + scanner(str(gone)) + scanner("relative/event0"))
        d.signal(signal.SIGHUP)
        wait_until(lambda: "reload refused, keeping the running config" in d.log()
                   and "scanners[1].device: 'relative/event0' is a relative path" in d.log(), what="refusal")
        path.write_text(head + scanner(str(gone)) + scanner(str(gone) + "-2"))
        d.signal(signal.SIGHUP)
        wait_until(lambda: f"scanners[1].device: {gone}-2 is not there now" in d.log(), what="reload warning")
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
    finally:
        d.close()
