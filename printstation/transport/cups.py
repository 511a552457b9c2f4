"""``cups://QUEUE`` or ``cups://SERVER[:PORT]/QUEUE`` — a raw CUPS queue, via ``lp`` and ``lpstat``.

Each ``write()`` runs ``lp [-h SERVER[:PORT]] -d QUEUE -o raw [-t "printstation job ID"] -`` with
the bytes on stdin. The server option comes first: ``lp`` looks the destination up when it reads
``-d``, so a queue on a non-default server is only found when ``-h`` is already known. Without a
server the CUPS client defaults apply (``$CUPS_SERVER``, ``client.conf``, the local socket).
``lp``/``lpstat`` (cups-client) are used rather than IPP because they handle local sockets,
authentication and server defaults like every other CUPS client. The printer must be a *raw*
queue (or a driver that accepts ``-o raw``).

**Queue state** (``has_own_status``): before a job the printer worker asks
``lpstat [-h SERVER] -r -p QUEUE -a QUEUE`` (run with ``LC_ALL=C``) and maps the answer:

==================================  ===========  =========================================  ==============================
CUPS                                state        reason                                     fix (``fix_hint``)
==================================  ===========  =========================================  ==============================
enabled and accepting               ``idle``     "CUPS queue enabled and accepting jobs"
disabled (``cupsdisable``)          ``paused``   "CUPS queue disabled" (+ CUPS's message)   ``cupsenable QUEUE``
not accepting (``cupsreject``)      ``error``    "CUPS queue rejecting jobs"                ``cupsaccept QUEUE``
queue missing                       ``error``    "CUPS queue Q does not exist on S"         ``lpadmin -p QUEUE -v … -E``
scheduler not running / reachable   ``offline``  "CUPS scheduler at S is not reachable"     start cups / check the server
==================================  ===========  =========================================  ==============================

A job waits ``queued`` in every state but ``idle``; the worker asks again every ``status_poll``
seconds (backoff when the scheduler is unreachable, or when ``status_poll = 0``) and sends by
itself once the queue is fine. "Scheduler unreachable" closes the transport (like a refused
connection), the other states leave it open.

``lp`` is all-or-nothing (``atomic_write``): when it fails nothing was spooled, so the job goes
back to the queue. The queue state is asked again to say why (a queue disabled, rejecting or
removed between the check and ``lp``): :class:`CupsQueueError` carries that ``printer_state``.
Only an ``lp`` that ran past ``timeout`` may have spooled the job: that error has
``maybe_delivered = True`` and the job is handled like any write that broke part-way.

Errors are one line: ``cups://SERVER/QUEUE: lp: the printer or class does not exist`` (the
``lp:``/``/usr/bin/lp:`` prefix and "Error -" of the tool's own message are dropped). ``lp`` or
``lpstat`` missing → permanent error when the transport opens. Output of both tools is read up to
64 KiB.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from typing import TYPE_CHECKING

from ..errors import CupsQueueError, TransportError
from .base import DEFAULT_TIMEOUT, Transport, parse_query

if TYPE_CHECKING:
    from ..status import PrinterStatus, State

_QUEUE = re.compile(r"[A-Za-z0-9_.@][A-Za-z0-9_.@-]*")
_HOST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*|[0-9A-Fa-f:.]+")
#: Words in an ``lp`` error that an operator has to fix (the printer shows ``error``, not offline).
_NEEDS_OPERATOR = ("does not exist", "unknown", "not found", "forbidden", "not authorized",
                   "unauthorized", "bad printer", "not accepting")
_MISSING = ("invalid destination", "does not exist", "not found", "unknown printer")
#: Messages CUPS sets by itself: not worth repeating after "CUPS queue disabled".
_DEFAULT_MESSAGES = {"", "paused", "rejecting jobs", "stopped", "ready to print.", "ready to print"}
OUTPUT_LIMIT = 64 * 1024

DISABLED = "CUPS queue disabled"
REJECTING = "CUPS queue rejecting jobs"


def clean_tool_message(text: str, tool: str) -> str:
    """The first line of a CUPS tool's stderr without ``lp:``/``/usr/bin/lp:`` and ``Error -``."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = lines[0] if lines else ""
    line = re.sub(rf"^(?:\S*/)?{re.escape(tool)}:\s*", "", line)
    line = re.sub(r"^(?:Error|Warning)\s*-\s*", "", line, flags=re.IGNORECASE)
    line = line.rstrip(".")
    return line[:1].lower() + line[1:] if line else line


class CupsTransport(Transport):
    scheme = "cups"
    can_read = False
    atomic_write = True
    has_own_status = True

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(uri, timeout=timeout)
        parts = urllib.parse.urlsplit(uri)
        parse_query(uri, parts, set())
        path = urllib.parse.unquote(parts.path).strip("/")
        if path:
            try:
                host, port = parts.hostname, parts.port
            except ValueError:
                raise self.error("bad server port", transient=False) from None
            if not host or not _HOST.fullmatch(host):
                raise self.error("bad server (expected cups://SERVER[:PORT]/QUEUE)", transient=False)
            if ":" in host:
                host = f"[{host}]"
            self.server: str | None = f"{host}:{port}" if port else host
            queue = path
        else:
            self.server = None
            queue = urllib.parse.unquote(parts.netloc)
        if not queue or not _QUEUE.fullmatch(queue):
            raise self.error("bad queue name (expected cups://QUEUE or cups://SERVER/QUEUE)",
                             transient=False)
        self.queue = queue
        self._lp: str | None = None
        self._lpstat: str | None = None

    # -- commands -------------------------------------------------------------------------------

    def _server_args(self) -> list[str]:
        return ["-h", self.server] if self.server else []

    def command(self, job_id: str | None) -> list[str]:
        """The ``lp`` command line (``argv[0]`` is ``lp``; the binary found on open runs it)."""
        cmd = ["lp", *self._server_args(), "-d", self.queue, "-o", "raw"]
        if job_id:
            cmd += ["-t", f"printstation job {job_id}"]
        return cmd + ["-"]

    def status_command(self) -> list[str]:
        return ["lpstat", *self._server_args(), "-r", "-p", self.queue, "-a", self.queue]

    def _where(self) -> str:
        return f" on {self.server}" if self.server else ""

    def _run(self, exe: str | None, argv: list[str], data: bytes) -> tuple[int, str, str]:
        """Run a CUPS tool in the C locale → (exit status, stdout, stderr), each read up to 64 KiB."""
        env = {k: v for k, v in os.environ.items() if k != "LANGUAGE"}
        env.update(LC_ALL="C", LANG="C")
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.run(argv, executable=exe or argv[0], input=data, stdout=out,
                                      stderr=err, env=env, timeout=self.timeout, check=False)
            except subprocess.TimeoutExpired:
                raise CupsQueueError(f"{self.uri}: {argv[0]}: timed out after {self.timeout:g} s",
                                     maybe_delivered=argv[0] == "lp") from None
            except OSError as exc:
                raise self.os_error(argv[0], exc) from exc
            texts = []
            for f in (out, err):
                f.seek(0)
                texts.append(f.read(OUTPUT_LIMIT).decode("utf-8", "replace"))
        return proc.returncode, texts[0], texts[1]

    # -- Transport ------------------------------------------------------------------------------

    def _open(self) -> None:
        lp, lpstat = shutil.which("lp"), shutil.which("lpstat")
        if lp is None or lpstat is None:
            missing = "lp" if lp is None else "lpstat"
            raise self.error(f"open: the {missing} command is not installed (cups-client)",
                             transient=False)
        self._lp, self._lpstat = lp, lpstat

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        rc, _out, err = self._run(self._lp, self.command(job_id), data)
        if rc == 0:
            return
        text = clean_tool_message(err, "lp") or f"exit status {rc}"
        # Nothing was spooled. Ask the queue why, so the printer shows the real state.
        try:
            st = self.own_status(self.timeout)
        except TransportError:
            st = None
        if st is not None and not st.ok:
            raise CupsQueueError(f"{self.uri}: {st.reason}", printer_state=st.state)
        needs_operator = any(word in text.lower() for word in _NEEDS_OPERATOR)
        raise CupsQueueError(f"{self.uri}: lp: {text}",
                             printer_state="error" if needs_operator else "offline")

    def _close(self) -> None:
        pass

    # -- queue state ----------------------------------------------------------------------------

    def own_status(self, timeout: float) -> "PrinterStatus":
        from ..status import PrinterStatus

        self.open()
        rc, out, err = self._run(self._lpstat, self.status_command(), b"")
        lines = out.splitlines()
        if any(ln.strip() == "scheduler is not running" for ln in lines):
            self.close()  # like a refused connection: retried with backoff
            where = f"at {self.server}" if self.server else "(default server)"
            return PrinterStatus("offline", f"CUPS scheduler {where} is not reachable", b"",
                                 frozenset({"transport", "cups_unreachable"}))
        enabled: bool | None = None
        accepting: bool | None = None
        message: list[str] = []
        section = ""
        for ln in lines:
            if ln.startswith(("\t", " ")):
                if section == "p" and ln.strip():
                    message.append(ln.strip())
                continue
            m = re.match(r"printer \S+ (?:is idle|now printing|disabled)", ln)
            if m:
                enabled = not re.match(r"printer \S+ disabled", ln)
                section = "p"
                continue
            m = re.match(r"\S+ (not )?accepting requests", ln)
            if m:
                accepting = m.group(1) is None
                section = "a"
                continue
            section = ""
        if enabled is None or accepting is None:
            problem = clean_tool_message(err, "lpstat")
            if any(word in problem.lower() for word in _MISSING):
                return PrinterStatus("error", f"CUPS queue {self.queue} does not exist{self._where()}",
                                     b"", frozenset({"cups_missing"}))
            shown = problem or (lines[0].strip() if lines else f"exit status {rc}")
            return PrinterStatus("error", f"unexpected lpstat answer: {shown[:200]}", b"",
                                 frozenset({"cups_unknown"}))
        flags: set[str] = set()
        reasons: list[str] = []
        if not accepting:
            flags.add("cups_rejecting")
            reasons.append(REJECTING)
        if not enabled:
            flags.add("cups_disabled")
            note = "; ".join(m for m in message if m.lower() not in _DEFAULT_MESSAGES)
            reasons.append(f"{DISABLED} ({note[:200]})" if note else DISABLED)
        if not reasons:
            return PrinterStatus("idle", "CUPS queue enabled and accepting jobs", b"", frozenset())
        state: State = "error" if not accepting else "paused"
        return PrinterStatus(state, ", ".join(reasons), b"", frozenset(flags))

    def fix_hint(self, status: "PrinterStatus") -> str:
        h = f"-h {self.server} " if self.server else ""
        q = self.queue
        fixes = []
        if "command is not installed" in status.reason:
            return "install the CUPS client tools: apt-get install cups-client"
        if "cups_unreachable" in status.flags:
            if self.server:
                return (f"start the CUPS scheduler on {self.server} (systemctl start cups there) and "
                        f"check that it listens on that port and lets this host in; "
                        f"test with: lpstat {h}-r")
            return "start the CUPS scheduler: systemctl start cups (test with: lpstat -r)"
        if "cups_missing" in status.flags:
            return (f"create the raw queue: lpadmin {h}-p {q} -v socket://PRINTER-ADDRESS:9100 -E "
                    f"(or fix the queue name in the uri; lpstat {h}-p lists the queues)")
        if "cups_rejecting" in status.flags:
            fixes.append(f"cupsaccept {h}{q}")
        if "cups_disabled" in status.flags:
            fixes.append(f"cupsenable {h}{q}")
        if fixes:
            return "run " + " and ".join(fixes) + " (after fixing what stopped the queue)"
        if "cups_unknown" in status.flags:
            return f"check the queue by hand: lpstat {h}-p {q} -a {q}"
        return ""
