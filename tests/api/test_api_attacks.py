"""What a client of the control API puts in a request never forges a log line or a record: the
scanner name ``POST /scan`` takes is escaped like every other name. The real daemon."""

from __future__ import annotations

import json
import logging

import pytest

from support.daemon_harness import running, write_config
from support.printer_sinks import RecordingSink
from support.rawhttp import exchange, request

FORGED = "2026-12-02 07:00:00,000 CRITICAL printstation: forged"


@pytest.fixture
def station(tmp_path):
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": sink.uri}])
        with running(cfg) as d:
            yield d, d.api.port


@pytest.mark.parametrize("scanner", [f"bench\n{FORGED}", f"bench\r{FORGED}\x1b[31m", f"\u202ebench\x00{FORGED}"])
def test_a_scanner_name_from_the_api_cannot_forge_a_log_line(station, scanner, caplog):
    d, port = station
    caplog.set_level(logging.INFO)
    body = json.dumps({"code": "NO-RULE-MATCHES-THIS", "scanner": scanner}).encode()
    status, _, rec = exchange(port, request("POST", "/scan", body=body))
    assert status == 200 and rec["outcome"] == "unmatched"
    for text in (rec["scanner"], d.triggers.scans.recent(1)[0]["scanner"], caplog.text):
        assert not any(line.startswith(FORGED) for line in text.splitlines()), text
        assert "\x1b" not in text and "\r" not in text and "\u202e" not in text and "\x00" not in text
    assert "bench" in rec["scanner"] and "forged" in rec["scanner"]
