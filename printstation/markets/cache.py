"""Label cache under the data dir: a label fetched once is never fetched again.

Layout: ``<data_dir>/labels/<market>/<kind>/<id>-<type>-<W>x<H>.<ext>``, e.g.
``var/labels/wb/order/123456-zplv-58x40.zpl`` or ``var/labels/ali/label/88236-pdf-0x0.pdf``.
The files are the plain labels (other tools can read them). Writes are atomic (temp file, fsync,
rename); a cached file that fails its content check on read is deleted and reported as a miss,
so the caller fetches it again. Keys never contain a token.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import atomic_write, read_regular
from .base import BadLabel
from .content import EXT, WB_TYPES, check_content

log = logging.getLogger("printstation.markets.cache")

#: The largest cached label read back (a label PDF is at most ``max_pdf_mb``, default 20 MiB).
MAX_CACHED_BYTES = 64 * 1024 * 1024

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_NAME = re.compile(r"[a-z][a-z0-9]{0,15}")
MARKETS = ("wb", "ali", "ozon", "lamoda")
KINDS = ("order", "supply", "box", "label", "handover", "posting", "pack", "pallet")


@dataclass(frozen=True)
class LabelKey:
    """What identifies a label: marketplace, kind, id, type and size."""

    market: str
    kind: str
    id: str
    type: str
    size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if self.market not in MARKETS or self.kind not in KINDS:
            raise ValueError(f"bad label key {self.market}/{self.kind}")
        if not _NAME.fullmatch(self.type):
            raise ValueError(f"bad label type {self.type!r}")

    @property
    def content_kind(self) -> str:
        """The sniffed kind the file must have (zpl/svg/png/pdf)."""
        return WB_TYPES.get(self.type, self.type)

    @property
    def filename(self) -> str:
        sid = str(self.id)
        if not _SAFE.fullmatch(sid) or sid in (".", ".."):
            sid = "h" + hashlib.sha256(sid.encode()).hexdigest()[:32]
        w, h = self.size
        return f"{sid}-{self.type}-{int(w)}x{int(h)}.{EXT[self.content_kind]}"


class LabelCache:
    """Plain files under ``<data_dir>/labels``. Safe for threads and processes (atomic renames)."""

    def __init__(self, data_dir: str | os.PathLike) -> None:
        self.root = Path(data_dir) / "labels"

    def path(self, key: LabelKey) -> Path:
        return self.root / key.market / key.kind / key.filename

    def get(self, key: LabelKey) -> bytes | None:
        """The cached label, or None (missing, or corrupt → deleted)."""
        p = self.path(key)
        try:  # only a regular file, never through a symlink, never more than a label can be
            data = read_regular(p, MAX_CACHED_BYTES)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EINVAL, errno.EFBIG):  # not a file the station wrote
                log.warning("label cache: dropping %s: %s", p, exc.strerror or exc)
                try:
                    p.unlink()
                except OSError:
                    pass
                return None
            log.warning("label cache: cannot read %s: %s", p, exc.strerror or exc)
            return None
        try:
            check_content(data, key.content_kind)
        except BadLabel as exc:
            log.warning("label cache: dropping corrupt %s (%s)", p, exc)
            try:
                p.unlink()
            except OSError:
                pass
            return None
        return data

    def put(self, key: LabelKey, data: bytes) -> Path:
        """Store ``data`` atomically (it must pass the content check)."""
        check_content(data, key.content_kind)
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(p, data, mode=0o600)

    def __repr__(self) -> str:
        return f"LabelCache({str(self.root)!r})"


__all__ = ["LabelCache", "LabelKey"]
