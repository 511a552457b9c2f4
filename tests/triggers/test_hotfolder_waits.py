"""A hot-folder file whose check is cut short by a shutdown (ConversionAborted) or whose job
cannot be recorded because the shared database is away (StoreUnavailable) stays where it is:
not failed, not done, no job — it is taken at the next start / the next look."""

from __future__ import annotations

import threading

import pytest

from printstation.errors import ConversionAborted, StoreUnavailable
from printstation.triggers.hotfolder import HotFolder
from printstation.triggers.rules import ScanSettings
from printstation.triggers.service import ScanService
from printstation.triggers.state import TriggerState

from .conftest import StoreSubmitter, zpl


@pytest.mark.parametrize("exc", [ConversionAborted("conversion stopped: the daemon is shutting down"),
                                 StoreUnavailable("database x unreachable: refused")])
def test_file_stays_when_the_check_is_cut_short_or_the_store_is_away(tmp_path, store, printers, exc):
    hot = tmp_path / "hot"
    (hot / "default").mkdir(parents=True)
    (hot / "default" / "a.zpl").write_bytes(zpl("KEEP"))
    checked = threading.Event()

    def validate(data, spec):
        checked.set()
        raise exc

    sub = StoreSubmitter(store)
    scans = ScanService(ScanSettings(), TriggerState(tmp_path / "data" / "triggers.sqlite"), sub,
                        printers=printers, default_printer="default")
    folder = HotFolder(hot, sub, printers=printers, default_printer="default", scans=scans,
                       validate=validate, settle_ms=50)
    folder.start()
    try:
        assert checked.wait(15), "the file was never checked"
    finally:
        folder.stop()  # joins the folder's thread: the check that raised has been handled
    assert (hot / "default" / "a.zpl").read_bytes() == zpl("KEEP")
    assert not (hot / ".failed").exists() and not (hot / ".done").exists()
    assert store.list_jobs() == [] and folder.failed == 0
