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

#: The modules that register each command (pinned against :data:`COMMAND_MODULES` by
#: ``tests/cli/test_lazy_commands.py``). A run of a known command imports only these (``printstation
#: convert`` skips the client, markets and config stack: ~20 ms of start); help, a bad command or
#: no command builds the whole parser, so its text and errors are the same.
COMMANDS: dict[str, tuple[str, ...]] = {
    "convert": ("printstation.face.cli.convert",),
    "run": ("printstation.face.cli.daemon",),
    **{name: ("printstation.face.cli.client",) for name in
       ("print", "jobs", "scans", "reprint", "cancel", "pause", "resume")},
    "printers": ("printstation.face.cli.client", "printstation.face.cli.printers"),
    "test-print": ("printstation.face.cli.printers",),
    "wb": ("printstation.face.cli.markets",),
    "ali": ("printstation.face.cli.markets",),
    "ozon": ("printstation.face.cli.markets_ol",),
    "lamoda": ("printstation.face.cli.markets_ol",),
    "scan": ("printstation.face.cli.scan",),
    "doctor": ("printstation.face.cli.doctor",),
    "check-config": ("printstation.face.cli.doctor",),
    "db": ("printstation.face.cli.db",),
}


class ArgParser(argparse.ArgumentParser):
    """argparse that exits 2 with our one-line error format."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"printstation: error: {message}\n")


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv``: its first argument that is not an option (the top-level
    options take no value)."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with a known ``command``, only that command's (the modules that register it)."""
    from ... import __version__

    parser = ArgParser(prog="printstation", description="Label printing station for marketplace sellers.")
    parser.add_argument("--version", action="version", version=f"printstation {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgParser)
    wanted = COMMANDS.get(command or "")
    for name in COMMAND_MODULES:
        if wanted is None or name in wanted:
            importlib.import_module(name).register(sub)  # a missing module is an error, never skipped
    return parser


def fail(message: str, code: int) -> int:
    from ...logs import redact

    print(f"printstation: error: {redact(' '.join(str(message).split()))}", file=sys.stderr)
    return code


#: numpy's OpenBLAS starts a thread per extra core at import that busy-waits for work the station
#: never needs (its only BLAS calls are a few tiny matrix-vector products): measured, `import
#: numpy` took 92-98 ms of CPU for 50-53 ms of wall and the thread then spun 51-61 ms of every idle 100 ms — CPU taken from the page
#: workers and from anything else on a shared box. One thread: 48-51 ms, then nothing. Set for
#: this process and every conversion child it starts, unless the caller chose otherwise.
SINGLE_THREAD_BLAS = {"OPENBLAS_NUM_THREADS": "1"}


def main(argv: Sequence[str] | None = None) -> int:
    for name, value in SINGLE_THREAD_BLAS.items():
        os.environ.setdefault(name, value)
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_of(argv))
    args, extra = parser.parse_known_args(argv)
    if extra:  # `print a.pdf --printer zebra b.pdf`: files after an option are files too
        more = getattr(args, "more_files", None)
        if not more or any(x.startswith("-") and x != "-" for x in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        getattr(args, more).extend(extra)
    if not getattr(args, "func", None):
        build_parser().print_help(sys.stderr)  # every command listed
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
