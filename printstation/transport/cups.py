"""``cups://QUEUE`` or ``cups://SERVER[:PORT]/QUEUE`` — a raw CUPS queue, via the ``lp`` command.

Each ``write()`` runs ``lp -d QUEUE -o raw [-h SERVER[:PORT]] [-t JOB_ID] -`` with the bytes on
stdin (the ``lp`` program from cups-client, found on ``PATH`` when the transport opens). ``lp``
is used rather than IPP because it already handles local sockets, authentication and server
defaults the same way every other CUPS client does; the printer must be a *raw* queue (or a
driver that accepts ``-o raw``).

- ``timeout`` bounds each ``lp`` run (spooling, not printing).
- Write only (``can_read = False``): CUPS owns the device, so status is "idle" by construction;
  use ``lpstat -p QUEUE`` to see the queue's own state.
- Errors: ``lp`` missing → permanent. ``lp`` failing: permanent when the queue does not exist or
  access is refused (``does not exist``, ``unknown``, ``forbidden``, ``not authorized``),
  transient otherwise (scheduler down, queue not accepting jobs, timeouts). The message is the
  first line ``lp`` printed on stderr.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.parse

from .base import DEFAULT_TIMEOUT, Transport, parse_query

_QUEUE = re.compile(r"[A-Za-z0-9_.@-]+")
_PERMANENT = ("does not exist", "unknown", "not found", "forbidden", "not authorized",
              "unauthorized", "bad printer")


class CupsTransport(Transport):
    scheme = "cups"
    can_read = False

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

    def _open(self) -> None:
        lp = shutil.which("lp")
        if lp is None:
            raise self.error("open: the lp command is not installed (cups-client)", transient=False)
        self._lp = lp

    def command(self, job_id: str | None) -> list[str]:
        cmd = [self._lp or "lp", "-d", self.queue, "-o", "raw"]
        if self.server:
            cmd += ["-h", self.server]
        if job_id:
            cmd += ["-t", f"printstation job {job_id}"]
        return cmd + ["-"]

    def _write(self, data: bytes, *, job_id: str | None, ext: str) -> None:
        try:
            proc = subprocess.run(self.command(job_id), input=data, capture_output=True,
                                  timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise self.error(f"lp: timed out after {self.timeout:g} s", transient=True) from None
        except OSError as exc:
            raise self.os_error("lp", exc) from exc
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            text = lines[0] if lines else f"exit status {proc.returncode}"
            text = re.sub(r"^lp:\s*", "", text)
            permanent = any(word in text.lower() for word in _PERMANENT)
            raise self.error(f"lp: {text}", transient=not permanent)

    def _close(self) -> None:
        pass
