"""Poison never blocks a printer: any exception while converting fails that job with a one-line
reason, the next job prints, the loop logs once and does not spin."""

from __future__ import annotations

import logging
import os

import pytest

from printstation.face.config import loads
from printstation.errors import BadInput
from printstation.lang.zpl import passthrough
from printstation.queue.store import JobStore
from printstation.queue.worker import PrinterWorker
from printstation.spec import PrinterSpec
from support.daemon_harness import wait_until


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path)
    yield s
    s.close()


def run_jobs(tmp_path, store, convert, payloads, until):
    """Queue ``payloads`` on a dir:// printer worker; stop once job number ``until`` is done."""
    cfg = loads(f'[[printers]]\nname = "p"\nuri = "dir://{tmp_path / "out"}"\nstatus_poll = 0\n').printers[0]
    w = PrinterWorker(cfg, store, convert)
    store.on_change(lambda job: w.wake())
    w.start()
    try:
        jobs = [store.submit("p", p)[0] for p in payloads]
        wait_until(lambda: store.get(jobs[until].id).state == "done", 20)
    finally:
        w.stop()
        w.join(5)
    return jobs


def test_any_conversion_exception_fails_only_that_job(tmp_path, store, caplog):

    def convert(data, spec):
        if data.startswith(b"BOOM"):
            raise AssertionError("renderer bug")
        if data.startswith(b"DEEP"):
            raise RecursionError("maximum recursion depth exceeded")
        return [b"^XA" + data + b"^XZ"]

    caplog.set_level(logging.WARNING)
    bad1, bad2, good = run_jobs(tmp_path, store, convert, [b"BOOM1", b"DEEP1", b"GOOD1"], 2)
    assert store.get(bad1.id).state == "failed" and store.get(bad1.id).error == "conversion failed: AssertionError"
    assert store.get(bad2.id).error == "conversion failed: RecursionError"
    assert (tmp_path / "out" / f"{good.id}.zpl").read_bytes() == b"^XAGOOD1^XZ"
    assert sum("BOOM1" in r.getMessage() or "Traceback" in r.getMessage() for r in caplog.records) == 0


def test_a_store_error_mid_step_fails_that_job_and_goes_on(tmp_path, store, monkeypatch):
    real = store.save_converted
    calls = []

    def flaky(job_id, ext, data):
        calls.append(job_id)
        if data.startswith(b"^XAODD"):
            raise ValueError("unexpected")
        return real(job_id, ext, data)

    monkeypatch.setattr(store, "save_converted", flaky)
    odd, ok = run_jobs(tmp_path, store, lambda data, spec: [b"^XA" + data + b"^XZ"], [b"ODD", b"OK"], 1)
    assert store.get(odd.id).state == "failed" and store.get(odd.id).error == "internal error: ValueError"
    assert calls.count(odd.id) == 1  # failed once, not retried in a loop


@pytest.mark.parametrize("zpl, reason", [
    (b"~XA^XZ", "no ^XA start command"),
    (b"^XA^FO" + b"1" * 5000 + b"^XZ", "a number with 5000 digits"),
    # long field data is not a number: judged by the layout check (it runs off the media)
    (b"^XA^FO10,10^FD" + b"9" * 4301 + b"^FS^XZ", "label layout is"),
    (b"^XA^FO10,10^FB400,200,0,L^A0N,20,20^FD" + b"9" * 60 + b"^FS^XZ", None),
    (b"^XA^FT1," + b"2" * 20 + b"^XZ", "a number with 20 digits"),
    (b"^XA^FDok^FS^XZ^XA^FO10,10^FDcut", "truncated ZPL"),
    (b"^XA^GFC,9999,9999,10,\x01\x02^XZ", "truncated ^GF graphic"),
    (b"^XA^GFB," + b"9" * 30 + b",1,1,\x01^XZ", "more than 7 digits"),
    (b"^XA^FO0,0^GFB,2,2,1,\x00\x01^FS^XZ", None),
    (b"~DGR:X.GRF,99999999999,99999999,FF\n^XA^FO0,0^XGR:X.GRF,1,1^FS^XZ", "~DG graphic has a size"),
    (b"~DGR:12345678.GRF,4,2,FFFF0000\n^XA^FO0,0^XGR:12345678.GRF,1,1^FS^XZ", None),  # digits in a name
])
def test_zpl_passthrough_refuses_poison_with_a_reason(zpl, reason):
    if reason is None:
        assert passthrough(zpl, PrinterSpec())
        return
    with pytest.raises(BadInput, match=reason.replace("^", r"\^")):
        passthrough(zpl, PrinterSpec())


def test_a_planted_converted_file_is_never_printed(tmp_path, store):
    """A symlink (to a private file) planted as ``jobs/<id>.zpl`` is not read: the job converts
    its own bytes again and prints them; the orphan sweep never removes what it did not write."""
    secret = tmp_path / "secret.zpl"
    secret.write_bytes(b"^XASECRET^XZ")
    job = store.submit("p", b"MINE")[0]
    os.symlink(secret, store.converted_path(job.id, "zpl"))
    assert store.converted(job.id, "zpl") is None
    os.unlink(store.converted_path(job.id, "zpl"))
    os.symlink(secret, store.converted_path(99, "zpl"))  # an orphan that is a symlink
    store.close()
    again = JobStore(tmp_path)
    try:
        assert os.path.islink(again.converted_path(99, "zpl")) and secret.exists()
    finally:
        again.close()
