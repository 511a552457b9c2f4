"""Log lines: key=value events, journal mode, levels, and tokens redacted everywhere."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from printstation import logs

TOKEN = "wbTOKEN-5f2c9e7a1b3d4c6e8f0a"
JWT = "eyJhbGciOiJFUzI1NiJ9.eyJlbnQiOjEsImV4cCI6MTc0fQ.c2lnbmF0dXJlLXNpZw"


@pytest.fixture
def stream(monkeypatch):
    """Our real stderr handler, writing into a file we can read back."""
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    logs.forget_secrets()
    root = logging.getLogger()
    old_level, old_handlers = root.level, list(root.handlers)
    logs.setup_logging()
    handler = next(h for h in root.handlers if getattr(h, "_printstation", False))
    import io

    buf = io.StringIO()
    handler.setStream(buf)
    yield buf
    for h in list(root.handlers):
        if h not in old_handlers:
            root.removeHandler(h)
    root.setLevel(old_level)
    logs.forget_secrets()


def test_log_event_renders_key_value_fields(stream):
    log = logging.getLogger("printstation.test")
    logs.log_event(log, "job.done", job=12, printer="zebra 1", state="done", duration=0.1234, name="n")
    log.warning("printer offline", extra={"printer": "tsc", "reason": 'said "no"'})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith('INFO printstation.test: job.done job=12 printer="zebra 1" state=done '
                             'duration=0.123 name=n')
    assert lines[1].endswith('WARNING printstation.test: printer offline printer=tsc reason="said \\"no\\""')
    # Not under journald: the line starts with a timestamp.
    assert lines[0][:4].isdigit()


def test_secrets_and_jwts_never_reach_a_line(stream, caplog):
    caplog.set_level(logging.DEBUG)
    logs.register_secret(TOKEN)
    log = logging.getLogger("printstation.markets.wb")
    log.info("calling with %s", TOKEN)
    log.info("header", extra={"headers": {"Authorization": TOKEN}})
    log.info(f"raw jwt {JWT} and Authorization: Bearer sometokenvalue99")
    logs.log_event(log, "wb.call", token=TOKEN, url=f"https://x/?t={TOKEN}")
    try:
        raise RuntimeError(f"refused token {TOKEN}")
    except RuntimeError:
        log.exception("call failed")
    out = stream.getvalue()
    for text in (out, caplog.text, "\n".join(r.getMessage() for r in caplog.records)):
        assert TOKEN not in text
        assert JWT not in text
        assert "sometokenvalue99" not in text
    assert out.count("***") >= 6
    assert "Traceback" in out and "RuntimeError: refused token ***" in out


def test_cli_error_line_is_redacted():
    from printstation.face.cli import fail

    logs.register_secret(TOKEN)
    try:
        r = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(f"""
                from printstation import logs
                from printstation.face.cli import fail
                logs.register_secret({TOKEN!r})
                fail("token {TOKEN} refused", 4)
                import logging; logs.setup_logging()
                raise SystemExit(0)
            """)], capture_output=True, text=True, timeout=60)
    finally:
        logs.forget_secrets()
    assert r.returncode == 0
    assert r.stderr.strip() == "printstation: error: token *** refused"
    assert fail  # imported: the CLI module exposes fail()


def run_logging(env: dict[str, str], stderr_path: Path, code: str) -> str:
    """Run ``code`` in a child whose stderr is a file; return that file's text."""
    with open(stderr_path, "w") as err:
        st = os.fstat(err.fileno())
        env = {k: v.replace("@STDERR@", f"{st.st_dev}:{st.st_ino}") for k, v in env.items()}
        full = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "PRINTSTATION_LOG_LEVEL")}
        full.update(env)
        subprocess.run([sys.executable, "-c", code], stderr=err, env=full, timeout=60, check=True)
    return stderr_path.read_text()


CHILD = """
import logging
from printstation import logs
logs.setup_logging(verbosity=VERB, level=__import__("os").environ.get("PRINTSTATION_LOG_LEVEL"))
logs.set_config_level(CONF)
log = logging.getLogger("printstation.face.daemon")
log.debug("debug line")
logs.log_event(log, "job.sent", job=1, printer="p1", state="done", duration=0.5)
log.error("boom")
"""


def child(verb: int = 0, conf: str | None = None) -> str:
    return CHILD.replace("VERB", str(verb)).replace("CONF", repr(conf))


def test_journal_stream_drops_timestamp_and_adds_priority(tmp_path):
    out = run_logging({"JOURNAL_STREAM": "@STDERR@"}, tmp_path / "err", child())
    assert out.splitlines() == [
        "<6>INFO printstation.face.daemon: job.sent job=1 printer=p1 state=done duration=0.500",
        "<3>ERROR printstation.face.daemon: boom",
    ]
    # JOURNAL_STREAM inherited by a process whose stderr is elsewhere: keep timestamps.
    out = run_logging({"JOURNAL_STREAM": "1:2"}, tmp_path / "err2", child())
    assert out.splitlines()[0][:4].isdigit()


@pytest.mark.parametrize("env_level, verb, conf, debug_shown, info_shown", [
    (None, 0, None, False, True),           # default INFO
    (None, 0, "debug", True, True),         # [station] log_level
    (None, 0, "error", False, False),
    ("warning", 0, "debug", False, False),  # env wins over the config
    ("error", 2, "error", True, True),      # -vv wins over everything
])
def test_level_precedence(tmp_path, env_level, verb, conf, debug_shown, info_shown):
    env = {"JOURNAL_STREAM": "@STDERR@"}
    if env_level:
        env["PRINTSTATION_LOG_LEVEL"] = env_level
    out = run_logging(env, tmp_path / "err", child(verb, conf))
    assert ("debug line" in out) is debug_shown
    assert ("job.sent" in out) is info_shown
    assert "boom" in out


def test_wb_cli_with_bad_and_good_token_never_prints_it(tmp_path):
    """`printstation -vv wb stickers …` against the fake WB: the token is in no line of stderr."""
    from support.fakes.fake_wb import FakeWB

    bad = "wbtok.BAD-" + "x7" * 20
    with FakeWB(rate_per_min=None) as wb:
        order = wb.add_order(status="confirm")["id"]
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("PRINTSTATION_") and k not in ("CREDENTIALS_DIRECTORY", "JOURNAL_STREAM")}
        for token, want in ((bad, 4), (wb.token, 0)):
            env = {**base, "PRINTSTATION_WB_URL": wb.url, "PRINTSTATION_WB_TOKEN": token}
            r = subprocess.run([sys.executable, "-m", "printstation", "-vv", "wb", "stickers", str(order),
                                "-o", str(tmp_path / "out")], capture_output=True, text=True, env=env,
                               timeout=120, cwd=Path(__file__).resolve().parents[2])
            assert r.returncode == want, r.stderr
            assert token not in r.stderr and token not in r.stdout
            assert r.stderr.strip(), "-vv must log something"
    assert (tmp_path / "out" / f"wb-order-{order}.zpl").exists()


def test_job_state_lines(stream):
    from types import SimpleNamespace

    from printstation.queue.joblog import log_job

    job = SimpleNamespace(id=7, printer="zebra", state="queued", source="hotfolder", attempts=0,
                          created=100.0, sent=None, done=None, error=None)
    log_job(job)
    log_job(SimpleNamespace(**{**job.__dict__, "state": "sending", "attempts": 1, "sent": 100.2}))
    log_job(SimpleNamespace(**{**job.__dict__, "state": "done", "attempts": 1, "sent": 100.2,
                                    "done": 100.45}))
    log_job(SimpleNamespace(**{**job.__dict__, "id": 8, "state": "failed", "done": 101.0,
                                    "error": "label 1: barcode would not scan"}))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, "sending is a debug line"
    assert lines[0].endswith("INFO printstation.jobs: job job=7 printer=zebra state=queued source=hotfolder")
    assert lines[1].endswith("INFO printstation.jobs: job job=7 printer=zebra state=done source=hotfolder "
                             "attempts=1 duration=0.450 send=0.250")
    assert lines[2].endswith('WARNING printstation.jobs: job job=8 printer=zebra state=failed source=hotfolder '
                             'duration=1.000 error="label 1: barcode would not scan"')


def test_uncaught_tracebacks_are_redacted():
    code = textwrap.dedent(f"""
        import threading
        from printstation import logs
        logs.setup_logging()
        logs.register_secret({TOKEN!r})
        t = threading.Thread(target=lambda: 1 / 0 if False else (_ for _ in ()).throw(
            ValueError("thread saw {TOKEN}")))
        t.start(); t.join()
        raise RuntimeError("main saw {TOKEN}")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "ValueError: thread saw ***" in r.stderr and "RuntimeError: main saw ***" in r.stderr
    assert TOKEN not in r.stderr


def test_repeated_tries_of_a_queued_job_are_debug(stream):
    """A job waiting for an unreachable printer is retried every few seconds (backoff up to 30 s):
    its first failed try is INFO, the repeats DEBUG — not an INFO "state=queued" line every retry
    all night for a printer left off (going offline and back are the worker's own lines)."""
    from types import SimpleNamespace

    from printstation.queue.joblog import log_job

    job = SimpleNamespace(id=3, printer="gone", state="queued", source="api", attempts=0,
                          created=100.0, sent=None, done=None, error=None)
    log_job(job)
    for n in range(1, 6):
        log_job(SimpleNamespace(**{**job.__dict__, "attempts": n, "error": "tcp://h:9100: connect: connection refused"}))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith("job job=3 printer=gone state=queued source=api")
    assert "attempts=1 " in lines[1] and "connection refused" in lines[1]
