"""Conversions in a small persistent child process with a hard time limit.

A pathological SVG/PDF must never hang or crash the daemon: the daemon hands label bytes and the
printer spec to one warm child (multiprocessing ``spawn`` context, so no threads are forked) over
a pipe, waits at most ``timeout`` seconds, and on overrun kills the child (SIGKILL) and starts a
new one on the next call. The job then fails with "rendering timed out".

The child imports the conversion stack (numpy, Pillow, cairosvg, pdfium), so the daemon itself
stays small until it converts something.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from . import errors
from .errors import BadInput, PrintstationError, RenderTimeout
from .spec import PrinterSpec

log = logging.getLogger(__name__)


def _child(conn: Connection) -> None:  # pragma: no cover - runs in the child process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .convert import convert

    _preload()
    conn.send(("ready",))
    while True:
        try:
            data, spec, limit = conn.recv()
        except (EOFError, OSError):
            return
        # No SIGALRM here: an alarm raised inside pdfium/cairo callbacks can leave the renderer
        # in a broken state (seen as numpy "strides" errors on the next page). The parent's
        # hard kill after ``limit`` seconds is the time limit.
        try:
            conn.send(("ok", convert(data, spec)))
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
    """One warm conversion child; calls are serialised (the child converts one label at a time)."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._ctx = mp.get_context("spawn")
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
        proc = self._ctx.Process(target=_child, args=(child,), name="printstation-convert", daemon=True)
        proc.start()
        child.close()
        if not parent.poll(60) or parent.recv() != ("ready",):
            proc.kill()
            raise BadInput("the conversion process did not start")
        self._proc, self._conn = proc, parent
        log.debug("conversion process %s started", proc.pid)
        return parent

    def _kill(self) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            proc.join(5)

    def convert(self, data: bytes, spec: PrinterSpec, timeout: float | None = None) -> list[bytes]:
        """:func:`printstation.convert.convert` in the child; RenderTimeout after ``timeout``."""
        limit = self.timeout if timeout is None else timeout
        with self._lock:
            conn = self._ensure()
            try:
                conn.send((data, spec, limit))
                ready = conn.poll(limit + 2.0)
            except (OSError, EOFError):
                ready = False
            if not ready:
                log.warning("conversion ran past %.1f s: killing the conversion process", limit)
                self._kill()
                self.restarts += 1
                raise RenderTimeout("rendering timed out")
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                self._kill()
                self.restarts += 1
                raise BadInput("the conversion process died while rendering this label") from None
        if msg[0] == "ok":
            return msg[1]
        err = _rebuild(msg[1], msg[2])
        if isinstance(err, RenderTimeout):
            raise RenderTimeout("rendering timed out")
        raise err

    def close(self) -> None:
        with self._lock:
            self._kill()


class Converter:
    """Convert for the daemon: native ZPL for a ZPL printer in-process (a cheap passthrough, no
    round trip), everything else in the isolated child with its hard time limit."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.isolate = Isolate(timeout)

    def convert(self, data: bytes, spec: PrinterSpec) -> list[bytes]:
        from .render.sniff import sniff

        if spec.lang == "zpl" and sniff(data).kind == "zpl":
            from .convert import convert

            return convert(data, spec)
        return self.isolate.convert(data, spec)

    def close(self) -> None:
        self.isolate.close()
