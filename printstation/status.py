"""Printer status: ask the printer in its own language, parse the answer into one state.

Stable API::

    from printstation.status import query_status, parse_status, PrinterStatus
    st = query_status(transport, "zpl", timeout=2.0)   # never raises for printer trouble
    st.state   # "idle" | "printing" | "paused" | "offline" | "error"
    st.reason  # "" or e.g. "paper out, head open"
    st.raw     # the printer's answer bytes (b"" when none)
    st.ok      # True for idle/printing: jobs may be sent

Per language (query → answer):

- ``zpl``: ``~HS`` → three ``<STX>…<ETX><CR><LF>`` strings (Zebra "host status return"):
  string 1 ``aaa,b,c,dddd,eee,f,g,h,iii,j,k,l`` (b paper out, c pause, eee formats in buffer,
  f buffer full, h partial format, j corrupt RAM, k under temp, l over temp), string 2
  ``mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www`` (o head up, p ribbon out, t label waiting,
  uuuuuuuu labels remaining), string 3 ignored.
- ``tspl``: ``<ESC>!?`` → one byte: bit0 head opened, bit1 paper jam, bit2 out of paper, bit3
  out of ribbon, bit4 pause, bit5 printing, bit6 cover opened, bit7 temperature out of range.
- ``escpos``: ``DLE EOT 1`` … ``DLE EOT 4`` sent together → up to four bytes, each with fixed
  bits (``b & 0x93 == 0x12``): n=1 bit3 offline; n=2 bit2 cover open, bit3 feed button, bit5
  paper-end stop, bit6 error; n=3 bit2 mechanical, bit3 autocutter, bit5 unrecoverable, bit6
  auto-recoverable error; n=4 bits2-3 paper near end, bits5-6 paper end. Printers that answer
  only the first n are parsed from what came.
- ``epl2`` and ``png``: no status query. EPL2's ``^ee`` reports the last *command* error code,
  not printer readiness, so it is not used: status is ``idle`` with reason
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
from typing import Literal

from .errors import TransportError
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


def _decide(flags: set[str], raw: bytes, *, errors: dict[str, str], paused: dict[str, str],
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


# -- ZPL ---------------------------------------------------------------------------------------

ZPL_ERRORS = {"paper_out": "paper out", "head_open": "head open", "ribbon_out": "ribbon out",
              "over_temperature": "head over temperature",
              "under_temperature": "head under temperature",
              "corrupt_ram": "configuration lost (corrupt RAM)"}
ZPL_PAUSED = {"paused": "paused"}
ZPL_PRINTING = {"buffer_full": "receive buffer full", "printing": "printing",
                "label_waiting": "label waiting to be taken"}


def parse_zpl(raw: bytes) -> PrinterStatus:
    """Parse a ``~HS`` answer (at least strings 1 and 2)."""
    text = raw.decode("ascii", "replace")
    lines = []
    for part in text.split("\x02")[1:]:
        lines.append(part.split("\x03", 1)[0].strip())
    if len(lines) < 2:
        return _unreadable(raw)
    s1 = [f.strip() for f in lines[0].split(",")]
    s2 = [f.strip() for f in lines[1].split(",")]
    if len(s1) < 12 or len(s2) < 9 or not all(f.isdigit() for f in s1[:12] + s2[:9]):
        return _unreadable(raw)
    flags: set[str] = set()

    def on(value: str, name: str) -> None:
        if value == "1":
            flags.add(name)

    on(s1[1], "paper_out")
    on(s1[2], "paused")
    on(s1[5], "buffer_full")
    on(s1[9], "corrupt_ram")
    on(s1[10], "under_temperature")
    on(s1[11], "over_temperature")
    on(s2[2], "head_open")
    on(s2[3], "ribbon_out")
    on(s2[7], "label_waiting")
    if int(s1[4]) > 0 or int(s2[8]) > 0 or s1[7] == "1":
        flags.add("printing")
    return _decide(flags, raw, errors=ZPL_ERRORS, paused=ZPL_PAUSED, printing=ZPL_PRINTING, notes={})


# -- TSPL --------------------------------------------------------------------------------------

TSPL_BITS = {0x01: "head_open", 0x02: "paper_jam", 0x04: "paper_out", 0x08: "ribbon_out",
             0x10: "paused", 0x20: "printing", 0x40: "cover_open", 0x80: "temperature"}
TSPL_ERRORS = {"head_open": "head open", "paper_jam": "paper jam", "paper_out": "paper out",
               "ribbon_out": "ribbon out", "cover_open": "cover open",
               "temperature": "temperature out of range"}


def parse_tspl(raw: bytes) -> PrinterStatus:
    """Parse the one-byte ``<ESC>!?`` answer."""
    if not raw:
        return _unreadable(raw)
    b = raw[0]
    flags = {name for bit, name in TSPL_BITS.items() if b & bit}
    return _decide(flags, raw[:1], errors=TSPL_ERRORS, paused={"paused": "paused"},
                   printing={"printing": "printing"}, notes={})


# -- ESC/POS -----------------------------------------------------------------------------------

ESCPOS_ERRORS = {"cover_open": "cover open", "paper_out": "paper out",
                 "cutter_error": "autocutter error", "mechanical_error": "mechanical error",
                 "unrecoverable_error": "unrecoverable error",
                 "recoverable_error": "recoverable error (e.g. head too hot)",
                 "error": "printer error", "offline": "printer reports offline"}
ESCPOS_PAUSED = {"feeding": "paper being fed by the feed button"}


#: ``DLE EOT n`` answers n=1..4: (mask, flag) set when any bit of the mask is set.
ESCPOS_BITS: tuple[tuple[tuple[int, str], ...], ...] = (
    ((0x08, "offline"),),
    ((0x04, "cover_open"), (0x08, "feeding"), (0x20, "paper_out"), (0x40, "error")),
    ((0x04, "mechanical_error"), (0x08, "cutter_error"), (0x20, "unrecoverable_error"), (0x40, "recoverable_error")),
    ((0x0C, "paper_near_end"), (0x60, "paper_out")),
)


def parse_escpos(raw: bytes) -> PrinterStatus:
    """Parse the answers to ``DLE EOT 1..4`` (1 to 4 bytes, in order n=1,2,3,4)."""
    got = raw[:4]
    if not got or any((b & 0x93) != 0x12 for b in got):
        return _unreadable(raw)
    flags = {name for byte, bits in zip(got, ESCPOS_BITS) for mask, name in bits if byte & mask}
    # "offline" and "error" are summaries: report them only without a more precise cause
    precise = flags & {"cover_open", "paper_out", "cutter_error", "mechanical_error",
                       "unrecoverable_error", "recoverable_error", "feeding"}
    if precise:
        flags.discard("offline")
        if flags & (precise - {"feeding"}):
            flags.discard("error")
    return _decide(flags, got, errors=ESCPOS_ERRORS, paused=ESCPOS_PAUSED, printing={},
                   notes={"paper_near_end": "paper near end"})


def _unreadable(raw: bytes) -> PrinterStatus:
    shown = raw[:40].decode("ascii", "backslashreplace")
    return PrinterStatus("error", f"unreadable status answer {shown!r}", raw, frozenset({"unreadable"}))


# -- registry ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusProtocol:
    query: bytes
    complete: Callable[[bytes], bool]
    parse: Callable[[bytes], PrinterStatus]
    label: str


#: Printer language → how to ask and parse. Languages not listed have no status query.
STATUS_PROTOCOLS: dict[str, StatusProtocol] = {
    "zpl": StatusProtocol(b"~HS", lambda b: b.count(b"\x03") >= 3, parse_zpl, "~HS"),
    "tspl": StatusProtocol(b"\x1b!?", lambda b: len(b) >= 1, parse_tspl, "<ESC>!?"),
    "escpos": StatusProtocol(
        b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04", lambda b: len(b) >= 4, parse_escpos,
        "DLE EOT 1-4",
    ),
}


def parse_status(lang: str, raw: bytes) -> PrinterStatus:
    """Parse a recorded answer for ``lang`` (``zpl``, ``tspl``, ``escpos``)."""
    return STATUS_PROTOCOLS[lang].parse(raw)


def _from_error(err: TransportError) -> PrinterStatus:
    return PrinterStatus("offline" if err.transient else "error", str(err), b"",
                         frozenset({"transport"}))


def query_status(transport: Transport, lang: str, timeout: float = 2.0) -> PrinterStatus:
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
    proto = STATUS_PROTOCOLS.get(lang)
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
    "NOT_SUPPORTED_BY_TRANSPORT", "NO_ANSWER", "PrinterStatus", "STATES", "STATUS_PROTOCOLS",
    "StatusProtocol", "parse_escpos", "parse_status", "parse_tspl", "parse_zpl", "query_status",
]


def status_hint(printer: str, reason: str | None) -> str:
    """Advice for a printer that never answers its status query (doctor and the log)."""
    if reason and reason.startswith(NO_ANSWER):
        return (f"; if printer {printer} never answers status queries, set status_poll = 0 in its "
                "[[printers]] section")
    return ""
