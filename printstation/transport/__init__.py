"""Transports by URI, one module each.

Stable API::

    from printstation.transport import from_uri, Transport, TRANSPORTS
    t = from_uri("tcp://10.0.0.5:9100", timeout=5.0)   # parses only, no I/O

URI forms (see each module's docstring):

- ``tcp://HOST[:PORT]`` — raw socket (JetDirect/9100), default port 9100.
- ``usb://VID:PID[?serial=SN&interface=N]`` — pyusb, bulk OUT (+ IN for status).
- ``file:///dev/usb/lp0`` — usblp character device or any file/FIFO path.
- ``serial:///dev/ttyUSB0[?baud=9600&rtscts=1&xonxoff=1]`` — pyserial.
- ``cups://QUEUE`` or ``cups://SERVER[:PORT]/QUEUE`` — ``lp -o raw`` (write only).
- ``dir:///abs/path`` or ``dir://./rel/path`` — each job a file ``<job id>.<ext>``.
- ``memory://NAME`` — in-process capture sink for tests.

Bad URIs raise :class:`~printstation.errors.TransportError` with ``transient=False``.
"""

from __future__ import annotations

import importlib
import urllib.parse

from ..errors import TransportError
from .base import DEFAULT_TIMEOUT, Transport, display_uri

#: scheme → "module:Class" (imported lazily so pyusb/pyserial load only when used).
TRANSPORTS: dict[str, str] = {
    "tcp": "printstation.transport.tcp:TcpTransport",
    "usb": "printstation.transport.usb:UsbTransport",
    "file": "printstation.transport.file:FileTransport",
    "serial": "printstation.transport.serial:SerialTransport",
    "cups": "printstation.transport.cups:CupsTransport",
    "dir": "printstation.transport.dir:DirTransport",
    "memory": "printstation.transport.memory:MemoryTransport",
}


def transport_class(scheme: str) -> type[Transport]:
    """The Transport subclass for a URI scheme (``tcp``, ``usb``...)."""
    target = TRANSPORTS[scheme]
    module_name, _, cls_name = target.partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


def from_uri(uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> Transport:
    """Build (not open) the transport for ``uri``.

    ``timeout`` is the connect/open timeout and the write progress timeout, in seconds.
    Raises TransportError(transient=False) for a malformed URI or an unknown scheme.
    """
    if not isinstance(uri, str) or "://" not in uri:
        raise TransportError(
            f"bad printer URI {display_uri(str(uri))!r}: expected SCHEME://..., e.g. tcp://host:9100",
            transient=False,
        )
    scheme = urllib.parse.urlsplit(uri).scheme.lower() if uri.split("://", 1)[0] else ""
    if scheme not in TRANSPORTS:
        raise TransportError(
            f"bad printer URI {display_uri(uri)!r}: unknown scheme {scheme!r} "
            f"(one of {', '.join(TRANSPORTS)})",
            transient=False,
        )
    return transport_class(scheme)(uri, timeout=timeout)


__all__ = ["DEFAULT_TIMEOUT", "TRANSPORTS", "Transport", "TransportError", "from_uri", "transport_class"]
