"""Atomic file writes, shared by the label cache, ``wb``/``ali``/``convert -o`` output, the job
store's converted files and the ``dir://`` transport."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def temp_name(name: str) -> str:
    """The hidden temp name a file ``name`` is written under before its rename: ``.<name>.<random>.tmp``
    (hot folders and the job store's orphan sweep skip such names)."""
    return f".{name[:200]}.{secrets.token_hex(4)}.tmp"


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o666, fsync: bool = True,
                 sync_dir: bool = False) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or all of the new one.

    The bytes go to a new hidden temp file beside ``path`` (:func:`temp_name`, created with
    ``mode`` less the umask, as ``open()`` does with 0o666), are fsync'ed when ``fsync``, then
    renamed over ``path``; ``sync_dir`` then fsyncs the directory too (best effort) so the rename
    itself survives a power cut. On any error the temp file is removed and the error re-raised.
    """
    path = Path(path)
    tmp = path.with_name(temp_name(path.name))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sync_dir:
        try:
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
    return path


__all__ = ["atomic_write", "temp_name"]
