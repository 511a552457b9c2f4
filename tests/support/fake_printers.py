"""Fake printers that answer identification queries the way the real models do.

Each :class:`FakePrinter` is a byte-stream engine (``feed(bytes) -> answer bytes``) that records
what it received; :class:`TcpPrinter` serves one on 127.0.0.1 (ephemeral port) and
:class:`PtyPrinter` on the slave side of a pseudo-terminal (``path`` is the device to open).

Models (answers as the command references and real devices give them):

- ``zebra``: a ZD421 203 dpi, ZPL. ``~HI`` → ``<STX>ZD421-203dpi,V84.20.18Z,8,8192KB<ETX><CR><LF>``;
  ``^HH`` → the configuration (``value ..... NAME`` lines, PRINT WIDTH 799 / LABEL LENGTH 1199 dots
  = 100×150 mm) between STX and ETX; ``~HS`` status. ``zebra300``: a ZT411 at 300 dpi (12 dots/mm).
- ``tsc``: a TSC TE200 (TSPL). ``~!T`` → ``TE200<CR>``; ``~!I`` → ``8 437, 001<CR>``; ``~!D``
  switches it into dump mode (``dump_mode`` becomes True — a probe must never send it).
- ``escpos``: an Xprinter-style receipt printer answering ``GS I 1..3`` with one byte each.
  ``epson``: also ``GS I 65/66/67`` (``_1.01 ESC/POS<NUL>``, ``_EPSON<NUL>``, ``_TM-T20III<NUL>``).
- ``epl2``: a Zebra LP 2844 (EPL2 firmware UKQ1935HLU V4.29): a ``UI`` line →
  ``UKQ1935HLU     V4.29,8,437,001<CR><LF>``.
- ``toy``: the toy language of ``support.toylang``: ``TOY?`` → ``TOYPRINTER T1-300,1.2<CR><LF>``,
  ``<ESC>!?`` → ``0x00`` (ready); nothing else.
- ``silent``: reads everything, answers nothing.
- ``echo`` (a loopback plug) and ``chatty`` (``220 ready`` to anything, like an SMTP port): not
  printers; a probe must not take them for one.
"""

from __future__ import annotations

import os
import select
import socket
import termios
import threading
import tty

ZD421_HI = b"\x02ZD421-203dpi,V84.20.18Z,8,8192KB\x03\r\n"
ZT411_HI = b"\x02ZT411-300dpi,V85.20.19Z,12,262144KB\x03\r\n"


def hh_answer(width: int, length: int, darkness: str = "+10.0") -> bytes:
    rows = [
        (darkness, "DARKNESS"), ("4.0 IPS", "PRINT SPEED"), ("+000", "TEAR OFF ADJUST"),
        ("TEAR OFF", "PRINT MODE"), ("GAP/NOTCH", "MEDIA TYPE"), ("WEB", "SENSOR SELECT"),
        ("DIRECT-THERMAL", "PRINT METHOD"), (str(width), "PRINT WIDTH"), (str(length), "LABEL LENGTH"),
        ("39.0IN   988MM", "MAXIMUM LENGTH"), ("CONNECTED", "USB COMM."), ("BIDIRECTIONAL", "PARALLEL COMM."),
    ]
    body = "".join(f"  {v}{'.' * max(2, 19 - len(v))} {k}\r\n" for v, k in rows)
    return b"\x02" + body.encode() + b"\x03\r\n"


class FakePrinter:
    def __init__(self, model: str) -> None:
        self.model = model
        self.received = bytearray()
        self.queries: list[bytes] = []
        self.dump_mode = False
        self._buf = b""
        self.lock = threading.Lock()

    # ZPL and TSPL tilde commands are recognised anywhere in the stream; EPL2 works per line.
    def feed(self, data: bytes) -> bytes:
        with self.lock:
            self.received += data
            if self.model == "echo":  # a loopback plug / a device echoing what it gets
                return data
            if self.model == "chatty":  # a protocol server answering everything with a banner
                return b"220 ready\r\n"
            self._buf += data
            out = bytearray()
            while True:
                hit = self._next()
                if hit is None:
                    break
                start, end, answer = hit
                self.queries.append(self._buf[start:end])
                self._buf = self._buf[end:]
                out += answer
            if len(self._buf) > 4096:
                self._buf = self._buf[-64:]
            return bytes(out)

    def _table(self) -> dict[bytes, bytes]:
        m = self.model
        if m == "zebra":
            return {b"~HI": ZD421_HI, b"^HH": hh_answer(799, 1199), b"~HS": b"\x02030,0,0,1199,000,0,0,0,000,0,0,0\x03\r\n"
                    b"\x02001,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n"}
        if m == "zebra300":
            return {b"~HI": ZT411_HI, b"^HH": hh_answer(1181, 1772, "+15.0")}
        if m == "tsc":
            return {b"~!T": b"TE200\r", b"~!I": b"8 437, 001\r", b"~!D": b"", b"\x1b!?": b"\x00"}
        if m in ("escpos", "epson"):
            t = {b"\x1dI\x01": b"\x20", b"\x1dI\x02": b"\x02", b"\x1dI\x03": b"\x64"}
            if m == "epson":
                t.update({b"\x1dI\x41": b"_1.01 ESC/POS\x00", b"\x1dI\x42": b"_EPSON\x00",
                          b"\x1dI\x43": b"_TM-T20III\x00"})
            return t
        if m == "toy":
            return {b"TOY?": b"TOYPRINTER T1-300,1.2\r\n", b"\x1b!?": b"\x00"}
        return {}

    def _next(self) -> tuple[int, int, bytes] | None:
        buf = self._buf
        if self.model == "epl2":  # EPL2 commands are lines
            nl = buf.find(b"\n")
            if nl < 0:
                return None
            line = buf[:nl].strip()
            return (0, nl + 1, b"UKQ1935HLU     V4.29,8,437,001\r\n" if line == b"UI" else b"")
        best = None
        for q, a in self._table().items():
            i = buf.find(q)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, i + len(q), a)
        if best is not None and buf[best[0]:best[1]] == b"~!D":
            self.dump_mode = True
        return best


class TcpPrinter:
    """A fake printer on 127.0.0.1:<ephemeral> (any number of connections, one thread each)."""

    def __init__(self, model: str) -> None:
        self.printer = FakePrinter(model)
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            r, _, _ = select.select([self._listener], [], [], 0.05)
            if not r:
                continue
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while not self._stop.is_set():
                r, _, _ = select.select([conn], [], [], 0.05)
                if not r:
                    continue
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                answer = self.printer.feed(data)
                if answer:
                    conn.sendall(answer)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self._listener.close()

    def __enter__(self) -> "TcpPrinter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PtyPrinter:
    """A fake printer behind a pseudo-terminal: open :attr:`path` like a serial port."""

    def __init__(self, model: str) -> None:
        self.printer = FakePrinter(model)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave, termios.TCSANOW)
        tty.setraw(self.master, termios.TCSANOW)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                continue  # no one has the slave open right now
            if data:
                answer = self.printer.feed(data)
                if answer:
                    os.write(self.master, answer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "PtyPrinter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
