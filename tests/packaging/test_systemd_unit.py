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


def test_identity_and_directories(unit):
    # A throw-away user with only the device groups the udev rules hand out.
    assert unit.get("DynamicUser") == "yes" or unit.get("User") not in (None, "root")
    assert set(unit.words("SupplementaryGroups")) <= {"lp", "dialout", "input"}
    assert unit.get("StateDirectory") == "printstation"
    assert unit.get("RuntimeDirectory") == "printstation"
    assert unit.get("ConfigurationDirectory") == "printstation"
    assert unit.get("UMask") in ("0077", "0027")


def test_tokens_come_through_credentials(unit):
    creds = dict(v.split(":", 1) for v in unit.all("LoadCredential"))
    assert creds["wb-token"] == "/etc/printstation/wb-token"
    assert creds["ali-token"] == "/etc/printstation/ali-token"
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
