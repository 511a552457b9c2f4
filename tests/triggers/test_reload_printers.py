"""SIGHUP reload reaches the hot folder and the scan rules: a printer added, or one whose media
changed, is used by them at once (they kept the start-time printers: a 100×150 label dropped for
a printer just switched to 100×150 media was refused as "printer zebra has 58×40 mm media", and
the new printer's folder "no printer named …")."""

from __future__ import annotations

from printstation.face import config as configmod
from printstation.face.daemon import Daemon
from support.daemon_harness import wait_until, write_config
from support.labelgen import pdf_label, wb_sticker_svg


def _config(tmp_path, printers):
    return write_config(tmp_path / "ps.toml", tmp_path / "data", [
        {"name": n, "uri": f"dir://{tmp_path / 'out' / n}", "status_poll": 0, "media": media}
        for n, media in printers.items()], api={"unix_socket": False},
        extra=f'\n[hotfolder]\npath = "{tmp_path / "hot"}"\nsettle_ms = 100\n')


def test_reload_gives_the_hot_folder_new_and_changed_printers(tmp_path):
    path = _config(tmp_path, {"zebra": "58x40"})
    d = Daemon(configmod.load(path))
    d.start()
    try:
        _config(tmp_path, {"zebra": "100x150", "extra": "58x40"})
        assert d.reload()
        hot = tmp_path / "hot"
        wait_until(lambda: (hot / "extra").is_dir(), what="the new printer's folder")
        (hot / "zebra" / "big.pdf").write_bytes(pdf_label("LP0012345678", (100, 150)))
        (hot / "extra" / "s.svg").write_bytes(wb_sticker_svg("!reload1"))
        done = wait_until(lambda: sorted(p.name for p in (tmp_path / "out").rglob("*.zpl")) or None
                          if len(list((tmp_path / "out").rglob("*.zpl"))) == 2 else None,
                          what="both files printed")
        assert len(done) == 2
        assert not (hot / ".failed").exists() or not any((hot / ".failed").iterdir())
        jobs = {j.name: j for j in d.store.list_jobs(limit=10)}
        assert jobs["big.pdf"].printer == "zebra" and jobs["s.svg"].printer == "extra"
    finally:
        d.stop()
