"""Exit codes of ``print`` when the daemon refuses a file (README: "exit 2 for a refused request,
3 for a label the daemon cannot render, 4 for a wrong token, 1 when the daemon cannot be
reached"): a full queue (507) is a refusal, not "cannot be reached", and the files after the
refused one are still tried."""

from __future__ import annotations

import pytest

from printstation.face.cli import main
from support.daemon_harness import running, write_config
from support.labelgen import wb_sticker_zpl


@pytest.fixture
def full_station(tmp_path, monkeypatch):
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
        {"name": "held", "uri": f"dir://{tmp_path}/out", "status_poll": 0}], api={"unix_socket": False})
    cfg.write_text(cfg.read_text().replace("[station]\n", "[station]\nmax_queue_mb = 0.004\n", 1))
    with running(cfg) as d:
        d.pause("held")
        monkeypatch.setenv("PRINTSTATION_API", d.api.url)
        yield d, tmp_path


def test_full_queue_is_a_refusal_exit_2_naming_the_file(full_station, capsys):
    d, tmp = full_station
    label = wb_sticker_zpl("!full") + b"\n" * 1400  # bytes after ^XZ pass through: a bigger label
    files = []
    for i in range(3):
        f = tmp / f"f{i}.zpl"
        f.write_bytes(label)
        files.append(str(f))
    assert len(label) * 2 < 4000 < 4194 < len(label) * 3  # two fit under max_queue_mb, a third does not
    assert main(["print", files[0], files[1]]) == 0
    capsys.readouterr()
    assert main(["print", files[2]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"printstation: error: {files[2]}: queue full"), err
    assert main(["print", files[2], files[0]]) == 2  # both refused, each named, none "unreachable"
    err = capsys.readouterr().err.strip().splitlines()
    assert [e.split(": ")[2] for e in err] == [files[2], files[0]], err


def test_queue_full_message_gives_small_sizes_in_kb(full_station, capsys):
    """A 1.5 KB label said "this one 0.0 MB" and "0.0 MB of labels waiting"."""
    d, tmp = full_station
    f = tmp / "a.zpl"
    f.write_bytes(wb_sticker_zpl("!kb") + b"\n" * 1400)
    for _ in range(2):
        assert main(["print", str(f)]) == 0
    assert main(["print", str(f)]) == 2
    err = capsys.readouterr().err
    assert "0.0 MB" not in err and "2.9 KB of labels waiting" in err and "this one 1.5 KB" in err, err


def test_files_after_an_option_are_printed_too(full_station, capsys):
    """``print a.zpl --printer held b.zpl`` (options between the files, as with most tools) said
    "unrecognized arguments: b.zpl" and printed nothing."""
    d, tmp = full_station
    a, b = tmp / "a.zpl", tmp / "b.zpl"
    a.write_bytes(wb_sticker_zpl("!mixA"))
    b.write_bytes(wb_sticker_zpl("!mixB"))
    assert main(["print", str(a), "--printer", "held", str(b)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{a}: queued job 1 on held — printer held: paused: paused by operator",
                   f"{b}: queued job 2 on held — printer held: paused: paused by operator"], out
    with pytest.raises(SystemExit) as ei:  # argparse's usage error, as for any unknown option
        main(["print", str(a), "--printer", "held", "--bogus"])
    assert ei.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_scan_with_a_wrong_token_exits_4_like_the_other_commands(tmp_path, monkeypatch, capsys):
    """README: exit 4 for a wrong token, for `scan` "as for the other client commands" (it was 1,
    the code for "nothing was printed")."""
    token = tmp_path / "api-token"
    token.write_text("a-station-token-0123456789\n")
    cfg = write_config(tmp_path / "t.toml", tmp_path / "data", [
        {"name": "held", "uri": f"dir://{tmp_path}/out", "status_poll": 0}],
        api={"unix_socket": False, "token_file": str(token)})
    with running(cfg) as d:
        monkeypatch.setenv("PRINTSTATION_API", d.api.url)
        monkeypatch.setenv("PRINTSTATION_API_TOKEN", "wrong-token-wrong-token")
        assert main(["scan", "PS:PAUSE"]) == 4
        assert main(["jobs"]) == 4
        err = capsys.readouterr().err
        assert "wrong-token" not in err and err.count("printstation: error:") == 2, err


def test_pause_while_a_job_is_on_the_wire_says_when_it_takes_effect(tmp_path, monkeypatch, capsys):
    """``pause`` answered "printer zebra: printing" — as if it had not worked — while a label was
    being sent; the pause takes effect after that job."""
    from support.daemon_harness import wait_until
    from support.printer_sinks import StuckSink

    with StuckSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
            {"name": "zebra", "uri": sink.uri, "status_poll": 0, "timeout": 60}], api={"unix_socket": False})
        with running(cfg) as d:
            monkeypatch.setenv("PRINTSTATION_API", d.api.url)
            row = bytes(range(58)).hex().upper() * 320  # far more than the socket buffers hold
            big = b"".join(f"^XA^FO0,0^GFA,{58 * 320},{58 * 320},58,{row}^FS^XZ\n".encode() for _ in range(40))
            job = d.submit("zebra", big)
            wait_until(lambda: d.workers["zebra"].current == job.id, what="on the wire")
            assert main(["pause", "zebra"]) == 0
            out = capsys.readouterr().out.strip()
            assert out == f"printer zebra: paused after job {job.id} (now printing it)", out
            d.workers["zebra"].abort()  # let the stop be quick
