"""Two stations × 3 printers: 2,000 jobs and 500 concurrent EAN scans, on one PostgreSQL
database — next to the same load on two stations each on its own embedded SQLite.

    .venv/bin/python bench/stations.py [--jobs 2000] [--scans 500] [--backend both|postgresql|sqlite]

Real daemons in-process (queue, workers, API, triggers, WB sync) with ZPL printers on TCP sinks
on 127.0.0.1, the fake WB API on loopback (limits lifted), and for PostgreSQL a private server
started by :mod:`tests/support/pg_server` (Debian ``postgresql``; fsync on, as in production).

* jobs: ``POST /jobs`` from 12 clients (6 per station) over the 6 printers → wall time until all
  are ``done``: jobs/s.
* scans: 500 orders of 50 products (10 each) in an open supply, synced; then 500 ``POST /scan`` of
  those EANs at once (64 threads, both stations) → each scan's time to the first byte of its
  label at a printer (p50/p99), and duplicates: orders whose sticker was printed more than once.
  With two SQLite stations each claims "the oldest unprinted order" from its own copy: the
  duplicates this issue is about.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402

from printstation.face import config as configmod  # noqa: E402
from printstation.face.daemon import Daemon  # noqa: E402
from support.daemon_harness import toml_value, zpl_values  # noqa: E402
from support.printer_sinks import RecordingSink, StatusResponder  # noqa: E402
from support.fakes.fake_wb import FakeWB  # noqa: E402

PRINTERS = ("p1", "p2", "p3")


class TimedSink(RecordingSink):
    """A sink that remembers when each byte range of each connection arrived."""

    def __init__(self) -> None:
        self.marks: list[tuple[int, int, int, float]] = []  # (connection, start, end, monotonic)
        super().__init__()

    def _on_chunk(self, conn: Any, index: int, chunk: bytes, responder: StatusResponder) -> bool:
        t = time.monotonic()
        with self._cond:
            start = len(self.connections[index])
        ok = super()._on_chunk(conn, index, chunk, responder)
        with self._cond:
            self.marks.append((index, start, len(self.connections[index]), t))
        return ok

    def first_byte(self, value: str) -> float | None:
        """When the label holding barcode ``value`` began to arrive."""
        needle = b"^FD" + value.encode() + b"^FS"
        with self._cond:
            for i, data in enumerate(self.connections):
                pos = bytes(data).find(needle)
                if pos >= 0:
                    start = max(0, bytes(data).rfind(b"^XA", 0, pos))
                    return min((t for c, a, b, t in self.marks if c == i and a <= start < b), default=None)
        return None


def station_toml(tmp: Path, name: str, url: str | None, sinks: dict[str, TimedSink], wb: FakeWB) -> Path:
    lines = ["[station]", f"name = {toml_value(name)}", f"data_dir = {toml_value(str(tmp / f'data-{name}'))}"]
    if url:
        lines.append(f"database = {toml_value(url)}")
    lines += ["max_queue_mb = 4096", "[api]", 'listen = "127.0.0.1:0"', "unix_socket = false"]
    for p, sink in sinks.items():
        lines += ["[[printers]]", f"name = {toml_value(p)}", f"uri = {toml_value(sink.uri)}", 'lang = "zpl"',
                  "status_poll = 0"]
    (tmp / "wb.tok").write_text(wb.token)
    lines += ["[scan]", "debounce_ms = 0", "[sync]", "interval_s = 5", "min_gap_ms = 200", "[markets.wb]",
              f"base_url = {toml_value(wb.url)}", f"token_file = {toml_value(str(tmp / 'wb.tok'))}",
              "rate_per_min = 1000000", "burst = 100000"]
    path = tmp / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def ean13(first12: str) -> str:
    """``first12`` with its EAN-13 check digit (the scan rules know a product by it)."""
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def wait(pred: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise SystemExit(f"timed out: {what}")
        time.sleep(0.05)


def run(backend: str, n_jobs: int, n_scans: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"ps-bench-stations-{backend}-"))
    server = None
    url = None
    if backend == "postgresql":
        from support.pg_server import PgServer

        server = PgServer(fsync=True)
        url = server.new_database()
    wb = FakeWB(rate_per_min=None).start()
    now = dt.datetime.now(dt.timezone.utc)
    skus = [ean13(f"46{i:010d}") for i in range(max(1, n_scans // 10))]
    orders = [wb.add_order(skus=[skus[i % len(skus)]], created_at=now - dt.timedelta(seconds=n_scans - i))
              for i in range(n_scans)]
    wb.add_supply(orders=[o["id"] for o in orders])
    sinks = {s: {p: TimedSink() for p in PRINTERS} for s in ("a", "b")}
    daemons: dict[str, Daemon] = {}
    out: dict[str, Any] = {"backend": backend}
    try:
        for s in ("a", "b"):
            daemons[s] = Daemon(configmod.load(station_toml(tmp, s, url, sinks[s], wb)))
            daemons[s].start()
        for d in daemons.values():
            wait(lambda d=d: all(d.triggers.state.sku_known(k) for k in skus[:: max(1, len(skus) // 5)])
                 and len(d.triggers.state.open_supplies()) == 1, 120, "WB sync")
        time.sleep(1.0)  # the last sync round settles (membership written after the orders)

        # -- 2,000 jobs ---------------------------------------------------------------------
        clients = [(d, PRINTERS[i % 3]) for d in daemons.values() for i in range(6)]
        share = [n_jobs // 12 + (1 if k < n_jobs % 12 else 0) for k in range(12)]

        def submit(arg: tuple[int, tuple[Daemon, str]]) -> list[int]:
            k, (d, printer) = arg
            with httpx.Client(base_url=d.api.url, timeout=60) as c:
                return [c.post(f"/jobs?printer={printer}", content=b"^XA^FO20,20^A0N,30,30^FDjob %d-%d^FS^XZ"
                               % (k, i)).json()["id"] for i in range(share[k])]

        t0 = time.monotonic()
        with ThreadPoolExecutor(len(clients)) as pool:
            ids = list(pool.map(submit, enumerate(clients)))
        per_station = {s: sum(share[k] for k, (d, _) in enumerate(clients) if d is daemons[s]) for s in daemons}
        wait(lambda: all(sum(n for (p, st), n in d.store.counts().items() if st == "done") >= per_station[s]
                         for s, d in daemons.items()), 600, "jobs done")
        out["jobs"] = sum(len(x) for x in ids)
        out["jobs_s"] = out["jobs"] / (time.monotonic() - t0)

        # -- 500 concurrent EAN scans --------------------------------------------------------
        go = threading.Barrier(64)
        work = [(i, skus[i % len(skus)]) for i in range(n_scans)]

        def scan(i: int) -> list[tuple[float, dict[str, Any], str]]:
            res = []
            cs = {s: httpx.Client(base_url=d.api.url, timeout=120) for s, d in daemons.items()}
            go.wait()
            for j, sku in work[i::64]:
                s = "ab"[(j // len(skus)) % 2]  # each product's scans split between the benches
                t = time.monotonic()
                r = cs[s].post("/scan", json={"code": sku, "scanner": f"gun-{j}", "printer": PRINTERS[j % 3]})
                res.append((t, r.json(), s))
            for c in cs.values():
                c.close()
            return res

        with ThreadPoolExecutor(64) as pool:
            recs = [r for chunk in pool.map(scan, range(64)) for r in chunk]
        queued = [(t, rec, s) for t, rec, s in recs if rec["outcome"] == "queued"]
        for s, d in daemons.items():
            jobs = [int(rec["job"]) for _, rec, st in queued if st == s]
            wait(lambda d=d, jobs=jobs: all(d.store.get(j).state in ("done", "failed") for j in jobs), 600,
                 "scanned labels printed")
        barcode = {o["id"]: o["barcode"] for o in orders}
        lat = []
        for t, rec, s in queued:
            oid = int(rec["key"].rsplit("-", 1)[1])
            fb = [x for x in (sink.first_byte(barcode[oid]) for sink in sinks[s].values()) if x is not None]
            if fb:
                lat.append((min(fb) - t) * 1000)
        printed = Counter(v for st in sinks.values() for sink in st.values() for v in zpl_values(sink.data))
        want = set(barcode.values())
        out.update(scans=len(recs), queued=len(queued), outcomes=dict(Counter(r["outcome"] for _, r, _ in recs)),
                   p50=statistics.median(lat) if lat else float("nan"), p99=pct(lat, 99) if lat else float("nan"),
                   duplicates=sum(1 for v, n in printed.items() if v in want and n > 1),
                   missing=len(want - set(printed)),
                   failures=[r["detail"] for _, r, _ in recs if r["outcome"] == "failed"])
    finally:
        for d in daemons.values():
            d.stop(grace=5)
        for st in sinks.values():
            for sink in st.values():
                sink.close()
        wb.stop()
        if server is not None:
            server.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--scans", type=int, default=500)
    ap.add_argument("--backend", choices=("both", "postgresql", "sqlite"), default="both")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows = [run(b, args.jobs, args.scans) for b in backends]
    print("| store | jobs | jobs/s | EAN scans | queued | scan → first byte p50 ms | p99 ms | duplicates |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        name = "PostgreSQL, shared" if r["backend"] == "postgresql" else "SQLite, one per station"
        print(f"| {name} | {r['jobs']} | {r['jobs_s']:.0f} | {r['scans']} | {r['queued']} | {r['p50']:.0f} | "
              f"{r['p99']:.0f} | {r['duplicates']} |")
    for r in rows:
        print(f"{r['backend']}: outcomes {r['outcomes']}, orders never printed: {r['missing']}; "
              f"failures: {r['failures'][:3]}", file=sys.stderr)
    pg = [r for r in rows if r["backend"] == "postgresql"]
    return 0 if all(r["duplicates"] == 0 and r["missing"] == 0 for r in pg) else 1


if __name__ == "__main__":
    raise SystemExit(main())
