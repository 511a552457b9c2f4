"""Storage backends by database URL scheme (``queue.backends.STORE_BACKENDS``): a new backend is
one module plus one table line (and its trigger state's line); an unknown scheme is one clear line
that shows no secret."""

from __future__ import annotations

import pytest

from printstation.errors import ConfigError
from printstation.face import config
from printstation.queue import backends
from printstation.triggers import station as trigger_station
from support import toystore
from support.daemon_harness import dir_printers_config, running, wait_until
from support.labelgen import wb_sticker_svg


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(backends.STORE_BACKENDS, "toy", "support.toystore")
    monkeypatch.setitem(trigger_station.STATE_BACKENDS, "toy", "support.toystore")
    toystore.OPENED.clear()
    return toystore


def test_a_backend_added_by_one_line_runs_a_station(tmp_path, toy):
    cfg = dir_printers_config(tmp_path, {"p": "zpl"}, hot=False, database='"toy://shelf"')
    c = config.load(cfg)
    assert c.station.database == "toy://shelf"
    with running(cfg) as d:
        assert type(d.store).__name__ == "ToyJobStore"
        job = d.submit("p", wb_sticker_svg("1234567"), source="api")
        wait_until(lambda: d.store.get(job.id).state == "done", 30)
    shelf = tmp_path / "data" / "toy-shelf"
    assert [k for k, _ in toy.OPENED] == ["store", "state"]
    assert all(p == shelf for _, p in toy.OPENED)
    assert (shelf / "queue.sqlite3").exists() and (shelf / "triggers.sqlite").exists()
    assert not (tmp_path / "data" / "queue.sqlite3").exists(), "not the embedded store"
    assert list((tmp_path / "out" / "p").iterdir()), "the label reached the printer"


def test_the_backend_checks_its_own_url(tmp_path, toy):
    cfg = dir_printers_config(tmp_path, {"p": "zpl"}, hot=False, database='"toy://NOT-OK"')
    with pytest.raises(ConfigError, match=r"station\.database: database 'toy://NOT-OK': a toy URL is toy://NAME"):
        config.load(cfg)


def test_an_unknown_scheme_names_the_backends_and_never_the_secret(tmp_path):
    cfg = dir_printers_config(tmp_path, {"p": "zpl"}, hot=False, database='"mysql://u:hunter2@db/x"')
    with pytest.raises(ConfigError) as err:
        config.load(cfg)
    msg = str(err.value)
    assert msg.endswith("station.database: database 'mysql://…': only postgresql://… URLs are supported "
                        "(leave it unset for the embedded SQLite store)")
    assert "hunter2" not in msg


def test_no_backend_module_is_imported_without_a_database_url():
    import subprocess
    import sys

    code = ("import sys; from printstation.queue.backends import open_store, check_database_url; "
            "print(any(m.startswith(('printstation.queue.pgstore', 'psycopg')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
