"""``usb://VID:PID[?serial=SN&interface=N]`` — a USB printer driven directly through libusb (pyusb).

``VID``/``PID`` are 4 hex digits (``usb://0a5f:0181``). On ``open()``:

1. find the device(s) with that VID:PID (``serial=`` picks one by its serial number string;
   several matches without ``serial=`` is a permanent error asking for it; none is transient:
   unplugged or powered off);
2. take the active configuration (setting the first one when the device is unconfigured);
3. pick the interface: ``interface=N`` if given, else the first USB printer-class (7) interface
   with a bulk OUT endpoint, else the first interface with a bulk OUT endpoint;
4. detach the kernel driver (usblp) from it if active, claim it; remember to re-attach on close;
5. use its bulk OUT endpoint for writes and its bulk IN endpoint (if any) for reads
   (``can_read`` is known after open: printers without bulk IN have no status).

Writes go in 16 KiB chunks, each must finish within ``timeout``. Errors: ENODEV/EBUSY/EIO/
timeouts/pipe → transient; EACCES (no udev rule) and a missing libusb → permanent.

Hardware sits behind :class:`UsbBackend` (device lookup, claim/release, serial string); tests
pass a fake backend and fake pyusb-like device objects (``from_uri`` uses :class:`PyUsbBackend`;
build ``UsbTransport(uri, backend=...)`` directly to inject one). pyusb is imported lazily.
"""

from __future__ import annotations

import errno as errno_mod
import logging
import re
import urllib.parse
from typing import Any, Protocol

from ..errors import TransportError
from .base import DEFAULT_TIMEOUT, TRANSIENT_ERRNOS, Transport, parse_query

log = logging.getLogger(__name__)

CHUNK = 16 * 1024
PRINTER_CLASS = 7
_VIDPID = re.compile(r"([0-9A-Fa-f]{4}):([0-9A-Fa-f]{4})")


class UsbBackend(Protocol):
    """What UsbTransport needs from libusb; devices are pyusb ``usb.core.Device``-like."""

    def find(self, vid: int, pid: int) -> list[Any]: ...
    def serial_number(self, dev: Any) -> str | None: ...
    def claim(self, dev: Any, interface: int) -> None: ...
    def release(self, dev: Any, interface: int) -> None: ...
    def dispose(self, dev: Any) -> None: ...


class PyUsbBackend:
    """The real backend: pyusb over libusb-1.0."""

    def find(self, vid: int, pid: int) -> list[Any]:
        import usb.core

        return list(usb.core.find(find_all=True, idVendor=vid, idProduct=pid) or [])

    def serial_number(self, dev: Any) -> str | None:
        import usb.util

        if not getattr(dev, "iSerialNumber", 0):
            return None
        return usb.util.get_string(dev, dev.iSerialNumber)

    def claim(self, dev: Any, interface: int) -> None:
        import usb.util

        usb.util.claim_interface(dev, interface)

    def release(self, dev: Any, interface: int) -> None:
        import usb.util

        usb.util.release_interface(dev, interface)

    def dispose(self, dev: Any) -> None:
        import usb.util

        usb.util.dispose_resources(dev)

    # -- discovery (``printstation printers discover --usb``) ------------------------------------

    def find_printers(self) -> list[Any]:
        """Every device with a printer-class (7) interface."""
        import usb.core

        return list(usb.core.find(find_all=True, custom_match=has_printer_interface) or [])

    def string(self, dev: Any, index: int) -> str | None:
        import usb.util

        return usb.util.get_string(dev, index) if index else None


def has_printer_interface(dev: Any) -> bool:
    """Whether a pyusb-like device has a USB printer-class interface in any configuration."""
    if getattr(dev, "bDeviceClass", 0) == PRINTER_CLASS:
        return True
    try:
        return any(intf.bInterfaceClass == PRINTER_CLASS for cfg in dev for intf in cfg)
    except Exception:  # noqa: BLE001 - a device that will not describe itself is no printer
        return False


#: USB printer class request GET_DEVICE_ID (class, interface, device-to-host).
GET_DEVICE_ID = 0
DEVICE_ID_MAX = 1023


def read_device_id(dev: Any, config_index: int, interface: int, alternate: int = 0) -> str:
    """The IEEE-1284 device ID of a printer interface (GET_DEVICE_ID control request).

    The answer starts with its own length (2 bytes, big endian, counting those 2 bytes).
    """
    raw = bytes(dev.ctrl_transfer(0xA1, GET_DEVICE_ID, config_index, (interface << 8) | alternate,
                                  DEVICE_ID_MAX, 1000))
    return decode_device_id(raw)


def decode_device_id(raw: bytes) -> str:
    """Strip the 2-byte length prefix of a device ID answer (some firmware sends it little endian)."""
    if len(raw) < 2:
        return ""
    n = int.from_bytes(raw[:2], "big")
    if not 2 <= n <= len(raw):
        n = int.from_bytes(raw[:2], "little")
    if not 2 <= n <= len(raw):
        n = len(raw)
    return raw[2:n].decode("latin-1").rstrip("\x00").strip()


def _is_bulk(ep: Any) -> bool:
    return (ep.bmAttributes & 0x03) == 0x02


def _is_in(ep: Any) -> bool:
    return bool(ep.bEndpointAddress & 0x80)


class UsbTransport(Transport):
    scheme = "usb"
    identify = "usb"

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT,
                 backend: UsbBackend | None = None) -> None:
        super().__init__(uri, timeout=timeout)
        parts = urllib.parse.urlsplit(uri)
        q = parse_query(uri, parts, {"serial", "interface"})
        m = _VIDPID.fullmatch(parts.netloc)
        if not m or parts.path not in ("", "/"):
            raise self.error("expected usb://VID:PID with 4 hex digits each, e.g. usb://0a5f:0181",
                             transient=False)
        self.vid, self.pid = int(m.group(1), 16), int(m.group(2), 16)
        self.serial = q.get("serial") or None
        self.interface: int | None = None
        if "interface" in q:
            if not q["interface"].isdigit():
                raise self.error(f"bad interface={q['interface']!r} (a number)", transient=False)
            self.interface = int(q["interface"])
        self.backend: UsbBackend = backend or PyUsbBackend()
        self.can_read = True  # accurate after open()
        self._dev: Any = None
        self._intf: int | None = None
        self._ep_out: Any = None
        self._ep_in: Any = None
        self._reattach = False
        self._rx = b""

    # -- error mapping ---------------------------------------------------------------------------

    def _usb_error(self, action: str, exc: BaseException) -> TransportError:
        if type(exc).__name__ == "NoBackendError":
            return self.error("libusb is not available (install libusb-1.0)", transient=False)
        if type(exc).__name__ == "USBTimeoutError":
            return self.error(f"{action}: timed out", transient=True)
        code = getattr(exc, "errno", None)
        text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if isinstance(code, int):
            if code in (errno_mod.EACCES, errno_mod.EPERM):
                return self.error(f"{action}: permission denied (add a udev rule for "
                                  f"{self.vid:04x}:{self.pid:04x})", transient=False)
            return self.error(f"{action}: {text}", transient=code in TRANSIENT_ERRNOS)
        return self.error(f"{action}: {text}", transient=True)

    # -- open/close ------------------------------------------------------------------------------

    def _find(self) -> Any:
        try:
            devices = self.backend.find(self.vid, self.pid)
        except Exception as exc:  # noqa: BLE001 - NoBackendError, USBError
            raise self._usb_error("find", exc) from exc
        if self.serial is not None:
            for dev in devices:
                try:
                    sn = self.backend.serial_number(dev)
                except Exception as exc:  # noqa: BLE001
                    raise self._usb_error("read serial number", exc) from exc
                if sn == self.serial:
                    return dev
            raise self.error(f"open: no device with serial {self.serial!r} (unplugged?)",
                             transient=True)
        if not devices:
            raise self.error("open: device not found (unplugged or powered off?)", transient=True)
        if len(devices) > 1:
            raise self.error(f"open: {len(devices)} devices match; add ?serial=… to choose one",
                             transient=False)
        return devices[0]

    def _pick_interface(self, cfg: Any) -> tuple[Any, Any, Any]:
        candidates = []
        for intf in cfg:
            if getattr(intf, "bAlternateSetting", 0) != 0:
                continue
            eps = list(intf)
            out = next((e for e in eps if _is_bulk(e) and not _is_in(e)), None)
            inp = next((e for e in eps if _is_bulk(e) and _is_in(e)), None)
            candidates.append((intf, out, inp))
        if self.interface is not None:
            for intf, out, inp in candidates:
                if intf.bInterfaceNumber == self.interface:
                    if out is None:
                        raise self.error(f"open: interface {self.interface} has no bulk OUT endpoint",
                                         transient=False)
                    return intf, out, inp
            raise self.error(f"open: no interface {self.interface}", transient=False)
        usable = [c for c in candidates if c[1] is not None]
        printers = [c for c in usable if c[0].bInterfaceClass == PRINTER_CLASS]
        if printers:
            return printers[0]
        if usable:
            return usable[0]
        raise self.error("open: no interface with a bulk OUT endpoint (not a printer?)", transient=False)

    def _open(self) -> None:
        dev = self._find()
        try:
            try:
                cfg = dev.get_active_configuration()
            except Exception:  # noqa: BLE001 - unconfigured device
                cfg = None
            if cfg is None:
                dev.set_configuration()
                cfg = dev.get_active_configuration()
            intf, ep_out, ep_in = self._pick_interface(cfg)
            n = intf.bInterfaceNumber
            self._intf, self._reattach = n, False  # so a failure below still cleans up
            try:
                if dev.is_kernel_driver_active(n):
                    dev.detach_kernel_driver(n)
                    self._reattach = True
            except NotImplementedError:  # backends/OSes without the call
                pass
            self.backend.claim(dev, n)
        except TransportError:
            self._release(dev)
            raise
        except Exception as exc:  # noqa: BLE001 - USBError and friends
            self._release(dev)
            raise self._usb_error("open", exc) from exc
        self._dev, self._ep_out, self._ep_in = dev, ep_out, ep_in
        self._rx = b""
        self.can_read = ep_in is not None

    def _release(self, dev: Any) -> None:
        intf, self._intf = self._intf, None
        for step in (
            (lambda: self.backend.release(dev, intf)) if intf is not None else None,
            (lambda: dev.attach_kernel_driver(intf)) if (self._reattach and intf is not None) else None,
            lambda: self.backend.dispose(dev),
        ):
            if step is None:
                continue
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - best effort on close
                log.debug("%s: usb cleanup: %s", self.uri, exc)
        self._reattach = False

    def _close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            self._release(dev)
        self._ep_out = self._ep_in = None

    # -- I/O ------------------------------------------------------------------------------------

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        ms = max(1, int(self.timeout * 1000))
        addr = self._ep_out.bEndpointAddress
        view = memoryview(data)
        while view:
            try:
                n = self._dev.write(addr, view[:CHUNK], ms)
            except Exception as exc:  # noqa: BLE001
                raise self._usb_error("write", exc) from exc
            if not n:
                raise self.error("write: device accepted no data", transient=True)
            view = view[n:]

    def _read(self, n: int, timeout: float) -> bytes:
        if self._ep_in is None:
            return b""
        if self._rx:
            out, self._rx = self._rx[:n], self._rx[n:]
            return out
        size = max(n, getattr(self._ep_in, "wMaxPacketSize", 64) or 64)
        try:
            got = self._dev.read(self._ep_in.bEndpointAddress, size, max(1, int(timeout * 1000)))
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ == "USBTimeoutError" or getattr(exc, "errno", None) == errno_mod.ETIMEDOUT:
                return b""
            raise self._usb_error("read", exc) from exc
        data = bytes(got)
        out, self._rx = data[:n], data[n:]
        return out
