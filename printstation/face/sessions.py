"""Console sessions ended by ``POST /logout``: their ids, kept until they would have expired.

A session cookie (:mod:`printstation.face.console`) carries a random id; logout puts the id here,
so a copy of the cookie taken before (another browser, a proxy log) stops working at once while
other sessions go on. The set is kept in ``<data dir>/console-logouts`` (0600, one ``<id>
<expiry>`` per line, rewritten atomically), so a restart keeps a session ended. Bounded: ids are
dropped once their session has expired anyway; past :data:`MAX_LOGOUTS` live ones the one that
expires first is dropped (only a holder of a valid session can add one).
"""

from __future__ import annotations

import errno
import logging
import re
import threading
import time
from pathlib import Path

from ..fsutil import atomic_write, read_regular

log = logging.getLogger(__name__)

MAX_LOGOUTS = 10_000
FILE_NAME = "console-logouts"
_LINE = re.compile(r"([0-9a-f]{32}) ([0-9]{1,12})")


class Logouts:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()
        if path is not None:
            self._load(path)

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            return sid in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def _load(self, path: Path) -> None:
        try:
            text = read_regular(path, MAX_LOGOUTS * 64).decode("ascii", "replace")
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                log.warning("console: cannot read %s: %s (ended sessions are not remembered)",
                            path, exc.strerror or exc)
            return
        now = time.time()
        for line in text.splitlines():
            m = _LINE.fullmatch(line.strip())
            if m and int(m.group(2)) > now:
                self._ids[m.group(1)] = int(m.group(2))

    def add(self, sid: str, expires: int) -> None:
        """End session ``sid`` (valid until ``expires``) and keep that on disk."""
        now = time.time()
        with self._lock:
            self._ids = {s: e for s, e in self._ids.items() if e > now}
            while len(self._ids) >= MAX_LOGOUTS:
                del self._ids[min(self._ids, key=self._ids.__getitem__)]
            self._ids[sid] = expires
            data = "".join(f"{s} {e}\n" for s, e in self._ids.items()).encode()
            if self.path is None:
                return
            try:
                atomic_write(self.path, data, mode=0o600)
            except OSError as exc:  # still ended until the daemon stops
                log.warning("console: cannot write %s: %s (this logout lasts until a restart)",
                            self.path, exc.strerror or exc)
