"""One log line per job state change (a job store ``on_change`` listener)."""

from __future__ import annotations

import logging
from typing import Any

from ..logs import log_event
from .base import FINAL_STATES, JobState


def log_job(job: Any, logger: logging.Logger | None = None) -> None:
    """One line per job state change; a final state's line carries the durations::

        job job=12 printer=zebra state=done source=api attempts=1 duration=0.412 send=0.031
    """
    state = getattr(job, "state", "?")
    retry = state == JobState.QUEUED and getattr(job, "attempts", 0) > 1  # a printer still away: once at INFO
    level = logging.WARNING if state in (JobState.FAILED, JobState.INTERRUPTED) else \
        logging.DEBUG if state == JobState.SENDING or retry else logging.INFO
    logger = logger or logging.getLogger("printstation.jobs")
    if not logger.isEnabledFor(level):
        return
    fields: dict[str, Any] = {"job": job.id, "printer": job.printer, "state": state}
    if getattr(job, "source", None):
        fields["source"] = job.source
    if getattr(job, "attempts", 0):
        fields["attempts"] = job.attempts
    done, created, sent = getattr(job, "done", None), getattr(job, "created", None), getattr(job, "sent", None)
    if state in FINAL_STATES and done and created:
        fields["duration"] = max(0.0, done - created)
        if sent:
            fields["send"] = max(0.0, done - sent)
    if getattr(job, "error", None):
        fields["error"] = job.error
    log_event(logger, "job", level, **fields)


__all__ = ["log_job"]
