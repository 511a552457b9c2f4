"""dir:// (atomic files) and memory:// (capture sink), plus the registry."""

from __future__ import annotations

import os
import threading

import pytest

from printstation.errors import TransportError
from printstation.transport import TRANSPORTS, from_uri, memory
from printstation.transport.dir import DirTransport


def test_registry_covers_every_scheme():
    assert set(TRANSPORTS) == {"tcp", "usb", "file", "serial", "cups", "dir", "memory"}


@pytest.mark.parametrize("uri", ["", "localhost:9100", "lpt://x", "://x"])
def test_unknown_or_missing_scheme(uri):
    with pytest.raises(TransportError) as ei:
        from_uri(uri)
    assert ei.value.transient is False


def test_bad_timeout():
    with pytest.raises(TransportError):
        from_uri("memory://x", timeout=0)


def test_dir_writes_job_files_named_id_ext(tmp_path):
    out = tmp_path / "out" / "nested"
    t = from_uri(f"dir://{out}")
    assert isinstance(t, DirTransport) and not t.can_read
    with t:
        t.write(b"^XA^XZ", job_id="17", ext="zpl")
        t.write(b"SIZE 58 mm", job_id="18", ext="tspl")
        t.write(b"^XA^XZ", job_id="17", ext="zpl")  # a resend, not taken yet: still one file
        t.write(b"../evil", job_id="../../etc/passwd", ext="escpos")
    assert sorted(os.listdir(out)) == ["17.zpl", "18.tspl", "_.._etc_passwd.escpos"]
    assert (out / "17.zpl").read_bytes() == b"^XA^XZ"
    assert t.read() == b""


def test_dir_relative_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with from_uri("dir://./var/out") as t:
        t.write(b"x", job_id="a", ext="epl2")
    assert (tmp_path / "var" / "out" / "a.epl2").read_bytes() == b"x"
    with from_uri("dir://rel") as t:
        t.write(b"y")  # no job id: a generated name
    [name] = os.listdir(tmp_path / "rel")
    assert name.startswith("job-") and name.endswith(".bin")


def test_dir_no_partial_file_is_ever_visible(tmp_path):
    """A reader polling the directory only ever sees complete <id>.zpl files."""
    payload = b"^XA" + b"0" * 2_000_000 + b"^XZ"
    stop = threading.Event()
    seen_bad: list[str] = []
    seen: set[str] = set()

    def watch():
        while not stop.is_set():
            for name in os.listdir(tmp_path):
                if name.startswith("."):
                    continue
                seen.add(name)
                if not name.endswith(".zpl"):
                    seen_bad.append(name)
                    continue
                try:
                    data = (tmp_path / name).read_bytes()
                except FileNotFoundError:
                    continue
                if data != payload:
                    seen_bad.append(f"{name}:{len(data)}")

    w = threading.Thread(target=watch)
    w.start()
    try:
        with from_uri(f"dir://{tmp_path}") as t:
            for i in range(15):
                t.write(payload, job_id=str(i), ext="zpl")
    finally:
        stop.set()
        w.join()
    assert seen_bad == []
    assert sorted(os.listdir(tmp_path)) == sorted(f"{i}.zpl" for i in range(15))


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions")
def test_dir_permission_denied_is_permanent(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(TransportError) as ei:
            from_uri(f"dir://{ro}/sub").open()
        assert ei.value.transient is False
        assert "permission denied" in str(ei.value).lower()
        with pytest.raises(TransportError) as ei:
            from_uri(f"dir://{ro}").write(b"x", job_id="1", ext="zpl")
        assert ei.value.transient is False
    finally:
        ro.chmod(0o700)


def test_dir_path_is_a_file_is_permanent(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(TransportError) as ei:
        from_uri(f"dir://{f}").open()
    assert ei.value.transient is False
    assert str(ei.value).startswith(f"dir://{f}: ")


def test_memory_sink_records_and_answers():
    memory.reset()
    s = memory.sink("m1")
    s.responder = lambda data: b"\x00" if data == b"\x1b!?" else None
    with from_uri("memory://m1") as t:
        t.write(b"label", job_id="5", ext="tspl")
        t.write(b"\x1b!?")
        assert t.read(4, timeout=1) == b"\x00"
        assert t.read(4, timeout=0.01) == b""
    assert s.data == b"label\x1b!?"
    assert [(w.job_id, w.ext) for w in s.jobs] == [("5", "tspl")]
    assert s.wait_writes(2, timeout=0.1)


def test_memory_failure_injection():
    memory.reset()
    s = memory.sink("m2")
    s.online = False
    t = from_uri("memory://m2")
    with pytest.raises(TransportError) as ei:
        t.write(b"x")
    assert ei.value.transient and ei.value.args[0] == "memory://m2: connect: printer offline"
    s.online = True
    s.fail_write = TransportError("memory://m2: write: boom", transient=False)
    with pytest.raises(TransportError) as ei:
        t.write(b"x")
    assert ei.value.transient is False and not t.is_open
    s.fail_write = None
    t.write(b"ok")
    assert s.data == b"ok" and s.opens == 2  # the failed open does not count


def test_dir_never_replaces_a_file_that_is_not_this_label(tmp_path, caplog):
    """``<id>.<ext>`` already there with other bytes — an unprinted label of an earlier queue whose
    ids started again, another station's label in a shared folder, a file someone put there — or
    a symlink planted in its place: neither is replaced or written through; the label goes to the
    next free ``<id>-<n>.<ext>`` and one WARNING names both."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "2.zpl").write_bytes(b"^XA^FDearlier queue's job 2^FS^XZ")
    secret = tmp_path / "secret"
    secret.write_bytes(b"keep")
    os.symlink(secret, out / "3.zpl")
    (out / "3-1.zpl").write_bytes(b"taken too")
    with from_uri(f"dir://{out}") as t:
        t.write(b"^XA^FDnew 2^FS^XZ", job_id="2", ext="zpl")
        t.write(b"^XA^FDnew 3^FS^XZ", job_id="3", ext="zpl")
    assert (out / "2.zpl").read_bytes() == b"^XA^FDearlier queue's job 2^FS^XZ"
    assert (out / "2-1.zpl").read_bytes() == b"^XA^FDnew 2^FS^XZ"
    assert os.path.islink(out / "3.zpl") and secret.read_bytes() == b"keep"
    assert (out / "3-1.zpl").read_bytes() == b"taken too" and (out / "3-2.zpl").read_bytes() == b"^XA^FDnew 3^FS^XZ"
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 2 and "2.zpl" in warned[0] and "2-1.zpl" in warned[0], warned
