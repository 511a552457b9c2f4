"""Before a printer's first job the station says the truth about it: each printer is checked
once at start (a connection opened and closed, nothing sent) and an unreachable one shows
``offline`` with the reason, then ``idle`` once it is back."""

from __future__ import annotations

import json
import urllib.request

from support.daemon_harness import running, wait_until, write_config
from support.printer_sinks import _KEEP, RecordingSink, refused_uri


def _printers(port: int) -> dict[str, dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/printers", timeout=5) as r:
        return {p["name"]: p for p in json.load(r)["printers"]}


def test_an_unreachable_printer_is_offline_before_its_first_job_and_idle_when_back(tmp_path):
    gone = refused_uri()
    listener = _KEEP[-1]  # bound, not listening: refuses until it listens
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
            {"name": "gone", "uri": gone, "lang": "zpl"},
            {"name": "here", "uri": sink.uri, "lang": "zpl"}])
        with running(cfg) as d:
            p = wait_until(lambda: (ps := _printers(d.api.port))["gone"]["state"] == "offline" and ps,
                           what="the unreachable printer shown offline")
            assert "refused" in p["gone"]["reason"], p["gone"]
            assert p["here"]["state"] == "idle"
            assert wait_until(lambda: len(sink.connections) >= 1, what="the reachable printer checked")
            listener.listen(4)  # the printer comes back
            wait_until(lambda: _printers(d.api.port)["gone"]["state"] == "idle", what="the printer back idle")
            listener.settimeout(5)
            conn, _ = listener.accept()  # the re-check connected ...
            conn.settimeout(5)
            assert conn.recv(64) == b""  # ... and closed without sending a byte (no ~HS at start)
            conn.close()
        assert sink.data == b"" and sink.status_queries == []


def test_a_dir_printer_is_checked_without_creating_its_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    missing = tmp_path / "later" / "out"
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
        {"name": "bad", "uri": f"dir://{blocker}/out", "lang": "zpl", "status_poll": 0},
        {"name": "later", "uri": f"dir://{missing}", "lang": "zpl", "status_poll": 0}])
    with running(cfg) as d:
        p = wait_until(lambda: (ps := _printers(d.api.port))["bad"]["state"] == "error" and ps,
                       what="the dir printer under a file shown in error")
        assert "not a directory" in p["bad"]["reason"]
        assert p["later"]["state"] == "idle"
        assert not missing.parent.exists()
