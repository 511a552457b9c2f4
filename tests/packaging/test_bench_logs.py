"""Issue 13: redaction masks the secret only (never the words around it); a configured but
missing token_file and a printer going offline are WARNINGs; doctor and the log suggest
``status_poll = 0`` for a printer that never answers its status query."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from printstation import logs
from printstation.face import doctor
from printstation.face.config import loads
from support.printer_sinks import MuteSink


@pytest.fixture(autouse=True)
def _clean_secrets():
    logs.forget_secrets()
    yield
    logs.forget_secrets()


@pytest.mark.parametrize("text", [
    "markets.wb.token: tokens are not allowed in the config file; use token_file",
    "Authorization: Bearer …",
    "missing or wrong API token (Authorization: Bearer …)",
    "token: missing",
    "api_key = required, see README",
    "x-auth-token: header not sent",
])
def test_words_after_a_header_name_are_kept(text):
    assert logs.redact(text) == text


@pytest.mark.parametrize("text, secret", [
    ("Authorization: Bearer sometokenvalue99 sent", "sometokenvalue99"),
    ("call with token=abcDEFghiJKLmnoPQR", "abcDEFghiJKLmnoPQR"),
    ("x-api-key: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
    ('{"x-auth-token": "alitok.Q2hhbmdlTWU_4d2"}', "alitok.Q2hhbmdlTWU_4d2"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA== (proxy)", "dXNlcjpwYXNzd29yZA=="),
])
def test_only_the_secret_is_replaced(text, secret):
    out = logs.redact(text)
    assert secret not in out and out == text.replace(secret, "***")


def test_registered_secret_is_replaced_in_place_and_nothing_else():
    logs.register_secret("s3cr3t-Token-value")
    line = "WB refused s3cr3t-Token-value: tokens are not allowed here"
    assert logs.redact(line) == "WB refused ***: tokens are not allowed here"


def test_cli_error_keeps_its_words(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[printers]]\nname = "p"\nuri = "dir://./out"\n[markets.wb]\ntoken = "abc"\n')
    r = subprocess.run([sys.executable, "-m", "printstation", "run", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2
    assert "markets.wb.token: tokens are not allowed in the config file" in r.stderr, r.stderr


def station_config(tmp_path, printer: str, extra: str = ""):
    """A daemon config: data dir and API (ephemeral, no socket) in ``tmp_path``, one printer."""
    return loads(f"""
[station]
data_dir = "{tmp_path / 'data'}"
[api]
listen = "127.0.0.1:0"
unix_socket = false
[[printers]]
{printer}
{extra}""")


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_missing_or_empty_token_file_is_a_warning(tmp_path, caplog, kind):
    from printstation.face.daemon import Daemon

    printer = f'name = "p"\nuri = "dir://{tmp_path / "out"}"'
    token = tmp_path / f"{kind}-wb-token"
    if kind == "empty":
        token.write_text("")
    cfg = station_config(tmp_path, printer, f'[markets.wb]\ntoken_file = "{token}"\n')
    caplog.set_level(logging.INFO)
    d = Daemon(cfg)
    d.start()
    try:
        said = [r for r in caplog.records if r.getMessage().startswith("config: markets.wb.token_file")]
        assert said and said[0].levelno == logging.WARNING
        assert ("is empty" if kind == "empty" else "does not exist") in said[0].getMessage()
        assert "the wb marketplace stays off" in said[0].getMessage()
        recs = [r for r in caplog.records if r.name == "printstation.triggers"]
        wb = [r for r in recs if r.getMessage().startswith("WB labels off")]
        ali = [r for r in recs if r.getMessage().startswith("LAliExpress labels off")]
        assert wb and wb[0].levelno == logging.WARNING and f"{kind}-wb-token" in wb[0].getMessage()
        assert ali and ali[0].levelno == logging.INFO  # not configured at all: just off
    finally:
        d.stop(grace=5)


def test_doctor_suggests_status_poll_0_for_a_silent_printer(tmp_path):
    with MuteSink() as mute:
        cfg = tmp_path / "c.toml"
        cfg.write_text(f"""
[station]
data_dir = "{tmp_path / 'data'}"
[[printers]]
name = "mute"
uri = "{mute.uri}"
lang = "zpl"
""")
        checks = {c.name: c for c in doctor.run_checks(cfg, timeout=0.5)}
    row = checks["printer mute"]
    assert row.ok is False and "no answer to status query" in row.detail
    assert "status_poll = 0" in row.hint and "mute" in row.hint


def test_printer_going_offline_is_a_warning_and_coming_back_an_info(tmp_path, caplog):
    import socket

    from printstation.face.daemon import Daemon
    from support.daemon_harness import wait_until
    from support.labelgen import wb_sticker_zpl

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens: connection refused
    cfg = station_config(tmp_path, f'name = "gone"\nuri = "tcp://127.0.0.1:{port}"\nstatus_poll = 0')
    caplog.set_level(logging.INFO, logger="printstation.queue.worker")
    d = Daemon(cfg)
    d.start()
    try:
        d.submit("gone", wb_sticker_zpl("!off"))
        wait_until(lambda: d.workers["gone"].state == "offline")
        recs = [r for r in caplog.records if "printer gone: offline" in r.getMessage()]
        assert recs and recs[0].levelno == logging.WARNING
    finally:
        d.stop(grace=5)
