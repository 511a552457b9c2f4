"""Adding a transport touches one module: its class plus one line in ``TRANSPORTS``.

This test module holds a toy transport ``append:///abs/path`` (every job appended to one file);
the ``append`` fixture adds its registry line, and URI parsing, the config, the doctor's
identification and a printer worker use it with no other change.
"""

from __future__ import annotations

import os
import urllib.parse
from types import SimpleNamespace

import pytest

from printstation import convert
from printstation.face.config import loads
from printstation.discover.verify import identify
from printstation.errors import ConfigError, TransportError
from printstation.queue.store import JobStore
from printstation.queue.worker import PrinterWorker
from printstation.transport import TRANSPORTS, from_uri
from printstation.transport.base import DEFAULT_TIMEOUT, Transport
from support.daemon_harness import wait_until, zpl_values
from support.labelgen import wb_sticker_zpl


class AppendTransport(Transport):
    """``append:///abs/path``: each job's bytes appended to one regular file."""

    scheme = "append"

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(uri, timeout=timeout)
        self.path = urllib.parse.unquote(urllib.parse.urlsplit(uri).path)
        if not self.path.startswith("/"):
            raise self.error("append:// takes an absolute path", transient=False)
        self._fd: int | None = None

    def _open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise self.os_error("open", exc) from None

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@pytest.fixture
def append(monkeypatch):
    monkeypatch.setitem(TRANSPORTS, "append", f"{__name__}:AppendTransport")


def test_from_uri_finds_a_registered_scheme(append, tmp_path):
    t = from_uri(f"append://{tmp_path}/out.bin", timeout=2.0)
    assert isinstance(t, AppendTransport) and t.path == f"{tmp_path}/out.bin" and t.timeout == 2.0
    with t:
        t.write(b"abc")
    assert (tmp_path / "out.bin").read_bytes() == b"abc"
    with pytest.raises(TransportError, match=r"unknown scheme 'nope' \(one of tcp, usb, file, serial, cups, dir, "
                                             r"memory, append\)"):
        from_uri("nope://x")


def test_unregistered_scheme_is_refused_by_the_config(tmp_path):
    with pytest.raises(ConfigError, match=r"printers\[0\]\.uri: .*unknown scheme 'append'"):
        loads(f'[[printers]]\nname = "a"\nuri = "append://{tmp_path}/out"\n')


def test_worker_prints_through_a_registered_transport(append, tmp_path):
    out = tmp_path / "printer.zpl"
    cfg = loads(f'[[printers]]\nname = "a"\nuri = "append://{out}"\n').printers[0]
    store = JobStore(tmp_path / "data")
    w = PrinterWorker(cfg, store, convert)
    store.on_change(lambda job: w.wake())
    w.start()
    try:
        ids = [store.submit("a", wb_sticker_zpl(f"!app{i:04d}"))[0].id for i in range(3)]
        wait_until(lambda: all(store.get(i).state == "done" for i in ids))
    finally:
        w.stop()
        w.join(5)
        store.close()
    assert zpl_values(out.read_bytes()) == ["!app0000", "!app0001", "!app0002"]


def test_doctor_asks_the_transport_how_to_identify_its_printer(append, tmp_path):
    # a transport that does not say how (``identify = ""``) gets no model row: nothing is claimed
    p = SimpleNamespace(uri=f"append://{tmp_path}/out", lang="zpl", name="a")
    assert identify(p, True, 1.0) is None
    assert from_uri("tcp://127.0.0.1:9").identify == "probe"
    assert from_uri("file:///dev/usb/lp0").identify == "usb"
    assert from_uri("file:///tmp/x").identify == ""
