"""``printstation doctor``: check everything the station needs and say how to fix what is wrong.

Checks, in order (each one a row ✓ / ✗ / – (skipped) with a fix hint under every ✗):

- the config file loads and validates (nothing else is checked when it does not);
- the data dir and the hot folder are writable (a missing one: its nearest existing parent is);
- the data dir's filesystem has free space (at least :data:`MIN_FREE_MB`);
- the API address is free, or the station already answers ``/healthz`` there;
- each printer: the transport opens and answers a status query (``status_poll = 0``: opens only);
  then the discovery probes (:mod:`printstation.discover.verify`) ask what it is and a row
  ``printer NAME model`` says e.g. "printer answers as ZPL 203 dpi, config says 300 dpi";
  ``cups://`` printers: the CUPS queue's state (missing, disabled, rejecting, scheduler down),
  always, with the command that fixes it (``cupsenable``, ``cupsaccept``, ``lpadmin -p``);
- each scanner: the device can be read and grabbed exclusively (``EVIOCGRAB``, then released);
  serial scanners: the port opens;
- each marketplace with a token (or a ``[markets.X]`` table): the token is found and accepted by
  one cheap authenticated call (WB ``GET /api/v3/supplies?limit=1&next=0``, LAliExpress
  ``POST /seller-api/v1/logistic-order/get`` for one unknown tracking number).

Tokens are looked up exactly like the daemon does; when ``$CREDENTIALS_DIRECTORY`` is not set
(doctor run by an admin, not by systemd) the config file's directory stands in for it, so
``/etc/printstation/wb-token`` — the file ``LoadCredential=`` hands the service — is checked.
No token ever appears in the output.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..errors import PrintstationError
from ..lang import registry
from .doctor_checks import (Check, check_api, check_disk_space, check_printer, check_scanner, check_writable_dir,
                            identity_check, silent_printer_hint, station_answers)
from .doctor_markets import check_market, check_webhooks

#: Where the packaged unit reads its config; used when ``--config`` is not given and it exists.
SYSTEM_CONFIG = Path("/etc/printstation/printstation.toml")
#: The unit's StateDirectory= and WorkingDirectory=.
SERVICE_STATE_DIR = Path("/var/lib/printstation")


# -- run -----------------------------------------------------------------------------------------


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path | None:
    if path:
        return Path(path)
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


@contextlib.contextmanager
def _paths_as_the_service_sees_them(path: Path | None, env: dict[str, str]) -> Iterator[Path | None]:
    """``$STATE_DIRECTORY`` and the working directory for the config load and the checks.

    Inside the unit they are given. For the packaged config (``/etc/printstation/…``) checked by
    an admin they are the unit's: ``/var/lib/printstation`` (StateDirectory=, WorkingDirectory=).
    """
    state = env.get("STATE_DIRECTORY", "").split(":")[0] or None
    if state is None and path is not None and path.resolve().parent == SYSTEM_CONFIG.parent.resolve():
        state = str(SERVICE_STATE_DIR)
    old_env, old_cwd = os.environ.get("STATE_DIRECTORY"), os.getcwd()
    try:
        if state is not None:
            os.environ["STATE_DIRECTORY"] = state
            if "STATE_DIRECTORY" not in env and Path(state).is_dir():
                os.chdir(state)
        yield Path(state) if state else None
    finally:
        if old_env is None:
            os.environ.pop("STATE_DIRECTORY", None)
        else:
            os.environ["STATE_DIRECTORY"] = old_env
        os.chdir(old_cwd)


def run_checks(config_path: str | os.PathLike[str] | None = None, *, timeout: float = 3.0,
               env: Mapping[str, str] | None = None) -> list[Check]:
    env = dict(os.environ if env is None else env)
    path = resolve_config_path(config_path)
    with _paths_as_the_service_sees_them(path, env) as state:
        return _run_checks(path, timeout, env, state)


def _run_checks(path: Path | None, timeout: float, env: dict[str, str], state: Path | None) -> list[Check]:
    from . import config as cfgmod

    checks: list[Check] = []
    try:
        cfg = cfgmod.load(path)
    except PrintstationError as exc:
        if path is not None and not path.exists():
            fix = (f"create {path} from config/printstation.example.toml (install -m 644 "
                   f"config/printstation.example.toml {path}, then edit it) or give --config the file you use")
        else:
            fix = "fix the key named above; every key is explained in config/printstation.example.toml"
        return [Check("config", False, str(exc), fix)]
    where = str(path) if path else "embedded default (no --config)"
    checks.append(Check("config", True, f"{where}: {len(cfg.printers)} printer(s), "
                                        f"{len(cfg.scanners)} scanner(s)"
                                        + (f"; state dir {state}" if state else "")))
    checks.append(check_writable_dir("data dir", cfg.data_dir))
    checks.append(check_disk_space(cfg.data_dir, getattr(cfg.station, "max_queue_mb", None)))
    database = getattr(cfg.station, "database", None)
    if database:  # several stations sharing one PostgreSQL database
        from ..pg import diagnose

        checks.append(Check("database", *diagnose(database, timeout)))
    if cfg.hotfolder.enabled:
        checks.append(check_writable_dir("hot folder", cfg.hotfolder.path))

    checks.append(check_api(cfg.api.host, cfg.api.port))
    running: list[bool] = []

    def station_running() -> bool:
        if not running:
            running.append(station_answers(cfg.api.host, cfg.api.port))
        return running[0]

    for p in cfg.printers:
        checks += printer_rows(p, timeout)
    for sc in cfg.scanners:
        checks.append(check_scanner(sc.device, station_running))

    if not env.get("CREDENTIALS_DIRECTORY") and path is not None:
        env["CREDENTIALS_DIRECTORY"] = str(path.resolve().parent)
    raw_markets = _raw(path).get("markets", {})
    for market in ("wb", "ali", "ozon", "lamoda"):
        configured = isinstance(raw_markets, dict) and market in raw_markets
        checks.append(check_market(market, cfg.markets, configured, env, timeout))
    wh = check_webhooks(cfg, env)
    if wh is not None:
        checks.append(wh)
    return checks


def printer_rows(p: Any, timeout: float) -> list[Check]:
    """The rows of one printer: ``printer NAME`` (transport and status), then ``printer NAME
    model`` when the discovery probes got an answer (not asked when the printer is offline)."""
    row = silent_printer_hint(check_printer(p, timeout), p.name)
    reachable = ": offline" not in row.detail
    model = identity_check(p, row.ok, timeout) if reachable else None
    if model is None:
        return [row]
    if model.ok is False and 'lang = "' in model.hint and row.ok is False:
        # silent to the configured language's status query because it speaks another one
        row = Check(row.name, False, row.detail,
                    f"the printer does not speak {registry.shown(p.lang)} (see the model row): {model.hint}")
    return [row, model]


def _raw(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def marks(stream: Any = None) -> tuple[str, str, str]:
    enc = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗–→".encode(enc)
    except (UnicodeEncodeError, LookupError):
        return "ok", "FAIL", "-"
    return "✓", "✗", "–"


def render(checks: list[Check], stream: Any = None) -> str:
    ok_mark, bad_mark, skip_mark = marks(stream)
    arrow = "→" if ok_mark == "✓" else "->"
    width = min(max(len(c.name) for c in checks), 32)
    mw = max(len(ok_mark), len(bad_mark), len(skip_mark))
    lines = []
    for c in checks:
        mark = skip_mark if c.ok is None else ok_mark if c.ok else bad_mark
        lines.append(f"{mark:<{mw}} {c.name:<{width}}  {c.detail}")
        if c.ok is False and c.hint:
            lines.append(f"{'':<{mw}} {'':<{width}}  {arrow} fix: {c.hint}")
    failed = sum(1 for c in checks if c.ok is False)
    lines.append(f"{failed} problem(s) found" if failed else "all checks passed")
    return "\n".join(lines)


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.ok is False for c in checks) else 0


__all__ = ["Check", "check_disk_space", "check_writable_dir", "check_printer", "check_scanner", "check_market",
           "exit_code", "render", "run_checks"]
