"""The storage contract, written once and run against every backend (SQLite, PostgreSQL).

``open_backend(data_dir)`` opens the backend on a data dir (a fresh database for PostgreSQL,
shared by every store opened in one test, as several stations share one database).
"""

from __future__ import annotations

import threading
import time

import pytest

from printstation.errors import BadInput, UsageError
from printstation.queue.backends import open_store
from printstation.queue.base import Conflict, JobBackend, JobState, NotFound, StoreLocked
from support.pg_server import pg, pg_url  # noqa: F401 - fixtures

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def open_backend(request, tmp_path):
    opened: list[JobBackend] = []
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None

    def open_(data_dir=None, station: str = "s1") -> JobBackend:
        s = open_store(data_dir or tmp_path / "data", url, station)
        opened.append(s)
        return s

    open_.backend = request.param
    yield open_
    for s in opened:
        try:
            s.close()
        except Exception:  # noqa: BLE001 - closed by the test already
            pass


@pytest.fixture
def store(open_backend):
    return open_backend()


def test_submit_get_payload_and_fields(store, tmp_path):
    job, created = store.submit("p1", b"^XA^XZ", copies=2, name="../../etc/a.zpl\x1b", source="hotfolder",
                                source_ref="x", fit=True)
    assert created and job.state == JobState.QUEUED == "queued" and job.attempts == 0
    assert job.name == "a.zpl\\x1b" and job.copies == 2 and job.fit is True and job.size == 6
    assert store.get(job.id) == job
    assert store.payload(job.id) == b"^XA^XZ"
    store.save_converted(job.id, "zpl", b"converted")
    assert store.converted(job.id, "zpl") == b"converted"
    assert (tmp_path / "data" / "jobs" / f"{job.id}.zpl").stat().st_mode & 0o777 == 0o640
    d = job.to_dict()
    assert d["state"] == "queued" and d["created"].endswith("Z")
    with pytest.raises(NotFound):
        store.get(job.id + 1000)
    with pytest.raises(NotFound):
        store.payload(job.id + 1000)


def test_fifo_claim_and_printers_apart(store):
    a = store.submit("p1", b"a")[0]
    b = store.submit("p2", b"b")[0]
    c = store.submit("p1", b"c")[0]
    assert store.next_queued("p1").id == a.id
    got = store.claim_next("p1")
    assert got.id == a.id and got.state == "sending" and got.sent is not None
    assert store.claim_next("p1").id == c.id
    assert store.claim_next("p1") is None
    assert store.next_queued("p2").id == b.id
    assert store.next_queued("p3") is None


def test_state_machine(store):
    seen = []
    store.on_change(lambda j: seen.append((j.id, str(j.state))))
    job = store.submit("p", b"x")[0]
    assert store.mark_done(job.id) is None  # not sending
    assert store.note_attempt(job.id, "offline").attempts == 1
    assert store.mark_sending(job.id).state == "sending"
    assert store.mark_sending(job.id) is None
    assert store.requeue(job.id, "reset").state == "queued"
    store.mark_sending(job.id)
    done = store.mark_done(job.id)
    assert done.state == "done" and done.error is None and done.done is not None and done.attempts == 2
    with pytest.raises(Conflict):
        store.cancel(job.id)
    f = store.submit("p", b"y")[0]
    assert store.fail(f.id, "bad label").error == "bad label"
    i = store.submit("p", b"z")[0]
    store.mark_sending(i.id)
    assert store.interrupt(i.id, "reset", resend=True).state == "queued"  # once
    store.mark_sending(i.id)
    it = store.interrupt(i.id, "reset", resend=True)
    assert it.state == "interrupted" and "may or may not have printed" in it.error
    assert store.cancel(i.id).state == "canceled"
    assert (job.id, "done") in seen and (i.id, "canceled") in seen


def test_idempotency_key_and_reprint(store):
    a, created = store.submit("p", b"x", key="k")
    b, again = store.submit("p", b"other", key="k")
    assert created and not again and b.id == a.id
    assert store.find_key("k").id == a.id and store.find_key("nope") is None
    r, created = store.submit("p", b"x", key="k", reprint=True)
    assert created and r.id != a.id and r.reprint_of == a.id and r.key is None
    rp = store.reprint(a.id)
    assert rp.reprint_of == a.id and store.payload(rp.id) == b"x"


def test_bad_submits(store):
    with pytest.raises(BadInput):
        store.submit("p", b"")
    with pytest.raises(UsageError):
        store.submit("p", b"x", copies=0)
    with pytest.raises(UsageError):
        store.submit("p", b"x", key="")
    with pytest.raises(UsageError):
        store.list_jobs(state="bogus")


def test_list_counts_bytes_and_purge(store):
    jobs = [store.submit("p1" if i % 2 else "p2", b"x" * (i + 1))[0] for i in range(5)]
    assert [j.id for j in store.list_jobs()] == [j.id for j in reversed(jobs)]
    assert [j.id for j in store.list_jobs(printer="p1")] == [jobs[3].id, jobs[1].id]
    assert len(store.list_jobs(limit=2)) == 2
    assert store.counts() == {("p1", "queued"): 2, ("p2", "queued"): 3}
    assert store.queued_bytes() == 1 + 2 + 3 + 4 + 5
    store.mark_sending(jobs[0].id)
    store.mark_done(jobs[0].id)
    store.fail(jobs[1].id, "no")
    store.mark_sending(jobs[2].id)
    store.interrupt(jobs[2].id, "x", resend=False)
    assert store.queued_bytes() == 4 + 5
    assert [j.id for j in store.list_jobs(state="done")] == [jobs[0].id]
    purged = store.purge_finished(time.time() + 10)
    assert purged == [(jobs[0].id, "done"), (jobs[1].id, "failed")]  # never the interrupted one
    with pytest.raises(NotFound):
        store.get(jobs[0].id)
    assert store.get(jobs[2].id).state == "interrupted"


def test_recover_and_pause_survive_a_restart(open_backend, tmp_path):
    s = open_backend()
    a = s.submit("p", b"a")[0]
    b = s.submit("q", b"b")[0]
    s.submit("p", b"c")
    s.mark_sending(a.id)
    s.mark_sending(b.id)
    s.set_paused("p", True)
    s.close()  # a crash: both were on the wire
    s = open_backend()
    assert s.paused() == {"p"}
    got = {j.id: j.state for j in s.recover(lambda printer: printer == "q")}
    assert got == {a.id: "interrupted", b.id: "queued"}
    assert s.get(b.id).resends == 1
    s.set_paused("p", False)
    assert s.paused() == set()


def test_one_daemon_per_data_dir(open_backend, tmp_path):
    open_backend()
    with pytest.raises(StoreLocked):
        open_backend()


def test_concurrent_claims_take_each_job_once(open_backend):
    s = open_backend()
    ids = {s.submit("p", b"%d" % i)[0].id for i in range(60)}
    taken: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while (job := s.claim_next("p")) is not None:
            with lock:
                taken.append(job.id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(ids)


def test_stations_share_keys_but_keep_their_jobs(open_backend, tmp_path):
    """Two stations on one store: keys are unique across them; each sees, claims, counts,
    recovers and pauses only its own printers' jobs (SQLite: one station per store)."""
    if open_backend.backend == "sqlite":
        pytest.skip("the embedded store belongs to one station")
    a = open_backend(tmp_path / "a", station="a")
    b = open_backend(tmp_path / "b", station="b")
    ja = a.submit("zebra", b"x", key="wb-order-1")[0]
    jb, created = b.submit("zebra", b"x", key="wb-order-1")
    assert not created and jb.id == ja.id and jb.station == "a"
    own = b.submit("zebra", b"y")[0]
    assert own.station == "b"
    assert b.next_queued("zebra").id == own.id and b.claim_next("zebra").id == own.id
    assert b.claim_next("zebra") is None
    assert [j.id for j in a.list_jobs()] == [ja.id] and [j.id for j in b.list_jobs()] == [own.id]
    assert {j.id for j in a.list_jobs(station="all")} == {ja.id, own.id}
    assert [j.id for j in a.list_jobs(station="b")] == [own.id]
    assert a.counts() == {("zebra", "queued"): 1} and b.counts() == {("zebra", "sending"): 1}
    b.set_paused("zebra", True)
    assert a.paused() == set() and b.paused() == {"zebra"}
    assert a.recover(lambda p: False) == [] and b.get(own.id).state == "sending"
    assert [j.id for j in b.recover(lambda p: False)] == [own.id]
    assert ja.to_dict()["station"] == "a"
