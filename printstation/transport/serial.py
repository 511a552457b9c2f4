"""``serial:///dev/ttyUSB0?baud=9600`` — RS-232 / USB-serial printers via pyserial.

Query parameters (all optional):

- ``baud`` — 1200…921600, default 9600.
- ``bytesize`` (7|8, default 8), ``parity`` (N|E|O, default N), ``stopbits`` (1|2, default 1).
- ``rtscts`` / ``xonxoff`` — ``1``/``0`` hardware or software flow control, default off.

The port is opened exclusively. ``timeout`` is the write timeout (pyserial ``write_timeout``):
a printer holding flow control for that long fails the write (transient). Reads (status answers)
are supported. pyserial is imported when the port is opened.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from typing import Any

from ..errors import TransportError
from .base import DEFAULT_TIMEOUT, TRANSIENT_ERRNOS, Transport, parse_query

BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


class SerialTransport(Transport):
    scheme = "serial"
    can_read = True
    identify = "probe"

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(uri, timeout=timeout)
        parts = urllib.parse.urlsplit(uri)
        q = parse_query(uri, parts, {"baud", "bytesize", "parity", "stopbits", "rtscts", "xonxoff"})
        path = urllib.parse.unquote(parts.netloc + parts.path)
        if not path.startswith("/"):
            raise self.error("serial:// takes a device path (serial:///dev/ttyUSB0)", transient=False)
        self.port = path
        self.baud = self._choice(q, "baud", "9600", {str(b): b for b in BAUDS})
        self.bytesize = self._choice(q, "bytesize", "8", {"7": 7, "8": 8})
        self.parity = self._choice(q, "parity", "N", {"N": "N", "E": "E", "O": "O"}, upper=True)
        self.stopbits = self._choice(q, "stopbits", "1", {"1": 1, "2": 2})
        self.rtscts = self._choice(q, "rtscts", "0", _BOOL, lower=True)
        self.xonxoff = self._choice(q, "xonxoff", "0", _BOOL, lower=True)
        self._ser: Any = None

    def _choice(self, q: dict[str, str], key: str, default: str, allowed: dict[str, Any],
                *, upper: bool = False, lower: bool = False) -> Any:
        value = q.get(key, default)
        value = value.upper() if upper else value.lower() if lower else value
        if value not in allowed:
            raise self.error(f"bad {key}={q.get(key)!r} (one of {', '.join(allowed)})", transient=False)
        return allowed[value]

    def _open(self) -> None:
        try:
            import serial  # pyserial
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise self.error("pyserial is not installed", transient=False) from exc
        try:
            self._ser = serial.Serial(
                self.port, baudrate=self.baud, bytesize=self.bytesize, parity=self.parity,
                stopbits=self.stopbits, rtscts=self.rtscts, xonxoff=self.xonxoff,
                timeout=0, write_timeout=self.timeout, exclusive=True,
            )
        except serial.SerialException as exc:
            raise self._map(exc, "open") from exc

    def _map(self, exc: Exception, action: str) -> TransportError:
        import serial

        if isinstance(exc, serial.SerialTimeoutException):
            return self.error(f"{action}: timed out (no progress for {self.timeout:g} s)", transient=True)
        if "exclusively lock" in str(exc).lower():
            return self.error(f"{action}: port busy (used by another program)", transient=True)
        for cand in (exc, exc.__context__, exc.__cause__):
            code = getattr(cand, "errno", None)
            if isinstance(cand, OSError) and isinstance(code, int):
                return self.error(f"{action}: {os.strerror(code).lower()}",
                                  transient=code in TRANSIENT_ERRNOS)
        text = str(exc).split("\n")[0]
        # pyserial's "device reports readiness to read but returned no data (device
        # disconnected or multiple access on port?)" and friends: unplugged → transient
        return self.error(f"{action}: {text}", transient=True)

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        import serial

        try:
            self._ser.write(data)
            self._ser.flush()
        except serial.SerialException as exc:
            raise self._map(exc, "write") from exc

    def _read(self, n: int, timeout: float) -> bytes:
        import serial

        ser = self._ser
        try:
            deadline = time.monotonic() + max(0.0, timeout)
            ser.timeout = max(0.0, timeout)
            first = ser.read(1)
            if not first:
                return b""
            out = first
            # take what follows right behind it (an answer comes as a burst)
            ser.timeout = 0.02
            while len(out) < n and time.monotonic() < deadline + 0.1:
                more = ser.read(min(n - len(out), max(1, ser.in_waiting)))
                if not more:
                    break
                out += more
            return out
        except serial.SerialException as exc:
            raise self._map(exc, "read") from exc
        finally:
            try:
                ser.timeout = 0
            except Exception:  # noqa: BLE001
                pass

    def _close(self) -> None:
        ser, self._ser = self._ser, None
        if ser is not None:
            ser.close()
