"""The device and host checks of ``printstation doctor`` (:mod:`printstation.face.doctor`):
folders, free space, the API address, printers (transport, status, what the printer says it is)
and scanners. Each returns a :class:`Check` row."""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import PrintstationError

EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: skipped (not configured)
    detail: str
    hint: str = ""


# -- folders -------------------------------------------------------------------------------------


def check_writable_dir(label: str, path: Path) -> Check:
    """``path`` is a writable directory, or could be created (its nearest existing parent is one)."""
    p = path if path.is_absolute() else Path.cwd() / path
    hint = (f"make {p} a directory the station can write: install -d -m 750 {p} (as the service user), "
            "or point the config at another path")
    probe_dir, missing = p, False
    while not probe_dir.exists():
        if probe_dir.is_symlink():
            return Check(label, False, f"{p}: dangling symlink {probe_dir}", hint)
        probe_dir, missing = probe_dir.parent, True
    if not probe_dir.is_dir():
        return Check(label, False, f"{p}: {probe_dir} is not a directory", hint)
    try:
        with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".printstation-doctor-"):
            pass
    except OSError as exc:
        return Check(label, False, f"{p}: cannot write in {probe_dir}: {exc.strerror or exc}", hint)
    return Check(label, True, f"{p} (will be created)" if missing else f"{p} writable")


#: ``printstation doctor`` fails the data dir's free space below this many MB.
MIN_FREE_MB = 64


def check_disk_space(path: Path, max_queue_mb: float | None = None) -> Check:
    """Free space on the data dir's filesystem (its nearest existing parent when missing)."""
    label = "data dir space"
    p = path if path.is_absolute() else Path.cwd() / path
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        st = os.statvfs(probe)
    except OSError as exc:
        return Check(label, False, f"{p}: cannot read free space: {exc.strerror or exc}")
    free_mb = st.f_bavail * st.f_frsize / (1024 * 1024)
    detail = f"{free_mb:.0f} MB free on {probe}"
    if free_mb < MIN_FREE_MB:
        return Check(label, False, detail + f" (at least {MIN_FREE_MB} MB needed)",
                     "free some space there (old files, journals: journalctl --vacuum-size=…) or move "
                     "[station] data_dir; with a full disk new jobs are refused with 507")
    if max_queue_mb is not None and free_mb < max_queue_mb:
        detail += f" (less than [station] max_queue_mb = {max_queue_mb:g} MB)"
    return Check(label, True, detail)


# -- API -----------------------------------------------------------------------------------------


def station_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    import httpx

    h = f"[{host}]" if ":" in host else host
    try:
        r = httpx.get(f"http://{h}:{port}/healthz", timeout=timeout)
    except httpx.HTTPError:
        return False
    return r.status_code == 200


def check_api(host: str, port: int) -> Check:
    label = "api"
    where = f"{host}:{port}"
    if station_answers(host, port):
        return Check(label, True, f"{where}: the station is running (/healthz ok)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        return Check(label, False, f"{where}: cannot listen: {exc.strerror or exc}",
                     f"another program uses {where} (ss -ltnp 'sport = :{port}'); "
                     "stop it or change [api] listen")
    return Check(label, True, f"{where} free")


# -- printers ------------------------------------------------------------------------------------

STATE_HINTS = {
    "offline": "check power, cable or network and the uri; a LAN printer also needs its address in "
               "the unit's IPAddressAllow= (systemctl edit printstation)",
    "paused": "the printer is paused or out of media: load labels/ribbon, close the head, press feed",
    "error": "fix the printer's reported problem; a printer that never answers status queries can "
             "be set to status_poll = 0",
}


def check_printer(p: Any, timeout: float) -> Check:
    from ..status import query_status
    from ..transport import from_uri
    from ..transport.base import display_uri

    label = f"printer {p.name}"
    uri = display_uri(p.uri)
    try:
        t = from_uri(p.uri, timeout=min(p.timeout, timeout))
    except PrintstationError as exc:
        return Check(label, False, f"{uri}: {exc}", "fix the printer's uri in the config")
    try:
        if p.status_poll == 0 and not t.has_own_status:
            try:
                t.open()
            except PrintstationError as exc:
                return Check(label, False, f"{uri}: {exc}", _open_hint(str(exc)))
            return Check(label, True, f"{uri}: opens (status not queried: status_poll = 0)")
        st = query_status(t, p.lang, timeout=timeout)
    finally:
        try:
            t.close()
        except Exception:
            pass
    text = f"{uri}: {st.state}" + (f" ({st.reason})" if st.reason else "")
    if st.ok:
        return Check(label, True, text)
    hint = t.fix_hint(st) or (
        _open_hint(st.reason) if "transport" in st.flags else STATE_HINTS.get(st.state, ""))
    return Check(label, False, text, hint)


def _open_hint(reason: str) -> str:
    low = reason.lower()
    if "cannot resolve host" in low:  # a typo in the uri more often than a network down
        import urllib.parse

        host = urllib.parse.urlsplit(reason.split(": ", 1)[0]).hostname or "the host"
        return (f"the name {host} does not resolve: check its spelling in the uri, or use the printer's "
                "IP address (its network settings page or test print shows it)")
    if "libusb" in low:
        return "install the USB library: apt-get install libusb-1.0-0"
    if "permission" in low or "access" in low:
        return ("no access to the device: install systemd/60-printstation.rules (udevadm control "
                "--reload && udevadm trigger) and run the station in group lp/dialout")
    if "no such" in low or "not found" in low:
        return "the device is not there: plug it in and check the uri (ls /dev/printstation/, lsusb)"
    return STATE_HINTS["offline"]


def silent_printer_hint(check: Check, name: str) -> Check:
    """A printer that is connected but never answers its status query: its fix names
    ``status_poll = 0`` for that printer (the daemon's log says the same)."""
    from ..status import NO_ANSWER

    if check.ok is False and NO_ANSWER in check.detail:
        return Check(check.name, False, check.detail,
                     f"the printer is connected but silent: load media / close the head; if {name} never "
                     "answers status queries, set status_poll = 0 in its [[printers]] section")
    return check


# -- scanners ------------------------------------------------------------------------------------


def check_scanner(device: str, station_running: Callable[[], bool]) -> Check:
    from ..triggers.scanner import EvdevSource, SerialSource, StreamSource, source_for

    label = f"scanner {device}"
    try:
        src = source_for(device)
    except PrintstationError as exc:
        return Check(label, False, str(exc), "fix [[scanners]] device in the config")
    if isinstance(src, StreamSource):
        return Check(label, None, "standard input (nothing to check)")
    if isinstance(src, SerialSource):
        return _check_serial(label, src.port, src.baud)
    assert isinstance(src, EvdevSource)
    return _check_evdev(label, src.path, station_running)


def _device_hint(exc: OSError, group: str, by_id: str = "/dev/input/by-id/") -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f"no access: install systemd/60-printstation.rules (udevadm control --reload && "
                f"udevadm trigger); the station needs group {group}")
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return (f"not plugged in or wrong path: use a stable name from ls {by_id} or "
                "/dev/printstation/ (udev rules)")
    return "check the device path and that nothing else holds it"


def _check_evdev(label: str, path: str, station_running: Callable[[], bool]) -> Check:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return Check(label, False, f"cannot open: {exc.strerror or exc}", _device_hint(exc, "input"))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISCHR(mode):
            return Check(label, True, "readable (a recording, not a device: nothing to grab)")
        try:
            fcntl.ioctl(fd, EVIOCGRAB, 1)
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                if station_running():
                    return Check(label, True, "readable; grabbed by the running station")
                return Check(label, False, "readable but another program holds it exclusively",
                             "stop the program that grabbed it (fuser -v " + path + ")")
            return Check(label, False, f"cannot grab: {exc.strerror or exc} (not an input event device?)",
                         "point [[scanners]] device at the scanner's event node "
                         "(/dev/input/by-id/…-event-kbd or /dev/printstation/scanner-…)")
        fcntl.ioctl(fd, EVIOCGRAB, 0)
        return Check(label, True, "readable and grabbed (released again)")
    finally:
        os.close(fd)


def _check_serial(label: str, port: str, baud: int) -> Check:
    try:
        import serial
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return Check(label, False, "pyserial is not installed", "pip install pyserial")
    try:
        ser = serial.Serial(port, baud, timeout=0)
    except (serial.SerialException, OSError) as exc:  # SerialException carries the errno
        return Check(label, False, f"cannot open: {exc.strerror or exc}", _device_hint(exc, "dialout", "/dev/serial/by-id/"))
    ser.close()
    return Check(label, True, f"{port} opens at {baud} baud")


# -- what the printer says it is ---------------------------------------------------------------


def identity_check(p: Any, status_ok: bool | None, timeout: float) -> Check | None:
    """A row ``printer NAME model`` (:mod:`printstation.discover.verify`) or None."""
    from ..discover.verify import compare, identify

    ident = identify(p, status_ok, timeout)
    if ident is None:
        return None
    ok, detail, hint = compare(p, ident)
    return Check(f"printer {p.name} model", ok, detail, hint)
