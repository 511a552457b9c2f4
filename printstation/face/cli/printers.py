"""``printstation printers discover …`` and ``printstation test-print NAME``.

``printers discover`` probes TCP hosts and serial devices and lists USB printers, then prints a
ready ``[[printers]]`` block per printer found (``--json``: a list of ``{uri, lang, model,
firmware, dpi, media}``); ``--write CONFIG`` appends the blocks to a config after showing them.
``test-print NAME`` asks the daemon to queue a calibration label on printer NAME.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ...errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    from .client import _add_api

    parent = sub.choices.get("printers")
    if parent is None:  # the client module is absent: a printers command of our own
        parent = sub.add_parser("printers", help="printers: discover")
    psub = parent.add_subparsers(dest="printers_command", metavar="SUBCOMMAND",
                                 parser_class=type(parent), required=False)
    p = psub.add_parser(
        "discover", help="find printers and print ready [[printers]] blocks",
        description="Probe TCP hosts (default port 9100) and serial devices with ZPL ~HI, TSPL ~!T, "
                    "ESC/POS GS I and EPL2 UI (stopping at the first answer) and list USB printers by "
                    "their IEEE-1284 device ID. Without --tcp/--serial/--usb: --usb. Exit 0 when a "
                    "printer was found, 1 when none answered or --write refused one.")
    p.add_argument("--tcp", action="append", default=[], metavar="HOST[:PORT]",
                   help="probe a network printer (repeatable; default port 9100)")
    p.add_argument("--usb", action="store_true", help="list USB printers (libusb and /dev/usb/lp*)")
    p.add_argument("--serial", action="append", default=[], metavar="DEV",
                   help="probe a serial device, e.g. /dev/ttyUSB0 or serial:///dev/ttyS0?baud=19200 "
                        "(repeatable)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of TOML blocks")
    p.add_argument("--write", metavar="CONFIG",
                   help="append the blocks to CONFIG after showing them (a printer whose uri is "
                        "already there is refused)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="wait this long for each probe's answer (default 0.8)")
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser("test-print", help="print a calibration label on a printer (through the daemon)",
                       description="Queue a calibration label for printer NAME's media and dpi: a 1-dot "
                                   "border 1 mm inside the media edge, mm rulers on the top and left "
                                   "edges, the printer's settings as text, a Code128 of its name and a "
                                   "QR of the station URL.")
    p.add_argument("printer", metavar="NAME")
    _add_api(p)
    p.set_defaults(func=cmd_test_print)


def cmd_discover(args: argparse.Namespace) -> int:
    from ...discover import blocks, probe
    from ...discover.probe import Identity

    timeout = probe.DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if not 0.01 <= timeout <= 30:
        raise UsageError("--timeout must be 0.01..30 seconds")
    targets = [probe.tcp_uri(t) for t in args.tcp] + [probe.serial_uri(d) for d in args.serial]
    use_usb = args.usb or not targets
    found: list[Identity] = []
    notes: list[str] = []
    if targets:  # each target on its own thread: silent hosts do not add up
        from concurrent.futures import ThreadPoolExecutor

        uris = list(dict.fromkeys(targets))
        with ThreadPoolExecutor(max_workers=min(8, len(uris))) as pool:
            found += list(pool.map(lambda u: probe.probe_uri(u, timeout), uris))
    if use_usb:
        from ...discover import usb

        got, usb_notes = usb.scan()
        found += got
        notes += usb_notes
    taken: list[str] = []
    if args.write:
        taken = _names_in(Path(args.write))
    if args.json:
        print(blocks.render_json(found), flush=True)
    else:
        n = sum(1 for f in found if f.found)
        out = [f"# printstation printers discover: {n} printer(s) found"]
        out += [f"# {note}" for note in notes]
        print("\n".join(out) + "\n\n" + blocks.render_text(found, taken), end="", flush=True)
    code = 0 if any(f.found for f in found) else 1
    if args.write:
        added, refused = append_to_config(Path(args.write), found)
        for line in refused:
            print(f"printstation: {line}", file=sys.stderr)
        if added:
            print(f"printstation: added printer(s) {', '.join(added)} to {args.write}", file=sys.stderr)
        elif not refused:
            print(f"printstation: nothing to add to {args.write}", file=sys.stderr)
        if refused:
            code = 1
    return code


def append_to_config(path: Path, found: list[Any]) -> tuple[list[str], list[str]]:
    """:func:`printstation.discover.blocks.append_to_config`, checked against the station config."""
    from ...discover import blocks
    from ..config import check_addition

    return blocks.append_to_config(path, found, check_addition)


def _names_in(path: Path) -> list[str]:
    """Printer names already in a config (best effort: for naming the blocks shown)."""
    from ...discover.blocks import MAX_CONFIG, configured

    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_CONFIG:
            return []
        return configured(path.read_text(encoding="utf-8"))[1]
    except Exception:  # noqa: BLE001 - append_to_config reports the real problem
        return []


def cmd_test_print(args: argparse.Namespace) -> int:
    from ...queue.base import JobState
    from .client import _call, _describe, trouble_note

    job = _call(args, "POST", f"/printers/{args.printer}/test")
    if job.get("state") == JobState.FAILED:  # e.g. the label did not verify for this printer
        print(f"printstation: error: test label: {_describe(job)}", file=sys.stderr)
        return 3
    print(_describe(job) + trouble_note(job))
    return 0
