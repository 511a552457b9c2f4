"""printstation.schema: msgspec's errors reworded to the station's one-line messages with the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from printstation.errors import ConfigError
from printstation.schema import Annotated, Section, between, convert, expect, one_of, positive


class Inner(Section, frozen=True):
    rate: Annotated[float, positive()] | None = None
    tries: Annotated[int, between(0, 20)] = 4


class Table(Section, frozen=True):
    name: str
    dpi: Annotated[int, between(72, 1200)] = 203
    ratio: Annotated[float, between(0.001, 1_000_000)] = 1.0
    mode: Annotated[str, one_of("fast", "slow")] = "fast"
    action: Annotated[str, one_of("go", "stop", bad="unknown action")] = "go"
    at: Annotated[tuple[int, int], expect("[x, y] in dots", got="repr")] = (0, 0)
    hosts: tuple[str, ...] = ()
    flag: bool = False
    where: Path = Path("/x")
    inner: Inner | None = None


@pytest.mark.parametrize("value, message", [
    ({"name": "a", "dpi": 5}, "t[2].dpi: 5 out of range (72..1200)"),
    ({"name": "a", "dpi": 1201}, "t[2].dpi: 1201 out of range (72..1200)"),
    ({"name": "a", "dpi": "203"}, "t[2].dpi: expected an integer, got a string"),
    ({"name": "a", "dpi": 2.5}, "t[2].dpi: expected an integer, got a number"),
    ({"name": "a", "dpi": True}, "t[2].dpi: expected an integer, got a boolean"),
    ({"name": "a", "ratio": 0}, "t[2].ratio: 0 out of range (0.001..1000000)"),
    ({"name": "a", "ratio": 2e6}, "t[2].ratio: 2e+06 out of range (0.001..1000000)"),
    ({"name": "a", "ratio": float("nan")}, "t[2].ratio: expected a finite number, got nan"),
    ({"name": "a", "mode": "medium"}, "t[2].mode: bad value 'medium' (one of fast, slow)"),
    ({"name": "a", "mode": 3}, "t[2].mode: expected a string, got an integer"),
    ({"name": "a", "action": "jump"}, "t[2].action: unknown action 'jump' (one of go, stop)"),
    ({"name": "a", "at": [1]}, "t[2].at: expected [x, y] in dots, got [1]"),
    ({"name": "a", "at": [1, True]}, "t[2].at: expected [x, y] in dots, got [1, True]"),
    ({"name": "a", "hosts": "h"}, "t[2].hosts: expected an array of strings, got a string"),
    ({"name": "a", "hosts": ["h", 1]}, "t[2].hosts: expected an array of strings, got an array"),
    ({"name": "a", "flag": "yes"}, "t[2].flag: expected true or false, got a string"),
    ({"name": "a", "where": 5}, "t[2].where: expected a string, got an integer"),
    ({"name": "a", "colour": 1}, "t[2].colour: unknown key (known: action, at, dpi, flag, hosts, inner, mode, name, "
                                 "ratio, where)"),
    ({"dpi": 300}, "t[2].name: required key is missing"),
    ({"name": "a", "inner": {"rate": 0}}, "t[2].inner.rate: must be > 0, got 0"),
    ({"name": "a", "inner": {"rate": float("inf")}}, "t[2].inner.rate: expected a finite number, got inf"),
    ({"name": "a", "inner": {"tries": 25}}, "t[2].inner.tries: 25 out of range (0..20)"),
    ({"name": "a", "inner": {"x": 1}}, "t[2].inner.x: unknown key (known: rate, tries)"),
    ({"name": "a", "inner": "fast"}, "t[2].inner: expected a table, got a string"),
    ([1], "t[2]: expected a table, got an array"),
])
def test_messages_name_the_key_path(value, message):
    with pytest.raises(ConfigError) as err:
        convert(value, Table, "t[2]")
    assert str(err.value) == message


def test_values_come_back_typed_and_frozen():
    t = convert({"name": "a", "ratio": 3, "at": [1, 2], "hosts": ["x"], "where": "/tmp/y", "inner": {"rate": 5}},
                Table, "t")
    assert (t.ratio, t.at, t.hosts, t.where, t.inner) == (3.0, (1, 2), ("x",), Path("/tmp/y"), Inner(rate=5.0))
    assert isinstance(t.ratio, float)
    with pytest.raises(AttributeError):
        t.name = "b"  # type: ignore[misc]
