"""Conversions in small persistent child processes with a hard time limit.

A pathological SVG/PDF must never hang or crash the daemon: the daemon hands label bytes and the
printer spec to a warm child (multiprocessing ``spawn`` context, so no threads are forked) over
a pipe, waits at most ``timeout`` seconds (and never longer than the spec's ``render_timeout``),
and on overrun kills the child (SIGKILL) and starts a new one on the next call. The job then
fails with "rendering timed out".

:class:`RendererPool` keeps ``[station] renderers`` children warm (default 2) and starts more on
demand — up to one per printer plus one for the hot folder and one for previews — so one slow label never holds
another printer's conversion; the extra children end when their label is done.
:class:`Converter` is what the daemon uses for every path (printer workers, the hot folder's
check, previews); it keeps recent results so a label checked by the hot folder is not rendered
again for its job.

The child imports the conversion stack (numpy, Pillow, cairosvg, pdfium), so the daemon itself
stays small until it converts something.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Literal, cast

from . import errors
from .errors import BadInput, ConversionAborted, PrintstationError, RenderTimeout
from .lang.registry import get as get_lang
from .spec import PrinterSpec

if TYPE_CHECKING:
    from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext

log = logging.getLogger(__name__)


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in the child process
    """End this renderer when the daemon is gone (even after a SIGKILL), so a label being
    rendered never outlives it. (A thread, not PR_SET_PDEATHSIG: that fires when the *thread*
    that started the child ends.)"""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child(conn: Connection, preload: bool = True, parent: int = 0, pages: bool = False) -> None:  # pragma: no cover
    if parent:
        _die_with_parent(parent)
    if pages:  # a daemonic process may start no workers: these die with it (render/parallel.py)
        mp.current_process().daemon = False
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .pipeline import iter_labels

    if preload:
        _preload()
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        # No SIGALRM here: an alarm raised inside pdfium/cairo callbacks can leave the renderer
        # in a broken state (seen as numpy "strides" errors on the next page). The parent's
        # hard kill after ``limit`` seconds is the time limit.
        try:  # ("stream", data, spec, limit) → one ("page", bytes) per label as it is done, ("end",)
            for label in iter_labels(msg[1], msg[2], rasters=False):
                conn.send(("page", label.data))
            conn.send(("end",))
        except PrintstationError as exc:
            conn.send(("err", type(exc).__name__, str(exc)))
        except MemoryError:
            conn.send(("err", "BadInput", "label too large to render (out of memory)"))
        except Exception as exc:  # noqa: BLE001 - a renderer bug is this label's failure
            conn.send(("err", "BadInput", f"conversion failed: {type(exc).__name__}: {exc}"))


def _preload() -> None:  # pragma: no cover - runs in the child process
    """Import the renderers now, so the first label's time limit is spent rendering."""
    import importlib

    for name in ("printstation.render.svg", "printstation.render.pdf", "printstation.render.bitmap",
                 "printstation.render.barcodes", "printstation.render.redraw", "cairosvg.parser",
                 "cairosvg.surface", "pypdfium2", "zxingcpp", "defusedxml"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _rebuild(name: str, message: str) -> PrintstationError:
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, PrintstationError)):
        cls = BadInput
    try:
        return cls(message)
    except TypeError:
        return BadInput(message)


class Isolate:
    """One warm conversion child; calls are serialised (the child converts one label at a time).
    ``pages``: it may fork page workers (:mod:`~printstation.render.parallel`; the CLI's child).
    The daemon's children (:class:`RendererPool`) convert in one process: several run at once."""

    def __init__(self, timeout: float = 30.0, context: Literal["spawn", "fork", "forkserver"] = "spawn",
                 preload: bool = True, pages: bool = True) -> None:
        self.timeout, self.preload, self.pages = timeout, preload, pages
        # get_context(str) is typed as the BaseContext (no Process); a named method gives its own context
        self._ctx = cast("SpawnContext | ForkContext | ForkServerContext", mp.get_context(context))
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    def start(self) -> None:
        """Start the child now (a warm-up), unless it runs already."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> Connection:
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return self._conn
        self._kill()
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_child, args=(child, self.preload, os.getpid(), self.pages), name="printstation-convert", daemon=True)
        proc.start()
        child.close()
        try:
            ready = parent.poll(60) and parent.recv() == ("ready",)
        except (EOFError, OSError):
            ready = False
        if not ready:
            proc.kill()
            proc.join(5)
            parent.close()
            raise BadInput("the conversion process did not start")
        self._proc, self._conn = proc, parent
        log.debug("conversion process %s started", proc.pid)
        return parent

    def _kill(self, wait: bool = True) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            if wait:  # else reaped later: its 3-5 ms teardown overlaps the CLI's write (__main__.py)
                proc.join(5)

    def convert(self, data: bytes, spec: PrinterSpec, timeout: float | None = None) -> list[bytes]:
        """:func:`printstation.pipeline.convert` in the child; RenderTimeout after ``timeout``."""
        return list(self.iter_convert(data, spec, timeout))

    def iter_convert(self, data: bytes, spec: PrinterSpec, timeout: float | None = None) -> Iterator[bytes]:
        """Each label's bytes as soon as the child has converted it, in page order; one time limit
        for all. A caller that stops early leaves the child mid-label: it is killed (replaced)."""
        limit = min(self.timeout if timeout is None else timeout, spec.render_timeout or float("inf"))
        with self._lock:
            conn, finished = self._ensure(), False
            deadline = time.monotonic() + limit + 2.0  # (2 s of slack for the pipe)
            try:
                with contextlib.suppress(OSError, EOFError):  # a dead child: the poll says so
                    conn.send(("stream", data, spec, limit))
                msg = self._next_msg(conn, deadline, limit)
                while msg[0] == "page":
                    held = time.monotonic()
                    yield msg[1]
                    deadline += time.monotonic() - held  # (the printer's time is not the renderer's)
                    msg = self._next_msg(conn, deadline, limit)
                finished = True
                if msg[0] != "end":
                    err = _rebuild(msg[1], msg[2])
                    raise RenderTimeout("rendering timed out") if isinstance(err, RenderTimeout) else err
            finally:
                if not finished:
                    self._kill()

    def _next_msg(self, conn: Connection, deadline: float, limit: float) -> tuple:
        try:
            ready = conn.poll(max(0.0, deadline - time.monotonic()))
        except (OSError, EOFError):
            ready = False
        if not ready:
            log.warning("conversion ran past %.1f s: killing the conversion process", limit)
            self._kill()
            self.restarts += 1
            raise RenderTimeout("rendering timed out")
        try:
            return conn.recv()
        except (EOFError, OSError):
            self._kill()
            self.restarts += 1
            raise BadInput("the conversion process died while rendering this label") from None

    def close(self, wait: bool = True) -> None:
        with self._lock:
            self._kill(wait)


class RendererPool:
    """Warm conversion children shared by every caller: ``size`` kept warm, more started when
    all are busy (up to ``max_size``), so a slow label holds one child and nobody else's."""

    def __init__(self, size: int = 2, timeout: float = 30.0, max_size: int | None = None) -> None:
        self.size = max(1, size)
        self.max_size = max(self.size, max_size or self.size)
        self.timeout = timeout
        self._cv = threading.Condition()
        self._idle: list[Isolate] = []
        self._all: list[Isolate] = []
        self._retired_restarts = 0
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The first live child's pid (None when none runs)."""
        with self._cv:
            children = list(self._all)
        return next((c.pid for c in children if c.pid is not None), None)

    @property
    def pids(self) -> list[int]:
        with self._cv:
            children = list(self._all)
        return [p for p in (c.pid for c in children) if p is not None]

    @property
    def restarts(self) -> int:
        with self._cv:
            return self._retired_restarts + sum(c.restarts for c in self._all)

    def start(self) -> None:
        """Start one warm child now (a warm-up)."""
        child = self._acquire()
        try:
            child.start()
        finally:
            self._release(child)

    def _acquire(self) -> Isolate:
        with self._cv:
            while True:
                if self._closed:
                    raise ConversionAborted("the conversion processes are stopped (shutting down)")
                if self._idle:
                    # Prefer a child that is already running (warm).
                    warm = [c for c in self._idle if c.pid is not None]
                    child = (warm or self._idle)[-1]
                    self._idle.remove(child)
                    return child
                if len(self._all) < self.max_size:
                    child = Isolate(self.timeout, pages=False)
                    self._all.append(child)
                    return child
                self._cv.wait()

    def _release(self, child: Isolate) -> None:
        with self._cv:
            if self._closed or len(self._all) > self.size:
                self._all.remove(child)  # a burst child: it ends with its label
                self._retired_restarts += child.restarts
                retire = True
            else:
                self._idle.append(child)
                retire = False
            self._cv.notify()
        if retire:
            child.close()

    def convert(self, data: bytes, spec: PrinterSpec, timeout: float | None = None) -> list[bytes]:
        """:meth:`Isolate.convert` in a free child (started when all are busy)."""
        return list(self.iter_convert(data, spec, timeout))

    def iter_convert(self, data: bytes, spec: PrinterSpec, timeout: float | None = None) -> Iterator[bytes]:
        """:meth:`Isolate.iter_convert` in a free child (started when all are busy)."""
        child = self._acquire()
        try:
            yield from child.iter_convert(data, spec, timeout)
        except Exception:
            if self._closed:  # killed by abort(): not this label's fault
                raise ConversionAborted("conversion stopped: the daemon is shutting down") from None
            raise
        finally:
            self._release(child)

    def abort(self) -> None:
        """Shutting down: no new conversion, and the running ones are killed now (their callers
        get :class:`ConversionAborted` and keep the job or file for the next start)."""
        with self._cv:
            self._closed = True
            busy = [c for c in self._all if c not in self._idle]
            self._cv.notify_all()
        for c in busy:
            pid = c.pid
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self.close()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            children = list(self._idle)
            self._idle.clear()
            for c in children:
                self._all.remove(c)
            self._cv.notify_all()
        for c in children:
            c.close()


def _passthrough(data: bytes, spec: PrinterSpec) -> list[bytes] | None:
    """Native ZPL for a ZPL printer, in this process (a cheap passthrough); None for anything else."""
    from .pipeline import convert
    from .render.sniff import sniff

    if not get_lang(spec.lang).passes_zpl or sniff(data).kind != "zpl":
        return None
    try:
        return convert(data, spec)
    except PrintstationError:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser bug is this label's failure
        raise BadInput(f"cannot read this ZPL: {type(exc).__name__}") from None


class Converter:
    """Convert for the daemon: native ZPL for a ZPL printer in-process (a cheap passthrough, no
    round trip), everything else in a renderer child with its hard time limit. Results are kept
    (by content hash and printer spec, up to :data:`KEEP_BYTES`) so the label the hot folder
    checked is not rendered a second time for its job."""

    KEEP_BYTES = 64 * 1024 * 1024

    def __init__(self, timeout: float = 30.0, renderers: int = 2, max_renderers: int | None = None) -> None:
        self.isolate = RendererPool(renderers, timeout, max_renderers)
        self._kept: "OrderedDict[tuple[str, PrinterSpec], list[bytes]]" = OrderedDict()
        self._kept_bytes = 0
        self._lock = threading.Lock()

    def convert(self, data: bytes, spec: PrinterSpec) -> list[bytes]:
        return list(self.iter_convert(data, spec))

    def iter_convert(self, data: bytes, spec: PrinterSpec) -> Iterator[bytes]:
        """:meth:`convert` label by label (kept once the last one is done; a failed page keeps none)."""
        key = (hashlib.sha256(data).hexdigest(), spec)
        with self._lock:
            hit = self._kept.get(key)
            if hit is not None:
                self._kept.move_to_end(key)
        if hit is not None:
            yield from list(hit)
            return
        out: list[bytes] = []
        for label in _passthrough(data, spec) or self.isolate.iter_convert(data, spec):
            out.append(label)
            yield label
        self._keep(key, out)

    def _keep(self, key: tuple[str, PrinterSpec], out: list[bytes]) -> None:
        size = sum(len(b) for b in out)
        if size > self.KEEP_BYTES // 4:
            return
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._kept_bytes -= sum(len(b) for b in old)
            self._kept[key] = list(out)
            self._kept_bytes += size
            while self._kept_bytes > self.KEEP_BYTES and self._kept:
                _, dropped = self._kept.popitem(last=False)
                self._kept_bytes -= sum(len(b) for b in dropped)

    def abort(self) -> None:
        """Stop converting now (shutdown): see :meth:`RendererPool.abort`."""
        self.isolate.abort()

    def close(self) -> None:
        self.isolate.close()
