"""The API token travels in an HTTP header (``Authorization: Bearer …``), so it must be printable
ASCII: a token with Cyrillic letters loaded, the page's login worked, and every curl, script and
CLI call failed — the CLI with a UnicodeEncodeError traceback. Now the config load says so in one
line, and the CLI refuses such a ``$PRINTSTATION_API_TOKEN`` with one line too (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from printstation.errors import ConfigError
from printstation.face import config
from support.daemon_harness import REPO

PRINTER = '\n[[printers]]\nname = "a"\nuri = "dir://./out"\n'


@pytest.mark.parametrize("token", ["токен-для-станции-1234567", "token-with-\x01-control-0123", "naïve-token-0123456789"])
def test_a_token_that_cannot_travel_in_a_header_is_refused_at_load(tmp_path, token):
    (tmp_path / "tok").write_text(token + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"api\.token_file: .*printable ASCII"):
        config.loads(f'[api]\ntoken_file = "{tmp_path / "tok"}"\n' + PRINTER)


def test_a_token_with_spaces_inside_still_loads(tmp_path):
    (tmp_path / "tok").write_text("a long pass phrase 0123\n")
    assert config.loads(f'[api]\ntoken_file = "{tmp_path / "tok"}"\n' + PRINTER).api.token == "a long pass phrase 0123"


def test_the_cli_refuses_a_non_ascii_token_in_one_line():
    env = dict(os.environ, PRINTSTATION_API_TOKEN="токен-для-станции-1234567",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "printstation", "jobs", "--api", "http://127.0.0.1:9"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "PRINTSTATION_API_TOKEN" in p.stderr and "токен" not in p.stderr
