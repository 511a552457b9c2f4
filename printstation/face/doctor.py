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
import errno
import fcntl
import os
import socket
import stat
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from ..errors import PrintstationError

#: Where the packaged unit reads its config; used when ``--config`` is not given and it exists.
SYSTEM_CONFIG = Path("/etc/printstation/printstation.toml")
#: The unit's StateDirectory= and WorkingDirectory=.
SERVICE_STATE_DIR = Path("/var/lib/printstation")
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: skipped (not configured)
    detail: str
    hint: str = ""


# -- folders -------------------------------------------------------------------------------------


def check_writable_dir(label: str, path: Path) -> Check:
    """``path`` is a writable directory, or could be created (its nearest existing parent is one)."""
    p = path if path.is_absolute() else Path.cwd() / path
    hint = (f"make {p} a directory the station can write: install -d -m 750 {p} (as the service user), "
            "or point the config at another path")
    probe_dir, missing = p, False
    while not probe_dir.exists():
        if probe_dir.is_symlink():
            return Check(label, False, f"{p}: dangling symlink {probe_dir}", hint)
        probe_dir, missing = probe_dir.parent, True
    if not probe_dir.is_dir():
        return Check(label, False, f"{p}: {probe_dir} is not a directory", hint)
    try:
        with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".printstation-doctor-"):
            pass
    except OSError as exc:
        return Check(label, False, f"{p}: cannot write in {probe_dir}: {exc.strerror or exc}", hint)
    return Check(label, True, f"{p} (will be created)" if missing else f"{p} writable")


#: ``printstation doctor`` fails the data dir's free space below this many MB.
MIN_FREE_MB = 64


def check_disk_space(path: Path, max_queue_mb: float | None = None) -> Check:
    """Free space on the data dir's filesystem (its nearest existing parent when missing)."""
    label = "data dir space"
    p = path if path.is_absolute() else Path.cwd() / path
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        st = os.statvfs(probe)
    except OSError as exc:
        return Check(label, False, f"{p}: cannot read free space: {exc.strerror or exc}")
    free_mb = st.f_bavail * st.f_frsize / (1024 * 1024)
    detail = f"{free_mb:.0f} MB free on {probe}"
    if free_mb < MIN_FREE_MB:
        return Check(label, False, detail + f" (at least {MIN_FREE_MB} MB needed)",
                     "free some space there (old files, journals: journalctl --vacuum-size=…) or move "
                     "[station] data_dir; with a full disk new jobs are refused with 507")
    if max_queue_mb is not None and free_mb < max_queue_mb:
        detail += f" (less than [station] max_queue_mb = {max_queue_mb:g} MB)"
    return Check(label, True, detail)


# -- API -----------------------------------------------------------------------------------------


def station_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    import httpx

    h = f"[{host}]" if ":" in host else host
    try:
        r = httpx.get(f"http://{h}:{port}/healthz", timeout=timeout)
    except httpx.HTTPError:
        return False
    return r.status_code == 200


def check_api(host: str, port: int) -> Check:
    label = "api"
    where = f"{host}:{port}"
    if station_answers(host, port):
        return Check(label, True, f"{where}: the station is running (/healthz ok)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        return Check(label, False, f"{where}: cannot listen: {exc.strerror or exc}",
                     f"another program uses {where} (ss -ltnp 'sport = :{port}'); "
                     "stop it or change [api] listen")
    return Check(label, True, f"{where} free")


# -- printers ------------------------------------------------------------------------------------

STATE_HINTS = {
    "offline": "check power, cable or network and the uri; a LAN printer also needs its address in "
               "the unit's IPAddressAllow= (systemctl edit printstation)",
    "paused": "the printer is paused or out of media: load labels/ribbon, close the head, press feed",
    "error": "fix the printer's reported problem; a printer that never answers status queries can "
             "be set to status_poll = 0",
}


def check_printer(p: Any, timeout: float) -> Check:
    from ..status import query_status
    from ..transport import from_uri
    from ..transport.base import display_uri

    label = f"printer {p.name}"
    uri = display_uri(p.uri)
    try:
        t = from_uri(p.uri, timeout=min(p.timeout, timeout))
    except PrintstationError as exc:
        return Check(label, False, f"{uri}: {exc}", "fix the printer's uri in the config")
    try:
        if p.status_poll == 0 and not t.has_own_status:
            try:
                t.open()
            except PrintstationError as exc:
                return Check(label, False, f"{uri}: {exc}", _open_hint(str(exc)))
            return Check(label, True, f"{uri}: opens (status not queried: status_poll = 0)")
        st = query_status(t, p.lang, timeout=timeout)
    finally:
        try:
            t.close()
        except Exception:
            pass
    text = f"{uri}: {st.state}" + (f" ({st.reason})" if st.reason else "")
    if st.ok:
        return Check(label, True, text)
    hint = t.fix_hint(st) or (
        _open_hint(st.reason) if "transport" in st.flags else STATE_HINTS.get(st.state, ""))
    return Check(label, False, text, hint)


def _open_hint(reason: str) -> str:
    low = reason.lower()
    if "libusb" in low:
        return "install the USB library: apt-get install libusb-1.0-0"
    if "permission" in low or "access" in low:
        return ("no access to the device: install systemd/60-printstation.rules (udevadm control "
                "--reload && udevadm trigger) and run the station in group lp/dialout")
    if "no such" in low or "not found" in low:
        return "the device is not there: plug it in and check the uri (ls /dev/printstation/, lsusb)"
    return STATE_HINTS["offline"]


def silent_printer_hint(check: Check, name: str) -> Check:
    """A printer that is connected but never answers its status query: its fix names
    ``status_poll = 0`` for that printer (the daemon's log says the same)."""
    from ..status import NO_ANSWER

    if check.ok is False and NO_ANSWER in check.detail:
        return Check(check.name, False, check.detail,
                     f"the printer is connected but silent: load media / close the head; if {name} never "
                     "answers status queries, set status_poll = 0 in its [[printers]] section")
    return check


# -- scanners ------------------------------------------------------------------------------------


def check_scanner(device: str, station_running: Callable[[], bool]) -> Check:
    from ..triggers.scanner import EvdevSource, SerialSource, StreamSource, source_for

    label = f"scanner {device}"
    try:
        src = source_for(device)
    except PrintstationError as exc:
        return Check(label, False, str(exc), "fix [[scanners]] device in the config")
    if isinstance(src, StreamSource):
        return Check(label, None, "standard input (nothing to check)")
    if isinstance(src, SerialSource):
        return _check_serial(label, src.port, src.baud)
    assert isinstance(src, EvdevSource)
    return _check_evdev(label, src.path, station_running)


def _device_hint(exc: OSError, group: str, by_id: str = "/dev/input/by-id/") -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f"no access: install systemd/60-printstation.rules (udevadm control --reload && "
                f"udevadm trigger); the station needs group {group}")
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return (f"not plugged in or wrong path: use a stable name from ls {by_id} or "
                "/dev/printstation/ (udev rules)")
    return "check the device path and that nothing else holds it"


def _check_evdev(label: str, path: str, station_running: Callable[[], bool]) -> Check:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return Check(label, False, f"cannot open: {exc.strerror or exc}", _device_hint(exc, "input"))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISCHR(mode):
            return Check(label, True, "readable (a recording, not a device: nothing to grab)")
        try:
            fcntl.ioctl(fd, EVIOCGRAB, 1)
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                if station_running():
                    return Check(label, True, "readable; grabbed by the running station")
                return Check(label, False, "readable but another program holds it exclusively",
                             "stop the program that grabbed it (fuser -v " + path + ")")
            return Check(label, False, f"cannot grab: {exc.strerror or exc} (not an input event device?)",
                         "point [[scanners]] device at the scanner's event node "
                         "(/dev/input/by-id/…-event-kbd or /dev/printstation/scanner-…)")
        fcntl.ioctl(fd, EVIOCGRAB, 0)
        return Check(label, True, "readable and grabbed (released again)")
    finally:
        os.close(fd)


def _check_serial(label: str, port: str, baud: int) -> Check:
    try:
        import serial
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return Check(label, False, "pyserial is not installed", "pip install pyserial")
    try:
        ser = serial.Serial(port, baud, timeout=0)
    except (serial.SerialException, OSError) as exc:  # SerialException carries the errno
        return Check(label, False, f"cannot open: {exc.strerror or exc}", _device_hint(exc, "dialout", "/dev/serial/by-id/"))
    ser.close()
    return Check(label, True, f"{port} opens at {baud} baud")


# -- marketplaces --------------------------------------------------------------------------------

MARKET_TITLES = {"wb": "WB", "ali": "LAliExpress", "ozon": "Ozon", "lamoda": "Lamoda"}


def check_market(market: str, settings: Any, configured: bool, env: Mapping[str, str],
                 timeout: float) -> Check:
    from ..errors import AuthError, MarketplaceError
    from ..markets import settings as msettings
    from ..markets.base import RetryPolicy

    label = f"token {market}"
    title = MARKET_TITLES[market]
    s = settings[market] if settings is not None and not isinstance(settings, Mapping) else None
    if s is None or not hasattr(s, "auth_scheme" if market == "wb" else "max_pdf_mb"):
        s = msettings.MarketSettings.default(market)
    try:
        creds = msettings.resolve_credentials(market, s, env)
    except AuthError as exc:
        if not configured:
            return Check(label, None, f"{title} not configured (no token found)")
        return Check(label, False, str(exc), _token_hint(market))
    retry = RetryPolicy(retries=1, base=0.2, cap=1.0, max_429=1, max_wait_429=5.0)
    try:
        if market in ("ozon", "lamoda"):
            _probe_ol(market, creds, s, timeout, retry)
        elif market == "wb":
            from ..markets.wb import WBClient

            with WBClient(creds.base_url, creds.token, auth_scheme=s.auth_scheme, timeout=timeout,
                          retry=retry, rate_per_min=s.rate_per_min, burst=s.burst) as client:
                client.json("GET", "/api/v3/supplies", params={"limit": 1, "next": 0})
        else:
            from ..markets.aliexpress import AliClient

            with AliClient(creds.base_url, creds.token, timeout=timeout, retry=retry,
                           rate_per_min=s.rate_per_min, burst=s.burst) as client:
                try:
                    client.call("/seller-api/v1/logistic-order/get",
                                {"tracking_numbers": ["PRINTSTATION-DOCTOR"], "page_size": 1, "page": 1})
                except AuthError:
                    raise
                except MarketplaceError as exc:
                    if getattr(exc, "status", 0) and exc.status < 500:  # type: ignore[attr-defined]
                        pass  # a business error: the token itself was accepted
                    else:
                        raise
    except AuthError as exc:
        return Check(label, False, f"{title} refused the token from {creds.source}: {exc}", _token_hint(market))
    except MarketplaceError as exc:
        return Check(label, False, f"{title} at {creds.base_url} not usable: {exc}",
                     f"check the network and [markets.{market}] base_url; the unit's IPAddressAllow= "
                     "must let the station reach the marketplace")
    return Check(label, True, f"{title} accepted the token from {creds.source}")


def _probe_ol(market: str, creds: Any, s: Any, timeout: float, retry: Any) -> None:
    """Ozon: list one return; Lamoda: get a token. Raises when refused or unreachable."""
    if market == "ozon":
        from ..markets.ozon import OzonClient

        with OzonClient(creds.base_url, creds.token, client_id=creds.client_id, timeout=timeout, retry=retry,
                        rate_per_min=s.rate_per_min, burst=s.burst) as client:
            client.json("POST", "/v3/returns/company/fbs", json_body={"filter": {}, "limit": 1, "last_id": 0})
    else:
        from ..markets.lamoda import LamodaClient

        with LamodaClient(creds.base_url, creds.token, client_id=creds.client_id, timeout=timeout, retry=retry,
                          rate_per_min=s.rate_per_min, burst=s.burst) as client:
            client.check()


_PORTALS = {"wb": "the WB seller portal (Settings → API access, category Marketplace)",
            "ali": "the LAliExpress seller portal (API tokens)",
            "ozon": "the Ozon seller portal (Settings → Seller API, role with FBS and returns)",
            "lamoda": "the Lamoda B2B partner portal (API access: client id and secret)"}


def _token_hint(market: str) -> str:
    from ..markets.settings import CRED_FILES

    name = CRED_FILES.get(market, f"{market}-token")
    portal = _PORTALS.get(market, "the marketplace's seller portal")
    extra = (f", set client_id in [markets.{market}], add LoadCredential={name}:/etc/printstation/{name} "
             "in a drop-in (systemctl edit printstation)") if market in ("ozon", "lamoda") else ""
    return (f"create a token in {portal}, save it as /etc/printstation/{name} (root, mode 600: "
            f"install -m 600 /dev/null /etc/printstation/{name}, then paste the token into it){extra} "
            "and systemctl restart printstation")


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
        return [Check("config", False, str(exc),
                      "fix the key named above; every key is explained in config/printstation.example.toml")]
    where = str(path) if path else "embedded default (no --config)"
    checks.append(Check("config", True, f"{where}: {len(cfg.printers)} printer(s), "
                                        f"{len(cfg.scanners)} scanner(s)"
                                        + (f"; state dir {state}" if state else "")))
    checks.append(check_writable_dir("data dir", cfg.data_dir))
    checks.append(check_disk_space(cfg.data_dir, getattr(cfg.station, "max_queue_mb", None)))
    if getattr(cfg.station, "database", None):  # several stations sharing one PostgreSQL database
        from ..pg import diagnose

        checks.append(Check("database", *diagnose(cfg.station.database, timeout)))
    if cfg.hotfolder.enabled:
        checks.append(check_writable_dir("hot folder", cfg.hotfolder.path))

    checks.append(check_api(cfg.api.host, cfg.api.port))
    running: list[bool] = []

    def station_running() -> bool:
        if not running:
            running.append(station_answers(cfg.api.host, cfg.api.port))
        return running[0]

    from ..discover.verify import identity_check

    for p in cfg.printers:
        checks.append(silent_printer_hint(check_printer(p, timeout), p.name))
        # ask what the printer is with the probes of ``printers discover`` (not when unreachable)
        reachable = ": offline" not in checks[-1].detail
        model = identity_check(p, checks[-1].ok, timeout) if reachable else None
        if model is not None:
            if model.ok is False and 'lang = "' in model.hint and checks[-1].ok is False:
                # silent to the configured language's status query because it speaks another one
                st = checks[-1]
                checks[-1] = Check(st.name, False, st.detail,
                                   f"the printer does not speak {p.lang.upper()} (see the model row): {model.hint}")
            checks.append(model)
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


def check_webhooks(cfg: Any, env: Mapping[str, str]) -> Check | None:
    """``[webhooks] listen``: the secret is readable and usable, the printer exists."""
    from ..webhooks import WebhookSettings, read_secret

    ws = cfg.sections.get("webhooks")
    if not isinstance(ws, WebhookSettings) or not ws.enabled:
        return None
    try:
        read_secret(ws, env)
    except PrintstationError as exc:
        return Check("webhooks", False, str(exc),
                     "create it: install -m 600 /dev/null /etc/printstation/webhook-secret; "
                     "openssl rand -hex 24 > /etc/printstation/webhook-secret; set [webhooks] secret_file")
    lam = getattr(cfg.markets, "lamoda", None)
    printer = getattr(lam, "printer", None) or cfg.default_printer
    if cfg.printer(printer) is None:
        return Check("webhooks", False, f"[markets.lamoda] printer {printer!r} is not a configured printer",
                     "name one of the [[printers]] in [markets.lamoda] printer")
    host, port = ws.listen
    return Check("webhooks", True, f"listening on {host}:{port} for Lamoda notifications; pack labels print on "
                                   f"{printer!r}")


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
