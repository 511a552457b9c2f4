"""The ready log's "run `printstation print …`" hint works as printed when ``[api] listen`` is not
the CLI's default address: ``printstation run`` in a subprocess on another port (with and without
an API token), the hint's command run literally in a shell, the label rendered back from the
printer's output and its barcode decoded. And the CLI that finds nothing at its default address
says how to reach a daemon listening elsewhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from printstation.face.cli import client, main
from printstation.face.daemon_loop import cli_api_url
from support.daemon_harness import DaemonProcess, running, wait_until, write_config
from support.labelgen import wb_sticker_png
from support.render_back import decode, render_back

HINT = re.compile(r"printer (\S+) → .*; (?:drop files in \S+ or )?run `([^`]+)`")


def hints(log: str) -> dict[str, str]:
    """Printer name → the command its ready line says to run."""
    return {m.group(1): m.group(2) for m in HINT.finditer(log)}


def follow(command: str, label: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The hint as an operator would type it (FILE → the label), in a shell with the checkout's
    ``printstation`` first on the PATH and no ``$PRINTSTATION_API*`` set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRINTSTATION_API")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    cmd = command.replace(" FILE", f" {label}") + " --wait"
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def printed(out_dir: Path) -> list[str]:
    codes: list[str] = []
    for f in sorted(out_dir.iterdir()) if out_dir.exists() else []:
        for back in render_back("tspl", f.read_bytes(), 203):
            codes += decode(back.image)
    return codes


@pytest.mark.slow
@pytest.mark.parametrize("token", [False, True], ids=["plain", "token"])
def test_the_ready_hint_prints_on_a_daemon_at_another_address(tmp_path, token):
    api: dict[str, object] = {"unix_socket": False}
    if token:
        (tmp_path / "api.token").write_text("t0ken-" + "9" * 30 + "\n")
        api["token_file"] = str(tmp_path / "api.token")
    printers = [{"name": n, "uri": f"dir://{tmp_path / 'out' / n}", "lang": "tspl", "media": "58x40",
                 "status_poll": 0} for n in ("first", "second")]
    cfg = write_config(tmp_path / "ps.toml", tmp_path / "data", printers, listen="127.0.0.1:0", api=api)
    proc = DaemonProcess(cfg, tmp_path / "notify.sock")
    try:
        proc.wait_ready(60)
        url = proc.api_url()
        assert url != client.DEFAULT_API
        commands = wait_until(lambda: len(hints(proc.log())) == 2 and hints(proc.log()), 10)
        assert commands["first"] == ("PRINTSTATION_API_TOKEN=$(cat " + str(tmp_path / "api.token") + ") "
                                     if token else "") + f"printstation print FILE --api {url}"
        assert commands["second"].endswith(f"printstation print FILE --printer second --api {url}")
        for name, value in (("first", "HINT-0001"), ("second", "HINT-0002")):
            label = tmp_path / f"{name}.png"
            label.write_bytes(wb_sticker_png(value))
            run = follow(commands[name], label, tmp_path)
            assert run.returncode == 0, run.stderr
            assert printed(tmp_path / "out" / name) == [value]
        if token:  # the token is really needed: without it the same command is refused
            bare = commands["first"].split(") ", 1)[1]
            assert follow(bare, tmp_path / "first.png", tmp_path).returncode == 4
    finally:
        proc.close()


def test_the_default_address_keeps_the_short_hint(tmp_path):
    from printstation.face.daemon_loop import where_labels_go

    cfg = write_config(tmp_path / "ps.toml", tmp_path / "data", [
        {"name": "only", "uri": f"dir://{tmp_path / 'out'}", "lang": "zpl", "status_poll": 0}],
        api={"unix_socket": False})
    with running(cfg) as d:
        (line,) = where_labels_go(d.config, cli_api_url(d.config, 8631))
        assert line.endswith("; run `printstation print FILE`")
        (line,) = where_labels_go(d.config, cli_api_url(d.config, 8700))
        assert line.endswith("; run `printstation print FILE --api http://127.0.0.1:8700`")


@pytest.mark.parametrize("host, url", [("127.0.0.1", "http://127.0.0.1:9000"),
                                       ("0.0.0.0", "http://127.0.0.1:9000"),
                                       ("::", "http://[::1]:9000"),
                                       ("::1", "http://[::1]:9000"),
                                       ("localhost", "http://localhost:9000")])
def test_a_wildcard_listen_is_reached_over_loopback(host, url):
    """Only ``[api]``'s host is read: what ``listen = "HOST:9000"`` parses to."""
    assert cli_api_url(SimpleNamespace(api=SimpleNamespace(host=host)), 9000) == url


def test_the_cli_at_its_default_address_says_how_to_reach_another(tmp_path, capsys, monkeypatch):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    nobody = f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()
    monkeypatch.setattr(client, "DEFAULT_API", nobody)  # the default address, where nothing listens
    label = tmp_path / "a.png"
    label.write_bytes(wb_sticker_png("X-1"))
    assert main(["print", str(label), "--api", nobody]) == 1
    err = capsys.readouterr().err.strip()
    assert "printstation run" in err and "--api URL or $PRINTSTATION_API" in err and len(err.splitlines()) == 1
    other = nobody.rsplit(":", 1)[0] + ":1"
    assert main(["print", str(label), "--api", other]) == 1  # another address: the listen it needs
    err = capsys.readouterr().err.strip()
    assert "--api URL" not in err and len(err.splitlines()) == 1
    assert err.endswith(f'to be reached at {other} its config needs [api] listen = "127.0.0.1:1"')
