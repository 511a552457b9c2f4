"""Hot folder: label files dropped into ``<hot>/`` print by themselves.

* ``<hot>/<printer name>/…`` prints on that printer; files directly in ``<hot>/`` on the default.
* One take per file: a file is taken only after ``settle_ms`` with no change (size, mtime) *and*
  with no writer holding it open — known from inotify (written, not yet closed) and, for files
  seen without events (polling, files present at start), from the ``/proc/*/fd`` table — so a
  file written in open/append/close cycles makes one job.
* Hidden files (``.x``), ``*.tmp``, ``*.part``, ``*.crdownload`` and ``*~`` are ignored until renamed.
* After queueing a file moves to ``<hot>/.done/<YYYY-MM-DD>/``; a file that cannot be printed moves
  to ``<hot>/.failed/`` with ``<name>.error.txt`` beside it. ``.done`` days older than
  ``keep_days`` are removed (0 keeps them forever).
* ``name.x3.pdf`` prints 3 copies. A ``.txt`` file holds one code per line, each run through the
  scan rules as if scanned (blank lines and ``#`` comments skipped).
* Never printed twice because events repeat: a file is handled by one thread, moved away, and its
  identity (inode, size, mtime) is remembered; each job carries an idempotency key made of that
  identity, so a crash between queueing and moving does not print it again either.

Hostile input (anyone who can write to the folder):

* Files are opened ``O_NOFOLLOW | O_NONBLOCK`` relative to directory fds opened the same way, and
  checked with ``fstat`` on the open fd: only regular files with one link are read; a symlink,
  FIFO, device, socket or hard link goes to ``.failed`` unread ("not a regular file (symlink)").
  At most ``max_mb`` MiB + 1 byte is read; a larger file fails "too large".
* ``.done``, ``.failed`` and the day folders are opened as real directories owned by the daemon's
  user; moves are ``rename`` between directory fds. A symlink (or foreign folder) planted in their
  place is logged, renamed aside and replaced by a new real folder — never followed.
* A dropped file's contents never reach ``.error.txt``, the log, the scan log or triggers.sqlite:
  a failing ``.txt`` line is named by its number and a redacted preview (first 4 characters and
  the length); names are shown with control characters and undecodable bytes escaped.
* An exclusive ``flock`` on the folder: a second daemon on the same folder refuses to watch it.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import logging
import os
import re
import secrets
import shutil
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from ..errors import PrintstationError
from ..render.sniff import decode_text
from ..spec import PrinterSpec
from ..fsutil import file_kind  # noqa: I001 - kept apart from the imports above (merges)
from ..logs import redact
from ..names import preview, printable
from ..queue.base import JobState
from .service import ScanService, Submitter, job_id

log = logging.getLogger("printstation.hotfolder")

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", "~")
COPIES_RE = re.compile(r"^(?P<stem>.+?)\.x(?P<n>\d{1,4})(?P<ext>\.[^.]*)?$", re.I)
RESCAN_S = 2.0
TICK_S = 0.05
#: Default ``[hotfolder] max_mb``.
MAX_MB = 32
#: Lines of a ``.txt`` code list that are read (each code runs through the scan rules).
MAX_LINES = 1000
#: Folder levels below the hot folder that the rescan walks.
MAX_DEPTH = 8
#: A writer seen by inotify (written, never closed) is trusted this long without any change.
STALE_WRITER_S = 30.0
#: Longest file name (bytes) and what a failed file's reason is written beside it as.
NAME_MAX = 255
ERROR_SUFFIX = ".error.txt"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
#: ``sniff.describe`` output (the first bytes of a file) inside an error message.
_SHOWN_BYTES = re.compile(r"""starts with (?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|0x[0-9a-f]+)…?""")


def ignored_name(name: str) -> bool:
    low = name.lower()
    return name.startswith(".") or low.endswith(IGNORED_SUFFIXES)


def copies_of(name: str) -> int | None:
    """``label.x3.pdf`` → 3; no marker → None (the printer's own ``copies``)."""
    m = COPIES_RE.match(name)
    return max(1, int(m.group("n"))) if m else None


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


def scrub(reason: str) -> str:
    """An error message without the file's first bytes (``sniff`` quotes them) or a known secret."""
    return redact(_SHOWN_BYTES.sub("starts with bytes that are not shown", reason))


def open_for_writing(ids: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of the files ``(st_dev, st_ino)`` some process holds open for writing, from
    ``/proc/*/fd`` (the processes this user may inspect)."""
    found: set[tuple[int, int]] = set()
    if not ids:
        return found
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        base = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(base)
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat(f"{base}/{fd}")
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key not in ids or key in found:
                continue
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as fh:
                    flags = next((int(line.split()[1], 8) for line in fh if line.startswith("flags:")), 0)
            except (OSError, ValueError, IndexError):
                continue
            if flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                found.add(key)
    return found


@dataclass
class _Seen:
    sig: tuple[int, int, int]  # inode, size, mtime_ns
    since: float
    #: inotify: True after a write event, False after close-write / move-in; None: not known.
    writing: bool | None = None


class _Refused(PrintstationError):
    """A file the folder will not read (the reason goes to its ``.error.txt``)."""


class _Handler(FileSystemEventHandler):
    def __init__(self, folder: "HotFolder") -> None:
        self.folder = folder

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.folder.notice(os.fsdecode(event.src_path))

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.folder.notice(os.fsdecode(event.src_path), writing=True)

    def on_closed(self, event: FileSystemEvent) -> None:  # IN_CLOSE_WRITE
        if not event.is_directory:
            self.folder.notice(os.fsdecode(event.src_path), writing=False)

    def on_moved(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            self.folder.rescan_soon()
        else:
            self.folder.notice(os.fsdecode(event.dest_path), writing=False)


class HotFolder:
    def __init__(self, root: str | os.PathLike[str], submitter: Submitter, *,
                 printers: Mapping[str, PrinterSpec], default_printer: str,
                 scans: ScanService | None = None, settle_ms: int = 500, keep_days: int = 14,
                 max_mb: int = MAX_MB, polling: bool | None = None,
                 validate: Callable[[bytes, PrinterSpec], Any] | None = None,
                 keep: Callable[[Any, str, Any], None] | None = None,
                 today: Callable[[], dt.date] = dt.date.today) -> None:
        self.root = Path(root).absolute()
        self.submitter = submitter
        self.printers = dict(printers)
        self.default_printer = default_printer
        self.scans = scans
        self.settle = settle_ms / 1000.0
        self.keep_days = keep_days
        self.max_bytes = max_mb * 1024 * 1024
        self.polling = polling
        #: ``validate(data, spec)`` converts the label (raises BadInput with the reason); what it
        #: returns is handed to ``keep(job, printer, result)`` so the job is not converted again.
        self.validate = validate
        self.keep = keep
        self.today = today
        self._seen: dict[str, _Seen] = {}
        self._handled: dict[str, tuple[int, int, int]] = {}
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._rescan_at = 0.0
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self._inotify = False
        self._cleaned: dt.date | None = None
        self._root_fd = -1
        self._warned: set[str] = set()
        self.processed = 0
        self.failed = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PrintstationError(f"hot folder {self.root} is already watched by another printstation "
                                    "daemon: not watching it here (one daemon per folder)") from None
        except OSError as exc:  # a network file system without flock: watched, unguarded
            log.warning("hot folder %s: cannot lock it (%s): make sure no other daemon watches it",
                        self.root, exc.strerror or exc)
        self._root_fd = fd
        try:
            self._printer_dirs()
            self._observer = self._start_observer()
        except BaseException:
            self._close_root()
            raise
        self._thread = threading.Thread(target=self._run, name="hotfolder", daemon=True)
        self._thread.start()
        log.info("hot folder %s watched (%s)", self.root, type(self._observer).__name__)

    def _printer_dirs(self) -> None:
        for name in self.printers:
            try:
                os.mkdir(name, dir_fd=self._root_fd)
            except FileExistsError:
                pass
            except OSError as exc:
                self._warn_once(f"mkdir:{name}", "hot folder: cannot create %s/%s: %s", self.root, name,
                                exc.strerror or exc)

    def _start_observer(self) -> Any:
        from watchdog.observers.polling import PollingObserver

        if not self.polling:
            try:
                from watchdog.observers import Observer

                obs = Observer()
                obs.schedule(_Handler(self), str(self.root), recursive=True)
                obs.start()
                self._inotify = type(obs).__name__.startswith("Inotify")
                return obs
            except Exception as exc:  # inotify missing or out of watches
                log.warning("inotify unavailable (%s); polling %s", exc, self.root)
        obs = PollingObserver(timeout=max(0.2, min(1.0, self.settle)))
        obs.schedule(_Handler(self), str(self.root), recursive=True)
        obs.start()
        self._inotify = False
        return obs

    def stop(self) -> None:
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=30)
            if self._thread.is_alive():
                return  # still inside a check: its folder fds stay valid until it ends
        self._close_root()

    def _close_root(self) -> None:
        if self._root_fd >= 0:
            os.close(self._root_fd)  # also releases the flock
            self._root_fd = -1

    def _warn_once(self, key: str, msg: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)

    # -- events -----------------------------------------------------------------------------
    def eligible(self, path: str) -> tuple[str, str] | None:
        """``(printer, relative path)`` for a file the folder handles, else None."""
        try:
            rel = Path(path).relative_to(self.root)
        except ValueError:
            return None
        parts = rel.parts
        if not parts or any(ignored_name(p) for p in parts):
            return None
        printer = parts[0] if len(parts) > 1 else self.default_printer
        return printer, rel.as_posix()

    def notice(self, path: str, complete: bool = False, writing: bool | None = None) -> None:
        """An event for ``path``: ``writing`` True after a write, False after close-write or a
        move-in (only trusted with inotify; polling learns it from ``/proc``)."""
        if self.eligible(path) is None:
            return
        if complete:
            writing = False
        with self._cv:
            seen = self._seen.get(path)
            if seen is None:
                seen = self._seen[path] = _Seen((0, -1, 0), time.monotonic())
            if self._inotify and writing is not None:
                seen.writing = writing
            self._cv.notify()

    def rescan_soon(self) -> None:
        with self._cv:
            self._rescan_at = 0.0
            self._cv.notify()

    def _rescan(self) -> None:
        self._printer_dirs()
        top = len(self.root.parts)
        for dirpath, dirnames, filenames in os.walk(self.root):
            if len(Path(dirpath).parts) - top >= MAX_DEPTH:
                dirnames[:] = []  # a folder nested deeper is not walked (a nesting bomb)
            keep = []
            for d in dirnames:
                if ignored_name(d):
                    continue
                if os.path.islink(os.path.join(dirpath, d)):
                    filenames.append(d)  # a symlink to a folder is refused like any symlink
                else:
                    keep.append(d)
            dirnames[:] = keep
            for f in filenames:
                p = os.path.join(dirpath, f)
                if p not in self._seen and self.eligible(p) is not None:
                    with self._cv:
                        self._seen.setdefault(p, _Seen((0, -1, 0), time.monotonic()))

    # -- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        last_error = ""
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= self._rescan_at:
                    self._rescan_at = now + RESCAN_S
                    self._rescan()
                    self._cleanup()
                for path in self._due():
                    if self._stop.is_set():
                        break
                    self._take(path)
            except Exception as exc:  # never let the folder die; one log line per distinct error
                what = f"{type(exc).__name__}: {exc}"
                if what != last_error:
                    log.exception("hot folder loop error")
                last_error = what
                self._stop.wait(0.5)
            with self._cv:
                self._cv.wait(TICK_S if self._seen else RESCAN_S)

    def _due(self) -> list[str]:
        now = time.monotonic()
        due: list[str] = []
        quiet: dict[str, tuple[int, int]] = {}
        with self._cv:
            items = list(self._seen.items())
        for path, seen in items:
            try:
                st = os.lstat(path)
            except OSError:
                with self._cv:
                    self._seen.pop(path, None)
                continue
            sig = (st.st_ino, st.st_size, st.st_mtime_ns)
            if self._handled.get(path) == sig:
                continue  # moved away failed earlier; never twice
            if not stat.S_ISREG(st.st_mode):
                due.append(path)  # refused unread: nothing to wait for
                continue
            with self._cv:
                if sig != seen.sig:
                    if seen.sig[1] >= 0:
                        seen.since = now  # it changed since the last look: still being written
                    seen.sig = sig
                idle = now - seen.since
                if idle < self.settle or (seen.writing and idle < STALE_WRITER_S):
                    continue
            quiet[path] = (st.st_dev, st.st_ino)
        busy = open_for_writing(set(quiet.values())) if quiet else set()
        for path, key in quiet.items():
            if key not in busy:
                due.append(path)
                continue
            with self._cv:  # a writer holds it: look again after another settle_ms (not every tick)
                seen = self._seen.get(path)
                if seen is not None:
                    seen.since = now
        due.sort()
        return due

    # -- taking a file ----------------------------------------------------------------------
    def _open_dir(self, parts: tuple[str, ...] | list[str], own: bool = False) -> int:
        """A new fd of ``<root>/<parts…>``, every component opened without following a symlink;
        ``own``: the station's own folders, made when missing and replaced when planted."""
        fd = os.dup(self._root_fd)
        where = str(self.root)
        try:
            for part in parts:
                where = f"{where}/{part}"
                nfd = self._real_dir(fd, part, where) if own else os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _take(self, path: str) -> None:
        with self._cv:
            seen = self._seen.pop(path, None)
        if seen is None:
            return
        where = self.eligible(path)
        if where is None:
            return
        printer, rel = where
        parts = rel.split("/")
        name = parts[-1]
        shown = printable(rel)
        try:
            dfd = self._open_dir(parts[:-1])
        except FileNotFoundError:
            return
        except OSError as exc:  # a folder replaced by a symlink (ELOOP / ENOTDIR): never entered
            self._warn_once(f"dir:{rel}", "hot folder: %s not taken: its folder is not a real directory (%s)",
                            shown, exc.strerror or exc)
            return
        try:
            self._take_at(dfd, name, printer, rel)
        finally:
            os.close(dfd)

    def _read(self, dfd: int, name: str) -> tuple[bytes, os.stat_result]:
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
            if fst.st_size > self.max_bytes:
                raise _Refused(f"file too large ({fst.st_size} bytes; limit {self.max_bytes // (1024 * 1024)} MiB)")
            chunks: list[bytes] = []
            left = self.max_bytes + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1024 * 1024))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            if left <= 0:
                raise _Refused(f"file too large (more than {self.max_bytes // (1024 * 1024)} MiB)")
            return b"".join(chunks), fst
        finally:
            os.close(fd)

    def _take_at(self, dfd: int, name: str, printer: str, rel: str) -> None:
        try:
            lst = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            data, st = self._read(dfd, name)
        except FileNotFoundError:
            return
        except (_Refused, OSError) as exc:
            reason = str(exc) if isinstance(exc, _Refused) else f"cannot read: {exc.strerror or exc}"
            # Remembered by its lstat identity: a file that cannot be moved is not retried each tick.
            self._fail(dfd, name, rel, reason, (lst.st_ino, lst.st_size, lst.st_mtime_ns))
            return
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        try:
            if printer not in self.printers:
                raise PrintstationError(f"no printer named {printable(printer)!r} "
                                        f"(folders: {', '.join(sorted(self.printers))})")
            if not data:
                raise PrintstationError("empty file")
            if name.lower().endswith(".txt"):
                self._codes(data, printer, rel)
            else:
                self._print(data, printer, rel, name, sig)
        except PrintstationError as exc:
            if self._stop.is_set() or type(exc).__name__ == "ConversionAborted":
                # stopping (queue closed, check cut short): the file stays for the next start
                log.info("hot folder: %s left for the next start (%s)", printable(rel), scrub(str(exc)))
                return
            if type(exc).__name__ == "StoreUnavailable":  # the shared database is away: tried again later
                log.warning("hot folder: %s waits: %s", printable(rel), scrub(str(exc)))
                return
            self._fail(dfd, name, rel, scrub(str(exc)), sig)
            return
        except Exception as exc:
            log.error("hot folder: %s: internal error: %s", printable(rel), type(exc).__name__)
            self._fail(dfd, name, rel, f"internal error: {type(exc).__name__}", sig)
            return
        self.processed += 1
        self._move(dfd, name, rel, (".done", self.today().isoformat()), sig)

    def _print(self, data: bytes, printer: str, rel: str, name: str, sig: tuple[int, int, int]) -> None:
        spec = self.printers[printer]
        copies = copies_of(name)
        converted = None
        if self.validate is not None:  # raises BadInput with the reason
            converted = self.validate(data, spec if copies is None else spec.replace(copies=copies))
        key = "hot-" + hashlib.sha256(f"{rel}|{sig[0]}|{sig[1]}|{sig[2]}".encode(errors="surrogateescape")).hexdigest()[:20]
        job = self.submitter.submit(printer, data, copies=copies, key=key, name=name,
                                    source="hotfolder", source_ref=printable(rel))
        state = job.get("state") if isinstance(job, Mapping) else getattr(job, "state", None)
        if state == JobState.FAILED:
            err = job.get("error") if isinstance(job, Mapping) else getattr(job, "error", None)
            raise PrintstationError(str(err or "the job failed"))
        if self.keep is not None and converted is not None:
            try:
                self.keep(job, printer, converted)
            except Exception as exc:  # noqa: BLE001 - the job converts again by itself
                log.debug("hot folder: keeping the converted label of job %s: %s", job_id(job), exc)
        log.info("hot folder: %s → %s (job %s, copies %s)", printable(rel), printer, job_id(job),
                 copies or "default")

    def _codes(self, data: bytes, printer: str, rel: str) -> None:
        if self.scans is None:
            raise PrintstationError("code lists (.txt) need the scan rules, which are not running")
        try:
            text = decode_text(data)  # UTF-8, or UTF-8/UTF-16 after a byte-order mark
        except UnicodeDecodeError:
            raise PrintstationError("a .txt code list must be UTF-8 (or UTF-16 with a BOM) text") from None
        bad = []
        for n, line in enumerate(text.splitlines(), 1):
            code = line.strip()
            if not code or code.startswith("#"):
                continue
            if n > MAX_LINES:  # a list cannot hold the folder for long: the rest is not read
                bad.append(f"lines {n}…: not read: a code list is read up to line {MAX_LINES} (split it)")
                break
            shown = preview(code)
            rec = self.scans.scan(code, printer=printer, scanner=f"hotfolder:{printable(rel)}",
                                  debounce=False, shown=shown)
            if rec["outcome"] in ("failed", "unmatched"):
                detail = str(rec.get("detail") or "").replace(code, shown)
                bad.append(f"line {n}: {shown}: {rec['outcome']}" + (f": {detail}" if detail else ""))
        if bad:
            raise PrintstationError(f"{len(bad)} line(s) not printed (the others were queued): " + "; ".join(bad))

    # -- moving -----------------------------------------------------------------------------
    def _fail(self, dfd: int, name: str, rel: str, reason: str, sig: tuple[int, int, int] | None) -> None:
        self.failed += 1
        log.warning("hot folder: %s cannot be printed: %s", printable(rel), reason)
        moved = self._move(dfd, name, rel, (".failed",), sig)
        if moved is None:
            return
        ffd, dest = moved
        # Written under a temporary name of our own, then linked to its name (never replacing
        # anything there): whoever watches .failed/ sees the reason whole or not at all.
        tmp = f".error-{os.getpid()}-{secrets.token_hex(6)}.tmp"  # short: dest may be 245 bytes
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=ffd)
            try:
                os.write(fd, (reason.rstrip() + "\n").encode("utf-8", "backslashreplace"))
            finally:
                os.close(fd)
            os.link(tmp, dest + ".error.txt", src_dir_fd=ffd, dst_dir_fd=ffd, follow_symlinks=False)
        except OSError as exc:
            log.error("hot folder: cannot write .failed/%s.error.txt: %s", printable(dest), exc.strerror or exc)
        finally:
            try:
                os.unlink(tmp, dir_fd=ffd)
            except OSError:
                pass
            os.close(ffd)

    def _real_dir(self, parent: int, name: str, where: str) -> int:
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
                self._set_aside(parent, name, where, what)
                continue
            st = os.fstat(fd)
            if st.st_uid == os.geteuid():
                return fd
            os.close(fd)
            self._set_aside(parent, name, where, f"a folder owned by uid {st.st_uid}")
        raise OSError(errno.ELOOP, f"{where} keeps being replaced")

    def _set_aside(self, parent: int, name: str, where: str, what: str) -> None:
        aside = f"{name}.suspect-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        log.error("hot folder: %s is %s, not the station's folder: renamed to %s and made again",
                  where, what, aside)
        try:
            os.rename(name, aside, src_dir_fd=parent, dst_dir_fd=parent)
        except FileNotFoundError:
            pass

    @staticmethod
    def _exists(dfd: int, name: str) -> bool:
        try:
            os.stat(name, dir_fd=dfd, follow_symlinks=False)
            return True
        except FileNotFoundError:
            return False

    def _move(self, dfd: int, name: str, rel: str, to: tuple[str, ...],
              sig: tuple[int, int, int] | None) -> tuple[int, str] | None:
        """Rename ``name`` (in ``dfd``) into the folder ``to``; ``(folder fd, new name)``."""
        path = str(self.root / rel)
        try:
            tfd = self._open_dir(to, own=True)
        except OSError as exc:
            log.error("hot folder: cannot move %s to %s: %s", printable(rel), "/".join(to), exc.strerror or exc)
            if sig is not None:
                self._handled[path] = sig
            return None
        try:
            dest = fitting_name(name)
            n = 1
            while self._exists(tfd, dest) or self._exists(tfd, dest + ".error.txt"):
                dest = fitting_name(name, n)
                n += 1
            if sig is not None:  # moved only if it is still the file that was read
                now = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                if (now.st_ino, now.st_size, now.st_mtime_ns) != sig:
                    os.close(tfd)
                    return None
            os.rename(name, dest, src_dir_fd=dfd, dst_dir_fd=tfd)
            self._handled.pop(path, None)
            return tfd, dest
        except OSError as exc:
            os.close(tfd)
            if isinstance(exc, FileNotFoundError):
                return None
            log.error("hot folder: cannot move %s to %s: %s", printable(rel), "/".join(to), exc.strerror or exc)
            if sig is not None:
                self._handled[path] = sig
            return None

    def _cleanup(self) -> None:
        today = self.today()
        if self.keep_days <= 0 or self._cleaned == today:
            return
        self._cleaned = today
        try:
            dfd = self._open_dir([".done"])
        except OSError:
            return  # none yet (or not a real folder: it is replaced at the next move)
        try:
            cutoff = today - dt.timedelta(days=self.keep_days)
            for entry in self._scandir(dfd):
                try:
                    day = dt.date.fromisoformat(entry.name)
                except ValueError:
                    continue
                if day < cutoff and entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.name, dir_fd=dfd, ignore_errors=True)
                    log.info("hot folder: removed .done/%s (older than %d days)", entry.name, self.keep_days)
        finally:
            os.close(dfd)

    @staticmethod
    def _scandir(dfd: int) -> Iterator[os.DirEntry[str]]:
        with os.scandir(dfd) as it:
            yield from list(it)
