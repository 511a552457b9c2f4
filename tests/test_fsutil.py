import os
import stat

import pytest

from printstation.fsutil import atomic_write, temp_name


def test_atomic_write_replaces_and_honours_mode(tmp_path):
    target = tmp_path / "a.zpl"
    target.write_bytes(b"old")
    old_umask = os.umask(0o022)
    try:
        assert atomic_write(target, b"new" * 1000, mode=0o600) == target
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        atomic_write(target, b"x", mode=0o666, fsync=False, sync_dir=True)
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == b"x"
    assert [p.name for p in tmp_path.iterdir()] == ["a.zpl"]


def test_atomic_write_removes_its_temp_file_on_error(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep").write_bytes(b"")
    with pytest.raises(OSError):
        atomic_write(tmp_path / "busy", b"data")  # cannot rename a file over a non-empty directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]


def test_temp_name_is_hidden_and_skipped_as_tmp():
    name = temp_name("label.pdf")
    assert name.startswith(".label.pdf.") and name.endswith(".tmp")
    assert temp_name("label.pdf") != name
    assert len(temp_name("n" * 255)) <= 255


def test_atomic_write_never_replaces_a_special_file(tmp_path):
    target = tmp_path / "target.bin"
    target.write_bytes(b"theirs")
    link = tmp_path / "link"
    link.symlink_to(target)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for special in (link, fifo):
        with pytest.raises(OSError, match="not a regular file"):
            atomic_write(special, b"ours")
    assert link.is_symlink() and target.read_bytes() == b"theirs" and fifo.is_fifo()
    # special="write": written in place through the link, the link stays a link.
    atomic_write(link, b"ours", special="write")
    assert link.is_symlink() and target.read_bytes() == b"ours"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link", "target.bin"]


def test_read_regular_never_follows_or_reads_special_files(tmp_path):
    from printstation.fsutil import read_regular

    (tmp_path / "ok").write_bytes(b"12345")
    assert read_regular(tmp_path / "ok", 5) == b"12345"
    with pytest.raises(OSError, match="larger than 4 bytes"):
        read_regular(tmp_path / "ok", 4)
    (tmp_path / "link").symlink_to(tmp_path / "ok")
    with pytest.raises(OSError, match="symlink"):
        read_regular(tmp_path / "link", 100)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="FIFO"):
        read_regular(tmp_path / "fifo", 100)  # not blocked waiting for a writer
