"""Hot folder: label files dropped into ``<hot>/`` print by themselves.

* ``<hot>/<printer name>/…`` prints on that printer; files directly in ``<hot>/`` on the default.
* A file is taken only when complete: on close-after-write or move-in (inotify through watchdog),
  or when its size and mtime have stayed still for ``settle_ms`` (the polling path, and files found
  by the periodic rescan — files present at start included).
* Hidden files (``.x``), ``*.tmp``, ``*.part``, ``*.crdownload`` and ``*~`` are ignored until renamed.
* After queueing a file moves to ``<hot>/.done/<YYYY-MM-DD>/``; a file that cannot be printed moves
  to ``<hot>/.failed/`` with ``<name>.error.txt`` beside it. ``.done`` days older than
  ``keep_days`` are removed (0 keeps them forever).
* ``name.x3.pdf`` prints 3 copies. A ``.txt`` file holds one code per line, each run through the
  scan rules as if scanned (blank lines and ``#`` comments skipped).
* Never printed twice because events repeat: a file is handled by one thread, moved away, and its
  identity (inode, size, mtime) is remembered; each job carries an idempotency key made of that
  identity, so a crash between queueing and moving does not print it again either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from ..errors import PrintstationError
from ..render.sniff import decode_text
from ..spec import PrinterSpec
from .service import ScanService, Submitter, job_id

log = logging.getLogger("printstation.hotfolder")

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", "~")
COPIES_RE = re.compile(r"^(?P<stem>.+?)\.x(?P<n>\d{1,4})(?P<ext>\.[^.]*)?$", re.I)
RESCAN_S = 2.0
TICK_S = 0.05
MAX_BYTES = 64 * 1024 * 1024


def ignored_name(name: str) -> bool:
    low = name.lower()
    return name.startswith(".") or low.endswith(IGNORED_SUFFIXES)


def copies_of(name: str) -> int | None:
    """``label.x3.pdf`` → 3; no marker → None (the printer's own ``copies``)."""
    m = COPIES_RE.match(name)
    return max(1, int(m.group("n"))) if m else None


@dataclass
class _Seen:
    sig: tuple[int, int, int]  # inode, size, mtime_ns
    since: float
    ready: bool = False  # close-write / move-in seen


class _Handler(FileSystemEventHandler):
    def __init__(self, folder: "HotFolder") -> None:
        self.folder = folder

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.folder.notice(os.fsdecode(event.src_path))

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.folder.notice(os.fsdecode(event.src_path))

    def on_closed(self, event: FileSystemEvent) -> None:  # IN_CLOSE_WRITE
        if not event.is_directory:
            self.folder.notice(os.fsdecode(event.src_path), complete=True)

    def on_moved(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            self.folder.rescan_soon()
        else:
            self.folder.notice(os.fsdecode(event.dest_path), complete=True)


class HotFolder:
    def __init__(self, root: str | os.PathLike[str], submitter: Submitter, *,
                 printers: Mapping[str, PrinterSpec], default_printer: str,
                 scans: ScanService | None = None, settle_ms: int = 500, keep_days: int = 14,
                 polling: bool | None = None, validate: Callable[[bytes, PrinterSpec], Any] | None = None,
                 today: Callable[[], dt.date] = dt.date.today) -> None:
        self.root = Path(root).absolute()
        self.submitter = submitter
        self.printers = dict(printers)
        self.default_printer = default_printer
        self.scans = scans
        self.settle = settle_ms / 1000.0
        self.keep_days = keep_days
        self.polling = polling
        self.validate = validate
        self.today = today
        self._seen: dict[str, _Seen] = {}
        self._handled: dict[str, tuple[int, int, int]] = {}
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._rescan_at = 0.0
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self._cleaned: dt.date | None = None
        self.processed = 0
        self.failed = 0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for name in self.printers:
            (self.root / name).mkdir(exist_ok=True)
        self._observer = self._start_observer()
        self._thread = threading.Thread(target=self._run, name="hotfolder", daemon=True)
        self._thread.start()
        log.info("hot folder %s watched (%s)", self.root, type(self._observer).__name__)

    def _start_observer(self) -> Any:
        from watchdog.observers.polling import PollingObserver

        if not self.polling:
            try:
                from watchdog.observers import Observer

                obs = Observer()
                obs.schedule(_Handler(self), str(self.root), recursive=True)
                obs.start()
                return obs
            except Exception as exc:  # inotify missing or out of watches
                log.warning("inotify unavailable (%s); polling %s", exc, self.root)
        obs = PollingObserver(timeout=max(0.2, min(1.0, self.settle)))
        obs.schedule(_Handler(self), str(self.root), recursive=True)
        obs.start()
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

    def notice(self, path: str, complete: bool = False) -> None:
        if self.eligible(path) is None:
            return
        with self._cv:
            seen = self._seen.get(path)
            if seen is None:
                self._seen[path] = _Seen((0, -1, 0), time.monotonic(), complete)
            elif complete:
                seen.ready = True
            else:
                seen.since = time.monotonic()
                seen.ready = False
            self._cv.notify()

    def rescan_soon(self) -> None:
        with self._cv:
            self._rescan_at = 0.0
            self._cv.notify()

    def _rescan(self) -> None:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not ignored_name(d)]
            for f in filenames:
                p = os.path.join(dirpath, f)
                if p not in self._seen and self.eligible(p) is not None:
                    with self._cv:
                        self._seen.setdefault(p, _Seen((0, -1, 0), time.monotonic()))

    # -- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
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
            except Exception:  # never let the folder die
                log.exception("hot folder loop error")
                time.sleep(0.5)
            with self._cv:
                self._cv.wait(TICK_S if self._seen else RESCAN_S)

    def _due(self) -> list[str]:
        now = time.monotonic()
        due: list[str] = []
        with self._cv:
            items = list(self._seen.items())
        for path, seen in items:
            try:
                st = os.stat(path)
            except OSError:
                with self._cv:
                    self._seen.pop(path, None)
                continue
            sig = (st.st_ino, st.st_size, st.st_mtime_ns)
            if self._handled.get(path) == sig:
                continue  # moved away failed earlier; never twice
            with self._cv:
                if sig != seen.sig:
                    if seen.sig[1] >= 0:
                        seen.since = now  # it changed since the last look: still being written
                    seen.sig = sig
                if seen.ready or now - seen.since >= self.settle:
                    due.append(path)
        due.sort()
        return due

    def _take(self, path: str) -> None:
        with self._cv:
            seen = self._seen.pop(path, None)
        if seen is None:
            return
        where = self.eligible(path)
        if where is None:
            return
        printer, rel = where
        name = os.path.basename(path)
        try:
            st = os.stat(path)
            if st.st_size > MAX_BYTES:
                raise PrintstationError(f"file too large ({st.st_size} bytes; limit {MAX_BYTES})")
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return
        except OSError as exc:
            self._fail(path, f"cannot read: {exc.strerror or exc}")
            return
        except PrintstationError as exc:
            self._fail(path, str(exc))
            return
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        try:
            if printer not in self.printers:
                raise PrintstationError(f"no printer named {printer!r} (folders: {', '.join(sorted(self.printers))})")
            if not data:
                raise PrintstationError("empty file")
            if name.lower().endswith(".txt"):
                self._codes(data, printer, rel)
            else:
                self._print(data, printer, rel, name, sig)
        except PrintstationError as exc:
            self._fail(path, str(exc), sig)
            return
        except Exception as exc:
            log.exception("hot folder: %s", rel)
            self._fail(path, f"internal error: {type(exc).__name__}: {exc}", sig)
            return
        self.processed += 1
        self._move(path, self.root / ".done" / self.today().isoformat(), sig)

    def _print(self, data: bytes, printer: str, rel: str, name: str, sig: tuple[int, int, int]) -> None:
        spec = self.printers[printer]
        copies = copies_of(name)
        if self.validate is not None:  # raises BadInput with the reason; warms the convert cache
            self.validate(data, spec if copies is None else spec.replace(copies=copies))
        key = "hot-" + hashlib.sha256(f"{rel}|{sig[0]}|{sig[1]}|{sig[2]}".encode()).hexdigest()[:20]
        job = self.submitter.submit(printer, data, copies=copies, key=key, name=name,
                                    source="hotfolder", source_ref=rel)
        state = job.get("state") if isinstance(job, Mapping) else getattr(job, "state", None)
        if state == "failed":
            err = job.get("error") if isinstance(job, Mapping) else getattr(job, "error", None)
            raise PrintstationError(str(err or "the job failed"))
        log.info("hot folder: %s → %s (job %s, copies %s)", rel, printer, job_id(job), copies or "default")

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
            rec = self.scans.scan(code, printer=printer, scanner=f"hotfolder:{rel}", debounce=False)
            if rec["outcome"] in ("failed", "unmatched"):
                bad.append(f"line {n}: {code}: {rec['outcome']}: {rec.get('detail') or ''}".rstrip(": "))
        if bad:
            raise PrintstationError(f"{len(bad)} line(s) not printed (the others were queued):\n" + "\n".join(bad))

    # -- moving -----------------------------------------------------------------------------
    def _fail(self, path: str, reason: str, sig: tuple[int, int, int] | None = None) -> None:
        self.failed += 1
        log.warning("hot folder: %s cannot be printed: %s", path, reason.splitlines()[0])
        dest = self._move(path, self.root / ".failed", sig)
        if dest is not None:
            try:
                Path(str(dest) + ".error.txt").write_text(reason.rstrip() + "\n", encoding="utf-8")
            except OSError as exc:
                log.error("cannot write %s.error.txt: %s", dest, exc)

    def _move(self, path: str, folder: Path, sig: tuple[int, int, int] | None) -> Path | None:
        name = os.path.basename(path)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / name
            n = 1
            stem, dot, ext = name.partition(".")
            while dest.exists() or Path(str(dest) + ".error.txt").exists():
                dest = folder / f"{stem}-{n}{dot}{ext}"
                n += 1
            os.replace(path, dest)
            self._handled.pop(path, None)
            return dest
        except OSError as exc:
            log.error("hot folder: cannot move %s to %s: %s", path, folder, exc)
            if sig is not None:
                self._handled[path] = sig
            return None

    def _cleanup(self) -> None:
        today = self.today()
        if self.keep_days <= 0 or self._cleaned == today:
            return
        self._cleaned = today
        done = self.root / ".done"
        if not done.is_dir():
            return
        cutoff = today - dt.timedelta(days=self.keep_days)
        for d in done.iterdir():
            try:
                day = dt.date.fromisoformat(d.name)
            except ValueError:
                continue
            if day < cutoff and d.is_dir():
                shutil.rmtree(d, ignore_errors=True)
                log.info("hot folder: removed %s (older than %d days)", d, self.keep_days)
