"""The [api] access/limit keys and the [station] storage keys: defaults, values, key-path errors."""

from __future__ import annotations

import pytest

from printstation.face import config
from printstation.errors import ConfigError

PRINTER = '\n[[printers]]\nname = "a"\nuri = "dir://./out"\n'


def test_defaults():
    c = config.loads(PRINTER)
    assert (c.api.allowed_hosts, c.api.allowed_origins) == ((), ())
    assert (c.api.read_timeout, c.api.idle_timeout, c.api.max_connections, c.api.max_body_mb) == (10, 5, 256, 32)
    assert (c.station.max_queue_mb, c.station.keep_days) == (512, 14)


def test_values():
    c = config.loads('[api]\nallowed_hosts = ["printstation.lan", "pos:8080", "[fd00::1]"]\n'
                     'allowed_origins = ["https://pos.example", "http://printstation.lan:8631"]\n'
                     "read_timeout = 2.5\nidle_timeout = 1\nmax_connections = 32\nmax_body_mb = 0.5\n"
                     "[station]\nmax_queue_mb = 100\nkeep_days = 0\n" + PRINTER)
    assert c.api.allowed_hosts == ("printstation.lan", "pos:8080", "[fd00::1]")
    assert c.api.allowed_origins == ("https://pos.example", "http://printstation.lan:8631")
    assert (c.api.read_timeout, c.api.idle_timeout, c.api.max_connections, c.api.max_body_mb) == (2.5, 1, 32, 0.5)
    assert (c.station.max_queue_mb, c.station.keep_days) == (100, 0)


@pytest.mark.parametrize("text, message", [
    ('[api]\nallowed_hosts = "localhost"', "api.allowed_hosts: expected an array of strings"),
    ('[api]\nallowed_hosts = ["http://x"]', "api.allowed_hosts: bad entry 'http://x'"),
    ('[api]\nallowed_hosts = ["a b"]', "api.allowed_hosts: bad entry 'a b'"),
    ('[api]\nallowed_origins = ["evil.example"]', "api.allowed_origins: bad entry 'evil.example'"),
    ('[api]\nallowed_origins = ["http://x/path"]', "api.allowed_origins: bad entry"),
    ('[api]\nallowed_origins = [1]', "api.allowed_origins: expected an array of strings"),
    ("[api]\nread_timeout = 0", "api.read_timeout: 0 out of range"),
    ('[api]\nidle_timeout = "5"', "api.idle_timeout: expected a number"),
    ("[api]\nmax_connections = 0", "api.max_connections: 0 out of range"),
    ("[api]\nmax_connections = 2.5", "api.max_connections: expected an integer"),
    ("[api]\nmax_body_mb = 100", "api.max_body_mb: 100 out of range"),
    ("[station]\nmax_queue_mb = 0", "station.max_queue_mb: 0 out of range"),
    ("[station]\nkeep_days = -1", "station.keep_days: -1 out of range"),
    ("[station]\nkeep_days = 1.5", "station.keep_days: expected an integer"),
])
def test_bad_values_name_the_key(text, message):
    with pytest.raises(ConfigError) as err:
        config.loads(text + "\n" + PRINTER)
    assert message in str(err.value)
