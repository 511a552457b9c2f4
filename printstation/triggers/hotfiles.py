"""The hot folder's file handling: every path is walked from directory fds, never by name.

* A dropped file is opened ``O_NOFOLLOW | O_NONBLOCK`` relative to its folder's fd and checked
  with ``fstat`` on the open fd: only a regular file with one link is read, at most the limit + 1
  byte (:func:`read_limited`).
* The station's own folders (``.done``, ``.failed``, the day folders) are opened as real
  directories owned by the daemon's user; a symlink, file or foreign folder planted in their
  place is renamed aside and made again, never followed (:func:`open_dir` with ``own``).
* A file leaves by ``rename`` between directory fds, only while it is still the file that was
  read (:func:`move_into`); a failed file's reason is linked beside it whole
  (:func:`write_reason`). One daemon per folder: an exclusive ``flock`` (:func:`lock_folder`).
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import logging
import os
import secrets
import shutil
import stat
import time
from pathlib import Path
from typing import Iterator

from ..errors import PrintstationError
from ..fsutil import file_kind
from ..names import printable

log = logging.getLogger("printstation.hotfolder")

#: Longest file name (bytes) and what a failed file's reason is written beside it as.
NAME_MAX = 255
ERROR_SUFFIX = ".error.txt"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

Sig = tuple[int, int, int]  # inode, size, mtime_ns: a file as it was read


class _Refused(PrintstationError):
    """A file the folder will not read (the reason goes to its ``.error.txt``)."""


def sig_of(st: os.stat_result) -> Sig:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def lock_folder(root: Path) -> int:
    """An fd of the hot folder holding its exclusive ``flock`` (one daemon per folder)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise PrintstationError(f"hot folder {root} is already watched by another printstation "
                                "daemon: not watching it here (one daemon per folder)") from None
    except OSError as exc:  # a network file system without flock: watched, unguarded
        log.warning("hot folder %s: cannot lock it (%s): make sure no other daemon watches it",
                    root, exc.strerror or exc)
    return fd


def fitting_name(name: str, n: int = 0) -> str:
    """``name`` (``stem-n.ext`` when ``n``) short enough that ``<it>.error.txt`` still fits a
    file name (255 bytes): a long stem is cut (never inside a UTF-8 character)."""
    stem, dot, ext = name.partition(".")
    marker = f"-{n}".encode() if n else b""
    tail = marker + os.fsencode(dot + ext)[-(NAME_MAX - len(ERROR_SUFFIX) - 16 - len(marker)):]
    head = os.fsencode(stem)[: NAME_MAX - len(ERROR_SUFFIX) - len(tail)]
    while head and 0x80 <= head[-1] <= 0xBF and len(head) < len(os.fsencode(stem)):
        head = head[:-1]  # a cut UTF-8 sequence: drop its continuation bytes …
    if head and head[-1] >= 0xC0 and len(head) < len(os.fsencode(stem)):
        head = head[:-1]  # … and its lead byte
    return os.fsdecode(head + tail)


def open_dir(root_fd: int, root: Path, parts: tuple[str, ...] | list[str], own: bool = False) -> int:
    """A new fd of ``<root>/<parts…>``, every component opened without following a symlink;
    ``own``: the station's own folders, made when missing and replaced when planted."""
    fd = os.dup(root_fd)
    where = str(root)
    try:
        for part in parts:
            where = f"{where}/{part}"
            nfd = real_dir(fd, part, where) if own else os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


def real_dir(parent: int, name: str, where: str) -> int:
    """An fd of the station's own folder ``name`` in ``parent``: created when missing; a
    symlink, file or foreign folder in its place is renamed aside (never followed)."""
    for _ in range(3):
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            try:
                os.mkdir(name, dir_fd=parent)
            except FileExistsError:
                pass
            continue
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                what = "a " + file_kind(st.st_mode)
            except OSError:
                what = "not a directory"
            set_aside(parent, name, where, what)
            continue
        st = os.fstat(fd)
        if st.st_uid == os.geteuid():
            return fd
        os.close(fd)
        set_aside(parent, name, where, f"a folder owned by uid {st.st_uid}")
    raise OSError(errno.ELOOP, f"{where} keeps being replaced")


def set_aside(parent: int, name: str, where: str, what: str) -> None:
    aside = f"{name}.suspect-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    log.error("hot folder: %s is %s, not the station's folder: renamed to %s and made again",
              where, what, aside)
    try:
        os.rename(name, aside, src_dir_fd=parent, dst_dir_fd=parent)
    except FileNotFoundError:
        pass


def exists(dfd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dfd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def read_limited(dfd: int, name: str, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """The file's bytes (at most ``max_bytes``); :class:`_Refused` for anything else."""
    st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        raise _Refused(f"not a regular file ({file_kind(st.st_mode)})")
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dfd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Refused("not a regular file (symlink)") from None
        raise
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode):
            raise _Refused(f"not a regular file ({file_kind(fst.st_mode)})")
        if fst.st_nlink != 1:
            raise _Refused(f"not a regular file (a hard link: {fst.st_nlink} names)")
        if fst.st_size > max_bytes:
            raise _Refused(f"file too large ({fst.st_size} bytes; limit {max_bytes // (1024 * 1024)} MiB)")
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise _Refused(f"file too large (more than {max_bytes // (1024 * 1024)} MiB)")
        return b"".join(chunks), fst
    finally:
        os.close(fd)


def move_into(root_fd: int, root: Path, dfd: int, name: str, to: tuple[str, ...],
              sig: Sig | None) -> tuple[int, str] | None:
    """Rename ``name`` (in ``dfd``) into the station's folder ``to`` under a free name;
    ``(folder fd, new name)``, or None when the file is gone or is no longer the file read
    (``sig``). OSError: it cannot be moved."""
    tfd = open_dir(root_fd, root, to, own=True)
    try:
        dest = fitting_name(name)
        n = 1
        while exists(tfd, dest) or exists(tfd, dest + ERROR_SUFFIX):
            dest = fitting_name(name, n)
            n += 1
        if sig is not None:  # moved only if it is still the file that was read
            if sig_of(os.stat(name, dir_fd=dfd, follow_symlinks=False)) != sig:
                os.close(tfd)
                return None
        os.rename(name, dest, src_dir_fd=dfd, dst_dir_fd=tfd)
        return tfd, dest
    except OSError as exc:
        os.close(tfd)
        if isinstance(exc, FileNotFoundError):
            return None
        raise


def write_reason(ffd: int, dest: str, reason: str) -> None:
    """``<dest>.error.txt`` in the folder ``ffd``: written under a temporary name of our own,
    then linked to its name (never replacing anything there), so whoever watches the folder
    sees the reason whole or not at all."""
    tmp = f".error-{os.getpid()}-{secrets.token_hex(6)}.tmp"  # short: dest may be 245 bytes
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=ffd)
        try:
            os.write(fd, (reason.rstrip() + "\n").encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
        os.link(tmp, dest + ERROR_SUFFIX, src_dir_fd=ffd, dst_dir_fd=ffd, follow_symlinks=False)
    except OSError as exc:
        log.error("hot folder: cannot write .failed/%s.error.txt: %s", printable(dest), exc.strerror or exc)
    finally:
        try:
            os.unlink(tmp, dir_fd=ffd)
        except OSError:
            pass


def prune_done(dfd: int, today: dt.date, keep_days: int) -> None:
    """Remove the day folders of ``.done`` (``dfd``) older than ``keep_days``."""
    cutoff = today - dt.timedelta(days=keep_days)
    for entry in _scandir(dfd):
        try:
            day = dt.date.fromisoformat(entry.name)
        except ValueError:
            continue
        if day < cutoff and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.name, dir_fd=dfd, ignore_errors=True)
            log.info("hot folder: removed .done/%s (older than %d days)", entry.name, keep_days)


def _scandir(dfd: int) -> Iterator[os.DirEntry[str]]:
    with os.scandir(dfd) as it:
        yield from list(it)
