"""The embedded SQLite queue locked by another process (an admin's open ``sqlite3`` shell with a
write transaction, a backup script): the API answers 503 with one clear line, not a 500 with a
traceback; a label already on the wire is recorded ``done`` once the lock is gone (never left in
``sending``, to be called interrupted or resent at the next start); nothing is lost or doubled.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading

import httpx
import pytest

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from support.daemon_harness import wait_until, write_config
from support.printer_sinks import RecordingSink, StuckSink

class GatedSink(StuckSink):
    """A printer that takes no byte until :attr:`gate` is set (a big label waits on the wire)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        super().__init__(answer_status=False)

    def _serve(self, conn: socket.socket, index: int) -> None:
        self.gate.wait()
        RecordingSink._serve(self, conn, index)


_HOLD = """import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
con.execute("ROLLBACK")
"""


@pytest.mark.slow
def test_a_queue_locked_by_another_process_answers_503_and_keeps_every_outcome(tmp_path, caplog):
    sink = GatedSink()
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [dict(name="zebra", uri=sink.uri, lang="zpl",
                                                                        status_poll=0, timeout=120,
                                                                        on_interrupted="resend")])
    d = Daemon(configmod.load(cfg))
    d.start()
    holder = None
    try:
        label = b"^XA^FO20,20^A0N,30,30^FDheld^FS^FX" + b"x" * 2_000_000 + b"^FS^XZ"
        held = httpx.post(d.api.url + "/jobs?printer=zebra", content=label, timeout=30).json()["id"]
        wait_until(lambda: d.workers["zebra"].current == held, 30)  # "sending" committed, bytes going out
        holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path / "data" / "queue.sqlite3")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        with caplog.at_level(logging.WARNING):
            sink.gate.set()  # the printer takes the label while the queue is locked: "done" waits
            assert sink.wait_for(lambda s: s.data.endswith(b"^FS^XZ"), 60)
            r = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDnew^FS^XZ", timeout=90)
            assert r.status_code == 503, r.text
            assert "queue database" in r.json()["error"] and "locked" in r.json()["error"]
            wait_until(lambda: "the outcome of job" in caplog.text, 60)
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(30)
            wait_until(lambda: d.store.get(held).state == "done", 60)
        assert sink.data.count(b"^FDheld^FS") == 1 and b"^FDnew^FS" not in sink.data
        assert "Traceback" not in caplog.text
        after = httpx.post(d.api.url + "/jobs?printer=zebra", content=b"^XA^FDafter^FS^XZ", timeout=30).json()["id"]
        wait_until(lambda: d.store.get(after).state == "done", 30)
        assert sink.data.count(b"^FDheld^FS") == 1
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
        d.stop(grace=5)
        sink.close()
