"""Barcode scanners: keyboard-wedge (evdev), serial/CDC-ACM, and standard input.

``[[scanners]] device`` picks the reader:

* ``/dev/input/…`` or ``evdev:///dev/input/by-id/…-event-kbd`` — raw Linux ``input_event``
  structs (``struct timeval; __u16 type; __u16 code; __s32 value``) read from the device, which
  is grabbed exclusively (``EVIOCGRAB``) so scans never type into other windows. Key codes map to
  characters through a US table with Shift (and Caps Lock) tracked here, so the desktop's
  RU/EN layout does not matter; Enter (or Tab, a form-filling scanner's suffix) ends a code.
  Ctrl with a key is its control character (Ctrl+] is a GS1 code's GS), never the key's letter;
  Alt held with a keypad code (Alt+0029) is that character, not its digits. A pipe or a plain file of recorded events
  goes through the very same decoder (grabbing is done only on character devices; tests and the
  benchmark use that — the config takes only character devices, see :mod:`.scandev`).
* ``serial:///dev/ttyACM0?baud=9600`` — line-terminated codes (CR, LF, CRLF or Tab) via pyserial.
* ``stdin`` (or ``-``) — one code a line (``printstation run --scanner-stdin``).

Each scanner runs in its own thread; when its device fails or disappears (unplugged) it is
closed and reopened with backoff (0.5 s doubling to 10 s) — one scanner's fault never stops the
daemon or another scanner. Every code goes to ``on_code(code, scanner)``.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
import struct
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Callable, Iterator
from ..retry import Backoff
from .scandev import parse_device

if TYPE_CHECKING:
    import serial

log = logging.getLogger("printstation.scanner")

# -- evdev ----------------------------------------------------------------------------------
#: ``struct input_event`` on this platform: timeval (two C longs) + u16 type + u16 code + s32 value.
INPUT_EVENT = struct.Struct("@llHHi")
EV_KEY = 0x01
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int)

KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58
KEY_LEFTCTRL, KEY_RIGHTCTRL = 29, 97
KEY_LEFTALT, KEY_RIGHTALT = 56, 100
#: keypad key code → digit (an Alt+numpad character code).
KEYPAD_DIGITS = {82: "0", 79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9"}
KEY_ENTER, KEY_KPENTER = 28, 96
#: Tab ends a code like Enter: scanners set up for form filling send it as their suffix.
KEY_TAB = 15
#: key code → (plain, shifted) on the US layout (linux/input-event-codes.h).
KEYMAP: dict[int, tuple[str, str]] = {
    2: ("1", "!"), 3: ("2", "@"), 4: ("3", "#"), 5: ("4", "$"), 6: ("5", "%"), 7: ("6", "^"),
    8: ("7", "&"), 9: ("8", "*"), 10: ("9", "("), 11: ("0", ")"), 12: ("-", "_"), 13: ("=", "+"),
    15: ("\t", "\t"),
    16: ("q", "Q"), 17: ("w", "W"), 18: ("e", "E"), 19: ("r", "R"), 20: ("t", "T"), 21: ("y", "Y"),
    22: ("u", "U"), 23: ("i", "I"), 24: ("o", "O"), 25: ("p", "P"), 26: ("[", "{"), 27: ("]", "}"),
    30: ("a", "A"), 31: ("s", "S"), 32: ("d", "D"), 33: ("f", "F"), 34: ("g", "G"), 35: ("h", "H"),
    36: ("j", "J"), 37: ("k", "K"), 38: ("l", "L"), 39: (";", ":"), 40: ("'", '"'), 41: ("`", "~"),
    43: ("\\", "|"),
    44: ("z", "Z"), 45: ("x", "X"), 46: ("c", "C"), 47: ("v", "V"), 48: ("b", "B"), 49: ("n", "N"),
    50: ("m", "M"), 51: (",", "<"), 52: (".", ">"), 53: ("/", "?"), 55: ("*", "*"), 57: (" ", " "),
    71: ("7", "7"), 72: ("8", "8"), 73: ("9", "9"), 74: ("-", "-"), 75: ("4", "4"), 76: ("5", "5"),
    77: ("6", "6"), 78: ("+", "+"), 79: ("1", "1"), 80: ("2", "2"), 81: ("3", "3"), 82: ("0", "0"),
    83: (".", "."), 98: ("/", "/"),
}


#: The longest code a scanner line may hold (a big QR or PDF417); a longer line without its
#: terminator (line noise, a wrong baud rate, a stuck device) is dropped whole, never kept growing.
MAX_CODE = 4096


class KeyDecoder:
    """Turns ``(type, code, value)`` key events into codes; Enter ends a code."""

    def __init__(self) -> None:
        self.shift: set[int] = set()
        self.ctrl: set[int] = set()
        self.alt: set[int] = set()
        self.alt_digits = ""  # Alt held: the character's code typed on the keypad
        self.caps = False
        self.buf: list[str] = []
        self.overflow = False  # the line passed MAX_CODE: dropped up to its end

    def _add(self, ch: str) -> None:
        if len(self.buf) >= MAX_CODE:
            if not self.overflow:
                log.warning("scanner: a line longer than %d characters without Enter: dropped", MAX_CODE)
            self.overflow, self.buf = True, []
        self.buf.append(ch)

    def _end(self) -> str | None:
        text, self.buf = "".join(self.buf), []
        if self.overflow:
            self.overflow = False
            return None
        return text

    def feed(self, type_: int, code: int, value: int) -> str | None:
        if type_ != EV_KEY:
            return None
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            (self.shift.add if value else self.shift.discard)(code)
            return None
        if code in (KEY_LEFTCTRL, KEY_RIGHTCTRL):
            (self.ctrl.add if value else self.ctrl.discard)(code)
            return None
        if code in (KEY_LEFTALT, KEY_RIGHTALT):
            (self.alt.add if value else self.alt.discard)(code)
            if not self.alt and self.alt_digits:  # Alt released: the character of its keypad code
                digits, self.alt_digits = self.alt_digits, ""
                n = int(digits[-3:]) & 0xFF if len(digits) <= 4 else 0
                if n:  # 0029 (Windows ANSI form) and 29 (OEM form) alike
                    self._add(bytes([n]).decode("cp1252" if digits.startswith("0") else "cp437", "replace"))
            return None
        if value != 1:  # releases and autorepeat
            return None
        if code == KEY_CAPSLOCK:
            self.caps = not self.caps
            return None
        if code in (KEY_ENTER, KEY_KPENTER, KEY_TAB):
            return self._end()
        if self.alt:  # Alt+keypad digits make one character; other Alt combinations type nothing
            if code in KEYPAD_DIGITS:
                self.alt_digits += KEYPAD_DIGITS[code]
            return None
        pair = KEYMAP.get(code)
        if pair is None:
            return None
        if self.ctrl:  # Ctrl+] is GS (a GS1 code's separator), Ctrl+M/J are CR/LF: never the letter
            c = ord(pair[0].upper())
            if not 0x40 <= c <= 0x5F:
                return None
            if c in (0x4D, 0x4A):  # CR / LF end the code like Enter
                return self._end()
            self._add(chr(c & 0x1F))
            return None
        ch = pair[1] if self.shift else pair[0]
        if self.caps and ch.isalpha():
            ch = ch.swapcase()
        self._add(ch)
        return None


def encode_key_events(text: str, *, enter: bool = True) -> bytes:
    """Recorded ``input_event`` bytes typing ``text`` (Shift as a scanner sends it), then Enter.
    Used by tests and the benchmark to stand in for a keyboard-wedge scanner."""
    rev: dict[str, tuple[int, bool]] = {}
    for code, (plain, shifted) in KEYMAP.items():
        rev.setdefault(plain, (code, False))
        rev.setdefault(shifted, (code, shifted != plain))
    out = bytearray()
    t = int(time.time())

    def ev(code: int, value: int, type_: int = EV_KEY) -> None:
        out.extend(INPUT_EVENT.pack(t, 0, type_, code, value))
        out.extend(INPUT_EVENT.pack(t, 0, 0, 0, 0))  # EV_SYN

    for ch in text:
        code, shift = rev[ch]
        if shift:
            ev(KEY_LEFTSHIFT, 1)
        ev(code, 1)
        ev(code, 0)
        if shift:
            ev(KEY_LEFTSHIFT, 0)
    if enter:
        ev(KEY_ENTER, 1)
        ev(KEY_ENTER, 0)
    return bytes(out)


def ioctl_grab(fd: int) -> None:
    """Grab an evdev device exclusively (only character devices can be grabbed)."""
    if stat.S_ISCHR(os.fstat(fd).st_mode):
        fcntl.ioctl(fd, EVIOCGRAB, 1)


# -- sources --------------------------------------------------------------------------------
class Source:
    """One scanner device: ``open()``, then ``codes()`` until it ends or raises; ``close()``."""

    name = "scanner"
    #: False for a source that must not be reopened when it ends (stdin at EOF).
    reopen = True
    #: Set by the :class:`ScannerThread` reading it: a waiting ``codes()`` loop ends once it is set.
    _stop: threading.Event | None = None

    def open(self) -> None: ...
    def codes(self) -> Iterator[str]:
        raise NotImplementedError
    def close(self) -> None: ...


class EvdevSource(Source):
    def __init__(self, path: str, grab: Callable[[int], None] | None = ioctl_grab) -> None:
        self.path = path
        self.name = path
        self.grab = grab
        self.fd: int | None = None

    def open(self) -> None:
        self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        if self.grab is not None:
            try:
                self.grab(self.fd)
            except OSError as exc:
                log.warning("scanner %s: cannot grab exclusively (%s); scans may also type elsewhere",
                            self.path, exc.strerror or exc)

    def codes(self) -> Iterator[str]:
        assert self.fd is not None
        dec = KeyDecoder()
        size = INPUT_EVENT.size
        pending = b""
        while True:
            chunk = os.read(self.fd, size * 64)
            if not chunk:
                if stat.S_ISREG(os.fstat(self.fd).st_mode) or not self.reopen:
                    return
                raise OSError(errno.ENODEV, "device closed")
            pending += chunk
            n = len(pending) // size * size
            for _s, _us, type_, code, value in INPUT_EVENT.iter_unpack(pending[:n]):
                text = dec.feed(type_, code, value)
                if text:
                    yield text
            pending = pending[n:]

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)  # closing releases the grab
            except OSError:
                pass
            self.fd = None


#: What ends a code from a serial scanner: CR, LF (CRLF gives no empty code) or Tab.
TERMINATORS = (b"\r", b"\n", b"\t")


class SerialSource(Source):
    def __init__(self, port: str, baud: int = 9600) -> None:
        self.port = port
        self.baud = baud
        self.name = f"serial://{port}"
        self.ser: serial.Serial | None = None

    def open(self) -> None:
        import serial

        self.ser = serial.Serial(self.port, self.baud, timeout=0.5)

    def codes(self) -> Iterator[str]:
        ser = self.ser
        assert ser is not None, "open() first"
        buf = bytearray()
        overflow = False  # the current line passed MAX_CODE: dropped up to its terminator
        stop = self._stop
        while stop is None or not stop.is_set():
            chunk = ser.read(min(ser.in_waiting or 1, MAX_CODE))
            if not chunk:
                continue
            buf.extend(chunk)
            while True:
                i = min((buf.find(c) for c in TERMINATORS if buf.find(c) >= 0), default=-1)
                if i < 0:
                    if len(buf) > MAX_CODE:
                        if not overflow:
                            log.warning("scanner %s: a line longer than %d bytes without CR/LF: dropped",
                                        self.name, MAX_CODE)
                        overflow, buf = True, bytearray()
                    break
                line, buf = bytes(buf[:i]), buf[i + 1:]
                if overflow:
                    overflow = False
                    continue
                text = line.decode("utf-8", "replace").strip()
                if text:
                    yield text

    def close(self) -> None:
        if self.ser is not None:
            try:
                self.ser.close()
            except Exception:
                pass
            self.ser = None


class StreamSource(Source):
    """Lines from a text stream (standard input by default); ends at EOF."""

    reopen = False

    def __init__(self, stream: IO[str] | None = None, name: str = "stdin") -> None:
        self.stream = stream
        self.name = name

    def codes(self) -> Iterator[str]:
        stream = self.stream or sys.stdin
        overflow = False
        while True:
            line = stream.readline(MAX_CODE + 1)  # bounded: a line without its end is not kept growing
            if not line:
                return
            if not line.endswith("\n") and len(line) > MAX_CODE:
                overflow = True
                continue
            if overflow:  # the tail of an overlong line
                overflow = False
                continue
            text = line.strip()
            if text:
                yield text


def source_for(device: str) -> Source:
    """The reader for a ``[[scanners]] device`` string (its forms: :mod:`.scandev`)."""
    dev = parse_device(device)
    if dev.kind == "stdin":
        return StreamSource()
    if dev.kind == "serial":
        return SerialSource(dev.path, dev.baud)
    return EvdevSource(dev.path)


# -- runner ---------------------------------------------------------------------------------
class ScannerThread:
    """Reads one source forever, reopening it with backoff; hands codes to ``on_code``."""

    BACKOFF = (0.5, 10.0)

    def __init__(self, source: Source, on_code: Callable[[str, str], object], *, name: str | None = None) -> None:
        self.source = source
        self.on_code = on_code
        self.name = name or source.name
        self._stop = threading.Event()
        source._stop = self._stop
        self.thread = threading.Thread(target=self._run, name=f"scanner {self.name}", daemon=True)
        self.opens = 0
        self.state = "starting"

    def start(self) -> "ScannerThread":
        self.thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self.source.close()
        self.thread.join(timeout)

    def _run(self) -> None:
        backoff = Backoff(*self.BACKOFF)
        while not self._stop.is_set():
            delay: float | None = None
            try:
                self.source.open()
                self.opens += 1
                self.state = "open"
                log.info("scanner %s open", self.name)
                backoff.reset()
                for code in self.source.codes():
                    if self._stop.is_set():
                        break
                    try:
                        self.on_code(code, self.name)
                    except Exception:
                        log.exception("scanner %s: handling %r failed", self.name, code)
                if not self.source.reopen:
                    self.state = "ended"
                    return
                if isinstance(self.source, EvdevSource) and self.source.fd is not None and \
                        stat.S_ISREG(os.fstat(self.source.fd).st_mode):
                    self.state = "ended"
                    return
            except Exception as exc:
                if self._stop.is_set():
                    break
                self.state = "down"
                delay = backoff.next()
                log.warning("scanner %s: %s; reopening in %.1f s", self.name,
                            getattr(exc, "strerror", None) or exc, delay)
            finally:
                self.source.close()
            if self._stop.wait(backoff.next() if delay is None else delay):
                break
        self.state = "stopped"
