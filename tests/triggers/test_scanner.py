"""Scanner readers: a pty as the serial scanner, recorded input_event structs for evdev, streams."""

from __future__ import annotations

import io
import os
import pty
import threading
import time

import pytest

from printstation.errors import ConfigError
from printstation.face import config
from printstation.triggers.scanner import (INPUT_EVENT, EV_KEY, EvdevSource, KeyDecoder, ScannerThread,
                                           SerialSource, StreamSource, encode_key_events, source_for)
from support.daemon_harness import wait_until


class Codes:
    def __init__(self):
        self.items: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, code, scanner):
        with self.lock:
            self.items.append((code, scanner))

    @property
    def codes(self):
        with self.lock:
            return [c for c, _ in self.items]


def test_decoder_shift_and_enter():
    raw = encode_key_events("WB-GI-123") + encode_key_events("ps:REPRINT") + encode_key_events("a!@~Z")
    dec = KeyDecoder()
    out = [t for ev in INPUT_EVENT.iter_unpack(raw) if (t := dec.feed(ev[2], ev[3], ev[4])) is not None]
    assert out == ["WB-GI-123", "ps:REPRINT", "a!@~Z"]


def test_decoder_ignores_repeat_release_and_other_types():
    dec = KeyDecoder()
    # 'a' press, autorepeat, release, a relative-axis event, Enter
    assert dec.feed(EV_KEY, 30, 1) is None
    assert dec.feed(EV_KEY, 30, 2) is None
    assert dec.feed(EV_KEY, 30, 0) is None
    assert dec.feed(2, 0, 5) is None
    assert dec.feed(EV_KEY, 58, 1) is None  # caps lock on
    assert dec.feed(EV_KEY, 31, 1) is None
    assert dec.feed(EV_KEY, 96, 1) == "aS"  # keypad Enter ends a code too


def test_evdev_from_recorded_file(tmp_path):
    rec = tmp_path / "events.bin"
    rec.write_bytes(encode_key_events("4006381333931") + encode_key_events("WB-TRBX-42"))
    codes = Codes()
    t = ScannerThread(EvdevSource(str(rec)), codes).start()
    wait_until(lambda: codes.codes == ["4006381333931", "WB-TRBX-42"], what="codes")
    t.stop()
    assert t.state in ("ended", "stopped")


def test_evdev_through_pipe_in_odd_chunks(tmp_path):
    fifo = tmp_path / "kbd"
    os.mkfifo(fifo)
    codes = Codes()
    t = ScannerThread(EvdevSource(str(fifo)), codes).start()
    raw = encode_key_events("RU123456789CN") + encode_key_events("PS:PAUSE")
    fd = os.open(fifo, os.O_WRONLY)
    for i in range(0, len(raw), 7):  # chunks that split structs
        os.write(fd, raw[i:i + 7])
    wait_until(lambda: len(codes.codes) == 2, what="codes from pipe")
    os.close(fd)  # "unplugged": the reader goes down and tries to reopen
    wait_until(lambda: t.state == "down" or t.opens >= 2, what="reopen attempt")
    fd = os.open(fifo, os.O_WRONLY)  # plugged back
    os.write(fd, encode_key_events("AGAIN1"))
    wait_until(lambda: codes.codes[-1:] == ["AGAIN1"], what="code after replug")
    t._stop.set()
    os.close(fd)
    t.stop()
    assert codes.codes == ["RU123456789CN", "PS:PAUSE", "AGAIN1"]


def test_serial_pty_and_replug():
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    codes = Codes()
    src = SerialSource(path, 9600)
    t = ScannerThread(src, codes).start()
    wait_until(lambda: t.opens >= 1, what="serial open")
    os.write(master, b"WB-GI-100\r\n1234567890\rPARTIAL")
    wait_until(lambda: codes.codes == ["WB-GI-100", "1234567890"], what="serial codes")
    os.write(master, b"-END\n")
    wait_until(lambda: codes.codes[-1:] == ["PARTIAL-END"], what="code split over writes")
    t.stop()
    os.close(master)
    os.close(slave)


def test_old_two_slash_serial_device_from_the_config_reads_the_pty(tmp_path):
    """``serial://dev/pts/N`` (host "dev": the form configs used before the device check) loads
    with a warning, and the station's reader (source_for, as the station builds it) opens
    /dev/pts/N — the path the check looked at — and delivers the scan."""
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    assert path.startswith("/dev/")
    device = f"serial://dev/{path.removeprefix('/dev/')}?baud=9600"
    conf = tmp_path / "ps.toml"
    conf.write_text(f'[station]\ndata_dir = "{tmp_path / "data"}"\n[api]\nlisten = "127.0.0.1:0"\n'
                    'unix_socket = false\n[[printers]]\nname = "p"\nuri = "dir:///tmp/printstation-test-out"\n'
                    f'status_poll = 0\n[[scanners]]\ndevice = "{device}"\n')
    cfg = config.load(conf)
    assert cfg.warnings == (f"scanners[0].device: {device!r} is read as {path}; "
                            f"write serial:///{device.partition('://')[2]} (three slashes)",)
    src = source_for(cfg.scanners[0].device)
    assert isinstance(src, SerialSource) and src.port == path
    codes = Codes()
    t = ScannerThread(src, codes).start()
    try:
        wait_until(lambda: t.opens >= 1, what="serial open")
        os.write(master, b"WB-GI-200\r\n")
        wait_until(lambda: codes.codes == ["WB-GI-200"], what="the scan through serial://dev/pts/N")
    finally:
        t.stop()
        os.close(master)
        os.close(slave)


def test_serial_missing_device_retries_without_crashing(tmp_path):
    codes = Codes()
    src = SerialSource(str(tmp_path / "ttyACM9"), 9600)
    tries: list[float] = []
    real_open = src.open

    def counted_open() -> None:
        tries.append(time.monotonic())
        real_open()

    src.open = counted_open
    t = ScannerThread(src, codes)
    t.BACKOFF = (0.05, 0.1)
    t.start()
    wait_until(lambda: len(tries) >= 3, what="two reopen attempts after the first failure")
    assert t.thread.is_alive() and t.state == "down" and t.opens == 0
    t.stop()


def test_stream_source():
    codes = Codes()
    t = ScannerThread(StreamSource(io.StringIO("A1\n\n  B2  \r\n"), "stdin"), codes).start()
    wait_until(lambda: t.state == "ended", what="EOF")
    assert codes.codes == ["A1", "B2"]


def test_handler_fault_does_not_stop_scanner(tmp_path):
    rec = tmp_path / "e.bin"
    rec.write_bytes(encode_key_events("BOOM") + encode_key_events("OK"))
    seen = []

    def handler(code, scanner):
        seen.append(code)
        if code == "BOOM":
            raise RuntimeError("handler blew up")

    t = ScannerThread(EvdevSource(str(rec)), handler).start()
    wait_until(lambda: seen == ["BOOM", "OK"], what="both codes")
    t.stop()


def test_source_for():
    s = source_for("serial:///dev/ttyACM0?baud=115200")
    assert isinstance(s, SerialSource) and s.port == "/dev/ttyACM0" and s.baud == 115200
    assert isinstance(source_for("/dev/input/by-id/usb-x-event-kbd"), EvdevSource)
    assert isinstance(source_for("evdev:///dev/input/event3"), EvdevSource)
    assert isinstance(source_for("stdin"), StreamSource)
    with pytest.raises(ConfigError):
        source_for("bluetooth://x")
    old = source_for("serial://dev/ttyACM0?baud=115200")  # host "dev": the path it always meant
    assert isinstance(old, SerialSource) and (old.port, old.baud) == ("/dev/ttyACM0", 115200)
    ev = source_for("evdev://dev/input/event3")
    assert isinstance(ev, EvdevSource) and ev.path == "/dev/input/event3"
    with pytest.raises(ConfigError, match="no host"):
        source_for("serial://other/ttyACM0")


def test_serial_tab_suffix_ends_a_code():
    """A scanner set to send Tab after each code (common for form filling) gives one code a scan,
    not one ever-growing code that never ends; Tab plus CR/LF gives no empty extra code."""
    master, slave = pty.openpty()
    codes = Codes()
    t = ScannerThread(SerialSource(os.ttyname(slave), 9600), codes).start()
    wait_until(lambda: t.opens >= 1, what="serial open")
    os.write(master, b"WB-GI-100\tWB-TRBX-7\t4006381333931\t\r\n")
    wait_until(lambda: len(codes.codes) >= 3, what="tab-ended codes")
    t.stop()
    os.close(master)
    os.close(slave)
    assert codes.codes == ["WB-GI-100", "WB-TRBX-7", "4006381333931"]


def test_evdev_tab_suffix_ends_a_code():
    raw = b"".join(encode_key_events(c + "\t", enter=False) for c in ("WB-GI-5", "1234567890"))
    raw += encode_key_events("PS:PAUSE\t")  # Tab then Enter: one code
    dec = KeyDecoder()
    out = [t for ev in INPUT_EVENT.iter_unpack(raw) if (t := dec.feed(ev[2], ev[3], ev[4]))]
    assert out == ["WB-GI-5", "1234567890", "PS:PAUSE"]


def _events(*keys: tuple[int, int]) -> list[tuple[int, int, int]]:
    return [(EV_KEY, code, value) for code, value in keys]


def test_evdev_ctrl_combinations_are_control_characters_not_letters():
    """A keyboard-wedge scanner sends a GS1 code's GS separator as Ctrl+] (and some send Ctrl+M
    for CR): the decoder must not type ']' or 'm' into the code."""
    from printstation.triggers.rules import normalize

    LCTRL, RBRACE, M = 29, 27, 50
    raw = encode_key_events("0104006381333931215abc", enter=False)
    evs = [(t, c, v) for _s, _u, t, c, v in INPUT_EVENT.iter_unpack(raw)]
    evs += _events((LCTRL, 1), (RBRACE, 1), (RBRACE, 0), (LCTRL, 0))
    evs += [(t, c, v) for _s, _u, t, c, v in INPUT_EVENT.iter_unpack(encode_key_events("93xyz", enter=False))]
    evs += _events((LCTRL, 1), (M, 1), (M, 0), (LCTRL, 0))  # Ctrl+M: CR ends the code
    dec = KeyDecoder()
    out = [t for ev in evs if (t := dec.feed(*ev))]
    assert out == ["0104006381333931215abc\x1d93xyz"]
    assert normalize(out[0]) == "0104006381333931215abc93xyz"
    # a leading GS (FNC1 in first position) as Ctrl+]: not a ']' that hides the GS1 code
    evs = _events((LCTRL, 1), (RBRACE, 1), (RBRACE, 0), (LCTRL, 0))
    evs += [(t, c, v) for _s, _u, t, c, v in INPUT_EVENT.iter_unpack(encode_key_events("0104006381333931"))]
    assert [t for ev in evs if (t := dec.feed(*ev))] == ["\x1d0104006381333931"]


def test_serial_line_noise_without_terminator_is_bounded_and_dropped():
    """A port at the wrong baud rate (or a stuck scanner) streams bytes with no CR/LF: the reader
    keeps at most MAX_CODE bytes, drops that line whole at its terminator, and reads on."""
    from printstation.triggers.scanner import MAX_CODE

    master, slave = pty.openpty()
    codes = Codes()
    src = SerialSource(os.ttyname(slave), 9600)
    t = ScannerThread(src, codes).start()
    try:
        wait_until(lambda: t.opens >= 1, what="serial open")
        noise = b"\xfe\x7fA" * (MAX_CODE + 100)
        for i in range(0, len(noise), 1024):
            os.write(master, noise[i:i + 1024])
        os.write(master, b"\r\nWB-GI-100\r\n")
        wait_until(lambda: codes.codes[-1:] == ["WB-GI-100"], what="the code after the noise")
    finally:
        t.stop()
        os.close(master)
        os.close(slave)
    assert codes.codes == ["WB-GI-100"]


def test_evdev_keys_without_enter_are_bounded():
    from printstation.triggers.scanner import MAX_CODE

    dec = KeyDecoder()
    for _ in range(MAX_CODE + 50):
        dec.feed(EV_KEY, 30, 1)
        dec.feed(EV_KEY, 30, 0)
    assert len(dec.buf) <= MAX_CODE
    assert dec.feed(EV_KEY, 28, 1) is None  # the overlong line is dropped whole
    raw = encode_key_events("WB-GI-7")
    assert [t for ev in INPUT_EVENT.iter_unpack(raw) if (t := dec.feed(ev[2], ev[3], ev[4]))] == ["WB-GI-7"]


def test_stdin_overlong_line_is_dropped():
    from printstation.triggers.scanner import MAX_CODE

    src = StreamSource(io.StringIO("x" * (MAX_CODE * 3) + "\nWB-GI-1\n\nPS:PAUSE"))
    assert list(src.codes()) == ["WB-GI-1", "PS:PAUSE"]


def test_evdev_alt_numpad_codes_are_their_character_not_digits():
    """Scanners in 'Alt mode' type a character the keyboard lacks (a GS1 code's GS) as Alt held
    with its code on the keypad (Alt+0029): the decoder must give that character, not type
    the digits 0029 into the code."""
    LALT, KP0, KP2, KP9 = 56, 82, 80, 73
    raw = encode_key_events("0104006381333931215abc", enter=False)
    evs = [(t, c, v) for _s, _u, t, c, v in INPUT_EVENT.iter_unpack(raw)]
    evs += _events((LALT, 1), (KP0, 1), (KP0, 0), (KP0, 1), (KP0, 0), (KP2, 1), (KP2, 0), (KP9, 1), (KP9, 0),
                   (LALT, 0))
    evs += [(t, c, v) for _s, _u, t, c, v in INPUT_EVENT.iter_unpack(encode_key_events("93xyz"))]
    dec = KeyDecoder()
    assert [t for ev in evs if (t := dec.feed(*ev))] == ["0104006381333931215abc\x1d93xyz"]
