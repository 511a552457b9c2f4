"""A ``[[scanners]] device`` string: its forms, checked once (at config load and by the reader).

The forms (README "Triggers"):

* ``/dev/input/by-id/…-event-kbd`` or ``evdev:///dev/input/eventN`` — a keyboard-wedge scanner's
  input event node (absolute path; ``evdev://`` takes no host, query or fragment);
* ``serial:///dev/ttyACM0?baud=9600`` — a serial / CDC-ACM port (absolute path; ``baud`` is the
  only option, 50..4000000, default 9600);
* ``stdin`` or ``-`` — standard input.

The two-slash form whose host is ``dev`` (``serial://dev/ttyACM0``, ``evdev://dev/input/event3``)
is read as ``/dev/…``: that is the path it has always opened (the old reader joined host and path,
and systemd runs the station in ``/``). It loads with a warning (:attr:`ScanDevice.note`) saying to
write three slashes; any other host is an error.

:func:`parse_device` refuses a malformed value (empty, control characters, a relative path, a
scheme we do not read, a bad baud rate) with a :class:`~printstation.errors.ConfigError`.
:func:`check_present` looks at the path without opening it (opening a serial port can reset the
device): a path that exists must be a character device — and, where sysfs says which kind, an
input device for evdev and a tty for serial — else ConfigError; a path that is not there (a USB
scanner unplugged at start) is no error: it returns a warning line, and the reader opens the
device when it appears.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigError
from ..fsutil import file_kind

FORMS = "a /dev/input path, evdev:///dev/input/…, serial:///dev/tty…?baud=N or stdin"
BAUD_RANGE = (50, 4_000_000)
#: Longest device string taken (PATH_MAX).
MAX_LEN = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: sysfs class of each reader's devices (``/sys/dev/char/MAJ:MIN/subsystem``).
SUBSYSTEM = {"evdev": ("input", "an input event device"), "serial": ("tty", "a serial port (tty)")}
SYS_CHAR = "/sys/dev/char"


@dataclass(frozen=True)
class ScanDevice:
    """A parsed device string: ``kind`` is ``evdev``, ``serial`` or ``stdin``."""

    kind: str
    path: str = ""
    baud: int = 9600
    #: A warning line for a form that is read but should be written otherwise ("" when none).
    note: str = field(default="", compare=False)


def parse_device(device: str) -> ScanDevice:
    """The reader and path of a device string; ConfigError (no key path) for a malformed one."""
    if not isinstance(device, str) or not device.strip():
        raise ConfigError(f"expected a scanner device ({FORMS})")
    if len(device) > MAX_LEN:
        raise ConfigError(f"too long ({len(device)} characters)")
    if _CONTROL.search(device):
        raise ConfigError(f"control characters in {device!r}: not a device path")
    if device in ("stdin", "-"):
        return ScanDevice("stdin")
    if device.startswith("/"):
        return ScanDevice("evdev", _absolute(device, device))
    scheme, sep, _ = device.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", device):
            raise ConfigError(f"{device!r} is not a scanner device ({FORMS})")
        raise ConfigError(f"{device!r} is a relative path: give the absolute device path ({FORMS})")
    if scheme.lower() not in ("evdev", "serial"):
        raise ConfigError(f"unsupported scheme '{scheme}://' in {device!r} ({FORMS})")
    u = urlsplit(device)
    path, note = u.path, ""
    if u.netloc == "dev":  # the old two-slash form: "dev/…" opened from "/", i.e. /dev/…
        path = "/dev" + u.path
        note = (f"{device!r} is read as {path}; write {scheme}:///{device.partition('://')[2]} "
                f"(three slashes)")
    elif u.netloc:
        raise ConfigError(f"{device!r}: no host in a {scheme}:// device; three slashes: {scheme}:///dev/…")
    if u.fragment or "#" in device:
        raise ConfigError(f"{device!r}: a device has no #fragment")
    if scheme.lower() == "evdev":
        if u.query or "?" in device:
            raise ConfigError(f"{device!r}: evdev:// takes no options")
        return ScanDevice("evdev", _absolute(path, device), note=note)
    return ScanDevice("serial", _absolute(path, device), _baud(u.query, device), note)


def _absolute(path: str, device: str) -> str:
    if not path.startswith("/"):
        raise ConfigError(f"{device!r}: the device path must be absolute (/dev/…)")
    return path


def _baud(query: str, device: str) -> int:
    try:
        opts = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"bad options in {device!r}: serial:///dev/ttyACM0?baud=9600") from None
    unknown = sorted(set(opts) - {"baud"})
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r} in {device!r} (serial:// takes baud=N only)")
    values = opts.get("baud", ["9600"])
    lo, hi = BAUD_RANGE
    if len(values) != 1 or not re.fullmatch(r"[0-9]{1,8}", values[0]) or not lo <= int(values[0]) <= hi:
        raise ConfigError(f"bad baud rate in {device!r} (a number {lo}..{hi})")
    return int(values[0])


def check_present(dev: ScanDevice) -> str | None:
    """None when the device is there and of the right kind; a warning line when it is not there
    (or cannot be looked at); ConfigError when the path is something else."""
    if dev.kind == "stdin":
        return None
    try:
        st = os.stat(dev.path)  # follows udev's by-id symlinks, as opening the device does
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            return f"{dev.path} is not there now (unplugged?): the station opens it when it appears"
        if exc.errno in (errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG):
            raise ConfigError(f"{dev.path}: {exc.strerror}") from None
        return f"{dev.path} cannot be checked now ({exc.strerror or exc})"
    want, words = SUBSYSTEM[dev.kind]
    if not stat.S_ISCHR(st.st_mode):
        raise ConfigError(f"{dev.path} is a {file_kind(st.st_mode)}, not {words}")
    got = _subsystem(st.st_rdev)
    if got is not None and got != want:
        raise ConfigError(f"{dev.path} is a '{got}' character device, not {words}")
    return None


def _subsystem(rdev: int) -> str | None:
    """The kernel's class of a character device (``input``, ``tty``, ``mem`` …); None when sysfs
    does not say (not mounted, or a device it does not list, like a pty)."""
    try:
        link = os.readlink(f"{SYS_CHAR}/{os.major(rdev)}:{os.minor(rdev)}/subsystem")
    except OSError:
        return None
    return os.path.basename(link) or None


__all__ = ["FORMS", "ScanDevice", "check_present", "parse_device"]
