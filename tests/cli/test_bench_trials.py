"""Issue 13, at the bench: ``print`` checks files before queueing and tells the truth at once,
``--wait``, ``jobs``/``scans`` views, replies naming printer trouble, the ready line and the
"daemon not running" hint. A real daemon (in-process) on TCP printer sinks."""

from __future__ import annotations

import io
import json
import logging
import zipfile

import httpx
import pytest

from printstation.face.cli import main
from support.daemon_harness import running, wait_until, write_config, zpl_values
from support.labelgen import pdf_label, wb_sticker_png, wb_sticker_svg, wb_sticker_zpl
from support.printer_sinks import MuteSink, RecordingSink


@pytest.fixture
def bench(tmp_path, monkeypatch):
    with RecordingSink() as zebra, RecordingSink() as tsc, MuteSink() as mute:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
            {"name": "zebra", "uri": zebra.uri},
            {"name": "tsc", "uri": tsc.uri, "lang": "tspl", "media": "58x40"},
            {"name": "big", "uri": f"dir://{tmp_path}/big", "lang": "tspl", "media": "100x150"},
            {"name": "mute", "uri": mute.uri, "status_poll": 30.0, "timeout": 1.0},
        ], api={"unix_socket": False})
        with running(cfg) as d:
            monkeypatch.setenv("PRINTSTATION_API", d.api.url)
            yield d, {"zebra": zebra, "tsc": tsc, "mute": mute}, tmp_path


def label_file(tmp, name: str, data: bytes):
    f = tmp / name
    f.write_bytes(data)
    return f


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.mark.parametrize("name, data, printer, words", [
    ("notes.docx", _docx(), None, "unrecognised label format"),
    ("empty.pdf", b"", None, "empty"),
    ("blank.zpl", b"   \n", None, "whitespace"),
    ("order.zpl", wb_sticker_zpl("!z1"), "tsc", "ZPL cannot be printed on tsc (TSPL printer)"),
])
def test_print_refuses_bad_files_before_queueing_anything(bench, capsys, name, data, printer, words):
    d, sinks, tmp = bench
    good = label_file(tmp, "good.png", wb_sticker_png("!good"))
    bad = label_file(tmp, name, data)
    argv = ["print", str(good), str(bad)] + (["--printer", printer] if printer else [])
    assert main(argv) == 3
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"printstation: error: {bad}: ") and words in lines[0]
    assert d.store.list_jobs() == []  # not even the good file was queued


def test_unknown_printer_exits_2_listing_the_printers(bench, capsys):
    d, sinks, tmp = bench
    f = label_file(tmp, "a.zpl", wb_sticker_zpl("!x"))
    assert main(["print", str(f), "--printer", "zebar"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "printstation: error: no printer named 'zebar' (configured printers: zebra, tsc, big, mute)"
    assert d.store.list_jobs() == []


def test_wait_exits_0_when_done_and_3_when_failed(bench, capsys):
    d, sinks, tmp = bench
    f = label_file(tmp, "a.zpl", wb_sticker_zpl("!wait1"))
    assert main(["print", str(f), "--wait"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["queued job 1 on zebra", "done job 1 on zebra"]
    assert d.store.get(1).state == "done" and zpl_values(sinks["zebra"].data) == ["!wait1"]
    # a 100×150 label for 58×40 media is refused (max_downscale 0.8 by default): exit 3
    label = label_file(tmp, "ali.pdf", pdf_label("RU123456785CN"))  # 100×150 mm onto 58×40 media
    assert main(["print", str(label), "--printer", "tsc", "--wait"]) == 3
    out, err = capsys.readouterr()
    # (the in-process daemon's own log lines share stderr here)
    errors = [line for line in err.splitlines() if line.startswith("printstation: error: ")]
    assert len(errors) == 1 and "label is 100×150 mm, printer tsc has 58×40 mm media" in errors[0]
    assert d.store.list_jobs(printer="tsc")[0].state == "failed"


def test_fit_prints_a_large_label_shrunk(bench, capsys):
    d, sinks, tmp = bench
    label = label_file(tmp, "ali.pdf", pdf_label("RU123456785CN"))
    assert main(["print", str(label), "--printer", "tsc", "--fit", "--wait"]) == 0
    job = d.store.list_jobs(printer="tsc")[0]
    assert job.state == "done" and job.fit
    assert b"BITMAP" in sinks["tsc"].data
    # the same label on the 100×150 printer needs no --fit
    assert main(["print", str(label), "--printer", "big", "--wait"]) == 0
    assert (tmp / "big").is_dir() and len(list((tmp / "big").iterdir())) == 1
    # and a 58×40 sticker (unitless SVG, PNG) is never refused
    svg, png = tmp / "s.svg", tmp / "s.png"
    svg.write_bytes(wb_sticker_svg("!s1"))
    png.write_bytes(wb_sticker_png("!s2"))
    assert main(["print", str(svg), str(png), "--printer", "tsc", "--wait"]) == 0


def test_reply_and_cli_name_a_mute_printer(bench, capsys):
    d, sinks, tmp = bench
    f = label_file(tmp, "m.zpl", wb_sticker_zpl("!mute"))
    assert main(["print", str(f), "--printer", "mute"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("queued job 1 on mute — printer mute: error: no answer to status query (~HS)"), line
    # the API answer carries it too
    r = httpx.post(d.api.url + "/jobs", params={"printer": "mute"}, content=wb_sticker_zpl("!m2"))
    body = r.json()
    assert r.status_code == 201 and body["state"] == "queued"
    assert body["printer_state"] == "error" and body["printer_reason"].startswith("no answer to status query")
    assert body["warning"].startswith("printer mute: error: no answer")
    # a healthy printer's answer has none of it
    ok = httpx.post(d.api.url + "/jobs", params={"printer": "zebra"}, content=wb_sticker_zpl("!ok")).json()
    assert "printer_state" not in ok and "warning" not in ok


def test_offline_printer_is_a_warning_in_the_log_with_the_status_poll_hint(bench, caplog):
    d, sinks, tmp = bench
    caplog.set_level(logging.INFO)
    d.submit("mute", wb_sticker_zpl("!log"))
    wait_until(lambda: d.workers["mute"].state == "error")
    recs = [r for r in caplog.records if r.name == "printstation.queue.worker" and "printer mute: error" in r.getMessage()]
    assert recs and recs[0].levelno == logging.WARNING
    assert "set status_poll = 0" in recs[0].getMessage()


def test_jobs_shows_copies_tries_and_the_whole_error(bench, capsys, monkeypatch):
    d, sinks, tmp = bench
    monkeypatch.setenv("COLUMNS", "100")
    label = label_file(tmp, "ali.pdf", pdf_label("RU123456785CN"))
    job = d.submit("tsc", label.read_bytes(), copies=3)
    wait_until(lambda: d.store.get(job.id).state == "failed")
    error = d.store.get(job.id).error
    assert len(error) > 100
    assert main(["jobs"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    head = lines[0].split()
    assert head == ["ID", "PRINTER", "STATE", "COPIES", "TRIES", "CREATED", "NAME", "ERROR"]
    row = lines[1].split()
    assert row[:5] == [str(job.id), "tsc", "failed", "3", "0"]
    assert all(len(line) <= 100 for line in lines)  # wrapped to the terminal
    assert " ".join(out.split()).endswith(" ".join(error.split()))  # nothing cut off
    assert main(["jobs", "--wide"]) == 0
    wide = capsys.readouterr().out.splitlines()
    assert len(wide) == 2 and wide[1].endswith(error)


def test_scans_command_shows_the_scan_log(bench, capsys):
    d, sinks, tmp = bench
    for code in ("hello", "PS:PAUSE", "PS:RESUME"):
        assert httpx.post(d.api.url + "/scan", json={"code": code, "printer": "zebra"}).status_code == 200
    assert main(["scans", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "TIME", "SCANNER", "PRINTER", "CODE", "ACTION", "OUTCOME", "JOB", "DETAIL"]
    assert len(lines) == 3 and "PS:RESUME" in lines[1] and "resumed" in lines[1] and "PS:PAUSE" in lines[2]
    assert main(["scans", "--json"]) == 0
    scans = json.loads(capsys.readouterr().out)["scans"]
    assert [s["code"] for s in scans] == ["PS:RESUME", "PS:PAUSE", "hello"]
    assert scans[2]["outcome"] == "unmatched"
    assert main(["scans", "--limit", "0"]) == 2


def test_cli_says_how_to_start_the_daemon(capsys, tmp_path):
    f = tmp_path / "a.zpl"
    f.write_bytes(wb_sticker_zpl("!x"))
    with socket_closed_port() as url:
        assert main(["print", str(f), "--api", url]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"printstation: error: cannot reach the printstation daemon at {url}")
    assert "printstation run" in err and len(err.splitlines()) == 1


def test_ready_line_says_where_labels_go(tmp_path, monkeypatch, caplog):
    """The embedded default config (what `make run` starts), in a scratch working directory."""
    from printstation.face import config
    from printstation.face.daemon import Daemon

    monkeypatch.chdir(tmp_path)
    cfg = config.loads(config.DEFAULT_TOML.replace('listen = "127.0.0.1:8631"', 'listen = "127.0.0.1:0"'))
    caplog.set_level(logging.INFO, logger="printstation.face.daemon")
    d = Daemon(cfg)
    d.start()
    try:
        msgs = [r.getMessage() for r in caplog.records if r.name == "printstation.face.daemon"]
        assert ("printer default → ./var/out (ZPL 58×40); drop files in ./var/hot/default or run "
                f"`printstation print FILE --api {d.api.url}`") in msgs  # port 0: not the CLI's default
    finally:
        d.stop(grace=5)


class socket_closed_port:
    """A loopback URL where nothing listens (a port bound and closed again)."""

    def __enter__(self) -> str:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_repeated_key_says_nothing_new_was_queued(bench, capsys):
    d, sinks, tmp = bench
    f = label_file(tmp, "k.zpl", wb_sticker_zpl("!key"))
    assert main(["print", str(f), "--key", "order-77", "--wait"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "queued job 1 on zebra"
    assert main(["print", str(f), "--key", "order-77"]) == 0
    assert capsys.readouterr().out.strip() == "key 'order-77' is job 1 on zebra (done): not queued again"
    assert len(d.store.list_jobs()) == 1 and zpl_values(sinks["zebra"].data) == ["!key"]


def test_unknown_format_is_refused_even_without_a_daemon(tmp_path, capsys):
    f = label_file(tmp_path, "notes.docx", _docx())
    with socket_closed_port() as url:
        assert main(["print", str(f), "--api", url]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"printstation: error: {f}: unrecognised label format") and len(err.splitlines()) == 1



def test_several_files_report_a_label_refused_behind_another(tmp_path, monkeypatch, capsys):
    """The refusal of a large label queued *behind* another file of the same `print` (the
    daemon answered before its printer looked at it) is still an error line and exit 3; the
    file in front prints. The printer holds the first label on the wire until the second is
    queued, so the daemon's answer for the second cannot know yet."""
    import threading

    from printstation.transport import memory

    sink = memory.sink("behind")
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
        {"name": "tsc", "uri": "memory://behind", "lang": "tspl", "media": "58x40"},
    ], api={"unix_socket": False})
    with running(cfg) as d:
        monkeypatch.setenv("PRINTSTATION_API", d.api.url)
        second_queued = threading.Event()

        def responder(data: bytes) -> bytes | None:
            if data.startswith(b"SIZE"):  # the first label: held until the second is queued
                wait_until(lambda: len(d.store.list_jobs()) >= 2, timeout=20)
                second_queued.set()
            return b"\x00" if data == b"\x1b!?" else None

        sink.responder = responder
        first = label_file(tmp_path, "first.svg", wb_sticker_svg("!front"))
        big = label_file(tmp_path, "ali.pdf", pdf_label("RU123456785CN"))  # 100×150 mm onto 58×40
        assert main(["print", str(first), str(big), "--printer", "tsc"]) == 3
        out, err = capsys.readouterr()
        assert second_queued.is_set()
        assert out.splitlines() == [f"{first}: queued job 1 on tsc", f"{big}: queued job 2 on tsc"]
        errors = [line for line in err.splitlines() if line.startswith("printstation: error: ")]
        assert errors == [f"printstation: error: {big}: job 2 failed: label is 100×150 mm, printer tsc has "
                          "58×40 mm media (it would print at 39% of its size; fetch it in the media's size "
                          "or print it with fit=1 / --fit)"], errors
        assert d.store.get(1).state == "done"
        # several good files: exit 0, nothing more said
        other = label_file(tmp_path, "other.png", wb_sticker_png("!back"))
        assert main(["print", str(first), str(other), "--printer", "tsc"]) == 0
        assert [line for line in capsys.readouterr().err.splitlines() if "error" in line] == []
