"""The transport interface: how label bytes get to (and status bytes come back from) a printer.

Every transport is one class in its own module, built from a URI by
:func:`printstation.transport.from_uri`. Building parses the URI only (no I/O), so a config
loader can call ``from_uri`` to validate printers before anything starts.

Contract (stable; the daemon codes against it)::

    t = from_uri("tcp://10.0.0.5:9100", timeout=5.0)
    with t:                                  # open() ... close()
        t.write(data, job_id="42", ext="zpl")  # returns when every byte is handed over
        if t.can_read:
            answer = t.read(4096, timeout=1.0)  # b"" when nothing came in time

- ``uri``: for display and logs; never holds secrets (userinfo is stripped).
- ``timeout``: the connect/open timeout and the write *progress* timeout: a write fails when the
  printer accepts no byte for that long (a large job on a slow printer may take longer in total).
- ``write()`` opens the transport first when it is not open. After any error the transport is
  closed, so the next ``write()`` reconnects from scratch. A write that fails after bytes went
  out may have printed part (or, for ``tcp://`` when only the final acknowledgement timed out,
  all) of the job: callers that must not print twice treat such a job as interrupted.
  A printer busy working through a full buffer takes no bytes meanwhile: pick ``timeout``
  above that time.
- ``read()`` returns what arrived (at most ``n`` bytes) or ``b""`` after ``timeout`` seconds.
  Transports with ``can_read = False`` always return ``b""``; ``can_read`` may become accurate
  only after ``open()`` (e.g. a USB printer without a bulk IN endpoint).
- Errors are :class:`~printstation.errors.TransportError` with a one-line message that starts
  with the printer URI, and ``transient``:

  * ``True`` (retry later, printer is offline): connection refused/reset/aborted, broken pipe,
    any timeout, host/network unreachable, device missing or unplugged (ENOENT/ENODEV/ENXIO),
    device busy (EBUSY), I/O error (EIO), disk full (ENOSPC, ``dir://``), EAGAIN.
  * ``False`` (needs an operator; the job fails): a bad URI, permission denied (EACCES/EPERM — a
    udev rule or group membership is missing), a missing helper or library (``lp``, libusb), a
    read-only file system, a path that is a directory, and any other unexpected OS error.
"""

from __future__ import annotations

import errno
import socket
import urllib.parse
from abc import ABC, abstractmethod
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar

from ..errors import TransportError

if TYPE_CHECKING:
    from ..status import PrinterStatus

#: Default connect/write-progress timeout, seconds.
DEFAULT_TIMEOUT = 5.0

#: errno values after which a retry may succeed.
TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH",
        "ENETUNREACH", "ENETDOWN", "EHOSTDOWN", "ENOENT", "ENODEV", "ENXIO", "EBUSY", "EIO",
        "EAGAIN", "EWOULDBLOCK", "EINTR", "ENOSPC", "ESHUTDOWN", "ENOTCONN",
    )
    if hasattr(errno, name)
)


def display_uri(uri: str) -> str:
    """``uri`` without userinfo (``user:password@``), safe for logs, errors and the API."""
    try:
        parts = urllib.parse.urlsplit(uri)
    except ValueError:
        return uri.split("@")[-1]
    if "@" not in parts.netloc:
        return uri
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def is_transient_oserror(exc: BaseException) -> bool:
    """Whether an OS-level error means "try again later" (see the module docstring)."""
    if isinstance(exc, (TimeoutError, socket.timeout, ConnectionError, BlockingIOError)):
        return True
    if isinstance(exc, socket.gaierror):
        # Name resolution failure: DNS may come back; a typo stays. Treat as transient, the
        # message names the host so an operator sees it in the printer's reason.
        return True
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno in TRANSIENT_ERRNOS
    return False


def describe_oserror(exc: BaseException) -> str:
    """A short lower-case reason for an OS error (``connection refused``, ``timed out``)."""
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


class Transport(ABC):
    """One printer connection. Subclasses set ``scheme`` and implement ``_open/_write/_close``.

    Not thread-safe: one printer worker owns one transport at a time.
    """

    #: URI scheme this class serves (``tcp``, ``dir``, ...).
    scheme: ClassVar[str] = ""
    #: Whether :meth:`read` can return printer answers (status queries need it).
    can_read: bool = False
    #: True when a failed :meth:`write` delivered nothing at all (``dir://`` renames a finished
    #: file into place), so the job may safely be sent again. False for byte streams: a write
    #: that fails part-way may already have printed the label.
    atomic_write: bool = False
    #: True when the transport itself knows whether the printer can take a job (``cups://`` asks
    #: the scheduler for the queue's state): :func:`printstation.status.query_status` then calls
    #: :meth:`own_status` instead of sending a query in the printer's language, and the printer
    #: worker asks it before every job whatever ``status_poll`` says.
    has_own_status: bool = False
    #: How ``printers discover`` and ``doctor`` learn which printer answers: ``"probe"`` (ask
    #: in each printer language over this connection), ``"usb"`` (the USB device ID) or ``""``.
    identify: str = ""

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.uri = display_uri(uri)
        self.timeout = float(timeout)
        if not self.timeout > 0:
            raise self.error(f"timeout must be > 0, got {timeout!r}", transient=False)
        self._is_open = False

    # -- helpers -----------------------------------------------------------------------------

    def error(self, reason: str, *, transient: bool) -> TransportError:
        """A :class:`TransportError` whose message is ``"<uri>: <reason>"``."""
        return TransportError(f"{self.uri}: {reason}", transient=transient)

    def os_error(self, action: str, exc: BaseException) -> TransportError:
        """Map an OS error during ``action`` (``connect``, ``write``...) to a TransportError."""
        return self.error(f"{action}: {describe_oserror(exc)}", transient=is_transient_oserror(exc))

    @property
    def is_open(self) -> bool:
        return self._is_open

    # -- public API ----------------------------------------------------------------------------

    def open(self) -> None:
        """Connect / open the device. Idempotent. Raises :class:`TransportError`."""
        if self._is_open:
            return
        self._open()
        self._is_open = True

    def write(self, data: bytes, *, job_id: str | None = None, ext: str = "bin") -> None:
        """Send ``data`` (one job or a command). ``dir://`` names the file ``<job_id>.<ext>``.

        Returns once every byte is handed over to the printer/OS. On error the transport is
        closed and :class:`TransportError` is raised.
        """
        self.open()
        try:
            self._write(bytes(data), job_id=job_id, ext=ext)
        except TransportError:
            self.close()
            raise
        except Exception as exc:
            if self._is_open and not isinstance(exc, OSError):
                raise  # a bug, not the printer
            cut = not self._is_open  # closed under the write from another thread (the station stopping)
            self.close()
            if cut:
                raise self.error("write: cut off: the connection was closed while writing", transient=True) from exc
            raise self.os_error("write", exc) from exc

    def read(self, n: int = 4096, timeout: float = 1.0) -> bytes:
        """Up to ``n`` bytes the printer sent, or ``b""`` if nothing came within ``timeout``."""
        if not self.can_read:
            return b""
        self.open()
        try:
            return self._read(n, timeout)
        except TransportError:
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise self.os_error("read", exc) from exc

    def check(self) -> None:
        """Whether the printer is there, sending nothing: open and close again (the station's
        check at start). Raises :class:`TransportError`. Transports whose opening has a side
        effect override it (``dir://`` checks the folder without creating it)."""
        was_open = self._is_open
        self.open()
        if not was_open:
            self.close()

    def close(self) -> None:
        """Release the connection/device. Idempotent; never raises."""
        if not self._is_open:
            return
        self._is_open = False
        try:
            self._close()
        except Exception:  # noqa: BLE001 - closing must not mask the original error
            pass

    def __enter__(self) -> "Transport":
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri}>"

    def own_status(self, timeout: float) -> "PrinterStatus":
        """The printer's state as the transport sees it (``has_own_status`` transports only).

        May raise :class:`TransportError`; :func:`~printstation.status.query_status` maps it.
        """
        raise NotImplementedError

    def fix_hint(self, status: "PrinterStatus") -> str:
        """How an operator fixes ``status`` (the command to run), or "" when the transport has no
        better advice than the generic one."""
        return ""

    # -- for subclasses ------------------------------------------------------------------------

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None: ...

    def _read(self, n: int, timeout: float) -> bytes:
        return b""

    @abstractmethod
    def _close(self) -> None: ...


def parse_query(uri: str, parts: urllib.parse.SplitResult, allowed: set[str]) -> dict[str, str]:
    """Query parameters of ``uri``; an unknown or repeated one is a permanent TransportError."""
    out: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if key not in allowed:
            hint = f" (known: {', '.join(sorted(allowed))})" if allowed else ""
            raise TransportError(
                f"{display_uri(uri)}: unknown query parameter {key!r}{hint}", transient=False
            )
        if key in out:
            raise TransportError(f"{display_uri(uri)}: repeated query parameter {key!r}", transient=False)
        out[key] = value
    return out


__all__ = [
    "DEFAULT_TIMEOUT",
    "Transport",
    "TransportError",
    "describe_oserror",
    "display_uri",
    "is_transient_oserror",
    "parse_query",
]
