"""USB printers: printer-class devices (libusb via pyusb) and usblp nodes, by their IEEE-1284 ID.

- libusb: every device with an interface of class 7 (printer); its device ID comes from the
  printer-class ``GET_DEVICE_ID`` control request (:func:`~printstation.transport.usb.read_device_id`)
  → ``usb://VID:PID?serial=SN`` (the serial from the device descriptor, else the ID's ``SN``/
  ``SERN``).
- usblp (the kernel driver, ``/dev/usb/lp*``): the ID from sysfs ``ieee1284_id`` (or the
  ``LPIOC_GET_DEVICE_ID`` ioctl on the node); a printer libusb already listed is not repeated;
  without libusb its uri is ``file:///dev/usb/lpN``.

The ID's ``MFG``/``MANUFACTURER``, ``MDL``/``MODEL``, ``CMD``/``COMMAND SET`` and ``SN`` keys give
the maker, model, language (the first command set in the printer's own list that a language of
:mod:`printstation.lang.registry` names as its ``IDENTIFY.usb_command``) and serial; the dpi is
read from the model name where it says it (``ZTC ZD421-203dpi ZPL``), else as the language reads
its model names (``IDENTIFY.dpi_from_model``). Nothing is written to a printer.
"""

from __future__ import annotations

import array
import errno
import logging
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

from ..identify import Identity, clean, dpi_from_name
from ..lang.registry import identifiers

log = logging.getLogger(__name__)

SYSFS_USBMISC = Path("/sys/class/usbmisc")
DEV_USB = Path("/dev/usb")
_READ_LIMIT = 4096


def parse_device_id(text: str) -> dict[str, str]:
    """``MFG:Zebra;CMD:ZPL,XML;MDL:ZD421;`` → {"MFG": …, "CMD": …, "MDL": …} (long keys folded)."""
    out: dict[str, str] = {}
    alias = {"MANUFACTURER": "MFG", "MODEL": "MDL", "COMMAND SET": "CMD", "COMMANDSET": "CMD",
             "SERN": "SN", "SERIALNUMBER": "SN", "SERIAL": "SN", "CLASS": "CLS", "DESCRIPTION": "DES"}
    for part in text.split(";"):
        key, sep, value = part.partition(":")
        if not sep:
            continue
        key = " ".join(key.split()).upper()
        key = alias.get(key, key)
        if key and key not in out:
            out[key] = value.strip()
    return out


def lang_from_cmd(cmd: str) -> str | None:
    """The language of a 1284 command-set list: the first token in the printer's own order that
    a registered language names (``IDENTIFY.usb_command``)."""
    known = [(proto.usb_command, name) for name, proto in identifiers() if proto.usb_command is not None]
    for token in re.split(r"[,\s]+", cmd or ""):
        for rx, lang in known:
            if rx.match(token):
                return lang
    return None


def identity_from_id(uri: str, device_id: str, serial: str | None = None) -> Identity:
    f = parse_device_id(device_id)
    model = clean(f.get("MDL", "")) or None
    ident = Identity(uri=uri, model=model, manufacturer=clean(f.get("MFG", "")) or None,
                     serial=serial or clean(f.get("SN", "")) or None, via="USB IEEE-1284 ID")
    ident.extra["device_id"] = clean(device_id, 300)
    lang = lang_from_cmd(f.get("CMD", ""))
    if lang is None:
        cmd = clean(f.get("CMD", "")) or "no command set"
        ident.problem = f"{' '.join(x for x in (ident.manufacturer, model) if x) or 'USB printer'} " \
                        f"speaks {cmd}: not a language printstation prints"
        return ident
    ident.lang = lang
    ident.dpi = dpi_from_name(model)
    from_model = dict(identifiers())[lang].dpi_from_model
    if ident.dpi is None and from_model is not None and model:
        ident.dpi = from_model(model)
    return ident


def usb_uri(vid: int, pid: int, serial: str | None) -> str:
    uri = f"usb://{vid:04x}:{pid:04x}"
    return uri + (f"?serial={urllib.parse.quote(serial, safe='')}" if serial else "")


# -- libusb --------------------------------------------------------------------------------------


def _printer_interface(dev: Any) -> tuple[int, int, int] | None:
    """(configuration index, interface number, alternate setting) of the first printer interface."""
    for ci, cfg in enumerate(dev):
        for intf in cfg:
            if intf.bInterfaceClass == 7:
                return ci, intf.bInterfaceNumber, getattr(intf, "bAlternateSetting", 0)
    return None


def scan_libusb(backend: Any = None) -> tuple[list[Identity], list[tuple[int, int, str | None]], str | None]:
    """(printers, their (vid, pid, serial) keys, a problem line or None)."""
    from ..transport.usb import PyUsbBackend, read_device_id

    backend = backend or PyUsbBackend()
    try:
        devices = backend.find_printers()
    except Exception as exc:  # noqa: BLE001 - NoBackendError, USBError, ImportError
        if type(exc).__name__ == "NoBackendError":
            return [], [], "libusb is not available (install libusb-1.0): only usblp nodes were looked at"
        return [], [], f"cannot list USB devices: {exc}"
    found, keys = [], []
    for dev in devices:
        vid, pid = int(dev.idVendor), int(dev.idProduct)
        try:
            serial = backend.serial_number(dev)
        except Exception as exc:  # noqa: BLE001 - no permission to read strings
            log.debug("usb %04x:%04x: serial: %s", vid, pid, exc)
            serial = None
        where = _printer_interface(dev)
        device_id = ""
        problem = None
        if where is not None:
            try:
                device_id = read_device_id(dev, *where)
            except Exception as exc:  # noqa: BLE001
                code = getattr(exc, "errno", None)
                problem = ("permission denied reading its device ID (add the udev rule)"
                           if code in (errno.EACCES, errno.EPERM) else f"no device ID ({exc})")
        serial = clean(serial or "") or None
        ident = identity_from_id("", device_id, serial)
        ident.uri = usb_uri(vid, pid, ident.serial)
        if problem and not device_id:
            ident.lang, ident.problem = None, problem
        ident.extra["usb"] = f"{vid:04x}:{pid:04x}"
        found.append(ident)
        keys.append((vid, pid, ident.serial))
        try:
            backend.dispose(dev)
        except Exception:  # noqa: BLE001
            pass
    same: dict[tuple[int, int], list[str | None]] = {}
    for ident, (vid, pid, serial) in zip(found, keys):
        same.setdefault((vid, pid), []).append(serial)
    for ident, (vid, pid, serial) in zip(found, keys):
        if len(same[(vid, pid)]) > 1 and not serial:
            ident.extra["note"] = "several identical printers without serial numbers: use file:///dev/usb/lpN"
    return found, keys, None


# -- usblp ---------------------------------------------------------------------------------------


def _read_small(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        return os.read(fd, _READ_LIMIT).decode("latin-1").strip()
    except OSError:
        return None
    finally:
        os.close(fd)


def lpioc_get_device_id(length: int) -> int:
    """``LPIOC_GET_DEVICE_ID(len)`` = ``_IOC(_IOC_READ, 'P', 1, len)``."""
    return (2 << 30) | (length << 16) | (ord("P") << 8) | 1


def ioctl_device_id(node: Path) -> str | None:
    """The device ID of a usblp node through its ioctl (needs read access to the node)."""
    import fcntl

    try:
        fd = os.open(node, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        buf = array.array("B", bytes(1024))
        fcntl.ioctl(fd, lpioc_get_device_id(len(buf)), buf, True)
        from ..transport.usb import decode_device_id

        return decode_device_id(buf.tobytes())
    except OSError:
        return None
    finally:
        os.close(fd)


def scan_usblp(sysfs: Path | None = None, dev_dir: Path | None = None
               ) -> list[tuple[Identity, tuple[int, int, str | None]]]:
    sysfs = SYSFS_USBMISC if sysfs is None else sysfs
    dev_dir = DEV_USB if dev_dir is None else dev_dir
    out = []
    try:
        names = sorted(p.name for p in sysfs.iterdir() if re.fullmatch(r"lp\d+", p.name))
    except OSError:
        names = []
    for name in names:
        intf_dir = sysfs / name / "device"
        device_id = _read_small(intf_dir / "ieee1284_id") or ioctl_device_id(dev_dir / name) or ""
        usbdev = intf_dir / ".."
        vid_s, pid_s = _read_small(usbdev / "idVendor"), _read_small(usbdev / "idProduct")
        serial = clean(_read_small(usbdev / "serial") or "") or None
        try:
            vid, pid = int(vid_s or "", 16), int(pid_s or "", 16)
        except ValueError:
            vid = pid = -1
        ident = identity_from_id(f"file://{dev_dir / name}", device_id, serial)
        if not device_id:
            ident.lang, ident.problem = None, "usblp node without a device ID"
        ident.extra["usb"] = f"{vid:04x}:{pid:04x}" if vid >= 0 else "?"
        out.append((ident, (vid, pid, ident.serial)))
    return out


def scan(backend: Any = None, sysfs: Path | None = None, dev_dir: Path | None = None
         ) -> tuple[list[Identity], list[str]]:
    """Every USB printer once: (identities, notes for the output)."""
    notes: list[str] = []
    found, keys, problem = scan_libusb(backend)
    if problem:
        notes.append(problem)
    have = set(keys)
    for ident, key in scan_usblp(sysfs, dev_dir):
        if key in have or (key[0], key[1], None) in have:
            continue
        found.append(ident)
    if not found:
        notes.append("no USB printer found")
    return found, notes
