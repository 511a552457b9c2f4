"""``printstation convert``: one label file → printer bytes (or 1-bit PNG previews)."""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from ...errors import BadInput, UsageError
from ...fsutil import atomic_write
from ...lang import registry as langs
from ...spec import LANGS, Media, PrinterSpec


def _threshold(v: str) -> int:
    n = int(v)
    if not 0 <= n <= 255:
        raise argparse.ArgumentTypeError("threshold must be 0-255")
    return n


def _positive(v: str) -> int:
    n = int(v)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _media(v: str) -> Media:
    try:
        return Media.parse(v)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_spec_arguments(p: argparse.ArgumentParser) -> None:
    """The printer options shared by every command that converts."""
    p.add_argument("--lang", choices=LANGS, default="zpl", help="printer language (default zpl)")
    p.add_argument("--media", type=_media, default=None, metavar="WxH",
                   help="label size in mm (default 58x40)")
    p.add_argument("--dpi", type=_positive, default=203, help="printer resolution (default 203)")
    p.add_argument("--rotate", choices=("auto", "0", "90", "180", "270"), default="auto",
                   help="clockwise rotation; auto turns portrait labels onto landscape media")
    p.add_argument("--copies", type=_positive, default=1)
    p.add_argument("--darkness", type=int, default=None, help="ZPL ~SD 0-30, TSPL/EPL2 0-15")
    p.add_argument("--zpl-compress", choices=("auto", "z64", "acs", "hex"), default="auto")
    p.add_argument("--invert", action="store_true", help="TSPL: print 1 bits as black")
    p.add_argument("--dither", action="store_true", help="error-diffusion dithering (photos, logos)")
    p.add_argument("--threshold", type=_threshold, default=128, help="black below this gray level (0-255)")
    p.add_argument("--cut", action="store_true", help="ESC/POS: cut after each label")
    p.add_argument("--barcodes", choices=("redraw", "keep"), default="redraw",
                   help="redraw barcodes on whole printer dots (default) or keep the plain render")
    p.add_argument("--no-verify", action="store_true", help="do not decode barcodes to verify the result")


def spec_from_args(args: argparse.Namespace) -> PrinterSpec:
    media = args.media or Media.parse(langs.get(args.lang).default_media)
    return PrinterSpec(
        lang=args.lang, media=media, dpi=args.dpi, rotate=args.rotate, copies=args.copies,
        darkness=args.darkness, zpl_compress=args.zpl_compress, invert=args.invert,
        dither=args.dither, threshold=args.threshold, cut=args.cut, barcodes=args.barcodes,
        verify="off" if args.no_verify else "fail",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a label (ZPL/SVG/PNG/JPEG/BMP/PDF, raw or base64) for a printer",
                       description="Convert one label to the printer's language. INPUT may be '-' for stdin.")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("-o", "--output", default="-", metavar="OUT", help="output path or '-' for stdout (default)")
    add_spec_arguments(p)
    p.set_defaults(func=run)


#: Largest input read (the queue's own limit); /dev/zero or an endless pipe is refused, not read.
MAX_INPUT = 64 * 1024 * 1024


def read_limited(fh: BinaryIO, name: str, limit: int | None = None) -> bytes:
    """At most ``limit`` (default :data:`MAX_INPUT`) bytes of ``fh``; more is a one-line BadInput."""
    limit = MAX_INPUT if limit is None else limit
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise BadInput(f"{name}: input larger than {limit // (1024 * 1024)} MiB: refused")
    return data


def _read(path: str) -> bytes:
    if path == "-":
        return read_limited(sys.stdin.buffer, "stdin")
    try:
        with open(path, "rb") as fh:
            return read_limited(fh, path)
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory") from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _convert(data: bytes, spec: PrinterSpec) -> list[bytes]:
    """Convert in a child process killed after ``render_timeout`` (as the daemon does): a
    renderer stuck in C code cannot be interrupted from inside."""
    from ...errors import RenderTimeout
    from ...isolate import Isolate

    import threading

    # fork is cheap and safe in the single-threaded CLI; spawn when embedded in a threaded host.
    iso = Isolate(spec.render_timeout, context="fork" if threading.active_count() == 1 else "spawn",
                  preload=False)
    try:
        return iso.convert(data, spec)
    except RenderTimeout:
        raise RenderTimeout(f"rendering took longer than {spec.render_timeout:g} s: refused") from None
    finally:
        iso.close(wait=False)  # reaped once the output is written (printstation.__main__)


def run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    if spec.lang == "png" and args.output == "-" and sys.stdout.isatty():
        raise UsageError("PNG is binary and stdout is a terminal: use -o FILE (or pipe it)")
    data = _read(args.input)
    labels = _convert(data, spec)
    if not labels:
        raise BadInput("input holds no label")
    out = args.output
    if spec.lang == "png" and len(labels) > 1:
        if out == "-":
            raise UsageError("several pages as PNG need -o OUT (pages go to OUT-1.png, OUT-2.png, …)")
        base = Path(out)
        stem = base.with_suffix("") if base.suffix else base
        for n, png in enumerate(labels, 1):
            _write(f"{stem}-{n}.png", png)
        return 0
    blob = b"".join(labels)
    if out == "-":
        _write_stdout(blob)
    else:
        _write(out, blob)
    return 0


def _write_stdout(data: bytes) -> None:
    """The output on stdout; a closed or full stdout is a one-line usage error (a reader that
    went away is the broken pipe the CLI already answers)."""
    if sys.stdout is None:
        raise UsageError("cannot write stdout: it is closed (use -o FILE)")
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise UsageError(f"cannot write stdout: {exc.strerror or exc}") from None


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _write(path: str, data: bytes) -> None:
    """Write an output file atomically; an unwritable path is a one-line usage error."""
    try:
        # A symlink, FIFO or device (-o /dev/usb/lp0) is written in place, never replaced.
        atomic_write(path, data, fsync=False, special="write")
    except OSError as exc:
        why = ("a socket, not a file or device" if _is_socket(path) else "a FIFO with no reader") \
            if exc.errno == errno.ENXIO else \
            "a symlink to a missing file" if exc.errno == errno.ENOENT and os.path.islink(path) else exc.strerror or exc
        raise UsageError(f"cannot write {path}: {why}") from None
