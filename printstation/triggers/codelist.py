"""A hot folder ``.txt`` code list: one code per line, each run through the scan rules as if
scanned (blank lines and ``#`` comments skipped). A failing line is named by its number and a
redacted preview, never by its contents."""

from __future__ import annotations

from ..errors import PrintstationError
from ..names import preview, printable
from ..render.sniff import decode_text
from .service import ScanService

#: Lines of a ``.txt`` code list that are read (each code runs through the scan rules).
MAX_LINES = 1000


def scan_code_list(scans: ScanService | None, data: bytes, printer: str, rel: str) -> None:
    """Scan each code of the list on ``printer``; PrintstationError names the lines not printed."""
    if scans is None:
        raise PrintstationError("code lists (.txt) need the scan rules, which are not running")
    try:
        text = decode_text(data)  # UTF-8, or UTF-8/UTF-16 after a byte-order mark
    except UnicodeDecodeError:
        raise PrintstationError("a .txt code list must be UTF-8 (or UTF-16 with a BOM) text") from None
    bad = []
    for n, line in enumerate(text.splitlines(), 1):
        code = line.strip()
        if not code or code.startswith("#"):
            continue
        if n > MAX_LINES:  # a list cannot hold the folder for long: the rest is not read
            bad.append(f"lines {n}…: not read: a code list is read up to line {MAX_LINES} (split it)")
            break
        shown = preview(code)
        rec = scans.scan(code, printer=printer, scanner=f"hotfolder:{printable(rel)}",
                         debounce=False, shown=shown)
        if rec["outcome"] in ("failed", "unmatched"):
            detail = str(rec.get("detail") or "").replace(code, shown)
            bad.append(f"line {n}: {shown}: {rec['outcome']}" + (f": {detail}" if detail else ""))
    if bad:
        raise PrintstationError(f"{len(bad)} line(s) not printed (the others were queued): " + "; ".join(bad))
