"""Time limits for renderers that could spin on a pathological input."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from .errors import RenderTimeout


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`RenderTimeout` if the block runs longer than ``seconds``.

    Works in the main thread (SIGALRM interrupts Python-level rendering loops such as
    cairosvg's); elsewhere it is a no-op, and the daemon isolates conversions in a worker
    process with a hard kill instead (see :mod:`printstation.isolate`).
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _alarm(signum: int, frame: object) -> None:
        raise RenderTimeout(f"rendering took longer than {seconds:g} s: refused")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
