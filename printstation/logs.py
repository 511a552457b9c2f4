"""Logging to stderr, one line per event; journald adds the time when run under systemd."""

from __future__ import annotations

import logging
import os
import sys


def setup_logging(verbosity: int = 0, level: str | None = None) -> None:
    if level:
        lvl = getattr(logging, level.upper(), logging.INFO)
    else:
        lvl = logging.WARNING - 10 * verbosity if verbosity else logging.INFO
    if os.environ.get("JOURNAL_STREAM"):
        fmt = "%(levelname)s %(name)s: %(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_printstation", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    handler._printstation = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(lvl)
