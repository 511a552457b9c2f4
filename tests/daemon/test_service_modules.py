"""Listed service and command modules must exist: a missing one fails loudly (a typo in
``SERVICE_MODULES`` or ``COMMAND_MODULES`` never hides a service or a command)."""

from __future__ import annotations

import importlib

import httpx
import pytest

from printstation.face import config
from printstation.face import cli, daemon as daemon_mod
from printstation.face.daemon import SERVICE_MODULES, Daemon
from support.daemon_harness import write_config


def test_every_listed_module_exists_and_has_its_hook() -> None:
    for name in SERVICE_MODULES:
        assert callable(importlib.import_module(name).daemon_service), name
    for name in cli.COMMAND_MODULES:
        assert callable(importlib.import_module(name).register), name


def _daemon(tmp_path) -> Daemon:
    cfg = write_config(tmp_path / "c.toml", tmp_path / "data",
                       [{"name": "p", "uri": f"dir://{tmp_path / 'out'}", "lang": "zpl"}])
    return Daemon(config.load(cfg))


def _refused(url: str) -> bool:
    try:
        httpx.get(url + "/healthz", timeout=2)
    except httpx.ConnectError:
        return True
    return False


def test_a_missing_service_module_fails_the_start(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(daemon_mod, "SERVICE_MODULES", ("printstation.triggers.service", "printstation.nosuch.service"))
    d = _daemon(tmp_path)
    with pytest.raises(ModuleNotFoundError) as err:
        d.start()
    assert err.value.name == "printstation.nosuch"
    # the start was undone: API closed, queue closed, the triggers that did start stopped
    assert d.stopping and d.store is None and d.services == []
    assert _refused(d.api.url)


def test_a_service_module_without_its_hook_fails_the_start(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(daemon_mod, "SERVICE_MODULES", ("printstation.errors",))
    d = _daemon(tmp_path)
    with pytest.raises(AttributeError, match=r"printstation\.errors has no daemon_service"):
        d.start()
    assert d.stopping and d.store is None


def test_a_missing_command_module_fails_loudly(monkeypatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", cli.COMMAND_MODULES + ("printstation.face.cli.nosuch",))
    with pytest.raises(ModuleNotFoundError) as err:
        cli.build_parser()
    assert err.value.name == "printstation.face.cli.nosuch"
    with pytest.raises(ModuleNotFoundError):
        cli.main(["--version"])
