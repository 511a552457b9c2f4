"""``POST /printers/{name}/test`` (``printstation test-print NAME``): queue a calibration label.

The label (:mod:`printstation.render.calibration`) is drawn for the printer's configured media,
dpi, darkness and offset and queued like any other job (source ``test``), so it is converted,
verified and printed by the printer's own queue.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import TYPE_CHECKING, Any

from ..errors import BadInput
from ..queue.base import JobState, NotFound

if TYPE_CHECKING:
    from .daemon import Daemon
    from ..queue.store import Job

_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host == ""


def station_url(d: "Daemon", host_header: str | None = None) -> str:
    """The URL the station's API answers at: the listen address and the port it is bound to.

    A wildcard listen address (``0.0.0.0``, ``::``) is replaced by the host name the client used
    (when it is a plain host name or address) or the machine's host name.
    """
    api = d.config.api
    host = api.host
    port = getattr(getattr(d, "api", None), "port", None) or api.port
    if _wildcard(host):
        asked = (host_header or "").strip()
        asked = asked[1:].split("]", 1)[0] if asked.startswith("[") else asked.rsplit(":", 1)[0] if asked.count(":") == 1 else asked
        host = asked if asked and (_HOSTNAME.fullmatch(asked) or _is_ip(asked)) else socket.gethostname()
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def submit_test_label(d: "Daemon", name: str, host_header: str | None = None) -> "Job":
    """Draw the calibration label for printer ``name`` and queue it (one copy)."""
    from ..render.calibration import NAME, calibration_png

    p = d.config.printer(name)
    if p is None:
        names = ", ".join(q.name for q in d.config.printers)
        raise NotFound(f"no printer named {name!r} (configured printers: {names})")
    spec = p.spec
    if spec.width_dots * spec.height_dots > spec.max_pixels:
        raise BadInput(f"media {spec.media} at {spec.dpi} dpi is too large for a calibration label")
    png = calibration_png(p.name, spec, station_url(d, host_header))
    return d.submit(p.name, png, copies=1, name=NAME, source="test")


def route_result(d: "Daemon", name: str, headers: Any) -> tuple[int, dict[str, Any]]:
    job = submit_test_label(d, name, headers.get("Host") if headers is not None else None)
    # like POST /jobs: the answer names printer trouble, and a label that failed at once
    note = d.printer_note(job.printer, job.id)
    now = d.store.get(job.id)
    return 201, {**(now if now.state == JobState.FAILED else job).to_dict(), **note}
