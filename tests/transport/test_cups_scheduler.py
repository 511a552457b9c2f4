"""cups:// against a real CUPS scheduler (private cupsd on 127.0.0.1) and a raw queue to a TCP sink.

Covers: ``lp -h SERVER -d QUEUE`` reaching a non-default server byte for byte, the queue states
(missing, disabled, rejecting, scheduler down) as printer states, ``lp`` failures that spool
nothing, and ``printstation doctor`` naming each state with its fix.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from printstation.face import doctor
from printstation.errors import TransportError
from printstation.status import query_status
from printstation.transport import from_uri
from printstation.transport.cups import CupsQueueError, CupsTransport, clean_tool_message
from support.cups_server import cups, cups_sink, cupsd_path, free_port  # noqa: F401 (fixtures)
from support.optional import needs
from support.printer_sinks import RecordingSink

ROOT = Path(__file__).resolve().parents[2]

needs_cupsd = needs(cupsd_path() is not None, "cupsd is not installed (apt-get install cups)")


@pytest.fixture
def sink(cups_sink):
    return cups_sink


def socket_uri(sink: RecordingSink) -> str:
    return f"socket://127.0.0.1:{sink.port}"


def status(t: CupsTransport):
    return query_status(t, "zpl", timeout=2.0)


def test_error_text_is_one_clean_line():
    assert clean_tool_message("/usr/bin/lp: Error - The printer or class does not exist.\n", "lp") \
        == "the printer or class does not exist"
    assert clean_tool_message('lp: Destination "q" is not accepting jobs.\n', "lp") \
        == 'destination "q" is not accepting jobs'
    assert clean_tool_message('lpstat: Invalid destination name in list "q".\n', "lpstat") \
        == 'invalid destination name in list "q"'


def test_server_option_comes_before_the_destination():
    cmd = from_uri("cups://print-server:631/Zebra").command("7")
    assert cmd[:5] == ["lp", "-h", "print-server:631", "-d", "Zebra"]
    assert from_uri("cups://Zebra").command(None) == ["lp", "-d", "Zebra", "-o", "raw", "-"]
    assert from_uri("cups://[::1]:631/Zebra").server == "[::1]:631"


@needs_cupsd
def test_job_reaches_the_sink_byte_for_byte_on_a_non_default_server(cups, sink, monkeypatch):
    # the machine's default server (if any) must not be used: point the default elsewhere
    monkeypatch.setenv("CUPS_SERVER", f"127.0.0.1:{free_port()}")
    cups.add_raw_queue("q", socket_uri(sink))
    payload = bytes(range(256)) * 40 + b"^XA^FDcups raw^FS^XZ\r\n\x00"
    t = from_uri(cups.uri("q"))
    st = status(t)
    assert (st.state, st.ok) == ("idle", True)
    t.write(payload, job_id="42", ext="zpl")
    assert sink.wait_bytes(len(payload), 15), cups.log()
    t.close()
    assert sink.wait_for(lambda s: len(s.connections) == 1 and s.data == payload, 5)
    assert sink.data == payload


@needs_cupsd
def test_default_server_from_the_environment(cups, sink, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", cups.server)
    cups.add_raw_queue("Zebra_ZD420", socket_uri(sink))
    t = from_uri("cups://Zebra_ZD420")
    assert status(t).state == "idle"
    label = b"^XA^FDdefault^FS^XZ"
    t.write(label, job_id="1")
    assert sink.wait_bytes(len(label), 15) and sink.data == label


@needs_cupsd
def test_queue_states(cups, sink):
    t = from_uri(cups.uri("q"))
    st = status(t)
    assert (st.state, st.reason) == ("error", f"CUPS queue q does not exist on {cups.server}")
    assert "lpadmin -h " + cups.server + " -p q -v " in t.fix_hint(st)

    cups.add_raw_queue("q", socket_uri(sink))
    assert status(t).state == "idle"

    cups.tool("cupsdisable", "q")
    st = status(t)
    assert (st.state, st.reason) == ("paused", "CUPS queue disabled")
    assert f"cupsenable -h {cups.server} q" in t.fix_hint(st)
    cups.tool("cupsdisable", "-r", "out of labels", "q")
    assert status(t).reason == "CUPS queue disabled (out of labels)"
    cups.tool("cupsenable", "q")

    cups.tool("cupsreject", "q")
    st = status(t)
    assert (st.state, st.reason) == ("error", "CUPS queue rejecting jobs")
    assert f"cupsaccept -h {cups.server} q" in t.fix_hint(st)
    cups.tool("cupsaccept", "q")
    assert status(t).state == "idle" and t.is_open

    cups.stop()
    st = status(t)
    assert (st.state, st.reason) == ("offline", f"CUPS scheduler at {cups.server} is not reachable")
    assert not t.is_open  # like a refused connection: the worker retries with backoff
    cups.start()
    assert status(t).state == "idle"
    assert sink.data == b""


@needs_cupsd
@pytest.mark.parametrize("trouble, state, reason", [
    ("reject", "error", "CUPS queue rejecting jobs"),
    ("remove", "error", "CUPS queue q does not exist on {server}"),
    ("stop", "offline", "CUPS scheduler at {server} is not reachable"),
])
def test_failed_lp_spools_nothing_and_says_why(cups, sink, trouble, state, reason):
    cups.add_raw_queue("q", socket_uri(sink))
    t = from_uri(cups.uri("q"))
    assert status(t).state == "idle"
    {"reject": lambda: cups.tool("cupsreject", "q"), "remove": lambda: cups.remove_queue("q"),
     "stop": cups.stop}[trouble]()
    with pytest.raises(CupsQueueError) as ei:
        t.write(b"^XA^FDnever^FS^XZ", job_id="5")
    err = ei.value
    assert err.transient is True and err.maybe_delivered is False
    assert err.printer_state == state
    assert str(err) == f"{cups.uri('q')}: " + reason.format(server=cups.server)
    assert "\n" not in str(err) and "lp: " not in str(err)
    if trouble != "stop":
        assert cups.jobs("q") == []


def test_missing_client_tools_are_permanent(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    t = from_uri("cups://Zebra")
    with pytest.raises(TransportError) as ei:
        t.open()
    assert ei.value.transient is False and "command is not installed" in str(ei.value)
    st = query_status(t, "zpl")
    assert st.state == "error" and "apt-get install cups-client" in t.fix_hint(st)


# -- doctor --------------------------------------------------------------------------------------


def doctor_config(tmp_path: Path, uri: str, status_poll: float = 3.0) -> Path:
    p = tmp_path / "printstation.toml"
    p.write_text(f"""
[station]
data_dir = "{tmp_path / 'data'}"

[api]
listen = "127.0.0.1:{free_port()}"

[[printers]]
name = "cups"
uri = "{uri}"
lang = "zpl"
status_poll = {status_poll}
""", encoding="utf-8")
    return p


def printer_row(checks: list[doctor.Check]) -> doctor.Check:
    return next(c for c in checks if c.name == "printer cups")


@needs_cupsd
def test_doctor_names_each_queue_state_with_its_fix(tmp_path, cups, sink, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    # status_poll = 0 does not turn the CUPS queue check off
    cfg = doctor_config(tmp_path, cups.uri("q"), status_poll=0)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}

    def check() -> doctor.Check:
        return printer_row(doctor.run_checks(cfg, timeout=3.0, env=env))

    c = check()
    assert c.ok is False and "does not exist" in c.detail and f"lpadmin -h {cups.server} -p q" in c.hint

    cups.add_raw_queue("q", socket_uri(sink))
    c = check()
    assert c.ok is True and "idle" in c.detail and "accepting" in c.detail

    cups.tool("cupsdisable", "q")
    c = check()
    assert c.ok is False and "paused (CUPS queue disabled)" in c.detail
    assert f"cupsenable -h {cups.server} q" in c.hint
    cups.tool("cupsenable", "q")

    cups.tool("cupsreject", "q")
    c = check()
    assert c.ok is False and "error (CUPS queue rejecting jobs)" in c.detail
    assert f"cupsaccept -h {cups.server} q" in c.hint
    cups.tool("cupsaccept", "q")

    cups.stop()
    c = check()
    assert c.ok is False and "offline" in c.detail and "not reachable" in c.detail
    assert "start the CUPS scheduler" in c.hint
    assert sink.data == b""


@needs_cupsd
def test_doctor_cli_marks_a_disabled_queue_with_a_cross(tmp_path, cups, sink):
    cups.add_raw_queue("q", socket_uri(sink))
    cups.tool("cupsdisable", "q")
    cfg = doctor_config(tmp_path, cups.uri("q"))
    proc = subprocess.run([sys.executable, "-m", "printstation", "doctor", "--config", str(cfg)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    row = [ln for ln in proc.stdout.splitlines() if "printer cups" in ln]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert row and row[0].startswith("✗") and "CUPS queue disabled" in row[0]
    assert f"fix: run cupsenable -h {cups.server} q" in proc.stdout
