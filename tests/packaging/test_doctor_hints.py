"""doctor's fix for a printer whose host name does not resolve names the name (it said "check
power, cable or network" — a typo in the uri is the likely cause, and no cable helps), and a
refused connection keeps the power/network hint."""

from __future__ import annotations

from printstation.face.config import loads
from printstation.face.doctor_checks import check_printer
from support.printer_sinks import refused_uri


def _printer(uri: str):
    return loads(f'[[printers]]\nname = "p"\nuri = "{uri}"\n').printers[0]


def test_unresolvable_host_fix_names_the_host_name():
    check = check_printer(_printer("tcp://printer.invalid:9100"), timeout=2)
    assert check.ok is False and "cannot resolve host" in check.detail
    assert "the name printer.invalid does not resolve" in check.hint and "IP address" in check.hint, check.hint


def test_refused_connection_keeps_the_network_hint():
    check = check_printer(_printer(refused_uri()), timeout=2)
    assert check.ok is False and "power, cable or network" in check.hint, check.hint
