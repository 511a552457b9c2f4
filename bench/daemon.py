"""Benchmark the daemon: 1,000 small ZPL jobs over the API to 3 TCP printer sinks.

Measures start → READY=1, jobs/s, p50/p99 from submit (before the POST) to the job's first byte
at the sink, and the daemon's RSS idle (after READY) and peak (VmHWM) from /proc/<pid>/status.

    .venv/bin/python bench/daemon.py [--jobs 1000]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.daemon_harness import DaemonProcess, write_config, zpl_values  # noqa: E402
from support.labelgen import wb_sticker_zpl  # noqa: E402
from support.printer_sinks import RecordingSink  # noqa: E402


def rss(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0]) / 1024
    return out


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1000)
    args = ap.parse_args()
    names = ("a", "b", "c")
    with tempfile.TemporaryDirectory() as tmp, RecordingSink() as s1, RecordingSink() as s2, RecordingSink() as s3:
        sinks = dict(zip(names, (s1, s2, s3)))
        tmpd = Path(tmp)
        cfg = write_config(tmpd / "bench.toml", tmpd / "data",
                           [{"name": n, "uri": s.uri, "status_poll": 3.0} for n, s in sinks.items()])
        d = DaemonProcess(cfg, tmpd / "notify.sock")
        try:
            ready = d.wait_ready()
            url = d.api_url()
            time.sleep(1.0)
            idle = rss(d.proc.pid)["VmRSS"]
            labels = {n: [(f"!{n}{i:06d}", wb_sticker_zpl(f"!{n}{i:06d}")) for i in range(args.jobs // 3 + 1)]
                      for n in names}
            submitted: dict[str, float] = {}
            per = [args.jobs // 3 + (1 if i < args.jobs % 3 else 0) for i in range(3)]

            def client(name: str, count: int) -> None:
                # closed loop: the next label is submitted once the previous one is done (a
                # packer's pace, three benches at once); a flood would only measure queueing
                # TCP_NODELAY like curl: h11 writes headers and body separately
                transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
                with httpx.Client(base_url=url, timeout=30, transport=transport) as http:
                    for value, body in labels[name][:count]:
                        submitted[value] = time.monotonic()
                        r = http.post("/jobs", params={"printer": name}, content=body)
                        r.raise_for_status()
                        job_id = r.json()["id"]
                        deadline = time.monotonic() + 30
                        while http.get(f"/jobs/{job_id}").json()["state"] != "done":
                            if time.monotonic() > deadline:
                                raise SystemExit(f"{value} never printed on {name}")
                            time.sleep(0.002)

            t0 = time.monotonic()
            threads = [threading.Thread(target=client, args=(n, c)) for n, c in zip(names, per)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for n, c in zip(names, per):
                if not sinks[n].wait_for(lambda s, c=c: len(zpl_values(s.data)) >= c, timeout=120):
                    raise SystemExit(f"sink {n} got only {len(zpl_values(sinks[n].data))} of {c} jobs")
            first_byte: dict[str, float] = {}
            for s in sinks.values():
                for t, chunk in s.chunks:
                    for v in zpl_values(chunk):
                        first_byte.setdefault(v, t)
            lat = [(first_byte[v] - submitted[v]) * 1000 for v in submitted]
            elapsed = max(first_byte.values()) - t0
            peak = rss(d.proc.pid)
        finally:
            d.close()
    rate = args.jobs / elapsed
    rows = [
        ("start → READY=1", "≤ 1 s", f"{ready:.2f} s", ready <= 1.0),
        ("jobs/s (3 printers)", "—", f"{rate:.0f}", True),
        ("submit → first byte p50", "—", f"{statistics.median(lat):.1f} ms", True),
        ("submit → first byte p99", "≤ 50 ms", f"{pct(lat, 99):.1f} ms", pct(lat, 99) <= 50),
        ("RSS idle", "≤ 60 MB", f"{idle:.1f} MB", idle <= 60),
        ("RSS peak (VmHWM)", "≤ 150 MB", f"{peak['VmHWM']:.1f} MB", peak["VmHWM"] <= 150),
    ]
    print(f"bench/daemon.py: {args.jobs} ZPL jobs over the API to 3 TCP sinks (3 concurrent clients, each submits when its previous job is done)\n")
    print("| metric | goal | measured | ok |")
    print("|---|---|---|---|")
    for name, goal, got, ok in rows:
        print(f"| {name} | {goal} | {got} | {'yes' if ok else 'NO'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
