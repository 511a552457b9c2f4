"""file:// on real files, FIFOs and a pty; serial:// through a pty with pyserial."""

from __future__ import annotations

import os
import threading
import tty

import pytest

from printstation.errors import TransportError
from printstation.status import query_status
from printstation.transport import from_uri
from printstation.transport.serial import SerialTransport
from support.printer_sinks import tspl_status_byte


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    name = os.ttyname(slave)
    yield master, name
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def read_exactly(fd: int, n: int) -> bytes:
    out = b""
    while len(out) < n:
        out += os.read(fd, n - len(out))
    return out


# -- file:// ----------------------------------------------------------------------------------


def test_file_appends_to_a_plain_file(tmp_path):
    f = tmp_path / "printer.out"
    t = from_uri(f"file://{f}")
    with t:
        t.write(b"^XA1^XZ", job_id="1", ext="zpl")
        t.write(b"^XA2^XZ", job_id="2", ext="zpl")
        assert not t.can_read and t.read() == b""
    assert f.read_bytes() == b"^XA1^XZ^XA2^XZ"
    with t:
        t.write(b"more")
    assert f.read_bytes().endswith(b"more")
    assert query_status(t, "zpl").reason == "status not supported by transport"


@pytest.mark.parametrize("uri", ["file://relative/path", "file://host/dev/lp0", "file:///x?y=1"])
def test_file_bad_uris(uri):
    with pytest.raises(TransportError) as ei:
        from_uri(uri)
    assert ei.value.transient is False


def test_file_missing_device_is_transient_and_not_created():
    t = from_uri("file:///dev/usb/printstation-test-lp9")
    with pytest.raises(TransportError) as ei:
        t.open()
    assert ei.value.transient is True and "unplugged" in str(ei.value)
    assert not os.path.exists("/dev/usb/printstation-test-lp9")


def test_file_directory_is_permanent(tmp_path):
    with pytest.raises(TransportError) as ei:
        from_uri(f"file://{tmp_path}").open()
    assert ei.value.transient is False and "dir://" in str(ei.value)


def test_fifo_with_reader(tmp_path):
    fifo = tmp_path / "lp.fifo"
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        got = bytearray()
        payload = os.urandom(300_000)  # bigger than the pipe buffer: needs a reader
        done = threading.Event()

        def reader():
            import select

            while len(got) < len(payload):
                select.select([rfd], [], [], 1)
                try:
                    got.extend(os.read(rfd, 65536))
                except BlockingIOError:
                    pass
            done.set()

        th = threading.Thread(target=reader)
        th.start()
        with from_uri(f"file://{fifo}", timeout=5) as t:
            t.write(payload, job_id="7", ext="escpos")
        th.join(10)
        assert done.is_set() and bytes(got) == payload
    finally:
        os.close(rfd)


def test_fifo_without_reader_is_transient(tmp_path):
    fifo = tmp_path / "lp.fifo"
    os.mkfifo(fifo)
    with pytest.raises(TransportError) as ei:
        from_uri(f"file://{fifo}").open()
    assert ei.value.transient is True and "no reader" in str(ei.value)


def test_fifo_reader_that_never_reads_times_out(tmp_path):
    fifo = tmp_path / "lp.fifo"
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        t = from_uri(f"file://{fifo}", timeout=0.2)
        with pytest.raises(TransportError) as ei:
            t.write(b"x" * 2_000_000)
        assert ei.value.transient is True and "timed out" in str(ei.value)
        assert not t.is_open
    finally:
        os.close(rfd)


def test_fifo_reader_gone_is_transient(tmp_path):
    fifo = tmp_path / "lp.fifo"
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    t = from_uri(f"file://{fifo}")
    t.open()
    os.close(rfd)
    with pytest.raises(TransportError) as ei:
        t.write(b"abc")
    assert ei.value.transient is True and "broken pipe" in str(ei.value).lower()


def test_char_device_reads_status(pty_pair):
    """A pty slave is a character device, like /dev/usb/lp0: opened read+write."""
    master, name = pty_pair
    t = from_uri(f"file://{name}", timeout=2)
    with t:
        assert t.can_read
        t.write(b"SIZE 58 mm,40 mm\r\n", job_id="1", ext="tspl")
        assert read_exactly(master, 18) == b"SIZE 58 mm,40 mm\r\n"

        def printer():
            assert read_exactly(master, 3) == b"\x1b!?"
            os.write(master, tspl_status_byte("ribbon_out"))

        th = threading.Thread(target=printer)
        th.start()
        st = query_status(t, "tspl", timeout=2)
        th.join(5)
        assert (st.state, st.reason) == ("error", "ribbon out")
        assert t.read(10, timeout=0.05) == b""


# -- serial:// --------------------------------------------------------------------------------


def test_serial_uri_params():
    t = from_uri("serial:///dev/ttyS0?baud=115200&parity=e&rtscts=1")
    assert isinstance(t, SerialTransport)
    assert (t.port, t.baud, t.parity, t.rtscts, t.xonxoff, t.bytesize) == ("/dev/ttyS0", 115200, "E", True, False, 8)
    assert from_uri("serial:///dev/ttyS0").baud == 9600


@pytest.mark.parametrize(
    "uri", ["serial:///dev/ttyS0?baud=9601", "serial://ttyS0", "serial:///dev/ttyS0?speed=1",
            "serial:///dev/ttyS0?rtscts=maybe"],
)
def test_serial_bad_uris(uri):
    with pytest.raises(TransportError) as ei:
        from_uri(uri)
    assert ei.value.transient is False


def test_serial_write_and_status_over_pty(pty_pair):
    master, name = pty_pair
    t = from_uri(f"serial://{name}?baud=9600", timeout=2)
    with t:
        t.write(b"^XA^FDserial^FS^XZ", job_id="3", ext="zpl")
        assert read_exactly(master, 18) == b"^XA^FDserial^FS^XZ"

        def printer():
            assert read_exactly(master, 3) == b"~HS"
            from support.printer_sinks import zpl_hs_answer

            os.write(master, zpl_hs_answer("paused"))

        th = threading.Thread(target=printer)
        th.start()
        st = query_status(t, "zpl", timeout=2)
        th.join(5)
        assert (st.state, st.reason) == ("paused", "paused")
        assert t.read(10, timeout=0.05) == b""


def test_serial_port_busy_or_missing():
    with pytest.raises(TransportError) as ei:
        from_uri("serial:///dev/ttyPRINTSTATION-missing").open()
    assert ei.value.transient is True
    assert str(ei.value).startswith("serial:///dev/ttyPRINTSTATION-missing: open: ")


def test_serial_exclusive(pty_pair):
    _, name = pty_pair
    with from_uri(f"serial://{name}"):
        with pytest.raises(TransportError) as ei:
            from_uri(f"serial://{name}").open()
        assert ei.value.transient is True and "busy" in str(ei.value)


def test_serial_no_answer_is_error(pty_pair):
    _, name = pty_pair
    with from_uri(f"serial://{name}") as t:
        st = query_status(t, "escpos", timeout=0.2)
    assert st.state == "error" and st.reason.startswith("no answer to status query")


def test_serial_unplugged_mid_use_is_transient(pty_pair):
    master, name = pty_pair
    t = from_uri(f"serial://{name}", timeout=1)
    t.open()
    os.close(master)  # the adapter goes away
    with pytest.raises(TransportError) as ei:
        t.write(b"x" * 10000)
        t.read(10, timeout=0.5)
    assert ei.value.transient is True
    assert not t.is_open
