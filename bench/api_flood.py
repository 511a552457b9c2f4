"""Benchmark the control API under a crowd of idle connections.

For N idle TCP connections (0, 300, 1,100 by default) opened to a fresh daemon (a subprocess with
the default [api] limits and systemd's default soft fd limit, 1,024): the latency of the first
``/healthz`` on a new connection (it queues behind the crowd), p50/max of 10 more, the daemon's
CPU use per wall second while the crowd sits there, and its open fds.

    .venv/bin/python bench/api_flood.py [--idle 0 300 1100]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.daemon_harness import cpu_seconds, crowded_daemon  # noqa: E402
from support.rawhttp import Responses, request  # noqa: E402


def healthz_ms(port: int) -> float:
    """One ``GET /healthz`` on a new connection (connect included), in ms."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall(request("GET", "/healthz"))
        status, _, _ = Responses(s).next()
    if status != 200:
        raise SystemExit(f"/healthz answered {status}")
    return (time.perf_counter() - t0) * 1000


def run(idle: int, tmp: Path) -> dict[str, float]:
    d, port, crowd = crowded_daemon(tmp, idle, str(idle))
    try:
        cpu0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
        first = healthz_ms(port)
        more = [healthz_ms(port) for _ in range(10)]
        fds = len(os.listdir(f"/proc/{d.proc.pid}/fd"))
        time.sleep(3.0)  # the crowd sits there: what does it cost?
        cpu = (cpu_seconds(d.proc.pid) - cpu0) / (time.monotonic() - t0)
        return {"first": first, "p50": statistics.median(more), "max": max(more), "cpu": cpu * 100, "fds": fds}
    finally:
        for s in crowd:
            s.close()
        d.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--idle", type=int, nargs="+", default=[0, 300, 1100])
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = max(args.idle) + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    print("bench/api_flood.py: /healthz with N idle connections open (default [api] limits; "
          "daemon fd soft limit 1,024)\n")
    print("| idle connections | first /healthz | p50 of 10 more | max of 10 more | daemon CPU | daemon fds |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="ps-bench-flood-") as t:
        for n in args.idle:
            r = run(n, Path(t))
            print(f"| {n:,} | {r['first']:.0f} ms | {r['p50']:.1f} ms | {r['max']:.1f} ms | {r['cpu']:.1f} % "
                  f"| {r['fds']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
