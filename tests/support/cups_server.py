"""A real CUPS scheduler (``cupsd`` from Debian's ``cups``) on a private config dir, for tests.

    with CupsServer() as cups:               # cupsd -f on 127.0.0.1:<free port>
        cups.add_raw_queue("q", sink_uri)     # lpadmin -p q -v socket://127.0.0.1:PORT -E
        uri = cups.uri("q")                   # cups://127.0.0.1:PORT/q
        cups.tool("cupsdisable", "q"); cups.stop(); cups.start()

Everything lives in one temp dir (``ServerRoot``, ``RequestRoot``, ``StateDir``, ``CacheDir``,
``TempDir``, logs): nothing of the machine's own CUPS is read or changed, no systemd, no socket in
``/run``. The listener is loopback only and every operation is allowed without authentication
(the private ``<Policy default>``), so ``lpadmin`` works without root's local certificate.

Running as root, ``cupsd`` runs its backends as ``User lp`` / ``Group lp`` (``User root`` is not
allowed): the temp dir is made traversable (0755) so the socket backend can read the spooled
job. As another user, cupsd runs everything as that user.

:func:`cupsd_path` is None when the ``cups`` package is not installed (tests skip then).
Fixtures (import them into a test module): ``cups`` (a started server) and ``cups_sink`` (a
:class:`RecordingSink` that answers no status queries, as the end of a raw queue).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .printer_sinks import RecordingSink

SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")
C_ENV = {"LC_ALL": "C", "LANG": "C"}


def find_tool(name: str) -> str | None:
    """A CUPS program on ``PATH`` or in the sbin dirs (not always on a user's ``PATH``)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN_DIRS])
    return shutil.which(name, path=path)


def cupsd_path() -> str | None:
    return find_tool("cupsd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CupsServer:
    def __init__(self, *, start: bool = True) -> None:
        exe = cupsd_path()
        if exe is None:
            raise RuntimeError("cupsd is not installed (apt-get install cups)")
        self.cupsd = exe
        self.root = Path(tempfile.mkdtemp(prefix="printstation-cupsd-"))
        os.chmod(self.root, 0o755)  # backends run as lp must reach the spool
        self.port = free_port()
        self.server = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._write_config()
        if start:
            self.start()

    # -- config --------------------------------------------------------------------------------

    def _write_config(self) -> None:
        r = self.root
        for d in ("etc", "spool", "spool/tmp", "cache", "state", "log"):
            (r / d).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user, group, system_group = "lp", "lp", "root"
        else:
            user = pwd.getpwuid(os.geteuid()).pw_name
            group = system_group = grp.getgrgid(os.getegid()).gr_name
        (r / "etc/cups-files.conf").write_text(
            f"ServerRoot {r}/etc\n"
            f"RequestRoot {r}/spool\n"
            f"TempDir {r}/spool/tmp\n"
            f"CacheDir {r}/cache\n"
            f"StateDir {r}/state\n"
            f"ErrorLog {r}/log/error_log\n"
            f"AccessLog {r}/log/access_log\n"
            f"PageLog {r}/log/page_log\n"
            f"User {user}\nGroup {group}\nSystemGroup {system_group}\n"
        )
        (r / "etc/cupsd.conf").write_text(
            "LogLevel info\n"
            f"Listen 127.0.0.1:{self.port}\n"
            "Browsing Off\n"
            "WebInterface No\n"
            "DefaultAuthType None\n"
            "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
            "<Policy default>\n  <Limit All>\n    Order deny,allow\n    Allow all\n  </Limit>\n"
            "</Policy>\n"
        )

    # -- life cycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "cupsd already running"
        out = open(self.root / "log/cupsd.out", "ab")
        try:
            self.proc = subprocess.Popen(
                [self.cupsd, "-f", "-c", str(self.root / "etc/cupsd.conf"),
                 "-s", str(self.root / "etc/cups-files.conf")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, **C_ENV})
        finally:
            out.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cupsd exited with {self.proc.returncode}:\n{self.log()}")
            if self.tool("lpstat", "-r", check=False).stdout.strip() == "scheduler is running":
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"cupsd did not come up on {self.server}:\n{self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "CupsServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------------------

    def uri(self, queue: str) -> str:
        return f"cups://{self.server}/{queue}"

    def tool(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a CUPS client program against this server (``-h`` first), C locale."""
        exe = find_tool(name)
        if exe is None:
            raise RuntimeError(f"{name} is not installed (apt-get install cups-client cups-bsd)")
        proc = subprocess.run([exe, "-h", self.server, *args], capture_output=True, text=True,
                              env={**os.environ, **C_ENV}, timeout=30, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{name} {' '.join(args)}: {proc.stderr.strip()}")
        return proc

    def add_raw_queue(self, name: str, device_uri: str) -> None:
        """A raw queue (no model, no PPD) to ``device_uri``, enabled and accepting."""
        self.tool("lpadmin", "-p", name, "-v", device_uri, "-E")

    def remove_queue(self, name: str) -> None:
        self.tool("lpadmin", "-x", name)

    def jobs(self, queue: str, which: str = "all") -> list[str]:
        out = self.tool("lpstat", "-W", which, "-o", queue, check=False).stdout
        return [ln.split()[0] for ln in out.splitlines() if ln.strip()]

    def log(self) -> str:
        parts = []
        for name in ("cupsd.out", "error_log"):
            p = self.root / "log" / name
            if p.is_file():
                with open(p, "rb") as f:
                    parts.append(f.read(65536).decode("utf-8", "replace"))
        return "\n".join(parts)


@pytest.fixture
def cups() -> Iterator[CupsServer]:
    with CupsServer() as server:
        yield server


@pytest.fixture
def cups_sink() -> Iterator[RecordingSink]:
    with RecordingSink(answer_status=False) as s:
        yield s
