"""``dir:///abs/path`` or ``dir://./relative/path`` — a "printer" that is a directory.

Each ``write()`` is one file ``<job id>.<ext>`` (``ext`` = the printer language's extension:
zpl, tspl, escpos, epl2, png). The bytes go to a hidden temp file ``.<name>.<random>.tmp`` in
the same directory, are fsync'ed, then renamed into place, so a reader (another program, a hot
folder) never sees a partial file. A job written twice (a resend) replaces its file.

- Relative paths (``dir://./var/out``, ``dir://var/out``) are relative to the daemon's working
  directory. The directory is created on ``open()``.
- A write without ``job_id`` is named ``job-<UTC time>-<random>``.
- Job ids are sanitised to ``[A-Za-z0-9._-]`` (no path separators, no leading dot).
- Write only: ``can_read = False``; printer status is "idle" by construction.
- ENOSPC is transient (space may come back); EACCES/EROFS/ENOTDIR are permanent.
"""

from __future__ import annotations

import os
import re
import secrets
import time
import urllib.parse
from pathlib import Path

from ..fsutil import atomic_write
from .base import DEFAULT_TIMEOUT, Transport, parse_query

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

    def file_name(self, job_id: str | None, ext: str) -> str:
        stem = safe_name(job_id) if job_id else (
            f"job-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}"
        )
        return f"{stem}.{safe_name(ext or 'bin')}"

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        atomic_write(self.path / self.file_name(job_id, ext), data, mode=0o644, sync_dir=True)

    def _close(self) -> None:
        pass
