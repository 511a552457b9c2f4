"""Ask a printer what it is, in each label language in turn, stopping at the first answer.

Order and queries (each answer awaited at most ``timeout`` seconds; a port that stays silent costs
four timeouts):

1. **ZPL** ``~HI`` (host identification) → ``<STX>ZD421-203dpi,V84.20.18Z,8,8192KB<ETX>``: model,
   firmware, dots per mm (6/8/12/24 → 152/203/300/600 dpi; a ``-300dpi`` model suffix wins). Then
   ``^XA^HH^XZ`` (configuration returned to the host, nothing printed): ``PRINT WIDTH`` and
   ``LABEL LENGTH`` in dots give the media. ``~HQES`` only reports error/warning flags, so it is not
   needed for identification.
2. **TSPL** ``~!T`` (model name, e.g. ``TE200``<CR>) and ``~!I`` (code page and country). The dpi
   comes from the model family (TSC ``TE200``/``TE300``, ``TTP-244``/``TTP-344``…); TSPL has no
   query for the loaded media. ``~!D`` is **not** sent: on TSC firmware it enters DUMP mode (the
   printer then prints every byte it receives as hex until it is power-cycled) — not polite.
3. **ESC/POS** ``GS I 1``, ``GS I 2``, ``GS I 3`` (model id, type id, version id: one byte each),
   then ``GS I 66``/``67``/``65`` (maker, model name, firmware as ``_…NUL`` blocks) where the
   printer has them; finally ``ESC @`` clears the receipt printer's buffer, so the text of the
   earlier probes never prints.
4. **EPL2** ``UI`` (sent after a line break so garbage from earlier probes ends its own line):
   ``UKQ1935HLU     V4.29,8,437,001`` = firmware, data bits, code page, country.

An answer is read until it is complete (``ETX``, end of line, ``NUL``) or the printer goes quiet
for a moment; at most :data:`MAX_ANSWER` bytes are read. Nothing here prints a label.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import PrintstationError, TransportError, UsageError
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
UNREADABLE = "something answered, but not as a ZPL, TSPL, ESC/POS or EPL2 printer"

ZPL_DPM = {6: 152, 8: 203, 12: 300, 24: 600}
#: What Zebra writes in model names (``-200dpi``) → the real resolution.
DPI_ALIASES = {150: 152, 152: 152, 200: 203, 203: 203, 300: 300, 600: 600}


@dataclass
class Identity:
    """What a port, device or USB printer told us about itself."""

    uri: str
    lang: str | None = None
    model: str | None = None
    firmware: str | None = None
    dpi: int | None = None
    #: ``WxH`` in mm when the printer reports both, else None.
    media: str | None = None
    #: Print width in mm when only that is known.
    width_mm: float | None = None
    manufacturer: str | None = None
    serial: str | None = None
    #: How we know (``ZPL ~HI``, ``USB IEEE-1284 ID``).
    via: str = ""
    #: Why there is no language: "no printer answered", "cannot connect: …", "speaks EZPL …".
    problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.lang is not None

    def to_json(self) -> dict[str, Any]:
        return {"uri": self.uri, "lang": self.lang, "model": self.model, "firmware": self.firmware,
                "dpi": self.dpi, "media": self.media}


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


def _etx(b: bytes) -> bool:
    return b"\x03" in b


def _eol(b: bytes) -> bool:
    return b"\r" in b or b"\n" in b


def _text(b: bytes) -> str:
    return b.decode("latin-1").replace("\x00", "")


def clean(s: str, limit: int = 80) -> str:
    """Printable single-line text (printer answers can hold anything)."""
    return re.sub(r"[^\x20-\x7e]+", " ", s).strip()[:limit]


# -- ZPL -----------------------------------------------------------------------------------------

_HI = re.compile(r"\x02?\s*([^,\x02\x03]+?)\s*,\s*([^,\x03]+?)\s*,\s*(\d+)\s*(?:,\s*([^,\x03]*))?")
_DPI_IN_NAME = re.compile(r"(\d{3})\s*dpi", re.I)


def dpi_from_name(name: str | None) -> int | None:
    """``ZD421-203dpi`` / ``RP425(ZPL 203DPI)`` → 203 (Zebra's ``-200dpi`` → 203)."""
    m = _DPI_IN_NAME.search(name or "")
    return DPI_ALIASES.get(int(m.group(1))) if m else None


def parse_hi(raw: bytes) -> dict[str, Any] | None:
    """``~HI`` answer → {model, firmware, dpi, memory}; None when it is not one."""
    text = _text(raw)
    if "\x02" in text:
        text = text.split("\x02", 1)[1]
    text = text.split("\x03", 1)[0]
    m = _HI.match(text)
    if not m:
        return None
    model, firmware, dpm = clean(m.group(1)), clean(m.group(2)), int(m.group(3))
    if not model or dpm not in ZPL_DPM:
        return None
    model = re.sub(r"\s+ZPL$", "", model)
    dpi = dpi_from_name(model) or ZPL_DPM[dpm]
    return {"model": model, "firmware": firmware, "dpi": dpi, "memory": clean(m.group(4) or "")}


_HH_LINE = re.compile(r"^\s*(.*?)\s*\.{2,}\s*([A-Z][A-Z0-9 /#-]*?)\s*$")


def parse_hh(raw: bytes) -> dict[str, str]:
    """``^HH`` configuration lines ``  832 ........ PRINT WIDTH`` → {"PRINT WIDTH": "832", …}."""
    out: dict[str, str] = {}
    for line in _text(raw).replace("\x02", "\n").replace("\x03", "\n").splitlines():
        m = _HH_LINE.match(line)
        if m and m.group(1):
            out.setdefault(m.group(2).strip(), m.group(1).strip())
    return out


def _dots(value: str | None) -> int | None:
    m = re.match(r"\s*(\d{2,5})\b", value or "")
    return int(m.group(1)) if m else None


def mm(dots: int, dpi: int) -> float:
    """Dots → mm rounded to 0.5 mm."""
    return round(dots * 25.4 / dpi * 2) / 2


def probe_zpl(t: Transport, timeout: float, ident: Identity) -> bool:
    hi = parse_hi(ask(t, b"~HI", timeout, _etx))
    if hi is None:
        return False
    ident.lang, ident.via = "zpl", "ZPL ~HI"
    ident.model, ident.firmware, ident.dpi = hi["model"], hi["firmware"], hi["dpi"]
    conf = parse_hh(ask(t, b"^XA^HH^XZ", timeout, lambda b: b.count(b"\x03") >= 1))
    width, length = _dots(conf.get("PRINT WIDTH")), _dots(conf.get("LABEL LENGTH"))
    if conf:
        ident.via += " + ^HH"
    if width and ident.dpi:
        ident.width_mm = mm(width, ident.dpi)
        if length:
            ident.media = f"{ident.width_mm:g}x{mm(length, ident.dpi):g}"
    if conf.get("DARKNESS"):
        ident.extra["darkness"] = conf["DARKNESS"]
    return True


# -- TSPL ----------------------------------------------------------------------------------------

#: TSC model families whose number tells the resolution: TE200 / TE300, TTP-244 / TTP-344,
#: DA200 / DA300, TX200 / TX300 / TX600, ME240 / ME340, MH240 / MH340 / MH640 …
_TSC_FAMILY = re.compile(r"^(?:TSC\s+)?(?:TTP-|TDP-|TE|TX|TA|DA|DH|ME|MH|MX|ML|MB|TC|TH|TTP|T)\s*([236])\d{2}",
                         re.I)


#: A model name: short, one line, no protocol banner (``220 …``, ``SSH-2.0``, ``HTTP/1.1``).
_TSPL_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+/()-]{1,39}")
_BANNER = re.compile(r"^(?:\d{3}[ -]|SSH-|HTTP/|RFB )", re.I)


def tspl_dpi(model: str) -> int | None:
    m = _TSC_FAMILY.match(model.strip())
    if m:
        return {"2": 203, "3": 300, "6": 600}[m.group(1)]
    if re.match(r"^XP-", model, re.I):  # Xprinter label printers are 203 dpi
        return 203
    return dpi_from_name(model)


def probe_tspl(t: Transport, timeout: float, ident: Identity) -> bool:
    raw = ask(t, b"~!T", timeout, _eol)
    model = clean(_text(raw).splitlines()[0] if raw.strip() else "")
    if not _TSPL_MODEL.fullmatch(model) or _BANNER.match(model):
        return False
    ident.lang, ident.via, ident.model = "tspl", "TSPL ~!T", model
    ident.dpi = tspl_dpi(model)
    cp = clean(_text(ask(t, b"~!I", timeout, _eol)))
    if cp:
        ident.via += " + ~!I"
        ident.extra["code_page"] = cp
    return True


# -- ESC/POS -------------------------------------------------------------------------------------


def _gs_i_block(raw: bytes) -> str | None:
    """``_`` + text + ``NUL`` (GS I 65…69) → the text."""
    m = re.search(rb"_([^\x00]{0,80})\x00", raw)
    return clean(m.group(1).decode("latin-1")) if m else None


def probe_escpos(t: Transport, timeout: float, ident: Identity) -> bool:
    ids = []
    for n in (1, 2, 3):
        # one byte each: wait for the quiet after it, an echo or a chatty device sends more
        raw = ask(t, b"\x1dI" + bytes([n]), timeout, lambda b: len(b) >= 2)
        if len(raw) != 1:
            if n == 1:
                return False
            break
        ids.append(raw[0])
    ident.lang, ident.via = "escpos", "ESC/POS GS I"
    ident.extra["model_id"] = f"0x{ids[0]:02x}"
    if len(ids) > 2:
        ident.firmware = f"version id 0x{ids[2]:02x}"
    short = max(0.05, timeout / 2)
    name = _gs_i_block(ask(t, b"\x1dI\x43", short, lambda b: b"\x00" in b))
    if name:
        maker = _gs_i_block(ask(t, b"\x1dI\x42", short, lambda b: b"\x00" in b))
        fw = _gs_i_block(ask(t, b"\x1dI\x41", short, lambda b: b"\x00" in b))
        ident.model, ident.manufacturer = name, maker or None
        if fw:
            ident.firmware = fw
        ident.via += " 1-3, 65-67"
    else:
        ident.model = f"ESC/POS printer (model id 0x{ids[0]:02x})"
    ident.dpi = dpi_from_name(ident.model)
    # The text of the earlier probes (``~HI``, ``~!T``) sits in the receipt printer's line buffer
    # and would print with the next receipt: ESC @ clears the buffer (settings in NV memory stay).
    t.write(ESC_INIT)
    return True


ESC_INIT = b"\x1b@"


# -- EPL2 ----------------------------------------------------------------------------------------

_UI = re.compile(r"^\s*(?:UI\s*)?(.*?V\d[\w.]*|[A-Z]{2,}[\w .-]*?)\s*,\s*(\d)\s*,\s*(\d{3,4})\s*,\s*(\d{3})")


def parse_ui(raw: bytes) -> dict[str, str] | None:
    text = clean(_text(raw), 200)
    m = _UI.match(text)
    if not m:
        return None
    return {"firmware": " ".join(m.group(1).split()), "code_page": m.group(3), "country": m.group(4)}


def probe_epl2(t: Transport, timeout: float, ident: Identity) -> bool:
    ui = parse_ui(ask(t, b"\r\nUI\r\n", timeout, _eol))
    if ui is None:
        return False
    ident.lang, ident.via = "epl2", "EPL2 UI"
    ident.firmware = ui["firmware"]
    ident.model = f"EPL2 printer ({ui['firmware'].split()[0]})"
    ident.extra["code_page"] = ui["code_page"]
    return True


#: In order; each returns True when the printer answered (and fills the identity).
PROBES: tuple[tuple[str, Callable[[Transport, float, Identity], bool]], ...] = (
    ("zpl", probe_zpl), ("tspl", probe_tspl), ("escpos", probe_escpos), ("epl2", probe_epl2),
)


def probe_order(first: str | None = None, only: bool = False) -> list[tuple[str, Any]]:
    """The probes, ``first`` language first (``only``: that one alone)."""
    order = sorted(PROBES, key=lambda p: p[0] != first)
    return order[:1] if only and first in dict(PROBES) else order


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
        for name, probe in probe_order(first, only):
            try:
                if probe(t, timeout, ident):
                    log.debug("%s answers as %s (%s)", ident.uri, name, ident.model)
                    return ident
            except TransportError as exc:
                ident.problem = f"connection lost while probing {name}: {str(exc).split(': ', 1)[-1]}"
                return ident
        ident.problem = UNREADABLE if getattr(t, "probe_heard", False) else NO_ANSWER
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
