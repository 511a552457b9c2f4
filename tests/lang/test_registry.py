"""Adding a printer language touches one module: the registry line (+ the language's module).

A toy language ``toy`` (its module: ``tests/support/toylang.py``) gets its one line in
:data:`printstation.lang.registry.LANGUAGES`, and spec validation, the config, the CLI and a
printer worker (file extension, status polling) pick it up with no other change.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from printstation import convert as convert_label
from printstation.face.config import loads
from printstation.errors import ConfigError, UnsupportedConversion, UsageError
from printstation.face.cli import main
from printstation.lang import registry
from printstation.queue.store import JobStore
from printstation.queue.worker import PrinterWorker
from printstation.spec import LANGS, PrinterSpec
from printstation.status import parse_status
from printstation.storage import job_file_exts
from support import render_back as rb
from support.daemon_harness import wait_until
from support.labelgen import wb_sticker_png, wb_sticker_zpl
from support.printer_sinks import PaperOutSink
from support.toylang import toy_raster

ROOT = Path(__file__).resolve().parents[2]
TOY_MODULE = "support.toylang"
#: The registry line of the toy language, for a fresh process (the CLI converts in a child).
TOY_LINE = (f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); from printstation.lang import registry; "
            f"registry.LANGUAGES['toy'] = registry.Language('toy', 'toyb', module={TOY_MODULE!r}); ")


@pytest.fixture
def toy(monkeypatch):
    lang = registry.Language("toy", "toyb", module=TOY_MODULE)
    monkeypatch.setitem(registry.LANGUAGES, "toy", lang)
    return lang


# -- the tests -------------------------------------------------------------------------------


def test_registry_lists_every_language_once():
    assert tuple(LANGS) == ("zpl", "tspl", "escpos", "epl2", "png")
    assert tuple(registry.PRINTER_NAMES) == ("zpl", "tspl", "escpos", "epl2")
    assert {n: registry.extension(n) for n in LANGS} == {n: n for n in LANGS}
    polled = [n for n in LANGS if registry.get(n).status is not None]
    assert polled == ["zpl", "tspl", "escpos"]
    with pytest.raises(UsageError, match=r"unknown printer language 'cpcl' \(one of zpl, tspl, escpos, epl2, png\)"):
        registry.get("cpcl")


def test_spec_and_config_accept_a_registered_language(toy):
    assert "toy" in LANGS
    assert PrinterSpec(lang="toy").lang == "toy"
    cfg = loads('[[printers]]\nname = "t"\nuri = "memory://t"\nlang = "toy"\n').printers[0]
    assert cfg.spec.lang == "toy"
    assert parse_status("toy", b"\x04").reason == "toy trouble"
    assert "toyb" in job_file_exts()  # retention removes its converted files too
    with pytest.raises(UnsupportedConversion, match="ZPL cannot be converted for a TOY printer"):
        convert_label(wb_sticker_zpl("!Toy00003"), PrinterSpec(lang="toy"))


def test_unregistered_language_is_refused():
    with pytest.raises(UsageError, match="unknown printer language 'toy'"):
        PrinterSpec(lang="toy")
    with pytest.raises(ConfigError, match=r"printers\[0\]\.lang: bad value 'toy' \(one of zpl, tspl, escpos, epl2\)"):
        loads('[[printers]]\nname = "t"\nuri = "memory://t"\nlang = "toy"\n')


def test_cli_converts_to_a_registered_language(toy, tmp_path, capsys):
    src, out = tmp_path / "s.png", tmp_path / "s.toyb"
    src.write_bytes(wb_sticker_png("!Toy00001"))
    # a fresh single-threaded process: its conversion child is forked with the registry line
    code = TOY_LINE + f"from printstation.face.cli import main; sys.exit(main(['convert', {str(src)!r}, " \
        f"'--lang', 'toy', '-o', {str(out)!r}]))"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(b"TOY 464 320 1\n")  # 58x40 mm (the language's default media) at 203 dpi
    assert "!Toy00001" in rb.decode(toy_raster(data))
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    assert "{zpl,tspl,escpos,epl2,png,toy}" in capsys.readouterr().out


def test_worker_prints_and_polls_a_registered_language(toy, tmp_path):
    store = JobStore(tmp_path)
    with PaperOutSink() as sink:
        cfg = loads(f'[[printers]]\nname = "t"\nuri = "{sink.uri}"\nlang = "toy"\nstatus_poll = 0.05\n').printers[0]
        w = PrinterWorker(cfg, store, convert_label)
        store.on_change(lambda job: w.wake())
        w.start()
        try:
            job, _ = store.submit("t", wb_sticker_png("!Toy00002"))
            wait_until(lambda: w.reason == "toy trouble")  # asked in its own language: trouble
            assert store.get(job.id).state == "queued" and sink.data == b""
            sink.recover()
            wait_until(lambda: store.get(job.id).state == "done")
        finally:
            w.stop()
            w.join(5)
            store.close()
    assert len(sink.status_queries) >= 2
    assert "!Toy00002" in rb.decode(toy_raster(sink.data))
    assert (tmp_path / "jobs" / f"{job.id}.toyb").read_bytes() == sink.data  # the registry's extension


def test_asking_for_status_loads_no_raster_engine():
    code = ("from printstation.lang import registry\n"
            "assert [n for n in registry.NAMES if registry.get(n).status] == ['zpl', 'tspl', 'escpos']\n"
            "import sys; print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert not {"numpy", "PIL"} & set(out.stdout.split())
