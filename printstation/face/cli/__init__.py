"""``printstation`` command line. Each subcommand lives in its own module with ``register()``.

Exit codes: 0 ok, 1 some items failed, 2 usage, 3 bad input, 4 authentication refused.
Errors are one line on stderr: ``printstation: error: …``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn, Sequence

from ...errors import PrintstationError

#: Subcommand modules in help order. A module registers one or more subcommands; every one must
#: exist (a missing module fails loudly, a typo never hides a command).
COMMAND_MODULES = (
    "printstation.face.cli.convert",
    "printstation.face.cli.daemon",
    "printstation.face.cli.client",
    "printstation.face.cli.printers",
    "printstation.face.cli.markets",
    "printstation.face.cli.markets_ol",
    "printstation.face.cli.scan",
    "printstation.face.cli.doctor",
    "printstation.face.cli.db",
)


class ArgParser(argparse.ArgumentParser):
    """argparse that exits 2 with our one-line error format."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"printstation: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from ... import __version__

    parser = ArgParser(prog="printstation", description="Label printing station for marketplace sellers.")
    parser.add_argument("--version", action="version", version=f"printstation {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)  # a missing module is an error, never skipped
    return parser


def fail(message: str, code: int) -> int:
    from ...logs import redact

    print(f"printstation: error: {redact(' '.join(str(message).split()))}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    from ...logs import setup_logging

    setup_logging(verbosity=args.verbose, level=os.environ.get("PRINTSTATION_LOG_LEVEL"))
    try:
        return int(args.func(args) or 0)
    except PrintstationError as exc:
        return fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
