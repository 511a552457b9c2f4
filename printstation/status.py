"""Printer status: ask the printer in its own language, parse the answer into one state.

Stable API::

    from printstation.status import query_status, parse_status, PrinterStatus
    st = query_status(transport, "zpl", timeout=2.0)   # never raises for printer trouble
    st.state   # "idle" | "printing" | "paused" | "offline" | "error"
    st.reason  # "" or e.g. "paper out, head open"
    st.raw     # the printer's answer bytes (b"" when none)
    st.ok      # True for idle/printing: jobs may be sent

Each language's query and reply parser live in its own module (``STATUS`` in
:mod:`printstation.lang.zpl`, :mod:`~printstation.lang.tspl`, :mod:`~printstation.lang.escpos`),
found through :mod:`printstation.lang.registry`; this module holds the shared vocabulary
(:class:`PrinterStatus`, :class:`StatusProtocol`) and the I/O (:func:`query_status`). A
language without ``STATUS`` (``epl2``: its ``^ee`` reports the last *command* error, not
printer readiness; ``png``) has no status query: status is ``idle`` with reason
``"status not supported for epl2"`` once the transport opens; trouble shows up as transport
errors on send.

Rules (what the daemon can rely on):

- The transport is opened if needed. Opening fails → ``offline`` (transient error) or
  ``error`` (permanent error) with the error message as reason. ``query_status`` never raises
  TransportError.
- A transport with its own status (``has_own_status``: ``cups://`` asks the scheduler with
  ``lpstat``) answers for itself, in any language: see :mod:`printstation.transport.cups`.
- A transport that cannot read (``dir://``, ``file://`` on a plain file or FIFO, USB without an
  IN endpoint) → ``idle`` with reason ``"status not supported by transport"``.
- **No answer within ``timeout`` is not fine** → ``error`` with reason
  ``"no answer to status query (…)"``: the printer is connected but silent (Zebra printers do not
  answer ``~HS`` while out of media, head open or ribbon out). An answer that cannot be parsed
  → ``error`` ``"unreadable status answer …"``.
- A transport error while querying (reset, timeout on write) → ``offline`` (transient) or
  ``error`` (permanent), and the transport is left closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .errors import TransportError

if TYPE_CHECKING:
    from .transport.base import Transport

State = Literal["idle", "printing", "paused", "offline", "error"]
STATES: tuple[str, ...] = ("idle", "printing", "paused", "offline", "error")

NOT_SUPPORTED_BY_TRANSPORT = "status not supported by transport"
NO_ANSWER = "no answer to status query"


@dataclass(frozen=True)
class PrinterStatus:
    state: State
    reason: str = ""
    raw: bytes = b""
    #: Machine-readable conditions, e.g. {"paper_out", "paused"}.
    flags: frozenset[str] = field(default_factory=frozenset)

    @property
    def ok(self) -> bool:
        """Jobs may be sent (idle or already printing)."""
        return self.state in ("idle", "printing")

    def to_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "reason": self.reason,
            "flags": sorted(self.flags),
            "raw": self.raw.decode("ascii", "backslashreplace"),
        }


def decide(flags: set[str], raw: bytes, *, errors: dict[str, str], paused: dict[str, str],
            printing: dict[str, str], notes: dict[str, str]) -> PrinterStatus:
    """Fold flags into one state: error > paused > printing > idle (reasons in table order)."""
    fz = frozenset(flags)
    tables: tuple[tuple[dict[str, str], State], ...] = ((errors, "error"), (paused, "paused"), (printing, "printing"))
    for table, state in tables:
        hit = [text for key, text in table.items() if key in flags]
        if hit:
            return PrinterStatus(state, ", ".join(hit), raw, fz)
    note = [text for key, text in notes.items() if key in flags]
    return PrinterStatus("idle", ", ".join(note), raw, fz)


def unreadable(raw: bytes) -> PrinterStatus:
    shown = raw[:40].decode("ascii", "backslashreplace")
    return PrinterStatus("error", f"unreadable status answer {shown!r}", raw, frozenset({"unreadable"}))


@dataclass(frozen=True)
class StatusProtocol:
    """How a printer language asks for its status: the query bytes, when the answer is
    complete, the pure reply parser, and the query as shown in messages."""

    query: bytes
    complete: Callable[[bytes], bool]
    parse: Callable[[bytes], PrinterStatus]
    label: str


def parse_status(lang: str, raw: bytes) -> PrinterStatus:
    """Parse a recorded answer for ``lang`` (``zpl``, ``tspl``, ``escpos``)."""
    from .lang.registry import status_protocol

    proto = status_protocol(lang)
    if proto is None:
        raise KeyError(lang)
    return proto.parse(raw)


def _from_error(err: TransportError) -> PrinterStatus:
    return PrinterStatus("offline" if err.transient else "error", str(err), b"",
                         frozenset({"transport"}))


def query_status(transport: "Transport", lang: str, timeout: float = 2.0) -> PrinterStatus:
    """Ask the printer behind ``transport`` for its status in language ``lang``.

    Never raises TransportError (see the module docstring for the rules).
    """
    try:
        transport.open()
    except TransportError as err:
        return _from_error(err)
    if transport.has_own_status:  # cups://: the scheduler's queue state, whatever the language
        try:
            return transport.own_status(timeout)
        except TransportError as err:
            transport.close()
            return _from_error(err)
    from .lang.registry import status_protocol

    proto = status_protocol(lang)
    if proto is None:
        return PrinterStatus("idle", f"status not supported for {lang}", b"", frozenset({"unsupported"}))
    if not transport.can_read:
        return PrinterStatus("idle", NOT_SUPPORTED_BY_TRANSPORT, b"", frozenset({"unsupported"}))
    try:
        for _ in range(64):  # drop stale bytes (a late answer to an earlier query)
            if not transport.read(4096, timeout=0):
                break
        transport.write(proto.query)
        buf = b""
        deadline = time.monotonic() + timeout
        while not proto.complete(buf):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            buf += transport.read(4096, timeout=left)
    except TransportError as err:
        return _from_error(err)
    if not buf:
        return PrinterStatus(
            "error", f"{NO_ANSWER} ({proto.label}) within {timeout:g} s", b"", frozenset({"no_answer"})
        )
    return proto.parse(buf)


__all__ = [
    "NOT_SUPPORTED_BY_TRANSPORT", "NO_ANSWER", "PrinterStatus", "STATES", "StatusProtocol", "decide",
    "parse_status", "query_status", "status_hint", "unreadable",
]


def status_hint(printer: str, reason: str | None) -> str:
    """Advice for a printer that never answers its status query (doctor and the log)."""
    if reason and reason.startswith(NO_ANSWER):
        return (f"; if printer {printer} never answers status queries, set status_poll = 0 in its "
                "[[printers]] section")
    return ""
