"""``dir:///abs/path`` or ``dir://./relative/path`` — a "printer" that is a directory.

Each ``write()`` is one file ``<job id>.<ext>`` (``ext`` = the printer language's extension:
zpl, tspl, escpos, epl2, png). The bytes go to a hidden temp file ``.<name>.<random>.tmp`` in
the same directory, are fsync'ed, then renamed into place, so a reader (another program, a hot
folder) never sees a partial file. A file is never replaced: when ``<job id>.<ext>`` is already
there with the same bytes (a resend not taken yet) nothing more is written; with other bytes (an
earlier queue's job of that id, another station's label in a shared folder, someone's file) or
as a symlink, FIFO or anything else, the label goes to the next free ``<job id>-<n>.<ext>``
(one WARNING names both).

- Relative paths (``dir://./var/out``, ``dir://var/out``) are relative to the daemon's working
  directory. The directory is created on ``open()``.
- A write without ``job_id`` is named ``job-<UTC time>-<random>``.
- Job ids are sanitised to ``[A-Za-z0-9._-]`` (no path separators, no leading dot).
- Write only: ``can_read = False``; printer status is "idle" by construction.
- ENOSPC is transient (space may come back); EACCES/EROFS/ENOTDIR are permanent.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
import urllib.parse
from pathlib import Path

from ..fsutil import atomic_write, read_regular
from .base import DEFAULT_TIMEOUT, Transport, parse_query

log = logging.getLogger("printstation.transport")

#: How many ``<id>-<n>.<ext>`` names are tried beside a ``<id>.<ext>`` that is taken.
MAX_SUFFIX = 1000

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """``text`` made safe as one file name component."""
    name = _UNSAFE.sub("_", text).lstrip(".") or "_"
    return name[:200]


class DirTransport(Transport):

    atomic_write = True
    scheme = "dir"
    can_read = False

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(uri, timeout=timeout)
        parts = urllib.parse.urlsplit(uri)
        parse_query(uri, parts, set())
        raw = urllib.parse.unquote(parts.netloc + parts.path)
        if not raw:
            raise self.error("missing directory (expected dir:///path or dir://./path)", transient=False)
        self.path = Path(raw)

    def _open(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.os_error("create directory", exc) from exc
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise self.error("directory not writable: permission denied", transient=False)

    def check(self) -> None:
        """The folder check without creating it: the folder (or, while missing, its nearest
        existing parent, where the first job creates it) is a writable directory."""
        probe = self.path
        while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            raise self.error(f"{probe} is not a directory", transient=False)
        if not os.access(probe, os.W_OK | os.X_OK):
            raise self.error("directory not writable: permission denied", transient=False)

    def file_name(self, job_id: str | None, ext: str) -> str:
        stem = safe_name(job_id) if job_id else (
            f"job-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}"
        )
        return f"{stem}.{safe_name(ext or 'bin')}"

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        name = self.file_name(job_id, ext)
        stem, _, suffix = name.rpartition(".")
        for n in range(MAX_SUFFIX + 1):
            candidate = name if n == 0 else f"{stem}-{n}.{suffix}"
            target = self.path / candidate
            if self._holds(target, data):  # this very label, not taken yet (a resend): one file
                return
            try:
                atomic_write(target, data, mode=0o644, sync_dir=True, exclusive=True)
            except FileExistsError:
                continue  # not ours to replace: the next name
            if n:
                log.warning("%s: %s is already there and is not this label (not replaced): wrote %s",
                            self.uri, name, candidate)
            return
        raise self.error(f"{name} and {MAX_SUFFIX} numbered names beside it are taken", transient=False)

    @staticmethod
    def _holds(path: Path, data: bytes) -> bool:
        """True when ``path`` is a regular file (never through a symlink) with exactly ``data``."""
        try:
            return read_regular(path, len(data)) == data
        except OSError:  # missing, a symlink or special file, or larger
            return False

    def _close(self) -> None:
        pass
