"""``[api] allowed_hosts`` / ``allowed_origins`` entries the API could never match are refused
when the config loads, not silently ignored: a port outside 1..65535 (``pos:0``,
``http://pos:99999``) made the entry vanish, and the browser page it was meant for got 403."""

from __future__ import annotations

import re

import pytest

from printstation.errors import ConfigError
from printstation.face import config
from printstation.face.guards import Guard

PRINTER = '\n[[printers]]\nname = "a"\nuri = "dir://./out"\n'


@pytest.mark.parametrize("key, entry", [
    ("allowed_hosts", "pos:0"), ("allowed_hosts", "pos:65536"), ("allowed_hosts", "[fd00::1]:99999"),
    ("allowed_origins", "http://pos:0"), ("allowed_origins", "https://pos:99999"),
])
def test_an_entry_with_an_impossible_port_is_refused(key, entry):
    with pytest.raises(ConfigError, match=re.escape(f"api.{key}: bad entry '{entry}'")):
        config.loads(f'[api]\n{key} = ["{entry}"]\n' + PRINTER)


def test_every_entry_that_loads_is_one_the_api_uses():
    c = config.loads('[api]\nallowed_hosts = ["pos:65535", "pos2:1", "pos3"]\n'
                     'allowed_origins = ["http://pos:65535", "https://pos2:1", "http://pos3"]\n' + PRINTER)
    g = Guard()
    g.setup_guard(c.api)
    assert g.host_any_port == {("pos", 65535), ("pos2", 1)} and "pos3" in g.host_names
    assert g.origins == {("http", "pos", 65535), ("https", "pos2", 1), ("http", "pos3", 80)}
