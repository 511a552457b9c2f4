"""Ask a printer what it is, in each printer language in turn, stopping at the first answer.

The languages and their queries come from :mod:`printstation.lang.registry`: every printer
language whose module has ``IDENTIFY`` (:class:`~printstation.identify.IdentifyProtocol`) is
asked, in the registry's order (README "Setting up a printer" lists the built-in queries; each
language's module documents its own). Every query is polite: nothing that prints a label or
changes a setting is sent. Each answer is awaited at most ``timeout`` seconds, so a port that stays
silent costs one timeout per query asked.

An answer is read until it is complete (the language says when: ``ETX``, end of line, ``NUL``)
or the printer goes quiet for a moment; at most :data:`MAX_ANSWER` bytes are read.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Callable

from ..errors import PrintstationError, TransportError, UsageError
from ..identify import (DPI_ALIASES, Identity, IdentifyProtocol, clean,  # noqa: F401 - discovery's vocabulary
                        dpi_from_name, mm)
from ..lang.registry import LANGUAGES, identifiers
from ..transport import from_uri
from ..transport.base import Transport, display_uri

log = logging.getLogger(__name__)

#: Default seconds to wait for each probe's answer.
DEFAULT_TIMEOUT = 0.8
#: Never read more than this from one answer.
MAX_ANSWER = 64 * 1024
#: After the first byte of an answer, this much silence ends it.
QUIET_GAP = 0.15

NO_ANSWER = "no printer answered"


def unreadable() -> str:
    """The problem of a port where something answered, but no language we ask recognised it:
    ``something answered, but not as a ZPL, TSPL, ESC/POS or EPL2 printer``."""
    shown = [LANGUAGES[n].shown for n, _ in identifiers()]
    said = ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else "".join(shown)
    return f"something answered, but not as a {said} printer"


# -- reading answers -----------------------------------------------------------------------------


def drain(t: Transport) -> None:
    """Drop bytes already waiting (a late answer to an earlier probe)."""
    total = 0
    while total < MAX_ANSWER:
        got = t.read(4096, timeout=0)
        if not got:
            return
        total += len(got)


def ask(t: Transport, query: bytes, timeout: float,
        complete: Callable[[bytes], bool] = lambda b: False) -> bytes:
    """Send ``query``; the answer (``b""`` when none came within ``timeout``)."""
    drain(t)
    t.write(query)
    buf = b""
    deadline = time.monotonic() + timeout
    hard = deadline + 5.0  # a device dripping bytes forever does not hold us longer than this
    # (5 s: a whole ^HH configuration over 9600 baud)
    while len(buf) < MAX_ANSWER and not (buf and complete(buf)):
        now = time.monotonic()
        if now >= hard:
            break
        left = deadline - now if not buf else min(QUIET_GAP, timeout, hard - now)
        if not buf and left <= 0:
            break
        got = t.read(min(4096, MAX_ANSWER - len(buf)), timeout=max(0.0, left))
        if not got:
            break  # silent (nothing yet) or quiet after the answer
        buf += got
    if buf:
        t.probe_heard = True  # type: ignore[attr-defined]
    return buf


class TransportChannel:
    """A transport as the languages' probes talk to it (:class:`~printstation.identify.Channel`)."""

    def __init__(self, t: Transport) -> None:
        self.t = t

    def ask(self, query: bytes, timeout: float, complete: Callable[[bytes], bool] | None = None) -> bytes:
        return ask(self.t, query, timeout, complete or (lambda b: False))

    def send(self, data: bytes) -> None:
        self.t.write(data)


def probe_order(first: str | None = None, only: bool = False) -> list[tuple[str, IdentifyProtocol]]:
    """The languages to ask (:func:`~printstation.lang.registry.identifiers`), ``first`` language
    first (``only``: that one alone)."""
    probes = identifiers()
    order = sorted(probes, key=lambda p: p[0] != first)
    return order[:1] if only and first in dict(probes) else order


def probe_transport(t: Transport, uri: str, timeout: float = DEFAULT_TIMEOUT, *,
                    first: str | None = None, only: bool = False) -> Identity:
    """Run the probes on an open-able transport; never raises for printer trouble.

    ``first`` asks that language first (``doctor`` starts with the configured one, so a printer
    that is what the config says never sees another language's query); ``only`` stops there.
    """
    ident = Identity(uri=display_uri(uri))
    try:
        t.open()
    except TransportError as exc:
        ident.problem = f"cannot connect: {str(exc).split(': ', 1)[-1]}"
        return ident
    try:
        if not t.can_read:
            ident.problem = "the transport cannot read answers"
            return ident
        ch = TransportChannel(t)
        for name, proto in probe_order(first, only):
            try:
                if proto.probe(ch, timeout, ident):
                    log.debug("%s answers as %s (%s)", ident.uri, name, ident.model)
                    return ident
            except TransportError as exc:
                ident.problem = f"connection lost while probing {name}: {str(exc).split(': ', 1)[-1]}"
                return ident
        ident.problem = unreadable() if getattr(t, "probe_heard", False) else NO_ANSWER
        return ident
    finally:
        t.close()


def probe_uri(uri: str, timeout: float = DEFAULT_TIMEOUT, *, first: str | None = None,
              only: bool = False) -> Identity:
    """Probe ``tcp://HOST[:PORT]`` or ``serial:///dev/…``; connect timeout ``max(1 s, 2 × timeout)``."""
    try:
        t = from_uri(uri, timeout=max(1.0, 2 * timeout))
    except PrintstationError as exc:
        return Identity(uri=display_uri(uri), problem=str(exc))
    return probe_transport(t, uri, timeout, first=first, only=only)


def tcp_uri(target: str) -> str:
    """``HOST[:PORT]`` (or ``tcp://…``, ``[v6]:PORT``) → ``tcp://HOST:PORT`` (default 9100)."""
    target = target.strip()
    if target.startswith("tcp://"):
        target = target[6:]
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([^:\[\]/\s]+)(?::(\d{1,5}))?", target)
    if not m:
        raise UsageError(f"bad --tcp {target!r}: expected HOST[:PORT]")
    host = f"[{m.group(1)}]" if m.group(1) else m.group(3)
    port = int(m.group(2) or m.group(4) or 9100)
    if not 1 <= port <= 65535:
        raise UsageError(f"bad --tcp {target!r}: port out of range")
    return f"tcp://{host}:{port}"


def serial_uri(dev: str) -> str:
    """``/dev/ttyUSB0`` (or ``serial:///dev/ttyUSB0?baud=…``) → a serial:// URI."""
    if dev.startswith("serial://"):
        return dev
    if not dev.startswith("/"):
        raise UsageError(f"bad --serial {dev!r}: expected a device path like /dev/ttyUSB0")
    return f"serial://{dev}"
