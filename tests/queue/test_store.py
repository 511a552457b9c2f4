"""The SQLite job store: states, FIFO, idempotency, crash recovery, payload files."""

from __future__ import annotations

import sqlite3

import pytest

from printstation.errors import BadInput
from printstation.queue.store import Conflict, JobStore, NotFound, StoreLocked


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path / "data")
    yield s
    s.close()


def test_submit_persists_row_and_payload(tmp_path, store):
    job, created = store.submit("p1", b"^XA^XZ", name="../../etc/a.zpl", source="hotfolder", source_ref="x")
    assert created and job.state == "queued" and job.attempts == 0 and job.name == "a.zpl"
    assert store.payload(job.id) == b"^XA^XZ"
    store.save_converted(job.id, "zpl", b"converted")
    assert (tmp_path / "data" / "jobs" / f"{job.id}.zpl").read_bytes() == b"converted"
    db = sqlite3.connect(tmp_path / "data" / "queue.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT state, source, source_ref FROM jobs").fetchall() == [("queued", "hotfolder", "x")]


def test_fifo_per_printer(store):
    a = store.submit("p1", b"a")[0]
    store.submit("p2", b"b")
    c = store.submit("p1", b"c")[0]
    assert store.next_queued("p1").id == a.id
    store.mark_sending(a.id)
    store.mark_done(a.id)
    assert store.next_queued("p1").id == c.id
    assert store.next_queued("p3") is None


def test_state_machine(store):
    job = store.submit("p", b"x")[0]
    assert store.mark_done(job.id) is None  # not sending yet
    assert store.mark_sending(job.id).state == "sending"
    assert store.mark_sending(job.id) is None
    back = store.requeue(job.id, "tcp://x: connect: connection refused")
    assert back.state == "queued" and back.attempts == 1 and "refused" in back.error
    store.mark_sending(job.id)
    done = store.mark_done(job.id)
    assert done.state == "done" and done.error is None and done.sent and done.done
    with pytest.raises(Conflict):
        store.cancel(job.id)
    other = store.submit("p", b"y")[0]
    assert store.cancel(other.id).state == "canceled"
    assert store.mark_sending(other.id) is None
    bad = store.submit("p", b"z")[0]
    assert store.fail(bad.id, "unrecognised label format").error == "unrecognised label format"
    with pytest.raises(NotFound):
        store.get(9999)


def test_idempotency_key_and_reprint(store):
    a, created = store.submit("p", b"label", key="wb-order-123")
    again, created2 = store.submit("p", b"other", key="wb-order-123")
    assert created and not created2 and again.id == a.id
    r, created3 = store.submit("p", b"label", key="wb-order-123", reprint=True)
    assert created3 and r.id != a.id and r.reprint_of == a.id and r.key is None
    assert store.find_key("wb-order-123").id == a.id
    rp = store.reprint(a.id)
    assert rp.reprint_of == a.id and store.payload(rp.id) == b"label"


def test_bad_submits(store):
    with pytest.raises(BadInput):
        store.submit("p", b"")
    with pytest.raises(Exception, match="copies"):
        store.submit("p", b"x", copies=0)


def test_recover_sending_jobs(tmp_path):
    s = JobStore(tmp_path)
    hold = s.submit("hold", b"a")[0]
    resend = s.submit("resend", b"b")[0]
    queued = s.submit("hold", b"c")[0]
    s.mark_sending(hold.id)
    s.mark_sending(resend.id)
    s.close()  # the "crash"

    s = JobStore(tmp_path)
    out = {j.id: j for j in s.recover(lambda p: p == "resend")}
    assert out[hold.id].state == "interrupted" and "may or may not have printed" in out[hold.id].error
    assert out[resend.id].state == "queued" and out[resend.id].resends == 1
    assert s.get(queued.id).state == "queued"
    # Resent once only: a second crash while resending leaves it interrupted.
    s.mark_sending(resend.id)
    s.close()
    s = JobStore(tmp_path)
    assert {j.id: j.state for j in s.recover(lambda p: True)} == {resend.id: "interrupted"}
    assert s.cancel(hold.id).state == "canceled"  # an interrupted job can be canceled
    s.close()


def test_orphan_payloads_are_removed_and_lock_is_exclusive(tmp_path):
    s = JobStore(tmp_path)
    job = s.submit("p", b"x")[0]
    with pytest.raises(StoreLocked):
        JobStore(tmp_path)
    s.close()
    orphan = tmp_path / "jobs" / f"{job.id + 1}.zpl"
    orphan.write_bytes(b"half")
    (tmp_path / "jobs" / ".7.zpl.1.2.tmp").write_bytes(b"tmp")
    s = JobStore(tmp_path)
    assert not orphan.exists() and s.payload(job.id) == b"x"
    assert not list((tmp_path / "jobs").glob(".*.tmp"))
    s.close()


def test_paused_flag_persists(tmp_path):
    s = JobStore(tmp_path)
    s.set_paused("p", True)
    s.close()
    s = JobStore(tmp_path)
    assert s.paused() == {"p"}
    s.set_paused("p", False)
    assert s.paused() == set()
    s.close()
