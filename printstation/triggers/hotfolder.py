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

Parts: :mod:`.hotwatch` (events, writers from ``/proc``), :mod:`.hotfiles` (directory fds, the
bounded read, moves to ``.done``/``.failed``), :mod:`.codelist` (``.txt`` code lists); this
module decides when a file is taken and what becomes of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import ConversionAborted, PrintstationError, StorageFull, StoreUnavailable
from ..logs import redact
from ..names import printable
from ..queue.base import JobState
from ..spec import PrinterSpec
from .codelist import MAX_LINES, scan_code_list  # noqa: F401 - MAX_LINES: still named from here
from .hotfiles import ERROR_SUFFIX, NAME_MAX, fitting_name  # noqa: F401 - still named from here
from .hotfiles import (_Refused, Sig, lock_folder, move_into, open_dir, prune_done, read_limited, sig_of,
                       write_reason)
from .hotwatch import Seen, open_for_writing, settled, start_observer, tree_files
from .service import ScanService, Submitter, job_id

log = logging.getLogger("printstation.hotfolder")

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", "~")
COPIES_RE = re.compile(r"^(?P<stem>.+?)\.x(?P<n>\d{1,4})(?P<ext>\.[^.]*)?$", re.I)
RESCAN_S = 2.0
#: A walk of the folder tree starts no sooner than this, or :data:`RESCAN_LOAD` times the last
#: walk's duration, after the last one began — also when a folder moved in asks for one (a
#: writer renaming folders in a loop over a huge tree must not keep the daemon walking it).
MIN_RESCAN_GAP = 0.5
RESCAN_LOAD = 10.0
TICK_S = 0.05
#: Default ``[hotfolder] max_mb``.
MAX_MB = 32
#: Folder levels below the hot folder that the rescan walks.
MAX_DEPTH = 8
#: ``sniff.describe`` output (the first bytes of a file) inside an error message.
_SHOWN_BYTES = re.compile(r"""starts with (?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|0x[0-9a-f]+)…?""")


def ignored_name(name: str) -> bool:
    low = name.lower()
    return name.startswith(".") or low.endswith(IGNORED_SUFFIXES)


def copies_of(name: str) -> int | None:
    """``label.x3.pdf`` → 3; no marker → None (the printer's own ``copies``)."""
    m = COPIES_RE.match(name)
    return max(1, int(m.group("n"))) if m else None


def scrub(reason: str) -> str:
    """An error message without the file's first bytes (``sniff`` quotes them) or a known secret."""
    return redact(_SHOWN_BYTES.sub("starts with bytes that are not shown", reason))


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
        self._seen: dict[str, Seen] = {}
        self._handled: dict[str, Sig] = {}
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._rescan_at = 0.0
        #: the earliest start of the next walk (see MIN_RESCAN_GAP)
        self._walk_after = 0.0
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self._inotify = False
        self._cleaned: dt.date | None = None
        self._root_fd = -1
        self._warned: set[str] = set()
        #: While the queue has no room (quota or a full data dir): no file is taken before this.
        self._room_at = 0.0
        self._no_room = False
        self.processed = 0
        self.failed = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise PrintstationError(f"{self.root} is not a directory")
        self.root.mkdir(parents=True, exist_ok=True)
        self._root_fd = lock_folder(self.root)
        try:
            self._printer_dirs()
            self._observer, self._inotify = start_observer(self, self.root, self.polling, self.settle)
        except BaseException:
            self._close_root()
            raise
        self._thread = threading.Thread(target=self._run, name="hotfolder", daemon=True)
        self._thread.start()
        log.info("hot folder %s watched (%s)", self.root, type(self._observer).__name__)

    def set_printers(self, printers: Mapping[str, PrinterSpec], default_printer: str) -> None:
        """The printers after a reload: files for them are checked against their new specs."""
        self.printers, self.default_printer = dict(printers), default_printer
        self._printer_dirs()

    def _printer_dirs(self) -> None:
        for name in self.printers:
            try:
                os.mkdir(name, dir_fd=self._root_fd)
            except FileExistsError:
                pass
            except OSError as exc:
                self._warn_once(f"mkdir:{name}", "hot folder: cannot create %s/%s: %s", self.root, name,
                                exc.strerror or exc)

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
                seen = self._seen[path] = Seen((0, -1, 0), time.monotonic())
            if self._inotify and writing is not None:
                seen.writing = writing
            self._cv.notify()

    def rescan_soon(self) -> None:
        with self._cv:
            self._rescan_at = self._walk_after
            self._cv.notify()

    def _rescan(self) -> None:
        self._printer_dirs()
        for p in tree_files(self.root, ignored_name, MAX_DEPTH):
            if p not in self._seen and self.eligible(p) is not None:
                with self._cv:
                    self._seen.setdefault(p, Seen((0, -1, 0), time.monotonic()))

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
                    took = time.monotonic() - now
                    self._walk_after = now + max(MIN_RESCAN_GAP, RESCAN_LOAD * took)
                    self._rescan_at = max(self._rescan_at, self._walk_after)
                for path in self._due() if now >= self._room_at else ():
                    if self._stop.is_set() or time.monotonic() < self._room_at:
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
        return settled(self._seen, self._handled, self._cv, self.settle, open_for_writing)

    # -- taking a file ----------------------------------------------------------------------
    def _open_dir(self, parts: tuple[str, ...] | list[str], own: bool = False) -> int:
        return open_dir(self._root_fd, self.root, parts, own)

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

    def _take_at(self, dfd: int, name: str, printer: str, rel: str) -> None:
        try:
            lst = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            data, st = read_limited(dfd, name, self.max_bytes)
        except FileNotFoundError:
            return
        except (_Refused, OSError) as exc:
            reason = str(exc) if isinstance(exc, _Refused) else f"cannot read: {exc.strerror or exc}"
            # Remembered by its lstat identity: a file that cannot be moved is not retried each tick.
            self._fail(dfd, name, rel, reason, sig_of(lst))
            return
        sig = sig_of(st)
        try:
            if printer not in self.printers:
                raise PrintstationError(f"no printer named {printable(printer)!r} "
                                        f"(folders: {', '.join(sorted(self.printers))})")
            if not data:
                raise PrintstationError("empty file")
            if name.lower().endswith(".txt"):
                scan_code_list(self.scans, data, printer, rel)
            else:
                self._print(data, printer, rel, name, sig)
        except PrintstationError as exc:
            if self._stop.is_set() or isinstance(exc, ConversionAborted):
                # stopping (queue closed, check cut short): the file stays for the next start
                log.info("hot folder: %s left for the next start (%s)", printable(rel), scrub(str(exc)))
                return
            if isinstance(exc, StoreUnavailable):  # the shared database is away: tried again later
                log.warning("hot folder: %s waits: %s", printable(rel), scrub(str(exc)))
                return
            if isinstance(exc, StorageFull):  # not the file's fault: it waits here for room
                if not self._no_room:
                    log.warning("hot folder: %s waits for room: %s", printable(rel), scrub(str(exc)))
                self._no_room = True
                self._room_at = time.monotonic() + RESCAN_S
                return
            self._fail(dfd, name, rel, scrub(str(exc)), sig)
            return
        except Exception as exc:
            log.error("hot folder: %s: internal error: %s", printable(rel), type(exc).__name__)
            self._fail(dfd, name, rel, f"internal error: {type(exc).__name__}", sig)
            return
        self.processed += 1
        if self._no_room:
            self._no_room = False
            log.info("hot folder: the queue has room again")
        self._move(dfd, name, rel, (".done", self.today().isoformat()), sig)

    def _print(self, data: bytes, printer: str, rel: str, name: str, sig: Sig) -> None:
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

    # -- moving -----------------------------------------------------------------------------
    def _fail(self, dfd: int, name: str, rel: str, reason: str, sig: Sig | None) -> None:
        self.failed += 1
        log.warning("hot folder: %s cannot be printed: %s", printable(rel), reason)
        moved = self._move(dfd, name, rel, (".failed",), sig)
        if moved is None:
            return
        ffd, dest = moved
        try:
            write_reason(ffd, dest, reason)
        finally:
            os.close(ffd)

    def _move(self, dfd: int, name: str, rel: str, to: tuple[str, ...],
              sig: Sig | None) -> tuple[int, str] | None:
        """Rename ``name`` (in ``dfd``) into the folder ``to``; ``(folder fd, new name)``."""
        path = str(self.root / rel)
        try:
            moved = move_into(self._root_fd, self.root, dfd, name, to, sig)
        except OSError as exc:
            log.error("hot folder: cannot move %s to %s: %s", printable(rel), "/".join(to), exc.strerror or exc)
            if sig is not None:
                self._handled[path] = sig
            return None
        if moved is not None:
            self._handled.pop(path, None)
        return moved

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
            prune_done(dfd, today, self.keep_days)
        finally:
            os.close(dfd)
