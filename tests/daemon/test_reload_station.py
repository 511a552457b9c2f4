"""SIGHUP and ``[station]``: the default printer follows the reloaded file (it was kept from the
start: a printer renamed or removed left every submit without ``printer`` failing "no printer
named …"), and every other ``[station]`` key that changed is named in a warning (it needs a
restart) instead of being dropped silently."""

from __future__ import annotations

import logging

import httpx

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from support.daemon_harness import write_config
from support.labelgen import wb_sticker_zpl


def _config(tmp_path, names, default, **station):
    path = write_config(tmp_path / "ps.toml", tmp_path / "data", [
        {"name": n, "uri": f"dir://{tmp_path / 'out' / n}", "status_poll": 0} for n in names],
        api={"unix_socket": False})
    extra = "".join(f"{k} = {v}\n" for k, v in station.items())
    path.write_text(path.read_text().replace("[station]\n", f'[station]\ndefault_printer = "{default}"\n{extra}', 1))
    return path


def test_reload_applies_the_default_printer_and_names_station_keys_it_keeps(tmp_path, caplog):
    d = Daemon(configmod.load(_config(tmp_path, ["old", "tsc"], "old")))
    d.start()
    try:
        _config(tmp_path, ["zebra", "tsc"], "zebra", keep_days=3)  # "old" renamed "zebra"
        with caplog.at_level(logging.WARNING):
            assert d.reload()
        job = d.submit(None, wb_sticker_zpl("!default"))
        assert job.printer == "zebra"
        assert any("station.keep_days" in r.getMessage() and "restart" in r.getMessage() for r in caplog.records)
        assert not any("station.default_printer" in r.getMessage() for r in caplog.records)
    finally:
        d.stop()


def test_printers_keep_the_config_order_after_a_reload(tmp_path):
    """A printer whose settings changed was listed last after SIGHUP (``printers``, the web page)."""
    d = Daemon(configmod.load(_config(tmp_path, ["a", "b", "c"], "a")))
    d.start()
    try:
        path = _config(tmp_path, ["a", "b", "c", "d"], "a")
        path.write_text(path.read_text().replace(f'uri = "dir://{tmp_path / "out" / "a"}"',
                                                 f'uri = "dir://{tmp_path / "out" / "a2"}"'))
        assert d.reload()
        assert [p["name"] for p in d.printers()] == ["a", "b", "c", "d"]
        assert d.printers()[0]["uri"].endswith("a2")
    finally:
        d.stop()


def test_reload_names_trigger_sections_that_need_a_restart_and_nothing_else(tmp_path, caplog):
    """[[rules]], [hotfolder], [[scanners]], [scan], [sync], [markets], [webhooks] keep their
    start-time values on SIGHUP: a changed one is named in a warning instead of being dropped
    without a word; an unchanged file warns about nothing."""
    path = _config(tmp_path, ["a"], "a")
    rules = '\n[[rules]]\nmatch = "^X(\\\\d+)$"\naction = "wb-order"\n'
    path.write_text(path.read_text() + rules)
    d = Daemon(configmod.load(path))
    d.start()
    try:
        with caplog.at_level(logging.WARNING):
            assert d.reload()
        assert not [r for r in caplog.records if "changed" in r.getMessage()], caplog.text
        path.write_text(path.read_text().replace("^X(", "^Y(") + '\n[scan]\ndebounce_ms = 900\n')
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert d.reload()
        said = [r.getMessage() for r in caplog.records if "changed" in r.getMessage()]
        assert any("[rules] changed" in m and "restart" in m for m in said), said
        assert any("[scan] changed" in m for m in said) and len(said) == 2, said
    finally:
        d.stop()


def test_reload_that_removes_a_printer_with_queued_jobs_says_so(tmp_path, caplog):
    """Its jobs stay queued (nothing is lost; the printer may come back) — the log says how many
    and what to do, instead of the printer vanishing from the list with jobs nobody can see."""
    d = Daemon(configmod.load(_config(tmp_path, ["a", "b"], "a")))
    d.start()
    try:
        d.pause("b")
        d.submit("b", wb_sticker_zpl("!left"))
        _config(tmp_path, ["a"], "a")
        with caplog.at_level(logging.WARNING):
            assert d.reload()
        said = [r.getMessage() for r in caplog.records if "printer b" in r.getMessage()]
        assert any("removed" in m and "1 queued job" in m and "cancel" in m for m in said), caplog.text
        listed = httpx.get(f"{d.api.url}/jobs", params={"printer": "b"})  # the jobs the hint points at
        assert listed.status_code == 200 and [j["state"] for j in listed.json()["jobs"]] == ["queued"]
        assert httpx.get(f"{d.api.url}/jobs", params={"printer": "bb"}).status_code == 404  # a typo still is
    finally:
        d.stop()
