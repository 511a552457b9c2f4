"""Helpers to run the real daemon in tests and benchmarks: config files, in-process and
subprocess daemons, a READY listener, ZPL label bookkeeping."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

REPO = Path(__file__).resolve().parents[2]


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, data_dir: Path, printers: list[dict[str, Any]], *, listen: str = "127.0.0.1:0",
                 extra: str = "", api: dict[str, Any] | None = None) -> Path:
    lines = ["[station]", f"data_dir = {toml_value(str(data_dir))}", "", "[api]", f"listen = {toml_value(listen)}"]
    for k, v in (api or {}).items():
        lines.append(f"{k} = {toml_value(v)}")
    for p in printers:
        lines += ["", "[[printers]]"] + [f"{k} = {toml_value(v)}" for k, v in p.items()]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


#: The job states a job does not leave.
FINAL = {"done", "failed", "canceled", "interrupted"}


def dir_printers_config(tmp_path: Path, printers: dict[str, str], hot: bool = True, **station: Any) -> Path:
    """A station config at ``tmp_path``: one ``dir://tmp_path/out/<name>`` printer per ``{name: lang}``
    (no status polls), an optional hot folder (``tmp_path/hot``), ``[station]`` keys as given."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    extra = ""
    if hot:
        extra += f'\n[hotfolder]\npath = "{tmp_path / "hot"}"\nsettle_ms = 100\n'
    cfg = write_config(tmp_path / "station.toml", tmp_path / "data", [
        {"name": n, "uri": f"dir://{tmp_path / 'out' / n}", "lang": lang, "status_poll": 0}
        for n, lang in printers.items()], extra=extra, api={"unix_socket": False})
    if station:
        text = cfg.read_text().replace("[station]\n", "[station]\n" + "".join(
            f"{k} = {v}\n" for k, v in station.items()), 1)
        cfg.write_text(text)
    return cfg


def wb_market_toml(base_url: str, token_file: Path, *, sync: bool = False) -> str:
    """Config text for ``[markets.wb]`` at ``base_url`` (WB sync off unless ``sync``)."""
    return (f"[sync]\nenabled = {toml_value(sync)}\n[markets.wb]\nbase_url = {toml_value(base_url)}\n"
            f"token_file = {toml_value(str(token_file))}\n")


def wait_until(pred: Callable[[], Any], timeout: float = 15.0, interval: float = 0.01, *,
               what: str = "condition") -> Any:
    """``pred()``'s first true value, asked every ``interval`` s; AssertionError naming ``what``
    after ``timeout`` s. The one waiter of the tests."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s" if what == "condition"
                                 else f"timed out waiting for {what} ({timeout} s)")
        time.sleep(interval)


@contextlib.contextmanager
def running(config_path: Path, **kw: Any) -> Iterator[Any]:
    """An in-process :class:`Daemon` started on ``config_path`` (API on an ephemeral port)."""
    from printstation.face import config
    from printstation.face.daemon import Daemon

    d = Daemon(config.load(config_path), **kw)
    d.start()
    try:
        yield d
    finally:
        d.stop(grace=5)


_FD = re.compile(rb"\^BC[^\^]*\^FD([^\^]+)\^FS")


def zpl_values(data: bytes) -> list[str]:
    """The Code128 values of every ``wb_sticker_zpl`` label in recorded ZPL, in order."""
    return [m.group(1).decode() for m in _FD.finditer(data)]


class ReadyListener:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET, read at once by a thread as
    systemd reads it: a receiver that reads late lets the socket's queue (10 datagrams) fill, and
    the daemon's non-blocking sends (it must never stall on systemd) then drop messages — under
    load a test waiting for ``STOPPING=1`` after many ``WATCHDOG=1`` saw it dropped."""

    def __init__(self, path: Path) -> None:
        import threading

        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []
        self._times: list[float] = []
        self._next = 0  # messages before this one were looked at by an earlier wait_for
        self._closed = False
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="notify-listener", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.sock.recv(4096)
            except OSError:
                return
            if self._closed:
                return
            with self._cond:
                self.messages.append(msg.decode())
                self._times.append(time.monotonic())
                self._cond.notify_all()

    def wait_for(self, text: str, timeout: float = 15.0) -> float:
        """Block until a datagram containing ``text`` arrives (one not looked at by an earlier
        call); returns its arrival time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(self._next, len(self.messages)):
                    if text in self.messages[i].split("\n"):
                        self._next = i + 1
                        return self._times[i]
                self._next = len(self.messages)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {text!r} from the daemon (got {self.messages})")
                self._cond.wait(left)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader
        self.sock.close()
        self._reader.join(5)


class DaemonProcess:
    """``python -m printstation run --config FILE`` in a subprocess with a READY listener."""

    def __init__(self, config_path: Path, notify_path: Path, env: dict[str, str] | None = None,
                 preexec_fn: Callable[[], None] | None = None) -> None:
        self.config_path = config_path
        self.notify = ReadyListener(notify_path)
        e = dict(os.environ)
        e.update(env or {})
        e["NOTIFY_SOCKET"] = str(notify_path)
        e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
        self.log_path = config_path.with_suffix(f".{int(time.time() * 1000)}.log")
        self._log = open(self.log_path, "wb")
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "printstation", "run", "--config", str(config_path)],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=e, cwd=config_path.parent,
                                     preexec_fn=preexec_fn)

    def wait_ready(self, timeout: float = 20.0) -> float:
        """Seconds from start to READY=1."""
        t = self.notify.wait_for("READY=1", timeout)
        return t - self.t_start

    def api_url(self) -> str:
        """The API URL from the READY=1 STATUS line (the port is ephemeral)."""
        for msg in self.notify.messages:
            m = re.search(r"STATUS=API (http://[^;\s]+)", msg)
            if m:
                return m.group(1)
        raise AssertionError(f"no API URL in {self.notify.messages}")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        self.kill()
        self._log.close()
        self.notify.close()


def nofile_1024() -> None:
    """``preexec_fn``: systemd's default soft fd limit (1,024) for a daemon subprocess."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def crowded_daemon(tmp: Path, idle: int, tag: str = "") -> tuple[DaemonProcess, int, list[socket.socket]]:
    """A daemon subprocess (one ``dir://`` printer, fd soft limit 1,024) with ``idle`` TCP
    connections open to its API that never send a byte: ``(daemon, api port, connections)``.
    The caller closes both."""
    cfg = write_config(tmp / f"c{tag}.toml", tmp / f"data{tag}", [{"name": "a", "uri": f"dir://{tmp / 'out'}"}],
                       api={"unix_socket": False})
    d = DaemonProcess(cfg, tmp / f"notify{tag}.sock", preexec_fn=nofile_1024)
    crowd: list[socket.socket] = []
    try:
        d.wait_ready(60)
        port = int(d.api_url().rsplit(":", 1)[1])
        for _ in range(idle):
            crowd.append(socket.create_connection(("127.0.0.1", port), timeout=30))
    except BaseException:
        for s in crowd:
            s.close()
        d.close()
        raise
    return d, port, crowd
