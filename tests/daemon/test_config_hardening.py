"""``[station] renderers`` and ``[hotfolder] max_mb``: defaults, the example file, key-path errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from printstation.face import config
from printstation.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
PRINTER = '[[printers]]\nname = "p"\nuri = "dir:///tmp/x"\n'


def test_defaults_and_example():
    c = config.loads(PRINTER + "[hotfolder]\npath = \"/tmp/h\"\n")
    assert c.station.renderers == 2 and c.hotfolder.max_mb == 32
    ex = config.load(REPO / "config" / "printstation.example.toml")
    assert ex.station.renderers == 2 and ex.hotfolder.max_mb == 32
    c = config.loads("[station]\nrenderers = 4\n" + PRINTER + "[hotfolder]\nmax_mb = 8\n")
    assert c.station.renderers == 4 and c.hotfolder.max_mb == 8


@pytest.mark.parametrize("text, message", [
    ("[station]\nrenderers = 0\n" + PRINTER, "station.renderers: 0 out of range"),
    ("[station]\nrenderers = \"two\"\n" + PRINTER, "station.renderers: expected an integer"),
    (PRINTER + "[hotfolder]\nmax_mb = 0\n", "hotfolder.max_mb: 0 out of range"),
])
def test_bad_values_name_the_key_path(text, message):
    with pytest.raises(ConfigError, match=message):
        config.loads(text)
