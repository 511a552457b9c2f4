"""systemd's notify protocol in plain socket code: ``READY=1``, ``STATUS=…``, ``WATCHDOG=1``.

``$NOTIFY_SOCKET`` is a unix datagram socket path, or an abstract one when it starts with ``@``.
Without it every call is a no-op, so the daemon runs the same in a terminal.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ if env is None else env)
        self.address = self._address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_interval = self._watchdog(env)
        self._sock: socket.socket | None = None

    @staticmethod
    def _address(path: str) -> str | None:
        if not path:
            return None
        if path.startswith("@"):
            return "\0" + path[1:]
        if path.startswith("/"):
            return path
        log.warning("NOTIFY_SOCKET %r is neither a path nor an abstract name: ignored", path)
        return None

    @staticmethod
    def _watchdog(env: dict[str, str]) -> float | None:
        """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None."""
        try:
            usec = int(env.get("WATCHDOG_USEC", "0"))
        except ValueError:
            return None
        pid = env.get("WATCHDOG_PID")
        if usec <= 0 or (pid and pid.isdigit() and int(pid) != os.getpid()):
            return None
        return usec / 2_000_000

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send ``KEY=VALUE`` lines in one datagram. False when not under systemd or on error."""
        if self.address is None:
            return False
        msg = "\n".join(lines).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)  # a full or dead receiver must never stall the daemon
            self._sock.sendto(msg, self.address)
            return True
        except OSError as exc:
            log.debug("sd_notify failed: %s", exc)
            return False

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
