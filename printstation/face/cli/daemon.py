"""``printstation run``: the daemon in the foreground (systemd runs exactly this)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run the station daemon in the foreground",
        description="Run the printing station: persistent per-printer queues, the control API "
                    "(HTTP and a unix socket), hot folder and scanners. Without --config it runs on "
                    "the embedded default: printer 'default' = dir://./var/out (ZPL, 58x40, 203 dpi), "
                    "hot folder ./var/hot, data dir ./var, API 127.0.0.1:8631.")
    p.add_argument("--config", metavar="FILE", default=None,
                   help="TOML config file (see config/printstation.example.toml)")
    # Trigger options (issue 6) go here, next to --config; every option reaches the daemon
    # as Daemon.options[<dest>] (e.g. --scanner-stdin → options["scanner_stdin"]).
    p.add_argument("--scanner-stdin", action="store_true",
                   help="read scanned codes from standard input, one a line (for trials)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..daemon import run as run_daemon

    options = {k: v for k, v in vars(args).items() if k not in ("func", "command", "config", "verbose")}
    return run_daemon(args.config, options)
