"""The shipped systemd unit: required directives, systemd-analyze exposure, udev rules syntax."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from unitfile import RULES, UNIT, Unit, parse_rules, ARG_KEYS, ASSIGN_KEYS, MATCH_KEYS

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
#: The device classes the station needs (names as in /proc/devices) and nothing more.
DEVICE_CLASSES = {"char-usb_device": "rw", "char-usb": "rw", "char-ttyUSB": "rw", "char-ttyACM": "rw",
                  "char-ttyS": "rw", "char-input": "rw"}


@pytest.fixture(scope="module")
def unit() -> Unit:
    return Unit()


def test_service_basics(unit):
    assert unit.get("Type") == "notify"
    assert unit.get("NotifyAccess") == "main"
    assert re.fullmatch(r"\d+s?", unit.get("WatchdogSec") or ""), "WatchdogSec= must be set"
    assert int((unit.get("WatchdogSec") or "0").rstrip("s")) >= 10
    assert unit.get("Restart") == "on-failure"
    assert unit.exec_start() == ["/opt/printstation/venv/bin/printstation", "run",
                                 "--config", "/etc/printstation/printstation.toml"]
    assert unit.get("WantedBy", "Install") == "multi-user.target"


def test_file_descriptor_limit(unit):
    # systemd's default soft limit (1,024) is too tight for a daemon with 256 API connections.
    assert unit.get("LimitNOFILE") == "8192"


def test_identity_and_directories(unit):
    # A throw-away user with only the device groups the udev rules hand out.
    assert unit.get("DynamicUser") == "yes" or unit.get("User") not in (None, "root")
    assert set(unit.words("SupplementaryGroups")) <= {"lp", "dialout", "input"}
    assert unit.get("StateDirectory") == "printstation"
    assert unit.get("RuntimeDirectory") == "printstation"
    assert unit.get("ConfigurationDirectory") == "printstation"
    assert unit.get("WorkingDirectory") == "/var/lib/printstation"
    assert unit.get("UMask") in ("0077", "0027")


def test_tokens_come_through_credentials(unit):
    creds = dict(v.split(":", 1) for v in unit.all("LoadCredential"))
    # Every source must exist on the host or the unit fails (243/CREDENTIALS): README creates these.
    assert creds == {"wb-token": "/etc/printstation/wb-token", "ali-token": "/etc/printstation/ali-token"}
    env = unit.environment()
    assert not any("TOKEN" in k for k in env), "tokens must not be in Environment="


def test_hardening(unit):
    expect = {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "", "AmbientCapabilities": "", "DevicePolicy": "closed",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
        "RestrictNamespaces": "yes", "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes", "SystemCallArchitectures": "native", "ProtectProc": "invisible",
        "IPAddressDeny": "any",
    }
    for key, value in expect.items():
        assert unit.get(key) == value, f"{key}={unit.get(key)!r}, want {value!r}"
    families = set(unit.words("RestrictAddressFamilies"))
    assert families <= {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"}
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= families
    filters = unit.all("SystemCallFilter")
    assert filters[0] == "@system-service"
    assert all(f.startswith("~") for f in filters[1:])


def test_device_allow_list_is_exactly_the_printer_and_scanner_classes(unit):
    allowed = dict(v.split() for v in unit.all("DeviceAllow"))
    assert allowed == DEVICE_CLASSES


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_security_exposure_at_most_2():
    r = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager", str(UNIT)],
                       capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    m = re.search(r"Overall exposure level for printstation\.service: (\d+\.\d+)", out)
    assert m, out[-2000:]
    exposure = float(m.group(1))
    assert exposure <= 2.0, out


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_every_directive(tmp_path):
    """`systemd-analyze verify` on the unit (ExecStart pointed at a binary that exists)."""
    text = UNIT.read_text(encoding="utf-8").replace("/opt/printstation/venv/bin/printstation", sys.executable)
    copy = tmp_path / "printstation.service"
    copy.write_text(text, encoding="utf-8")
    r = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", str(copy)],
                       capture_output=True, text=True, timeout=120)
    problems = [line for line in (r.stdout + r.stderr).splitlines()
                if "printstation.service" in line and not re.search(r"Failed to (connect|create)|bus", line)]
    assert not problems, "\n".join(problems)


# -- udev rules -----------------------------------------------------------------------------------


def test_udev_rules_syntax():
    rules = parse_rules(RULES)
    assert len(rules) >= 10
    labels, gotos = set(), set()
    for n, tokens in rules:
        for key, arg, op, value in tokens:
            if op in ("==", "!="):
                assert key in MATCH_KEYS, f"line {n}: {key} is not a match key"
            else:
                assert key in ASSIGN_KEYS, f"line {n}: {key} cannot be assigned"
                assert not (key in ("LABEL", "GOTO", "IMPORT") and op != "="), f"line {n}: {key}{op}"
            if key in ARG_KEYS or key in ("ATTRS",):
                assert arg, f"line {n}: {key} needs {{…}}"
            elif key not in ("ATTR", "ENV"):
                assert arg is None, f"line {n}: {key} takes no {{…}}"
            if key == "LABEL":
                labels.add(value)
            if key == "GOTO":
                gotos.add(value)
            if key == "MODE":
                assert re.fullmatch(r"0[0-7]{3}", value), f"line {n}: MODE={value}"
            if key == "GROUP":
                assert value in ("lp", "dialout", "input"), f"line {n}: GROUP={value}"
            if key == "TAG":
                assert value != "uaccess", "explicit GROUP/MODE, no uaccess"
            if key == "SYMLINK":
                assert value.startswith("printstation/"), f"line {n}: SYMLINK outside /dev/printstation"
    assert gotos <= labels, f"GOTO without LABEL: {gotos - labels}"


def _values(key: str, arg: str | None = None) -> str:
    return " ".join(v for _, tokens in parse_rules(RULES) for k, a, _, v in tokens
                    if k == key and (arg is None or a == arg))


@pytest.mark.parametrize("vid, maker", [
    ("0a5f", "Zebra"), ("1203", "TSC"), ("195f", "Godex"), ("1d90", "Citizen"), ("067e", "Intermec"),
    ("04f9", "Brother"), ("2d37", "Xprinter/Poskey"),
])
def test_label_printer_vendors_are_listed(vid, maker):
    assert vid in _values("ATTR", "idVendor").split("|") or \
        any(vid in v.split("|") for v in _values("ATTR", "idVendor").split()), maker


@pytest.mark.parametrize("vid, maker", [
    ("0c2e", "Honeywell/Metrologic"), ("05e0", "Zebra/Symbol"), ("05f9", "Datalogic"), ("1eab", "Newland"),
])
def test_scanner_vendors_are_listed(vid, maker):
    assert any(vid in v.split("|") for v in _values("ATTRS", "idVendor").split()), maker


def test_printer_class_and_symlinks():
    assert "*:0701*" in _values("ENV", "ID_USB_INTERFACES")
    links = _values("SYMLINK")
    for stem in ("printstation/printer-", "printstation/lp-", "printstation/scanner-",
                 "printstation/scanner-tty-"):
        assert stem in links


# -- the daemon inside the unit -------------------------------------------------------------------
#
# systemd is not PID 1 here, so the unit cannot really be started. Instead its ExecStart= runs with
# what systemd would give it: the unit's Environment=, $STATE_DIRECTORY / $RUNTIME_DIRECTORY /
# $CACHE_DIRECTORY / $CONFIGURATION_DIRECTORY / $CREDENTIALS_DIRECTORY (tmp dirs standing in for
# /var/lib/printstation, /run/printstation, /var/cache/printstation, /etc/printstation and the
# credentials), $NOTIFY_SOCKET, $WATCHDOG_USEC, $JOURNAL_STREAM, UMask=, a clean environment and,
# the parts of the sandbox a process can apply to itself: SystemCallFilter= (expanded with
# `systemd-analyze syscall-filter`) with SystemCallErrorNumber= and RestrictAddressFamilies= as a
# seccomp filter (pyseccomp), MemoryDenyWriteExecute= (prctl PR_SET_MDWE), and when we are root
# NoNewPrivileges=, an empty capability bounding set and, where the interpreter is usable by it,
# an unprivileged user (DynamicUser=) with only the unit's groups. Not emulated: mount and other
# namespaces (ProtectSystem=, PrivateTmp= …), the device cgroup and the IP firewall.

import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

SERVICE_UID = 65534
TOKEN = "wbtok.unit-test-9f8e7d6c5b4a39281706"

#: Runs before the daemon: applies what a process can apply to itself, then execs the daemon.
#: argv: LAUNCHER SPEC_JSON -m printstation run …  (the seccomp filter and MDWE survive execve).
LAUNCHER = """
import ctypes, errno, json, os, socket, sys
spec = json.loads(sys.argv[1])
if spec["mdwe"]:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
        sys.exit("PR_SET_MDWE failed: errno %d" % ctypes.get_errno())
if spec["allow"] is not None:
    import pyseccomp as sc
    act = sc.ERRNO(spec["errno"]) if spec["errno"] else sc.KILL
    f = sc.SyscallFilter(defaction=act)
    for name in spec["allow"]:
        if name == "socket" and spec["families"] is not None:
            continue
        try:
            f.add_rule(sc.ALLOW, name)
        except Exception:  # not a system call on this architecture
            pass
    for fam in spec["families"] or ():
        f.add_rule(sc.ALLOW, "socket", sc.Arg(0, sc.EQ, getattr(socket, fam)))
    f.load()
os.execv(sys.executable, [sys.executable] + sys.argv[2:])
"""


def syscall_groups() -> dict[str, list[str]]:
    """``@group`` → members (syscalls and nested groups), from ``systemd-analyze syscall-filter``."""
    out = subprocess.run([SYSTEMD_ANALYZE, "syscall-filter", "--no-pager"], capture_output=True,
                         text=True, timeout=60).stdout
    groups: dict[str, list[str]] = {}
    cur: list[str] | None = None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = groups.setdefault(line.split()[0], [])
        elif not line.strip() or line.lstrip().startswith("#") or not line.startswith(" "):
            cur = None if not line.strip() else cur
        elif cur is not None:
            cur.append(line.strip())
    return groups


def allowed_syscalls(unit: Unit) -> set[str] | None:
    """The unit's SystemCallFilter= lines as one allow-list (None: no filter or cannot expand)."""
    lines = unit.all("SystemCallFilter")
    if not lines or lines[0].startswith("~") or SYSTEMD_ANALYZE is None:
        return None
    groups = syscall_groups()

    def expand(items: list[str], seen: frozenset[str] = frozenset()) -> set[str]:
        out: set[str] = set()
        for item in items:
            if item.startswith("@"):
                if item not in seen:
                    out |= expand(groups.get(item, []), seen | {item})
            else:
                out.add(item)
        return out

    allow: set[str] = set()
    for line in lines:
        if line.startswith("~"):
            allow -= expand(line[1:].split())
        else:
            allow |= expand(line.split())
    return allow


def launcher_spec(unit: Unit) -> dict:
    import errno

    allow = allowed_syscalls(unit)
    try:
        import pyseccomp  # noqa: F401  (ctypes binding; needs libseccomp.so.2)

        pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    except Exception:
        allow = None
    err = unit.get("SystemCallErrorNumber")
    families = unit.words("RestrictAddressFamilies")
    return {
        "mdwe": unit.get("MemoryDenyWriteExecute") == "yes",
        "allow": sorted(allow) if allow is not None else None,
        "errno": getattr(errno, err) if err else 0,
        "families": families if families and not families[0].startswith("~") else None,
    }


def svg_with_embedded_png() -> bytes:
    """A WB-like sticker whose SVG embeds a PNG (cairocffi reads it through a cffi callback)."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (40, 40), 0).save(buf, "PNG")
    png = base64.b64encode(buf.getvalue()).decode()
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="580" height="400" viewBox="0 0 580 400"><rect width="580" height="400" fill="#fff"/>'
            f'<image x="20" y="20" width="160" height="160" xlink:href="data:image/png;base64,{png}"/>'
            f'<rect x="220" y="40" width="12" height="200"/><rect x="250" y="40" width="24" height="200"/>'
            f'</svg>').encode()


def _sandbox_prefix(unit: Unit) -> tuple[list[str], bool]:
    """setpriv arguments applying the unit's identity and privilege limits; (cmd, as_service_user)."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return [], False
    import grp

    limits = ["--inh-caps=-all"]
    if unit.get("NoNewPrivileges") == "yes":
        limits.append("--no-new-privs")
    if unit.get("CapabilityBoundingSet") == "":
        limits.append("--bounding-set=-all")
    groups = []
    for g in unit.words("SupplementaryGroups"):
        try:
            groups.append(str(grp.getgrnam(g).gr_gid))
        except KeyError:  # e.g. no "input" group in a container without udev
            pass
    user = [f"--reuid={SERVICE_UID}", f"--regid={SERVICE_UID}",
            f"--groups={','.join(groups)}" if groups else "--clear-groups"]
    # The interpreter and the code must be usable by the unprivileged user, child processes
    # included (a Python under a 0700 /root is not): else keep root's uid, still without privileges.
    probe = subprocess.run([setpriv, *user, *limits, sys.executable, "-c",
                            "import subprocess, sys; subprocess.run([sys.executable, '-c', "
                            "'import printstation.face.cli'], check=True)"],
                           capture_output=True, timeout=60, cwd="/")
    if probe.returncode == 0:
        return [setpriv, *user, *limits], True
    return [setpriv, *limits], False


def _recv_until(sock: socket.socket, want: str, seen: list[str], timeout: float,
                proc: subprocess.Popen | None = None) -> bool:
    """Collect notify datagrams until one has the line ``want`` (or the process ended)."""
    deadline = time.monotonic() + timeout
    while not any(want in m.splitlines() for m in seen) and time.monotonic() < deadline:
        sock.settimeout(0.2)
        try:
            seen.append(sock.recv(4096).decode())
        except socket.timeout:
            if proc is not None and proc.poll() is not None:
                break
    return any(want in m.splitlines() for m in seen)


def test_daemon_runs_inside_the_unit():
    import httpx

    from support.printer_sinks import RecordingSink

    unit = Unit()
    base = Path(tempfile.mkdtemp(prefix="printstation-unit-", dir="/tmp"))
    proc = None
    try:
        os.chmod(base, 0o755)
        d = {name: base / name for name in ("state", "runtime", "cache", "conf", "creds", "notify")}
        for p in d.values():
            p.mkdir(mode=0o755)
        mapping = {"/var/lib/printstation": d["state"], "/run/printstation": d["runtime"],
                   "/var/cache/printstation": d["cache"], "/etc/printstation": d["conf"]}
        (d["creds"] / "wb-token").write_text(TOKEN + "\n")
        (d["creds"] / "ali-token").write_text("")  # README: an empty file keeps a marketplace off
        prefix, as_user = _sandbox_prefix(unit)
        if as_user:  # systemd hands these to the dynamic user
            for name in ("state", "runtime", "cache", "creds"):
                os.chown(d[name], SERVICE_UID, SERVICE_UID)
            for f in d["creds"].iterdir():
                os.chown(f, SERVICE_UID, SERVICE_UID)
        for f in d["creds"].iterdir():
            f.chmod(0o400)
        d["creds"].chmod(0o500)

        from support.fakes.fake_wb import FakeWB

        with RecordingSink() as sink, FakeWB(token=TOKEN, rate_per_min=None) as wb:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            config = unit.exec_start()[unit.exec_start().index("--config") + 1]
            for old, new in mapping.items():
                config = config.replace(old, str(new))
            # No data_dir and no hot folder path: both must follow $STATE_DIRECTORY.
            Path(config).write_text(f"""
[api]
listen = "127.0.0.1:{port}"

[[printers]]
name = "bench"
uri = "{sink.uri}"
lang = "zpl"
media = "58x40"
dpi = 203

[hotfolder]

[markets.wb]
base_url = "{wb.url}"
""", encoding="utf-8")

            argv = unit.exec_start()
            assert argv[0] == "/opt/printstation/venv/bin/printstation"
            args = []
            for a in argv[1:]:
                for old, new in mapping.items():
                    a = a.replace(old, str(new))
                args.append(a)
            spec = launcher_spec(unit)
            cmd = [sys.executable, "-c", LAUNCHER, json.dumps(spec), "-m", "printstation", *args]

            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            notify_path = d["notify"] / "notify.sock"
            notify.bind(str(notify_path))
            notify_path.chmod(0o777)

            env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/",
                   "USER": "printstation", "LOGNAME": "printstation", "SHELL": "/usr/sbin/nologin"}
            for k, v in unit.environment().items():
                for old, new in mapping.items():
                    v = v.replace(old, str(new))
                env[k] = v
            env.update({
                "STATE_DIRECTORY": str(d["state"]), "RUNTIME_DIRECTORY": str(d["runtime"]),
                "CACHE_DIRECTORY": str(d["cache"]), "CONFIGURATION_DIRECTORY": str(d["conf"]),
                "CREDENTIALS_DIRECTORY": str(d["creds"]), "NOTIFY_SOCKET": str(notify_path),
                "WATCHDOG_USEC": "2000000",  # the unit's WatchdogSec, scaled down for the test
            })
            umask = int(unit.get("UMask") or "0022", 8)
            with open(base / "stderr", "w") as err:
                st = os.fstat(err.fileno())
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
                cwd = unit.get("WorkingDirectory") or "/"
                for old, new in mapping.items():
                    cwd = cwd.replace(old, str(new))
                proc = subprocess.Popen(prefix + cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                        stdout=err, stderr=err, umask=umask)
            seen: list[str] = []
            ready = _recv_until(notify, "READY=1", seen, 60, proc)
            stderr = (base / "stderr").read_text()
            assert ready, f"no READY=1 (exit {proc.poll()}):\n{stderr}"

            r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert r.status_code == 200
            sock_path = d["runtime"] / "printstation.sock"
            assert sock_path.is_socket(), "the API unix socket belongs in $RUNTIME_DIRECTORY"
            with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock_path)), timeout=10) as c:
                assert c.get("http://station/healthz").status_code == 200
                r = c.post("http://station/jobs", params={"printer": "bench", "name": "sticker.svg"},
                           content=svg_with_embedded_png())
                assert r.status_code == 201, r.text
                job = r.json()["id"]
                assert sink.wait_for(lambda s: b"^XZ" in s.data, timeout=60), \
                    c.get(f"http://station/jobs/{job}").text + (base / "stderr").read_text()
            assert sink.data.lstrip().startswith(b"^XA") or b"^XA" in sink.data

            assert _recv_until(notify, "WATCHDOG=1", seen, 10, proc), seen
            # The queue is in $STATE_DIRECTORY itself (data_dir's default), not in ./var below it.
            assert any(f.name.startswith("queue") for f in d["state"].iterdir()), list(d["state"].iterdir())
            assert not (d["state"] / "var").exists()
            assert (d["state"] / "hot").is_dir(), "hot folder default: $STATE_DIRECTORY/hot"
            for f in d["state"].rglob("*"):
                if f.is_file() and not f.name.endswith(("-wal", "-shm")):
                    assert f.stat().st_mode & 0o077 == 0 or umask & 0o077 != 0o077, f"{f} not private"

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
            proc = None
            notify.close()

        stderr = (base / "stderr").read_text()
        assert TOKEN not in stderr
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        assert lines, "the daemon logged nothing"
        assert all(re.match(r"<\d>", ln) for ln in lines), "journal lines carry a <N> priority, no timestamp:\n" + stderr
        assert not any(re.match(r"<\d>\d{4}-\d\d-\d\d", ln) for ln in lines)
        # One key=value line per job event.
        assert re.search(r"^<6>INFO printstation\.jobs: job job=\d+ printer=bench state=done .*duration=\d",
                         stderr, re.M), stderr
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)
