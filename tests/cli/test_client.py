"""The CLI client against a real daemon API on an ephemeral port."""

from __future__ import annotations

import json

import pytest

from printstation.face.cli import main
from support.daemon_harness import running, wait_until, write_config, zpl_values
from support.labelgen import wb_sticker_zpl
from support.printer_sinks import RecordingSink


@pytest.fixture
def station(tmp_path, monkeypatch):
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
            {"name": "zebra", "uri": sink.uri, "status_poll": 1.0},
            {"name": "files", "uri": f"dir://{tmp_path}/out"},
        ])
        with running(cfg) as d:
            monkeypatch.setenv("PRINTSTATION_API", d.api.url)
            yield d, sink, tmp_path


def test_print_jobs_printers(station, capsys):
    d, sink, tmp = station
    a, b = tmp / "a.zpl", tmp / "b.zpl"
    a.write_bytes(wb_sticker_zpl("!cli1"))
    b.write_bytes(wb_sticker_zpl("!cli2"))
    assert main(["print", str(a), str(b), "--copies", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{a}: queued job 1 on zebra", f"{b}: queued job 2 on zebra"]
    wait_until(lambda: all(j.state == "done" for j in d.store.list_jobs()))
    assert zpl_values(sink.data) == ["!cli1", "!cli2"] and sink.data.count(b"^PQ2") == 2

    assert main(["jobs", "--state", "done"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["ID", "PRINTER", "STATE"] and len(table) == 3
    assert main(["jobs", "--printer", "zebra", "--json"]) == 0
    assert [j["id"] for j in json.loads(capsys.readouterr().out)["jobs"]] == [2, 1]

    assert main(["printers", "--json"]) == 0
    printers = json.loads(capsys.readouterr().out)["printers"]
    assert [p["name"] for p in printers] == ["zebra", "files"]
    assert main(["printers"]) == 0
    assert "zebra *" in capsys.readouterr().out

    assert main(["print", str(a), "--printer", "files"]) == 0
    assert "on files" in capsys.readouterr().out
    wait_until(lambda: (tmp / "out" / "3.zpl").exists())


def test_reprint_cancel_pause_resume(station, capsys):
    d, sink, tmp = station
    f = tmp / "a.zpl"
    f.write_bytes(wb_sticker_zpl("!cli3"))
    assert main(["pause", "zebra"]) == 0
    assert capsys.readouterr().out.strip() == "printer zebra: paused (paused by operator)"
    assert main(["print", str(f)]) == 0
    assert main(["cancel", "1"]) == 0
    assert "job 1 canceled on zebra" in capsys.readouterr().out
    assert main(["reprint", "1"]) == 0
    assert "job 2 queued on zebra (a.zpl) (reprint of 1)" in capsys.readouterr().out
    assert main(["resume", "zebra"]) == 0
    wait_until(lambda: d.store.get(2).state == "done")
    assert zpl_values(sink.data) == ["!cli3"]


def test_errors_are_one_line_with_exit_codes(station, capsys, tmp_path):
    d, sink, tmp = station
    assert main(["cancel", "999"]) == 2
    assert capsys.readouterr().err.strip() == "printstation: error: no job 999"
    assert main(["pause", "nope"]) == 2
    assert "no printer named 'nope'" in capsys.readouterr().err
    assert main(["print", str(tmp / "missing.pdf")]) == 2
    assert "missing.pdf" in capsys.readouterr().err
    assert main(["jobs", "--api", "http://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("printstation: error: cannot reach the printstation daemon") and "Traceback" not in err
