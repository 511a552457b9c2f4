"""Printer workers on cups:// against a real cupsd: queue states hold jobs, nothing is lost or
falsely finished, and the queue resumes by itself once CUPS is fixed."""

from __future__ import annotations

import pytest

from printstation.queue import worker as worker_mod
from printstation.queue.store import JobStore
from printstation.queue.worker import PrinterWorker
from support.cups_server import cups, cups_sink, cupsd_path  # noqa: F401 (fixtures)
from support.daemon_harness import wait_until, zpl_values
from support.labelgen import wb_sticker_zpl
from support.optional import needs
from support.printer_sinks import RecordingSink
from test_worker import converter, fast_backoff, printer_cfg, start, store  # noqa: F401 (fixtures)

pytestmark = needs(cupsd_path() is not None, "cupsd is not installed (apt-get install cups)")


@pytest.fixture
def sink(cups_sink):
    return cups_sink


class Counted:
    """Counts the worker's queue-state checks (to see it asks again while in trouble)."""

    def __init__(self, w: PrinterWorker) -> None:
        self.n = 0
        inner = w.transport.own_status

        def own_status(timeout: float):
            self.n += 1
            return inner(timeout)

        w.transport.own_status = own_status  # type: ignore[method-assign]


def printed(sink: RecordingSink, store: JobStore, job_id: int) -> bool:
    """The job is done and the sink holds exactly its bytes, once."""
    sent = store.converted(job_id, "zpl")
    return (store.get(job_id).state == "done" and bool(sent)
            and sink.wait_for(lambda s: s.data == sent, 15))


def test_job_goes_through_cups_byte_for_byte(cups, sink, store, converter):
    cups.add_raw_queue("q", f"socket://127.0.0.1:{sink.port}")
    w = start(printer_cfg(cups.uri("q"), status_poll=0.1), store, converter)
    try:
        jobs = [store.submit("p", wb_sticker_zpl(f"!cups{i}"))[0] for i in range(3)]
        wait_until(lambda: all(store.get(j.id).state == "done" for j in jobs), 20)
        sent = b"".join(store.converted(j.id, "zpl") for j in jobs)
        assert sink.wait_for(lambda s: s.data == sent, 15), (sink.data, cups.log())
        assert zpl_values(sink.data) == ["!cups0", "!cups1", "!cups2"]
        assert w.state in ("idle", "printing")
    finally:
        w.stop(), w.join(5)


@pytest.mark.parametrize("stop_it, fix_it, state, reason", [
    ("cupsdisable", "cupsenable", "paused", "CUPS queue disabled"),
    ("cupsreject", "cupsaccept", "error", "CUPS queue rejecting jobs"),
])
@pytest.mark.parametrize("status_poll", [0.1, 0])  # 0: the queue is still asked before each job
def test_disabled_or_rejecting_queue_holds_the_job_until_fixed(cups, sink, store, converter, status_poll,
                                                               stop_it, fix_it, state, reason):
    cups.add_raw_queue("q", f"socket://127.0.0.1:{sink.port}")
    cups.tool(stop_it, "q")
    w = start(printer_cfg(cups.uri("q"), status_poll=status_poll), store, converter)
    asked = Counted(w)
    try:
        job = store.submit("p", wb_sticker_zpl("!held"))[0]
        wait_until(lambda: w.state == state and asked.n >= 3)  # asked again while in trouble
        assert w.reason == reason
        assert store.get(job.id).state == "queued"
        assert cups.jobs("q") == [] and sink.data == b""  # nothing sits in CUPS either
        cups.tool(fix_it, "q")
        wait_until(lambda: store.get(job.id).state == "done", 20)
        assert printed(sink, store, job.id)
        wait_until(lambda: w.state in ("idle", "printing"))
        assert len(cups.jobs("q")) == 1
    finally:
        w.stop(), w.join(5)


def test_scheduler_down_is_offline_and_retried_until_it_is_back(cups, sink, store, converter):
    cups.add_raw_queue("q", f"socket://127.0.0.1:{sink.port}")
    cups.stop()
    w = start(printer_cfg(cups.uri("q"), status_poll=0.1), store, converter)
    asked = Counted(w)
    try:
        job = store.submit("p", wb_sticker_zpl("!later"))[0]
        wait_until(lambda: w.state == "offline" and asked.n >= 3)
        assert w.reason == f"CUPS scheduler at {cups.server} is not reachable"
        assert store.get(job.id).state == "queued"
        cups.start()
        wait_until(lambda: store.get(job.id).state == "done", 20)
        assert printed(sink, store, job.id)
    finally:
        w.stop(), w.join(5)


def test_missing_queue_is_an_error_and_the_job_waits_for_it(cups, sink, store, converter):
    w = start(printer_cfg(cups.uri("labels"), status_poll=0.1), store, converter)
    try:
        job = store.submit("p", wb_sticker_zpl("!missing"))[0]
        wait_until(lambda: w.state == "error")
        assert w.reason == f"CUPS queue labels does not exist on {cups.server}"
        assert store.get(job.id).state == "queued"
        cups.add_raw_queue("labels", f"socket://127.0.0.1:{sink.port}")
        wait_until(lambda: store.get(job.id).state == "done", 20)
        assert printed(sink, store, job.id)
    finally:
        w.stop(), w.join(5)


@pytest.mark.parametrize("trouble, state", [("reject", "error"), ("remove", "error"), ("stop", "offline")])
def test_failed_lp_requeues_the_job_never_interrupted(cups, sink, store, converter, monkeypatch,
                                                      trouble, state):
    """CUPS changes between the state check and ``lp``: lp fails, nothing spooled, job queued."""
    cups.add_raw_queue("q", f"socket://127.0.0.1:{sink.port}")
    w = start(printer_cfg(cups.uri("q"), status_poll=0.1), store, converter)
    try:
        first = store.submit("p", wb_sticker_zpl("!first"))[0]
        wait_until(lambda: store.get(first.id).state == "done", 20)
        # CUPS itself has finished it (a cupsd stopped mid-job prints that job again on restart)
        wait_until(lambda: cups.jobs("q", "not-completed") == [], 20)
        # a fresh good answer lets the next job go without asking: lp meets the trouble itself
        monkeypatch.setattr(worker_mod, "STATUS_FRESH", 3600.0)
        {"reject": lambda: cups.tool("cupsreject", "q"), "remove": lambda: cups.remove_queue("q"),
         "stop": cups.stop}[trouble]()
        job = store.submit("p", wb_sticker_zpl("!second"))[0]
        wait_until(lambda: store.get(job.id).attempts >= 1 and w.state == state)
        got = store.get(job.id)
        assert got.state == "queued" and got.error.startswith(cups.uri("q") + ": CUPS ")
        {"reject": lambda: cups.tool("cupsaccept", "q"),
         "remove": lambda: cups.add_raw_queue("q", f"socket://127.0.0.1:{sink.port}"),
         "stop": cups.start}[trouble]()
        wait_until(lambda: store.get(job.id).state == "done", 20)
        sent = store.converted(first.id, "zpl") + store.converted(job.id, "zpl")
        assert sink.wait_for(lambda s: s.data == sent, 15), sink.data
    finally:
        w.stop(), w.join(5)


@pytest.mark.slow
def test_station_over_http_shows_the_cups_state_and_prints_once_fixed(tmp_path, cups, sink):
    """The whole daemon: POST /jobs to a disabled CUPS queue, GET /printers says why it waits."""
    import httpx

    from support.daemon_harness import running, write_config

    cups.add_raw_queue("q", f"socket://127.0.0.1:{sink.port}")
    cups.tool("cupsdisable", "q")
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data",
                       [{"name": "cups", "uri": cups.uri("q"), "status_poll": 0.2}])
    with running(cfg) as d, httpx.Client(base_url=d.api.url, timeout=30) as http:
        job = http.post("/jobs", params={"printer": "cups"}, content=wb_sticker_zpl("!http")).json()

        def printer() -> dict:
            return next(p for p in http.get("/printers").json()["printers"] if p["name"] == "cups")

        wait_until(lambda: printer()["state"] == "paused")
        assert printer()["reason"] == "CUPS queue disabled"
        assert http.get(f"/jobs/{job['id']}").json()["state"] == "queued"
        cups.tool("cupsenable", "q")
        wait_until(lambda: http.get(f"/jobs/{job['id']}").json()["state"] == "done", 20)
        assert sink.wait_for(lambda s: zpl_values(s.data) == ["!http"], 15)
        assert printer()["state"] in ("idle", "printing")
