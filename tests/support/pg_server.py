"""A real PostgreSQL server (Debian's ``postgresql``) in a temp dir, for tests.

    with PgServer() as pg:                 # initdb + pg_ctl start on 127.0.0.1:<free port>
        url = pg.new_database()            # postgresql://postgres:<password>@127.0.0.1:PORT/t1
        pg.stop(); pg.start()              # an outage and its end

The cluster lives in one temp dir (data, unix socket, log); nothing of the machine's own
PostgreSQL is used. TCP connections need the password (scram-sha-256), so the tests go through
the same password handling as a station. Running as root, the server runs as the ``postgres``
user (PostgreSQL refuses root): the temp dir is handed to that user.

:func:`pg_bin` is None when the server binaries are not installed (tests skip then); ``.ci/run``
installs the ``postgresql`` package.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

PASSWORD = "pw-" + secrets.token_hex(8)


def pg_bin() -> Path | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if os.access(os.path.join(d, "pg_ctl"), os.X_OK) and os.access(os.path.join(d, "initdb"), os.X_OK):
            return Path(d)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, *, fsync: bool = False) -> None:
        bin_dir = pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="ps-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o700)
        self._n = 0
        self._lock = threading.Lock()
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user:
            os.chown(pwfile, pwd.getpwnam(self.user).pw_uid, -1)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--pwfile", str(pwfile), "-E", "UTF8",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.root}'\nfsync = {'on' if fsync else 'off'}\n"
                    "max_connections = 200\n"
                    "shared_buffers = 32MB\n")
        self.start()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / tool), *args]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(cmd, env=env, check=check, capture_output=True, text=True, timeout=120,
                              cwd=str(self.root))

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        return self._run("psql", "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", db,
                         "-At", "-c", sql).stdout

    def new_database(self) -> str:
        """A fresh empty database; its URL (with the password)."""
        with self._lock:
            self._n += 1
            name = f"t{os.getpid()}_{self._n}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PgServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- fixtures (import them into a test module: ``from support.pg_server import pg, pg_url``) ------

import pytest  # noqa: E402

from support.optional import missing  # noqa: E402


@pytest.fixture(scope="session")
def pg() -> Any:
    """One PostgreSQL server for the test session (skipped when the server or psycopg is missing)."""
    if pg_bin() is None:
        missing("PostgreSQL server not installed (apt-get install postgresql)")
    server = PgServer()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg: PgServer) -> str:
    """A fresh database on the session's server."""
    return pg.new_database()
