"""``printstation doctor [--config FILE]``: a ✓/✗ table of everything the station needs."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check config, printers, scanners, tokens and folders; print how to fix problems",
        description="Validate the config; query each printer's status; check each scanner can be read "
                    "and grabbed; check the marketplace tokens with one cheap call; check the data dir "
                    "and hot folder are writable. Exit 0 when every check passed, 1 otherwise.",
    )
    p.add_argument("--config", metavar="FILE",
                   help="config file (default: /etc/printstation/printstation.toml if it exists, "
                        "else the embedded default)")
    p.add_argument("--timeout", type=float, default=3.0, metavar="SECONDS",
                   help="per printer / marketplace call (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..doctor import exit_code, render, run_checks

    checks = run_checks(args.config, timeout=max(0.1, args.timeout))
    print(render(checks, sys.stdout), flush=True)
    return exit_code(checks)
