"""The hot folder when the queue has no room (``[station] max_queue_mb`` reached, or a full data
dir): that is not the file's fault, so the file waits in the folder and prints once there is
room — it never lands in ``.failed`` to be dropped again by hand. The real daemon, a real dir://
printer paused while a batch is dropped."""

from __future__ import annotations

import logging
import os

import httpx

from support.daemon_harness import running, wait_until
from support.daemon_harness import dir_printers_config as config
from support.labelgen import wb_sticker_zpl


def big_label(value: str) -> bytes:
    """A valid label of about 0.4 MB (a long ^FX comment): three do not fit a 1 MB queue."""
    zpl = wb_sticker_zpl(value)
    return zpl[:-3] + b"^FX" + b"x" * 400_000 + b"^FS^XZ"


def drop(folder, name: str, data: bytes) -> None:
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    os.rename(tmp, folder / name)


def test_files_over_the_queue_quota_wait_in_the_folder_and_print_later(tmp_path, caplog):
    caplog.set_level(logging.INFO, "printstation.hotfolder")
    cfg = config(tmp_path, {"z": "zpl"}, max_queue_mb=1)
    hot = tmp_path / "hot"
    with running(cfg) as d:
        http = httpx.Client(base_url=d.api.url, timeout=30)
        assert http.post("/printers/z/pause").status_code == 200
        for i in range(4):
            drop(hot / "z", f"l{i}.zpl", big_label(f"ROOM{i}"))
        wait_until(lambda: len(d.store.list_jobs()) == 2, what="two labels queued")
        wait_until(lambda: "waits for room" in caplog.text, what="the wait logged")
        assert not (hot / ".failed").exists() or not list((hot / ".failed").iterdir())
        assert sorted(p.name for p in (hot / "z").iterdir()) == ["l2.zpl", "l3.zpl"]
        assert len(d.store.list_jobs()) == 2  # nothing more was queued over the quota
        assert http.post("/printers/z/resume").status_code == 200
        wait_until(lambda: len([j for j in d.store.list_jobs() if j.state == "done"]) == 4, 30,
                   what="all four printed")
    assert sorted(p.name for p in (hot / ".done").rglob("*.zpl")) == ["l0.zpl", "l1.zpl", "l2.zpl", "l3.zpl"]
    assert not (hot / ".failed").exists() or not list((hot / ".failed").iterdir())
    assert caplog.text.count("waits for room") <= 2  # logged when the wait starts, not every retry
