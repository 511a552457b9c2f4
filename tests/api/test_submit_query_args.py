"""``POST /jobs`` refuses what it would otherwise misread: a yes/no parameter with another
value, and an unknown query parameter (a typo such as ``fitt=1`` must not print unfitted)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from support.daemon_harness import running, write_config
from support.labelgen import wb_sticker_zpl
from support.printer_sinks import RecordingSink


@pytest.fixture
def station(tmp_path):
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "zebra", "uri": sink.uri, "lang": "zpl"}])
        with running(cfg) as d:
            yield d.api.port, sink


def _post(port: int, query: str) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/jobs?{query}", data=wb_sticker_zpl("555"), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def _jobs(port: int) -> list:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/jobs", timeout=5) as r:
        return json.load(r)["jobs"]


@pytest.mark.parametrize("query,named", [
    ("printer=zebra&fit=maybe", "fit"), ("printer=zebra&fit=2", "fit"), ("printer=zebra&reprint=on", "reprint"),
    ("printer=zebra&fitt=1", "'fitt'"), ("printer=zebra&copise=2", "'copise'"), ("printr=zebra", "'printr'"),
])
def test_a_bad_or_unknown_parameter_is_400_naming_it_and_queues_nothing(station, query, named):
    port, sink = station
    status, body = _post(port, query)
    assert status == 400, body
    assert named in body["error"], body
    if "must be" in body["error"]:
        assert "true" in body["error"] and "false" in body["error"], body
    else:
        assert "unknown query parameter" in body["error"], body
    assert _jobs(port) == [] and sink.data == b""


@pytest.mark.parametrize("fit", ["1", "true", "yes", "0", "false", "no", "TRUE", ""])
def test_every_accepted_yes_no_value_still_queues(station, fit):
    port, _ = station
    status, body = _post(port, f"printer=zebra&copies=1&name=a.zpl&key=k{fit}&fit={fit}&reprint=0")
    assert status == 201, body
    assert body["printer"] == "zebra"
