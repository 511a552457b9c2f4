"""The control API refuses what a web page in a browser could send it, against the real daemon:
DNS rebinding (Host), cross-origin simple requests (Origin, each simple content type),
Sec-Fetch-Site, CORS preflights, key squatting — and keeps the CLI, scripts and the same-origin
page working. Also strict HTTP framing and ids."""

from __future__ import annotations

import logging
import subprocess
import sys

import httpx
import pytest

from support.daemon_harness import REPO, running, wait_until, wb_market_toml, write_config, zpl_values
from support.labelgen import wb_sticker_zpl
from support.printer_sinks import RecordingSink
from support.rawhttp import exchange, request
from support.fakes.fake_wb import FakeWB

ALLOWED_ORIGIN = "http://printstation.lan:8080"


@pytest.fixture
def station(tmp_path):
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": sink.uri}],
                           api={"allowed_hosts": ["printstation.lan"], "allowed_origins": [ALLOWED_ORIGIN]})
        with running(cfg) as d:
            yield d, d.api.port, sink


def nothing_happened(d, sink) -> None:
    assert d.store.list_jobs() == [], "a refused request queued a job"
    assert not d.workers["a"].manual_paused, "a refused request paused the printer"
    assert sink.data == b""


def prove_printing_still_works(d, port, sink) -> None:
    """A legitimate job after the refused ones prints; only it reaches the printer."""
    status, _, job = exchange(port, request("POST", "/jobs", body=wb_sticker_zpl("!legit")))
    assert status == 201
    wait_until(lambda: d.store.get(job["id"]).state == "done")
    assert zpl_values(sink.data) == ["!legit"] and b"^PQ9999" not in sink.data


EVIL_HOSTS = ["evil.example:{port}", "evil.example", "127.0.0.1.nip.io:{port}", "localhost:1",
              "localhost.:{port}", "127.0.0.2:{port}", "[::2]:{port}", "printstation.lan.evil.example"]


@pytest.mark.parametrize("host", EVIL_HOSTS)
def test_dns_rebinding_host_is_refused_everywhere(station, host):
    d, port, sink = station
    host = host.format(port=port)
    for method, path, body in [("GET", "/jobs", b""), ("GET", "/printers", b""), ("GET", "/metrics", b""),
                               ("GET", "/scans", b""), ("GET", "/jobs/1", b""),
                               ("POST", "/jobs?copies=9999", wb_sticker_zpl("!evil")),
                               ("POST", "/printers/a/pause", b""),
                               ("POST", "/scan", b'{"code": "PS:PAUSE"}')]:
        status, headers, answer = exchange(port, request(method, path, host=host, body=body))
        assert status == 421, (method, path, status, answer)
        assert "is not this station" in answer["error"]
        assert headers["content-type"] == "application/json"
    nothing_happened(d, sink)
    prove_printing_still_works(d, port, sink)
    metrics = exchange(port, request("GET", "/metrics"))[2].decode()
    assert 'printstation_api_refused_total{reason="host"}' in metrics


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "localhost",
                                  "127.0.0.1", "[::1]:{port}", "printstation.lan:{port}", "printstation.lan"])
def test_the_station_own_names_work(station, host):
    d, port, sink = station
    status, _, answer = exchange(port, request("GET", "/printers", host=host.format(port=port)))
    assert status == 200 and answer["printers"][0]["name"] == "a"


def test_missing_or_duplicate_host_is_400(station):
    d, port, sink = station
    assert exchange(port, request("GET", "/jobs", host=None))[0] == 400
    two = request("GET", "/jobs", [("Host", f"evil.example:{port}")], host=f"127.0.0.1:{port}")
    assert exchange(port, two)[0] == 400


def test_a_refused_host_is_logged_once_a_minute(station, caplog):
    d, port, sink = station
    with caplog.at_level(logging.WARNING, logger="printstation.face.api"):
        for _ in range(3):
            assert exchange(port, request("GET", "/jobs", host="rebind.example:1"))[0] == 421
        assert exchange(port, request("GET", "/jobs", host="other.example"))[0] == 421
    lines = [r.getMessage() for r in caplog.records if "refused a request with Host" in r.getMessage()]
    assert len([x for x in lines if "rebind.example:1" in x]) == 1
    assert len([x for x in lines if "other.example" in x]) == 1


SIMPLE_TYPES = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=----x"]


@pytest.mark.parametrize("ctype", SIMPLE_TYPES)
@pytest.mark.parametrize("origin", ["https://evil.example", "http://evil.example:80", "null",
                                    "http://127.0.0.1:1", "https://127.0.0.1:{port}"])
def test_cross_origin_simple_posts_are_refused(station, ctype, origin):
    d, port, sink = station
    origin = origin.format(port=port)
    label = wb_sticker_zpl("!evil")
    form = b"------x\r\nContent-Disposition: form-data; name=f\r\n\r\n" + label + b"\r\n------x--\r\n"
    body = form if ctype.startswith("multipart") else label
    for path, data in [("/jobs?copies=9999", body), ("/printers/a/pause", b"x=1"), ("/jobs/1/reprint", b""),
                       ("/jobs/1/cancel", b""), ("/scan", b'{"code": "PS:PAUSE"}')]:
        status, headers, answer = exchange(port, request(
            "POST", path, {"Origin": origin, "Content-Type": ctype}, data, host=f"127.0.0.1:{port}"))
        assert status == 403, (path, status, answer)
        assert "cross-origin request" in answer["error"]
        assert not any(k.startswith("access-control-") for k in headers)
    nothing_happened(d, sink)


@pytest.mark.parametrize("site", ["cross-site", "same-site", "CROSS-SITE"])
def test_sec_fetch_site_from_another_site_is_refused(station, site):
    d, port, sink = station
    for method, path in [("GET", "/jobs"), ("GET", "/metrics"), ("GET", "/healthz"), ("POST", "/printers/a/pause"),
                         ("POST", "/jobs")]:
        body = wb_sticker_zpl("!x") if path == "/jobs" and method == "POST" else b""
        status, _, answer = exchange(port, request(method, path, {"Sec-Fetch-Site": site}, body))
        assert status == 403 and "Sec-Fetch-Site" in answer["error"], (method, path, status)
    nothing_happened(d, sink)


def test_same_origin_page_and_plain_clients_work(station):
    d, port, sink = station
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, _, job = exchange(port, request(
            "POST", "/jobs", {"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin",
                              "Content-Type": "text/plain"}, wb_sticker_zpl(f"!same-{host[:4]}"), host=host))
        assert status == 201, job
    status, _, _ = exchange(port, request("GET", "/jobs", {"Sec-Fetch-Site": "none"}))
    assert status == 200  # typed into the address bar
    # an origin the operator listed (a page served elsewhere), even when the browser says cross-site
    status, _, _ = exchange(port, request("GET", "/printers", {"Origin": ALLOWED_ORIGIN,
                                                               "Sec-Fetch-Site": "cross-site"}))
    assert status == 200
    # the same-origin check is exact: Origin 127.0.0.1 on a request for localhost is another origin
    status, _, _ = exchange(port, request("GET", "/jobs", {"Origin": f"http://127.0.0.1:{port}"},
                                          host=f"localhost:{port}"))
    assert status == 403
    wait_until(lambda: len(zpl_values(sink.data)) == 2)
    # the CLI (no Origin) works unchanged
    r = subprocess.run([sys.executable, "-m", "printstation", "printers", "--api", d.api.url],
                       capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 0 and r.stdout.splitlines()[1].startswith("a *"), r.stdout + r.stderr


def test_cors_preflight_gets_no_allowance(station):
    d, port, sink = station
    pre = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type"}
    status, headers, _ = exchange(port, request("OPTIONS", "/jobs", pre))
    assert status == 403 and not any(k.startswith("access-control-") for k in headers)
    status, headers, _ = exchange(port, request("OPTIONS", "/jobs"))
    assert status == 405 and not any(k.startswith("access-control-") for k in headers)


def test_api_keys_cannot_squat_a_scan_key(tmp_path):
    """A decoy with ?key=wb-order-<id> must not make the real scan of that order a duplicate."""
    with RecordingSink() as sink, FakeWB(rate_per_min=None) as wb:
        (tmp_path / "wb.tok").write_text(wb.token)
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": sink.uri}],
                           api={"unix_socket": False}, extra=wb_market_toml(wb.url, tmp_path / "wb.tok"))
        order = wb.add_order()
        with running(cfg) as d, httpx.Client(base_url=d.api.url, timeout=30) as http:
            decoy = http.post("/jobs", params={"key": f"wb-order-{order['id']}"}, content=wb_sticker_zpl("!decoy"))
            assert decoy.status_code == 201 and decoy.json()["key"] == f"api:wb-order-{order['id']}"
            # the caller's own repeat is still idempotent
            again = http.post("/jobs", params={"key": f"wb-order-{order['id']}"}, content=wb_sticker_zpl("!decoy"))
            assert again.status_code == 200 and again.json()["id"] == decoy.json()["id"]
            rec = http.post("/scan", json={"code": str(order["id"])}).json()
            assert rec["outcome"] == "queued" and rec["key"] == f"wb-order-{order['id']}", rec
            assert rec["job"] != decoy.json()["id"]
            wait_until(lambda: d.store.get(rec["job"]).state == "done", 30)
            real = d.store.payload(rec["job"])
            assert zpl_values(real) and zpl_values(real) != ["!decoy"]
            wait_until(lambda: d.store.get(decoy.json()["id"]).state == "done", 30)
            assert sorted(zpl_values(sink.data)) == sorted(["!decoy"] + zpl_values(real))
            # even a key that spells the namespace cannot reach a station key
            odd = http.post("/jobs", params={"key": f"api:wb-order-{order['id']}"}, content=wb_sticker_zpl("!x"))
            assert odd.json()["key"] == f"api:api:wb-order-{order['id']}"


# -- strict HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lengths", [["2_0"], ["+5"], ["-1"], [" 5x"], ["0x10"], ["5", "5"], ["5", "6"],
                                     ["5, 5"], ["\u0665"], ["99999999999999999999"]])
def test_odd_or_duplicate_content_length_is_400(station, lengths):
    d, port, sink = station
    raw = (b"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           + b"".join(b"Content-Length: " + v.encode() + b"\r\n" for v in lengths) + b"\r\n^XA^XZ")
    status, headers_, answer = exchange(port, raw)
    assert status == 400, answer
    assert headers_.get("connection") == "close"
    nothing_happened(d, sink)


@pytest.mark.parametrize("raw", [
    b"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n^XA^XZ",
    b"GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n Folded: x\r\n\r\n",
    b"GET /jobs HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n",
    b"GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\x01b\r\n\r\n",
    b"GET  /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET http://evil.example/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /jobs HTTP/1.1\nHost: 127.0.0.1\r\n\r\n",
])
def test_malformed_heads_are_4xx(station, raw):
    d, port, sink = station
    status, headers, answer = exchange(port, raw)
    assert status in (400, 411), answer
    nothing_happened(d, sink)


def test_chunked_upload_is_411(station):
    d, port, sink = station
    raw = b"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n^XA^XZ\r\n0\r\n\r\n"
    status, _, answer = exchange(port, raw)
    assert status == 411 and "Content-Length" in answer["error"]


@pytest.mark.parametrize("job_id", ["0", "00", "99999999999999999999", "9223372036854775808", "\u0661\u0662",
                                    "%31", "1.0", "-1", "1e3", "\uff11"])
def test_ids_that_are_not_plain_positive_integers_are_404(station, job_id):
    d, port, sink = station
    with httpx.Client(base_url=d.api.url, timeout=30) as http:
        for method, path in [("GET", f"/jobs/{job_id}"), ("GET", f"/jobs/{job_id}/preview.png"),
                             ("POST", f"/jobs/{job_id}/reprint"), ("POST", f"/jobs/{job_id}/cancel")]:
            r = http.request(method, path)
            assert r.status_code == 404, (path, r.status_code, r.text)
            assert "error" in r.json()


@pytest.mark.parametrize("value", ["\u0661", "1_0", "+5", " 5", "5 ", "0x5", "99999999999999999999"])
def test_query_numbers_are_plain_ascii(station, value):
    d, port, sink = station
    with httpx.Client(base_url=d.api.url, timeout=30) as http:
        r = http.post("/jobs", params={"copies": value}, content=wb_sticker_zpl("!n"))
        assert r.status_code == 400 and "copies" in r.json()["error"]
        assert http.get("/jobs", params={"limit": value}).status_code == 400
    nothing_happened(d, sink)


def test_keep_alive_pipelining_and_expect_continue(station):
    d, port, sink = station
    import socket

    from support.rawhttp import Responses

    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        answers = Responses(s)
        s.sendall(request("GET", "/healthz") + request("GET", "/printers"))
        assert answers.next()[0] == 200 and answers.next()[0] == 200
        label = wb_sticker_zpl("!cont")
        s.sendall(request("POST", "/jobs", {"Expect": "100-continue", "Content-Length": str(len(label))},
                          length=False))
        assert answers.next()[0] == 100
        s.sendall(label)
        status, _, body = answers.next()
        assert status == 201
    wait_until(lambda: zpl_values(sink.data) == ["!cont"])
