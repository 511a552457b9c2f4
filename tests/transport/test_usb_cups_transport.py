"""usb:// with a fake pyusb device behind the backend interface; cups:// with a fake `lp`."""

from __future__ import annotations

import errno
import os
import stat
import sys
from dataclasses import dataclass, field

import pytest
import usb.core  # pyusb: real exception classes (no libusb needed to import)

from printstation.errors import TransportError
from printstation.status import query_status
from printstation.transport import from_uri
from printstation.transport.cups import CupsQueueError, CupsTransport
from printstation.transport.usb import PyUsbBackend, UsbTransport
from support.printer_sinks import escpos_status_bytes


# -- a pyusb-like device ----------------------------------------------------------------------


@dataclass
class FakeEndpoint:
    bEndpointAddress: int
    bmAttributes: int = 0x02  # bulk
    wMaxPacketSize: int = 64


@dataclass
class FakeInterface:
    bInterfaceNumber: int
    bInterfaceClass: int
    endpoints: list[FakeEndpoint]
    bAlternateSetting: int = 0

    def __iter__(self):
        return iter(self.endpoints)


@dataclass
class FakeDevice:
    interfaces: list[FakeInterface]
    serial: str | None = None
    configured: bool = True
    kernel_driver: set[int] = field(default_factory=lambda: {0})
    written: bytearray = field(default_factory=bytearray)
    inbox: bytearray = field(default_factory=bytearray)
    answer: dict[bytes, bytes] = field(default_factory=dict)
    max_write: int = 4096  # bytes accepted per write call (partial writes happen)
    fail_write: Exception | None = None
    write_calls: int = 0
    log: list[str] = field(default_factory=list)

    def get_active_configuration(self):
        if not self.configured:
            raise usb.core.USBError("Configuration not set", errno=errno.EBUSY)
        return self.interfaces

    def set_configuration(self):
        self.log.append("set_configuration")
        self.configured = True

    def is_kernel_driver_active(self, n):
        return n in self.kernel_driver

    def detach_kernel_driver(self, n):
        self.log.append(f"detach {n}")
        self.kernel_driver.discard(n)

    def attach_kernel_driver(self, n):
        self.log.append(f"attach {n}")
        self.kernel_driver.add(n)

    def write(self, addr, data, timeout):
        assert not addr & 0x80 and isinstance(timeout, int) and timeout > 0
        self.write_calls += 1
        if self.fail_write is not None:
            raise self.fail_write
        chunk = bytes(data[: self.max_write])
        self.written += chunk
        for q, a in self.answer.items():
            if chunk == q:
                self.inbox += a
        return len(chunk)

    def read(self, addr, size, timeout):
        assert addr & 0x80
        if not self.inbox:
            raise usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        out = bytes(self.inbox[:size])
        del self.inbox[:size]
        return out


class FakeBackend:
    def __init__(self, *devices, fail_find: Exception | None = None):
        self.devices = list(devices)
        self.fail_find = fail_find
        self.claimed: list[int] = []
        self.released: list[int] = []
        self.disposed = 0

    def find(self, vid, pid):
        if self.fail_find:
            raise self.fail_find
        assert (vid, pid) == (0x0A5F, 0x0181)
        return list(self.devices)

    def serial_number(self, dev):
        return dev.serial

    def claim(self, dev, n):
        self.claimed.append(n)

    def release(self, dev, n):
        self.released.append(n)

    def dispose(self, dev):
        self.disposed += 1


def printer_device(**kw) -> FakeDevice:
    hid = FakeInterface(1, 3, [FakeEndpoint(0x83, bmAttributes=0x03)])  # interrupt, not a printer
    prn = FakeInterface(0, 7, [FakeEndpoint(0x01), FakeEndpoint(0x82)])
    return FakeDevice([hid, prn], **kw)


def usb_t(uri="usb://0a5f:0181", *devices, **kw) -> UsbTransport:
    return UsbTransport(uri, timeout=1, backend=FakeBackend(*devices, **kw))


def test_usb_uri_parsing():
    t = from_uri("usb://0A5F:0181?serial=ZD4-123&interface=0")
    assert isinstance(t, UsbTransport) and isinstance(t.backend, PyUsbBackend)
    assert (t.vid, t.pid, t.serial, t.interface) == (0x0A5F, 0x0181, "ZD4-123", 0)
    for bad in ("usb://0a5f", "usb://xyz:0181", "usb://0a5f:0181/x", "usb://0a5f:0181?foo=1",
                "usb://0a5f:0181?interface=a"):
        with pytest.raises(TransportError) as ei:
            from_uri(bad)
        assert ei.value.transient is False


def test_usb_detach_claim_write_in_chunks_and_reattach():
    dev = printer_device()
    t = usb_t("usb://0a5f:0181", dev)
    payload = os.urandom(100_000)
    with t:
        assert t.can_read
        assert dev.log == ["detach 0"] and t.backend.claimed == [0]
        t.write(payload, job_id="1", ext="zpl")
    assert bytes(dev.written) == payload
    assert dev.write_calls == -(-len(payload) // 4096)  # partial writes resumed
    assert dev.log == ["detach 0", "attach 0"]
    assert t.backend.released == [0] and t.backend.disposed == 1


def test_usb_unconfigured_device_gets_configured():
    dev = printer_device(configured=False, kernel_driver=set())
    with usb_t("usb://0a5f:0181", dev) as t:
        t.write(b"x")
    assert dev.log == ["set_configuration"]


def test_usb_status_via_bulk_in():
    dev = printer_device()
    dev.answer[b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"] = b"".join(
        escpos_status_bytes("cover_open", n) for n in (1, 2, 3, 4))
    t = usb_t("usb://0a5f:0181", dev)
    st = query_status(t, "escpos", timeout=0.5)
    assert (st.state, st.reason) == ("error", "cover open")
    assert t.read(10, timeout=0.01) == b""


def test_usb_without_in_endpoint_cannot_read():
    dev = FakeDevice([FakeInterface(0, 7, [FakeEndpoint(0x01)])])
    t = usb_t("usb://0a5f:0181", dev)
    st = query_status(t, "zpl")
    assert (st.state, st.reason) == ("idle", "status not supported by transport")
    assert not t.can_read


def test_usb_selects_by_serial_and_refuses_ambiguity():
    a, b = printer_device(serial="A"), printer_device(serial="B")
    with usb_t("usb://0a5f:0181?serial=B", a, b) as t:
        t.write(b"for B")
    assert b.written == b"for B" and a.written == b""
    with pytest.raises(TransportError) as ei:
        usb_t("usb://0a5f:0181", a, b).open()
    assert ei.value.transient is False and "serial" in str(ei.value)
    with pytest.raises(TransportError) as ei:
        usb_t("usb://0a5f:0181?serial=C", a, b).open()
    assert ei.value.transient is True


def test_usb_not_found_is_transient():
    with pytest.raises(TransportError) as ei:
        usb_t().write(b"x")
    assert ei.value.transient is True
    assert str(ei.value) == "usb://0a5f:0181: open: device not found (unplugged or powered off?)"


def test_usb_no_printer_interface():
    dev = FakeDevice([FakeInterface(0, 3, [FakeEndpoint(0x81, bmAttributes=0x03)])])
    with pytest.raises(TransportError) as ei:
        usb_t("usb://0a5f:0181", dev).open()
    assert ei.value.transient is False and "bulk OUT" in str(ei.value)


@pytest.mark.parametrize(
    "exc, transient, words",
    [
        (usb.core.USBError("No such device (it may have been disconnected)", errno=errno.ENODEV), True, "no such device"),
        (usb.core.USBError("Resource busy", errno=errno.EBUSY), True, "busy"),
        (usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT), True, "timed out"),
        (usb.core.USBError("Access denied (insufficient permissions)", errno=errno.EACCES), False, "udev"),
        (usb.core.USBError("Pipe error", errno=errno.EPIPE), True, "pipe"),
    ],
)
def test_usb_write_errors_are_mapped(exc, transient, words):
    dev = printer_device()
    dev.fail_write = exc
    t = usb_t("usb://0a5f:0181", dev)
    with pytest.raises(TransportError) as ei:
        t.write(b"data")
    assert ei.value.transient is transient
    assert words in str(ei.value).lower()
    assert str(ei.value).startswith("usb://0a5f:0181: write: ")
    assert not t.is_open and dev.log[-1] == "attach 0"  # cleaned up, kernel driver back


def test_usb_no_libusb_is_permanent():
    t = usb_t(fail_find=usb.core.NoBackendError("No backend available"))
    with pytest.raises(TransportError) as ei:
        t.open()
    assert ei.value.transient is False and "libusb" in str(ei.value)


def test_usb_permission_denied_on_claim_is_permanent():
    class Denied(FakeBackend):
        def claim(self, dev, n):
            raise usb.core.USBError("Access denied", errno=errno.EACCES)

    dev = printer_device()
    t = UsbTransport("usb://0a5f:0181", backend=Denied(dev))
    with pytest.raises(TransportError) as ei:
        t.open()
    assert ei.value.transient is False
    assert dev.log == ["detach 0", "attach 0"]  # kernel driver given back


# -- cups:// ----------------------------------------------------------------------------------

FAKE_LP = r"""#!{python}
import os, sys
args = sys.argv[1:]
data = sys.stdin.buffer.read()
mode = os.environ.get("FAKE_LP_MODE", "ok")
if mode == "missing-queue":
    sys.stderr.write("lp: The printer or class does not exist.\n"); sys.exit(1)
if mode == "no-server":
    sys.stderr.write("lp: Unable to connect to server: Connection refused\n"); sys.exit(1)
if mode == "hang":
    import time; time.sleep(30)
with open(os.environ["FAKE_LP_OUT"], "ab") as f:
    f.write(repr(args).encode() + b"\n" + data + b"\n--\n")
print("request id is Zebra-12 (1 file(s))")
"""

FAKE_LPSTAT = r"""#!{python}
print("scheduler is running")
print("printer Zebra is idle.  enabled since Tue Dec  1 10:00:00 2026")
print("Zebra accepting requests since Tue Dec  1 10:00:00 2026")
"""


@pytest.fixture
def fake_lp(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    lp = bindir / "lp"
    lp.write_text(FAKE_LP.format(python=sys.executable))
    lp.chmod(lp.stat().st_mode | stat.S_IXUSR)
    lpstat = bindir / "lpstat"  # the queue is fine: lp's own failures are what is tested
    lpstat.write_text(FAKE_LPSTAT.format(python=sys.executable))
    lpstat.chmod(lpstat.stat().st_mode | stat.S_IXUSR)
    out = tmp_path / "lp.out"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LP_OUT", str(out))
    return out


def test_cups_uri_forms():
    t = from_uri("cups://Zebra_ZD420")
    assert isinstance(t, CupsTransport) and (t.queue, t.server) == ("Zebra_ZD420", None)
    t = from_uri("cups://print-server:631/Zebra")
    assert (t.queue, t.server) == ("Zebra", "print-server:631")
    for bad in ("cups://", "cups://bad queue", "cups://Zebra?x=1", "cups://-d", "cups://-h:631/q",
                "cups://:631/q", "cups://host/-q"):
        with pytest.raises(TransportError):
            from_uri(bad)


def test_cups_runs_lp_raw(fake_lp):
    t = from_uri("cups://print-server:631/Zebra")
    with t:
        t.write(b"^XA^FDcups^FS^XZ", job_id="42", ext="zpl")
    text = fake_lp.read_bytes()
    assert b"['-h', 'print-server:631', '-d', 'Zebra', '-o', 'raw', '-t', 'printstation job 42', '-']" in text
    assert b"\n^XA^FDcups^FS^XZ\n--\n" in text
    st = query_status(t, "zpl")
    assert (st.state, st.reason) == ("idle", "CUPS queue enabled and accepting jobs")


@pytest.mark.parametrize("mode, state, words", [
    ("missing-queue", "error", "the printer or class does not exist"),
    ("no-server", "offline", "unable to connect to server: connection refused"),
])
def test_cups_lp_failures(fake_lp, monkeypatch, mode, state, words):
    """lp spools all or nothing: every failure is transient (the job is queued again)."""
    monkeypatch.setenv("FAKE_LP_MODE", mode)
    with pytest.raises(CupsQueueError) as ei:
        from_uri("cups://Zebra").write(b"x", job_id="1")
    assert ei.value.transient is True and ei.value.maybe_delivered is False
    assert ei.value.printer_state == state
    assert str(ei.value).lower() == "cups://zebra: lp: " + words


def test_cups_lp_timeout(fake_lp, monkeypatch):
    monkeypatch.setenv("FAKE_LP_MODE", "hang")
    with pytest.raises(TransportError) as ei:
        from_uri("cups://Zebra", timeout=0.5).write(b"x")
    assert ei.value.transient is True and "timed out" in str(ei.value)
    assert ei.value.maybe_delivered is True  # lp may have spooled it before it was killed


def test_cups_without_lp_is_permanent(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TransportError) as ei:
        from_uri("cups://Zebra").open()
    assert ei.value.transient is False and "lp command is not installed" in str(ei.value)
    st = query_status(from_uri("cups://Zebra"), "zpl")
    assert st.state == "error" and "lp command" in st.reason
