"""The control API over real HTTP (TCP on an ephemeral port, and the unix socket)."""

from __future__ import annotations

import json

import httpx
import pytest

from support.daemon_harness import running, wait_until, write_config, zpl_values
from support.labelgen import wb_sticker_svg, wb_sticker_zpl
from support.printer_sinks import RecordingSink


@pytest.fixture
def station(tmp_path):
    with RecordingSink() as a, RecordingSink() as b:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [
            {"name": "a", "uri": a.uri, "status_poll": 1.0},
            {"name": "b", "uri": b.uri, "lang": "tspl", "status_poll": 1.0},
        ])
        with running(cfg) as d:
            with httpx.Client(base_url=d.api.url, timeout=30) as http:
                yield d, http, {"a": a, "b": b}


def finished(http, job_id):
    return http.get(f"/jobs/{job_id}").json()["state"] not in ("queued", "sending")


def test_submit_print_and_query(station):
    d, http, sinks = station
    r = http.post("/jobs", params={"printer": "a", "name": "x.zpl", "copies": 2}, content=wb_sticker_zpl("!api1"))
    assert r.status_code == 201
    job = r.json()
    assert job["state"] == "queued" and job["printer"] == "a" and job["copies"] == 2 and job["name"] == "x.zpl"
    wait_until(lambda: finished(http, job["id"]))
    got = http.get(f"/jobs/{job['id']}").json()
    assert got["state"] == "done" and got["done"].endswith("Z")
    assert zpl_values(sinks["a"].data) == ["!api1"] and b"^PQ2" in sinks["a"].data
    listed = http.get("/jobs", params={"printer": "a", "state": "done"}).json()["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]
    assert http.get("/jobs", params={"state": "queued"}).json()["jobs"] == []


def test_default_printer_idempotency_and_reprint(station):
    d, http, sinks = station
    first = http.post("/jobs", params={"key": "wb-order-123"}, content=wb_sticker_zpl("!key1"))
    again = http.post("/jobs", params={"key": "wb-order-123"}, content=wb_sticker_zpl("!key1"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and first.json()["printer"] == "a"
    jid = first.json()["id"]
    wait_until(lambda: finished(http, jid))
    rp = http.post(f"/jobs/{jid}/reprint")
    assert rp.status_code == 201 and rp.json()["reprint_of"] == jid
    wait_until(lambda: finished(http, rp.json()["id"]))
    assert zpl_values(sinks["a"].data) == ["!key1", "!key1"]


def test_conversion_failure_is_a_failed_job(station):
    d, http, sinks = station
    bad = http.post("/jobs", params={"printer": "b"}, content=b"%PDF-1.7 truncated")
    good = http.post("/jobs", params={"printer": "b"}, content=wb_sticker_svg("!good"))
    assert bad.status_code == 201
    wait_until(lambda: finished(http, bad.json()["id"]) and finished(http, good.json()["id"]), 60)
    failed = http.get(f"/jobs/{bad.json()['id']}").json()
    assert failed["state"] == "failed" and "PDF" in failed["error"]
    assert http.get(f"/jobs/{good.json()['id']}").json()["state"] == "done"
    assert b"BITMAP" in sinks["b"].data


def test_preview_png(station):
    d, http, sinks = station
    jid = http.post("/jobs", params={"printer": "b"}, content=wb_sticker_svg("!prev")).json()["id"]
    r = http.get(f"/jobs/{jid}/preview.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    from io import BytesIO

    from PIL import Image

    im = Image.open(BytesIO(r.content))
    assert im.mode == "1" and im.size[0] in (463, 464, 320, 321)
    zj = http.post("/jobs", params={"printer": "a"}, content=wb_sticker_zpl("!z")).json()["id"]
    r = http.get(f"/jobs/{zj}/preview.png")
    assert r.status_code == 422 and "ZPL" in r.json()["error"]


def test_pause_resume_cancel(station):
    d, http, sinks = station
    p = http.post("/printers/a/pause").json()
    assert p["state"] == "paused" and p["paused"] is True
    jid = http.post("/jobs", params={"printer": "a"}, content=wb_sticker_zpl("!c")).json()["id"]
    keep = http.post("/jobs", params={"printer": "a"}, content=wb_sticker_zpl("!k")).json()["id"]
    printers = {x["name"]: x for x in http.get("/printers").json()["printers"]}
    assert printers["a"]["queued"] == 2 and printers["a"]["default"] and printers["b"]["state"] in ("idle", "printing")
    assert http.post(f"/jobs/{jid}/cancel").json()["state"] == "canceled"
    assert http.post(f"/jobs/{jid}/cancel").status_code == 409
    assert http.post("/printers/a/resume").json()["paused"] is False
    wait_until(lambda: finished(http, keep))
    assert zpl_values(sinks["a"].data) == ["!k"]


@pytest.mark.parametrize("method, path, params, body, status, message", [
    ("POST", "/jobs", {"printer": "nope"}, b"^XA^XZ", 404, "no printer named 'nope'"),
    ("POST", "/jobs", {"printer": "a"}, b"", 422, "empty label"),
    ("POST", "/jobs", {"printer": "a", "copies": "x"}, b"^XA^XZ", 400, "copies must be an integer"),
    ("POST", "/jobs", {"printer": "a", "copies": "0"}, b"^XA^XZ", 400, "copies 0 out of range"),
    ("GET", "/jobs", {"state": "weird"}, b"", 400, "unknown state"),
    ("GET", "/jobs/999", {}, b"", 404, "no job 999"),
    ("POST", "/jobs/999/reprint", {}, b"", 404, "no job 999"),
    ("POST", "/printers/zz/pause", {}, b"", 404, "no printer named 'zz'"),
    ("GET", "/nothing", {}, b"", 404, "no endpoint"),
    ("DELETE", "/jobs", {}, b"", 405, "not allowed"),
])
def test_bad_requests_are_4xx_json(station, method, path, params, body, status, message):
    d, http, sinks = station
    r = http.request(method, path, params=params, content=body)
    assert r.status_code == status
    assert message in r.json()["error"]


def test_healthz_metrics_and_unix_socket(station, tmp_path):
    d, http, sinks = station
    assert http.get("/healthz").json()["ok"] is True
    jid = http.post("/jobs", params={"printer": "a"}, content=wb_sticker_zpl("!m")).json()["id"]
    wait_until(lambda: finished(http, jid))
    text = http.get("/metrics").text
    assert 'printstation_jobs{printer="a",state="done"} 1' in text
    assert 'printstation_printer_up{printer="a"} 1' in text
    assert 'printstation_send_seconds_count{printer="a"}' in text
    sock = tmp_path / "data" / "printstation.sock"
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://station") as u:
        assert u.get("/printers").status_code == 200
        r = u.post("/jobs", params={"printer": "a"}, content=wb_sticker_zpl("!unix"))
        assert r.status_code == 201
        wait_until(lambda: finished(http, r.json()["id"]))
    assert "!unix" in zpl_values(sinks["a"].data)


def test_submit_from_python_like_a_trigger(station):
    d, http, sinks = station
    job = d.submit("a", wb_sticker_zpl("!hot"), name="x.zpl", source="hotfolder", source_ref="/hot/x.zpl", copies=1)
    assert job.source == "hotfolder"
    wait_until(lambda: finished(http, job.id))
    assert http.get(f"/jobs/{job.id}").json()["source_ref"] == "/hot/x.zpl"


def test_token_required_when_configured(tmp_path):
    tok = tmp_path / "tok"
    tok.write_text("0123456789abcdef-token")
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": f"dir://{tmp_path}/out"}],
                       api={"token_file": str(tok)})
    with running(cfg) as d:
        with httpx.Client(base_url=d.api.url) as http:
            assert http.get("/healthz").status_code == 200
            r = http.get("/printers")
            assert r.status_code == 401 and "token" in r.json()["error"]
            assert http.get("/printers", headers={"Authorization": "Bearer wrong"}).status_code == 401
            ok = http.get("/printers", headers={"Authorization": "Bearer 0123456789abcdef-token"})
            assert ok.status_code == 200 and "0123456789abcdef" not in json.dumps(ok.json())
