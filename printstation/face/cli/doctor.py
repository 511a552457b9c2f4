"""``printstation doctor [--config FILE]``: a ✓/✗ table of everything the station needs;
``printstation check-config [--config FILE]``: does the config load (as ``run`` loads it)."""

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
    c = sub.add_parser(
        "check-config", help="validate the config as the daemon does at start (nothing is contacted)",
        description="Load and validate the config exactly as 'printstation run' does: every key, the "
                    "files it names (token and secret files: there, readable, never shown) and the "
                    "scanner devices. An error is one line naming the key (exit 2); what loads but "
                    "may not work now (a scanner unplugged) is a warning line (exit 0).")
    c.add_argument("--config", metavar="FILE",
                   help="config file (default: /etc/printstation/printstation.toml if it exists, "
                        "else the embedded default)")
    c.set_defaults(func=check_config)


def check_config(args: argparse.Namespace) -> int:
    from .. import config as cfgmod
    from ..doctor import resolve_config_path

    path = resolve_config_path(args.config)
    cfg = cfgmod.load(path)  # a ConfigError is the CLI's one line, exit 2
    for line in cfg.warnings:
        print(f"printstation: warning: {line}", file=sys.stderr)
    where = str(path) if path else "embedded default"
    print(f"{where}: config OK ({len(cfg.printers)} printer(s), {len(cfg.scanners)} scanner(s)"
          + (f", {len(cfg.warnings)} warning(s)" if cfg.warnings else "") + ")", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    from ..doctor import exit_code, render, run_checks

    checks = run_checks(args.config, timeout=max(0.1, args.timeout))
    print(render(checks, sys.stdout), flush=True)
    return exit_code(checks)
