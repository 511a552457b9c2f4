"""Review of the control API's guards against the real daemon (in-process, real sockets): the
holes a second look found — hostile JSON bodies, a forged Sec-Fetch-Site list, a head past its
size limit arriving in two reads, bare-LF heads, the 413/507 order, reprints past the quota."""

from __future__ import annotations

import socket

import httpx
import pytest

from support.daemon_harness import running, wait_until, write_config, zpl_values
from support.labelgen import wb_sticker_zpl
from support.printer_sinks import RecordingSink
from support.rawhttp import Responses, exchange, request

KB = 1024


@pytest.fixture
def station(tmp_path):
    with RecordingSink() as sink:
        cfg = write_config(tmp_path / "c.toml", tmp_path / "data", [{"name": "a", "uri": sink.uri}],
                           api={"max_body_mb": 1})
        cfg.write_text(cfg.read_text().replace("[station]\n", "[station]\nmax_queue_mb = 0.5\n"))
        with running(cfg) as d:
            yield d, d.api.port, sink


def padded(value: str, size: int) -> bytes:
    label = wb_sticker_zpl(value)
    return label.replace(b"^XZ", b"^FX" + b"p" * max(0, size - len(label) - 3) + b"^XZ", 1)


HOSTILE_JSON = [
    b'{"code": "\\ud800x"}',                       # a lone surrogate: decodes, cannot be stored
    b'{"code": "x", "printer": "\\udfff"}',
    b'{"code": ' + b"9" * 5000 + b"}",             # past Python's int digits limit
    b"[" * 20_000 + b"]" * 20_000,                 # nesting past the recursion limit
    b'{"token": "\\ud83d"}',
]


@pytest.mark.parametrize("path", ["/scan", "/login"])
@pytest.mark.parametrize("body", HOSTILE_JSON, ids=["surrogate", "surrogate2", "bigint", "deep", "surrogate3"])
def test_hostile_json_bodies_are_400_never_500(station, path, body):
    d, port, sink = station
    status, headers, answer = exchange(port, request("POST", path, {"Content-Type": "application/json"}, body))
    assert status == 400, (status, answer)
    assert headers["content-type"] == "application/json"
    assert answer["error"].startswith("bad JSON body") and "\n" not in answer["error"]
    # the daemon is fine and a normal scan still works
    status, _, answer = exchange(port, request("POST", "/scan", body=b'{"code": "PS:PAUSE"}'))
    assert status == 200 and answer["outcome"] == "paused"


@pytest.mark.parametrize("values", [["cross-site, same-origin"], ["same-origin", "cross-site"],
                                    ["none", "same-site"]])
def test_every_sec_fetch_site_value_counts(station, values):
    d, port, sink = station
    headers = [("Sec-Fetch-Site", v) for v in values]
    for path, body in [("/printers/a/pause", b""), ("/jobs?copies=9", wb_sticker_zpl("!evil"))]:
        status, _, answer = exchange(port, request("POST", path, headers, body))
        assert status == 403, (path, status, answer)
    assert d.store.list_jobs() == [] and not d.workers["a"].manual_paused


def test_a_head_over_64_kib_is_431_even_when_it_ends_in_the_next_read(station):
    d, port, sink = station
    head = request("POST", "/printers/a/pause", {"X-Pad": "a" * (70 * KB)})
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        status, _, body = Responses(s).next()
    assert status == 431, body
    assert not d.workers["a"].manual_paused


def test_a_head_ended_by_bare_line_feeds_is_400_at_once(station):
    d, port, sink = station
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.settimeout(d.config.api.read_timeout / 2)  # answered now, not after read_timeout
        s.sendall(b"POST /printers/a/pause HTTP/1.1\nHost: 127.0.0.1\n\n")
        status, _, body = Responses(s).next()
    assert status == 400 and b"CRLF" in body
    assert not d.workers["a"].manual_paused


def test_a_body_over_max_body_mb_is_413_even_when_the_queue_is_full(station):
    d, port, sink = station
    with httpx.Client(base_url=d.api.url, timeout=30) as http:
        http.post("/printers/a/pause")
        assert http.post("/jobs", content=padded("!fill", 400 * KB)).status_code == 201
        assert http.post("/jobs", content=padded("!over", 200 * KB)).status_code == 507
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request("POST", "/jobs", {"Content-Length": str(2 * 1024 * KB)}, length=False))
        status, _, body = Responses(s).next()
    assert status == 413 and b"max_body_mb" in body


def test_reprints_count_against_the_queue_quota(station):
    d, port, sink = station
    with httpx.Client(base_url=d.api.url, timeout=30) as http:
        http.post("/printers/a/pause")
        first = http.post("/jobs", content=padded("!big", 200 * KB)).json()["id"]
        assert http.post(f"/jobs/{first}/reprint").status_code == 201
        over = http.post(f"/jobs/{first}/reprint")
        assert over.status_code == 507, over.text
        assert over.json()["error"].startswith("queue full:")
        assert len(d.store.list_jobs()) == 2
        # the scanner's PS:REPRINT takes the same path: refused, nothing stored
        http.post(f"/jobs/{first}/cancel")
        http.post("/jobs", content=padded("!fill", 200 * KB))
        scan = http.post("/scan", json={"code": "PS:REPRINT"}).json()
        assert scan["outcome"] == "failed" and "queue full" in scan["detail"], scan
        assert len(d.store.list_jobs()) == 3
        http.post("/printers/a/resume")
        wait_until(lambda: all(j.state in ("done", "canceled") for j in d.store.list_jobs()), 30)
    assert sorted(zpl_values(sink.data)) == ["!big", "!fill"]


@pytest.mark.slow
def test_previews_never_hold_a_printers_label_back(tmp_path):
    """The console loads thumbnails in parallel: previews of a slow label take one renderer at
    most, so a label queued meanwhile on another printer converts and prints at once."""
    import threading

    from support.daemon_harness import FINAL
    from support.daemon_harness import dir_printers_config as config
    from support.labelgen import slow_svg, wb_sticker_png
    from support.render_back import decode, render_back

    cfg = config(tmp_path, {"a": "tspl", "b": "tspl"}, hot=False)
    with running(cfg, convert_timeout=6) as d, httpx.Client(base_url=d.api.url, timeout=60) as http:
        http.post("/printers/a/pause")
        slow = http.post("/jobs", params={"printer": "a"}, content=slow_svg(60000)).json()["id"]
        answers: list[int] = []
        entered: list[int] = []
        real_preview = d.preview

        def counted_preview(job_id: int, page: int = 1) -> bytes:
            entered.append(job_id)
            return real_preview(job_id, page)

        d.preview = counted_preview  # type: ignore[method-assign]

        def preview() -> None:
            answers.append(httpx.get(f"{d.api.url}/jobs/{slow}/preview.png", timeout=120).status_code)

        viewers = [threading.Thread(target=preview) for _ in range(3)]  # as many as renderers before
        for t in viewers:
            t.start()
        pool = d.converter.isolate
        # every viewer asked, and a preview renders the slow label
        wait_until(lambda: len(entered) == len(viewers) and len(pool._all) > len(pool._idle), 30)
        fast = http.post("/jobs", params={"printer": "b"}, content=wb_sticker_png("FAST123")).json()["id"]
        wait_until(lambda: http.get(f"/jobs/{fast}").json()["state"] in FINAL, 60)
        assert http.get(f"/jobs/{fast}").json()["state"] == "done"
        assert answers == [], "the label on b waited for the previews"
        backs = render_back("tspl", (tmp_path / "out" / "b" / f"{fast}.tspl").read_bytes(), 203)
        assert "FAST123" in decode(backs[0].image)
        for t in viewers:
            t.join(120)
        assert answers == [422] * len(viewers)  # "rendering timed out", one at a time


@pytest.mark.parametrize("path", ["/scan", "/login"])
def test_a_large_json_body_is_413_before_it_is_read(station, path):
    """A scan or a login is a few bytes: a body of max_body_mb is refused from its head, so
    parallel JSON requests cannot hold max_body_mb of memory each."""
    d, port, sink = station
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request("POST", path, {"Content-Length": str(512 * KB), "Content-Type": "application/json"},
                          length=False))
        status, headers, body = Responses(s).next()  # nothing of the body was sent: answered anyway
    assert status == 413 and b"JSON body too large" in body and headers["content-type"] == "application/json"
    # a normal scan still works
    status, _, answer = exchange(port, request("POST", "/scan", body=b'{"code": "PS:PAUSE"}'))
    assert status == 200 and answer["outcome"] == "paused"


def test_the_fields_of_a_huge_native_zpl_label_are_read_from_its_start_only(station, monkeypatch):
    """GET /jobs/{id}/fields (the console loads it for every native ZPL row) parses at most
    FIELDS_SCAN bytes: a label of max_body_mb never costs the daemon seconds of CPU per look."""
    from printstation.face import console, zplfields

    d, port, sink = station
    seen: list[int] = []
    real = zplfields.fields
    monkeypatch.setattr(zplfields, "fields", lambda zpl: seen.append(len(zpl)) or real(zpl))
    big = b"^XA" + b"^FO10,10^A0N,20,20^FDhello^FS" * 15_000 + b"^XZ"  # 435 KB
    with httpx.Client(base_url=d.api.url, timeout=60) as http:
        http.post("/printers/a/pause")
        job = http.post("/jobs", content=big)
        assert job.status_code == 201, job.text
        r = http.get(f"/jobs/{job.json()['id']}/fields")
        assert r.status_code == 200
        info = r.json()
        assert info["native"] and info["fields"][0]["data"] == "hello" and len(info["fields"]) == zplfields.MAX_FIELDS
        assert "first 256 KiB" in info["note"]
        small = http.post("/jobs", content=wb_sticker_zpl("!small")).json()["id"]
        assert http.get(f"/jobs/{small}/fields").json()["note"] == "printed natively by the printer"
        http.post(f"/jobs/{job.json()['id']}/cancel")
    assert seen and max(seen) <= console.FIELDS_SCAN


@pytest.mark.parametrize("job_id", ["\u0663", "\u0661\u0662", "\uff11", "1\u00a0", "\u00b9"])
def test_raw_non_ascii_digits_in_a_path_are_404(station, job_id):
    """Sent as raw UTF-8 (no client library percent-encoding them): not a number, no such job."""
    d, port, sink = station
    http = httpx.Client(base_url=d.api.url, timeout=30)
    job = http.post("/jobs", content=wb_sticker_zpl("!one")).json()["id"]
    assert job == 1
    for method, suffix in [("GET", ""), ("GET", "/preview.png"), ("GET", "/fields"), ("POST", "/reprint"),
                           ("POST", "/cancel")]:
        raw = f"{method} /jobs/{job_id}{suffix} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        status, headers, answer = exchange(port, raw)
        assert status == 404, (method, suffix, status, answer)
        assert headers["content-type"] == "application/json" and "error" in answer
    assert [j.id for j in d.store.list_jobs()] == [1]
    http.close()
