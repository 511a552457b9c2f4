"""Atomic file writes, shared by the label cache, ``wb``/``ali``/``convert -o`` output, the job
store's converted files and the ``dir://`` transport."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path


def temp_name(name: str) -> str:
    """The hidden temp name a file ``name`` is written under before its rename: ``.<name>.<random>.tmp``
    (hot folders and the job store's orphan sweep skip such names)."""
    return f".{name[:200]}.{secrets.token_hex(4)}.tmp"


def file_kind(mode: int) -> str:
    """What a file is, in words: "symlink", "FIFO", "character device", … "regular file"."""
    for test, word in ((stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISREG, "regular file")):
        if test(mode):
            return word
    return "special file"


def write_in_place(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` into an existing special file (a symlink's target, a FIFO, a device) without
    replacing it. A FIFO without a reader, a directory or anything not writable raises OSError."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):  # a symlink to a regular file: its new contents
            os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    return Path(path)


def read_regular(path: str | os.PathLike[str], limit: int, *, follow: bool = False) -> bytes:
    """The bytes of a regular file, at most ``limit`` bytes; anything else raises OSError without
    the file being opened (opening a FIFO could block, opening a tty toggles its DTR line). A
    symlink is refused (``follow=False``: files the station made) or followed to the regular
    file it names (``follow=True``: a file the admin named in the config, such as a secret under
    ``/run/secrets``); the file opened must be the one looked at (same device and inode)."""
    try:
        seen = os.stat(path, follow_symlinks=follow)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "not a regular file (a symlink loop)") from None
        raise
    if stat.S_ISLNK(seen.st_mode):
        raise OSError(errno.ELOOP, "not a regular file (symlink)")
    if not stat.S_ISREG(seen.st_mode):
        raise OSError(errno.EINVAL, f"not a regular file ({file_kind(seen.st_mode)})")
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "not a regular file (symlink)") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino):
            raise OSError(errno.EINVAL, f"not a regular file ({file_kind(st.st_mode)}), or changed while opened")
        data = os.read(fd, limit + 1) if st.st_size <= limit else b""
        if st.st_size > limit or len(data) > limit:
            raise OSError(errno.EFBIG, f"larger than {limit} bytes")
        return data
    finally:
        os.close(fd)


def _install(dfd: int, tmp: str, name: str, seen: os.stat_result | None) -> None:
    """Put the written temp file ``tmp`` in place of ``name`` (both in directory ``dfd``) without
    ever renaming over something we did not expect: a new path is *linked* (fails if anything
    appeared there meanwhile, never replaces it); an existing one is replaced only while it is
    still the regular file looked at before (same device and inode)."""
    if seen is None:
        try:
            os.link(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
            return
        except FileExistsError:
            raise OSError(errno.EEXIST, f"{name} appeared while it was written: not replaced") from None
    now = os.lstat(name, dir_fd=dfd)
    if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (seen.st_dev, seen.st_ino):
        raise OSError(errno.EEXIST, f"{name} changed while it was written ({file_kind(now.st_mode)}): not replaced")
    os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o666, fsync: bool = True,
                 sync_dir: bool = False, special: str = "refuse", exclusive: bool = False) -> Path:
    """Write ``data`` to ``path`` so that a reader sees the old file or all of the new one.

    Only a regular file (or a new path) is replaced; a symlink, FIFO, device or other special
    file is never unlinked or renamed over: ``special="write"`` writes into it in place
    (:func:`write_in_place`, what ``convert -o /dev/usb/lp0`` means), else OSError.

    The bytes go to a new hidden temp file beside ``path`` (:func:`temp_name`, created with
    ``mode`` less the umask, as ``open()`` does with 0o666), are fsync'ed when ``fsync``, then
    renamed over ``path``; ``sync_dir`` then fsyncs the directory too (best effort) so the rename
    itself survives a power cut. On any error the temp file is removed and the error re-raised.
    ``exclusive``: only a new path is written; anything already there (or appearing meanwhile)
    raises :class:`FileExistsError` and is left as it is.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if exclusive and st is not None:
        raise FileExistsError(errno.EEXIST, f"{path.name} exists ({file_kind(st.st_mode)}): not replaced")
    if st is not None and not stat.S_ISREG(st.st_mode):
        if special != "write":
            raise OSError(errno.EEXIST, f"not a regular file ({file_kind(st.st_mode)}): not replaced")
        return write_in_place(path, data)
    tmp = temp_name(path.name)
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dfd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            _install(dfd, tmp, path.name, st)
        finally:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
    finally:
        os.close(dfd)
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


__all__ = ["atomic_write", "file_kind", "read_regular", "temp_name", "write_in_place"]
