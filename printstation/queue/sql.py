"""SQL both job store backends share (SQLite ``?`` and PostgreSQL ``%s`` placeholders)."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from .base import COLUMNS, INCR, STATES, JobState


def job_filters(printer: str | None, state: str | None, mark: str) -> tuple[list[str], list[Any]]:
    """``(where, args)`` for listing jobs of ``printer`` in ``state`` (``mark``: the driver's
    placeholder, ``?`` or ``%s``); an unknown state is a one-line :class:`UsageError`."""
    where: list[str] = []
    args: list[Any] = []
    if printer:
        where.append(f"printer={mark}")
        args.append(printer)
    if state:
        if state not in STATES:
            raise UsageError(f"unknown state {state!r} (one of {', '.join(STATES)})")
        where.append(f"state={mark}")
        args.append(str(state))
    return where, args


def set_clause(to: JobState | None, values: dict[str, Any], mark: str) -> tuple[str, list[Any]]:
    """``(sql, args)`` for the ``SET`` of a transition (``mark``: the driver's placeholder)."""
    parts: list[str] = []
    args: list[Any] = []
    if to is not None:
        parts.append(f"state={mark}")
        args.append(str(to))
    for column, value in values.items():
        if column not in COLUMNS:  # names come from this package's code, never from input
            raise ValueError(f"no job column {column!r}")
        if value is INCR:
            parts.append(f"{column}={column}+1")
        else:
            parts.append(f"{column}={mark}")
            args.append(value)
    return ", ".join(parts), args


__all__ = ["job_filters", "set_clause"]
