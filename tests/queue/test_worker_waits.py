"""The printer worker's waits that are not the job's fault: a conversion cut short by a shutdown
keeps the job queued, and an unreachable job store is waited for with the one backoff helper
(0.2 s doubling up to 5 s, one warning per outage)."""

from __future__ import annotations

import logging
import threading

from printstation import convert
from printstation.errors import ConversionAborted, StoreUnavailable
from printstation.face.config import loads
from printstation.queue.base import JobState
from printstation.queue.store import JobStore
from printstation.queue.worker import PrinterWorker
from support.daemon_harness import wait_until
from support.labelgen import wb_sticker_zpl
from support.printer_sinks import RecordingSink


def printer_cfg(uri: str):
    return loads(f'[[printers]]\nname = "p"\nuri = "{uri}"\nstatus_poll = 1.0\n').printers[0]


def test_a_conversion_aborted_by_a_shutdown_keeps_the_job_queued(tmp_path):
    aborted = threading.Event()

    def converting(data, spec):
        if not aborted.is_set():
            aborted.set()
            raise ConversionAborted("conversion stopped: the daemon is shutting down")
        return convert(data, spec)

    store = JobStore(tmp_path / "data")
    with RecordingSink() as sink:
        w = PrinterWorker(printer_cfg(sink.uri), store, converting)
        store.on_change(lambda job: w.wake())
        w.start()
        try:
            job = store.submit("p", wb_sticker_zpl("!abrt0001"))[0]
            assert aborted.wait(15)
            wait_until(lambda: store.get(job.id).state in (JobState.DONE, JobState.FAILED), timeout=30)
        finally:
            w.stop()
    done = store.get(job.id)
    assert done.state == JobState.DONE and not done.error, done
    assert b"abrt0001" in sink.data
    store.close()


def test_an_unreachable_store_is_waited_for_with_backoff_and_one_warning(tmp_path, caplog):
    store = JobStore(tmp_path / "data")
    w = PrinterWorker(printer_cfg("dir://" + str(tmp_path / "out")), store, convert)
    away = StoreUnavailable("database x unreachable: refused")
    with caplog.at_level(logging.WARNING, logger="printstation.queue.worker"):
        waits = [w._store_away(away) for _ in range(8)]
    assert waits == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
    assert [r.getMessage() for r in caplog.records].count(f"printer p: {away}; waiting for it") == 1
    store.close()
