"""``printstation print --wait`` says why it is still waiting: one stderr line each time the
printer's trouble changes while the job waits, never the same line twice; exit codes as before."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from support.daemon_harness import REPO, running, wait_until, write_config
from support.labelgen import wb_sticker_zpl
from support.printer_sinks import RecordingSink


def test_print_wait_names_each_trouble_change_once_then_exits_0(tmp_path):
    label = tmp_path / "wb.zpl"
    label.write_bytes(wb_sticker_zpl("123456789"))
    with RecordingSink("paper_out") as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
            {"name": "zebra", "uri": sink.uri, "lang": "zpl", "status_poll": 0.3}])
        with running(cfg) as d:
            env = dict(os.environ, PRINTSTATION_API=d.api.url,
                       PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            proc = subprocess.Popen([sys.executable, "-m", "printstation", "print", "--wait",
                                     "--printer", "zebra", str(label)], env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            lines: list[str] = []  # stderr
            said: list[str] = []  # stdout
            readers = [threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True),
                       threading.Thread(target=lambda: said.extend(iter(proc.stdout.readline, "")), daemon=True)]
            for r in readers:
                r.start()
            try:  # the paper out: in the "queued" answer, or once the printer was asked
                wait_until(lambda: any("paper out" in ln.lower() for ln in said + lines),
                           what="the paper out named")
                sink.set_state("head_open")
                wait_until(lambda: any("head open" in ln.lower() and "still waiting" in ln for ln in lines),
                           what="a line naming the new trouble")
                sink.set_state("ready")
                proc.wait(30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
            for r in readers:
                r.join(5)
    assert proc.returncode == 0, (said, lines)
    assert any("done job" in ln for ln in said), said
    assert sum("paper out" in ln.lower() for ln in said + lines) == 1, (said, lines)
    waits = [ln for ln in lines if "still waiting" in ln]
    assert len(waits) == len(set(waits)), lines  # no repeated line
    assert all(ln.startswith("printer zebra: ") for ln in waits), lines
