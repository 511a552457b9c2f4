"""The daemon in the foreground (:mod:`printstation.face.daemon`): signals, the main loop,
reloading the config on SIGHUP, and the ready log's "where labels go" lines.

Signal handlers only set flags; the loop (woken through ``signal.set_wakeup_fd``) acts: SIGTERM /
SIGINT stop the daemon, SIGHUP reloads the config file (a bad file is logged and the running
config stays). The systemd watchdog is fed and the status line updated on every turn.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import select
import signal
import socket
from typing import TYPE_CHECKING, Any

from ..errors import PrintstationError
from ..queue.base import JobState

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger("printstation.face.daemon")


def reload_config(d: "Daemon") -> bool:
    """Re-read ``d``'s config file and apply it (``[api]`` and ``[station]`` need a restart)."""
    from . import config as configmod
    from ..logs import set_config_level

    if d.config.path is None:
        log.info("SIGHUP: running on the embedded default config, nothing to reload")
        return False
    d.notifier.reloading()
    try:
        new = configmod.load(d.config.path)
    except PrintstationError as exc:
        log.error("reload refused, keeping the running config: %s", exc)
        d.notifier.ready(d.status_line())
        return False
    old = d.config
    set_config_level(new.station.log_level)
    for line in new.warnings:  # loads, but may not work now (a scanner unplugged)
        log.warning("config: %s", line)
    live = ("default_printer", "log_level")  # [station] keys a reload applies; the rest need a restart
    for what in _needs_restart(old, new, live):
        log.warning("reload: %s changed; it takes effect after a restart", what)
    station = dataclasses.replace(old.station, **{k: getattr(new.station, k) for k in live})
    new = dataclasses.replace(new, api=old.api, station=station)
    d.apply_config(new)
    counts = d.store.counts()
    for gone in sorted({p.name for p in old.printers} - {p.name for p in new.printers}):
        if n := counts.get((gone, JobState.QUEUED), 0):  # kept (the printer may come back), but say so
            log.warning("reload: printer %s removed with %d queued job(s): they wait until it is configured "
                        "again (printstation jobs --printer %s; cancel them with printstation cancel ID)",
                        gone, n, gone)
    log.info("config reloaded from %s (%d printer(s))", new.path, len(d.workers))
    d.notifier.ready(d.status_line())
    return True


#: Sections a reload does not apply (the triggers keep their start-time settings; the hot folder
#: and scan rules do get the reloaded printers).
KEPT_SECTIONS = ("api", "hotfolder", "scanners", "rules", "scan", "sync", "markets", "webhooks")


def _needs_restart(old: Any, new: Any, live: tuple[str, ...]) -> list[str]:
    """What changed in the file that only a restart applies: ``station.KEY`` or ``[SECTION]``."""
    out = [f"station.{f.name}" for f in dataclasses.fields(old.station)
           if f.name not in live and getattr(old.station, f.name) != getattr(new.station, f.name)]
    return out + [f"[{name}]" for name in KEPT_SECTIONS if old.sections.get(name) != new.sections.get(name)]


def run_foreground(d: "Daemon") -> int:
    """Start ``d`` and run until SIGTERM/SIGINT (SIGHUP: reload); stop it. The exit code (0)."""
    flags: set[str] = set()

    def on_signal(signum: int, frame: Any) -> None:
        flags.add("hup" if signum == signal.SIGHUP else "term")

    rfd, wfd = socket.socketpair()
    rfd.setblocking(False)
    wfd.setblocking(False)
    old_fd = signal.set_wakeup_fd(wfd.fileno(), warn_on_full_buffer=False)
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        d.start()
        _loop(d, rfd, flags)
        log.info("stopping (signal)")
    finally:
        d.stop()
        for s, h in old.items():
            signal.signal(s, h)
        signal.set_wakeup_fd(old_fd)
        rfd.close()
        wfd.close()
    return 0


def _loop(d: "Daemon", wakeup: socket.socket, flags: set[str]) -> None:
    wd = d.notifier.watchdog_interval
    last_status = ""
    while "term" not in flags:
        select.select([wakeup], [], [], min(wd, 5.0) if wd else 5.0)
        try:
            wakeup.recv(512)
        except BlockingIOError:
            pass
        if "hup" in flags:
            flags.discard("hup")
            d.reload()
        if wd:
            d.notifier.watchdog()
        line = d.status_line()
        if line != last_status:
            d.notifier.status(line)
            last_status = line


def where_labels_go(config: Any, api_url: str | None = None) -> list[str]:
    """One line per printer for the ready log: where its labels go and how to print on it,
    e.g. "printer default → ./var/out (ZPL 58×40); drop files in ./var/hot/default or run
    `printstation print FILE`". ``api_url`` is where the CLI reaches the API (:func:`cli_api_url`):
    another address than the CLI's default adds ``--api URL``, an ``[api] token_file`` the token
    from it (``PRINTSTATION_API_TOKEN=$(cat FILE)``), so the command works as printed."""
    from ..lang import registry
    from ..transport.base import display_uri

    hf = config.hotfolder
    lines = []
    for p in config.printers:
        uri = display_uri(p.uri)
        target = uri[len("dir://"):] if uri.startswith("dir://") else uri
        media = f"{p.spec.media.width_mm:g}×{p.spec.media.height_mm:g}"
        how = [f"run `{_print_command(config, p.name, api_url)}`"]
        if hf.enabled:
            how.insert(0, f"drop files in {_show_path(hf.path / p.name)}")
        lines.append(f"printer {p.name} → {target} ({registry.shown(p.spec.lang)} {media}); {' or '.join(how)}")
    return lines


def cli_api_url(config: Any, port: int) -> str:
    """The URL the CLI reaches the API at: the ``[api] listen`` host (a wildcard address →
    loopback) and the port actually listened on (``listen = "127.0.0.1:0"`` picks one)."""
    from .guards import host_literal

    host = config.api.host
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{host_literal(host)}:{port}"


def _print_command(config: Any, printer: str, api_url: str | None) -> str:
    import shlex

    from .cli.client import DEFAULT_API

    cmd = "printstation print FILE"
    if printer != config.default_printer:
        cmd += f" --printer {shlex.quote(printer)}"
    if api_url and api_url != DEFAULT_API:
        cmd += f" --api {api_url}"
    token_file = config.api.token_file if api_url else None
    if token_file is not None:
        cmd = f"PRINTSTATION_API_TOKEN=$(cat {shlex.quote(os.path.abspath(token_file))}) {cmd}"
    return cmd


def _show_path(p: Any) -> str:
    """A relative path as the operator typed it (``./var/hot/default``), else as is."""
    text = str(p)
    return text if os.path.isabs(text) or text.startswith(".") else f"./{text}"
