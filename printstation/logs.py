"""Logging to stderr: one line per event, ``key=value`` fields, secrets redacted everywhere.

- :func:`setup_logging` installs one stderr handler on the root logger. Under systemd (stderr is
  the journal stream named by ``$JOURNAL_STREAM``) lines carry no timestamp — journald adds one —
  and start with a ``<N>`` syslog priority so ``journalctl -p warning`` works.
- Level: ``-v``/``-vv`` on the command line, else ``$PRINTSTATION_LOG_LEVEL``, else
  ``[station] log_level`` (:func:`set_config_level`), else INFO.
- :func:`log_event` logs one event with fields: ``log_event(log, "job.done", job=12,
  printer="zebra", state="done", duration=0.12)`` → ``… job.done job=12 printer=zebra state=done
  duration=0.120``. Any ``extra={…}`` field of an ordinary log call is rendered the same way.
- :func:`register_secret` adds a string (a marketplace or API token) that must never be shown;
  every log record — message, arguments, fields, exception traceback, stack — is scrubbed of it
  and of anything that looks like a JWT or an ``Authorization:`` header value, before any
  handler sees it. :func:`redact` does the same for any text (CLI error lines).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from typing import Any, Iterable, TextIO

MASK = "***"
#: Secrets shorter than this are not registered (they would mask ordinary words).
MIN_SECRET_LEN = 6

_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_HEADER_RE = re.compile(
    r"(?i)((?:authorization|x-auth-token|x-api-key|api[-_]?key|token)[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|token)\s+)?)([^\s\"',;}]{6,})"
)

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_secret_re: re.Pattern[str] | None = None


def register_secret(secret: str | None) -> None:
    """Never show ``secret`` in a log line or a CLI error from now on (idempotent)."""
    global _secrets, _secret_re
    if not secret:
        return
    values = {secret.strip(), secret}
    if secret.lower().startswith("bearer "):
        values.add(secret[7:].strip())
    values = {v for v in values if len(v) >= MIN_SECRET_LEN}
    with _lock:
        new = tuple(sorted(set(_secrets) | values, key=len, reverse=True))
        if new != _secrets:
            _secrets = new
            _secret_re = re.compile("|".join(re.escape(s) for s in new)) if new else None


def forget_secrets() -> None:
    """Drop every registered secret (tests)."""
    global _secrets, _secret_re
    with _lock:
        _secrets, _secret_re = (), None


def redact(text: str) -> str:
    """``text`` with registered secrets, JWT-looking strings and auth header values masked."""
    if not text:
        return text
    rx = _secret_re
    if rx is not None:
        text = rx.sub(MASK, text)
    if "eyJ" in text:
        text = _JWT_RE.sub(MASK, text)
    return _HEADER_RE.sub(_mask_header_value, text)


def looks_secret(value: str) -> bool:
    """A value after ``token:``/``Authorization:`` that is a credential, not an ordinary word:
    it holds a digit, or a capital after a small letter (``aZ``), or is 20 characters or longer.
    ``tokens are not allowed`` and ``Authorization: Bearer …`` keep their words."""
    if any(c.isdigit() for c in value):
        return True
    if re.search(r"[a-z][A-Z]", value):
        return True
    return len(value) >= 20


def _mask_header_value(m: re.Match[str]) -> str:
    value = m.group(2)
    if value == MASK or not looks_secret(value):
        return m.group(0)
    return m.group(1) + MASK


# -- records ------------------------------------------------------------------------------------

#: Attributes every LogRecord has; anything else on a record is an ``extra`` field.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "kv", "_ps_redacted",
}
_traceback_formatter = logging.Formatter()


class RedactFilter(logging.Filter):
    """Scrubs a record in place (message, args, fields, traceback, stack); never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_ps_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what we can, never fail the log call
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = _traceback_formatter.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._ps_redacted = True
    return record


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    return scrub_record(_base_factory(*args, **kwargs))


def install_record_factory() -> None:
    """Redact at record creation, so every handler (journal, pytest, …) gets clean records."""
    global _base_factory
    current = logging.getLogRecordFactory()
    if current is not _redacting_factory:
        _base_factory = current
        logging.setLogRecordFactory(_redacting_factory)


def _excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
    """An uncaught exception's traceback, redacted, on stderr (like Python's own hook)."""
    import traceback

    sys.stderr.write(redact("".join(traceback.format_exception(exc_type, exc, tb))))


def _thread_excepthook(args: Any) -> None:
    if args.exc_type is SystemExit:
        return
    import traceback

    name = getattr(args.thread, "name", "?")
    sys.stderr.write(redact(f"Exception in thread {name}:\n"
                            + "".join(traceback.format_exception(args.exc_type, args.exc_value,
                                                                 args.exc_traceback))))


# -- key=value ----------------------------------------------------------------------------------

_BARE = re.compile(r"[A-Za-z0-9_.,:/@+%-]+")


def kv_value(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.3f}"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "-"
    else:
        text = str(value)
    text = redact(text)
    if text and _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def kv_fields(record: logging.LogRecord) -> Iterable[tuple[str, Any]]:
    fields = getattr(record, "kv", None)
    if isinstance(fields, dict):
        yield from fields.items()
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_"):
            yield key, value


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event line: ``event key=value …`` (fields may use any name, even ``name``)."""
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={"kv": fields}, stacklevel=2)


_SYSLOG = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class KVFormatter(logging.Formatter):
    """``[time ]LEVEL logger: message k=v …`` plus the traceback, all redacted.

    ``journal=True``: no time (journald stamps each line) and a ``<N>`` priority prefix.
    """

    def __init__(self, journal: bool = False) -> None:
        fmt = "%(levelname)s %(name)s: %(message)s" if journal else \
            "%(asctime)s %(levelname)s %(name)s: %(message)s"
        super().__init__(fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        scrub_record(record)
        line = super().format(record)
        fields = " ".join(f"{k}={kv_value(v)}" for k, v in kv_fields(record))
        if fields:
            head, sep, rest = line.partition("\n")
            line = f"{head} {fields}{sep}{rest}"
        line = redact(line)
        if self.journal:
            prio = _SYSLOG.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
            # One journal entry per line: continuation lines (tracebacks) keep the priority.
            line = "\n".join(f"<{prio}>{part}" for part in line.split("\n"))
        return line


def journal_stream() -> bool:
    """True when stderr is the journal stream systemd gave us (``$JOURNAL_STREAM`` = dev:ino)."""
    value = os.environ.get("JOURNAL_STREAM", "")
    if not value:
        return False
    try:
        dev, ino = (int(x) for x in value.split(":", 1))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return True
    return (st.st_dev, st.st_ino) == (dev, ino)


# -- setup --------------------------------------------------------------------------------------

_level_from: str = "default"


def parse_level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"bad log level {level!r} (debug, info, warning, error)")
    return value


class _StationHandler(logging.StreamHandler[TextIO]):
    """The station's stderr handler (one at a time: set up again, it replaces the last)."""

    _printstation = True


def setup_logging(verbosity: int = 0, level: str | None = None) -> None:
    """Install the stderr handler. ``verbosity`` (-v count) wins over ``level`` (env)."""
    global _level_from
    lvl = logging.INFO
    _level_from = "default"
    if verbosity:
        lvl, _level_from = max(logging.DEBUG, logging.WARNING - 10 * verbosity), "cli"
    elif level:
        try:
            lvl, _level_from = parse_level(level), "env"
        except ValueError:
            pass
    install_record_factory()
    # Uncaught tracebacks are redacted too (unless someone else — a test runner — hooked them).
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = _thread_excepthook
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_printstation", False):
            root.removeHandler(h)
    handler = _StationHandler(sys.stderr)
    handler.setFormatter(KVFormatter(journal=journal_stream()))
    handler.addFilter(RedactFilter())
    root.addHandler(handler)
    root.setLevel(lvl)


def set_config_level(level: str | None) -> None:
    """Apply ``[station] log_level`` unless ``-v`` or ``$PRINTSTATION_LOG_LEVEL`` chose one."""
    if not level or _level_from in ("cli", "env"):
        return
    logging.getLogger().setLevel(parse_level(level))


__all__ = [
    "KVFormatter", "RedactFilter", "forget_secrets", "journal_stream", "kv_value", "log_event",
    "redact", "register_secret", "set_config_level", "setup_logging",
]
