"""The ACS lower bound that lets ``^GFA`` auto compression skip encoding ACS: it never exceeds
the ACS text's length (so the shorter encoding is always the one chosen), and it counts what
its definition says (rows that are not repeats, changes of hex digit in them)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from printstation.lang import zpl
from printstation.lang.bits import pack_rows


def _rasters() -> list[np.ndarray]:
    rng = np.random.default_rng(19)
    out = [np.zeros((0, 8), bool), np.zeros((5, 13), bool), np.ones((4, 17), bool)]
    for k in range(120):
        h, w = int(rng.integers(1, 48)), int(rng.integers(1, 130))
        r = rng.random((h, w)) < rng.random()
        if k % 3 == 0:
            r[1::2] = r[0]                       # repeated rows (":")
        if k % 4 == 0:
            r[:, w // 3:] = False                # white tails (",")
        if k % 5 == 0:
            r[:, : w // 2] = True                # black heads, runs of F
        if k % 7 == 0:
            r = np.repeat(r[:, : max(1, w // 8)], 8, axis=1)[:, :w]  # long runs: ACS often wins
        out.append(r)
    return out


def _by_definition(raster: np.ndarray) -> int:
    """Hex digits of the packed rows, one character per digit change and per new row."""
    data, bpr, rows = pack_rows(raster)
    hexrows = [data[i * bpr:(i + 1) * bpr].hex() for i in range(rows)]
    total = 0
    for i, row in enumerate(hexrows):
        if i and row == hexrows[i - 1]:
            continue
        total += 1 + sum(a != b for a, b in zip(row, row[1:]))
    return total


@pytest.mark.parametrize("raster", _rasters())
def test_bound_is_its_definition_and_never_above_acs(raster: np.ndarray) -> None:
    data, bpr, _ = pack_rows(raster)
    bound = zpl.acs_lower_bound(raster)
    assert bound == _by_definition(raster)
    assert bound <= len(zpl.acs_encode(data, bpr))


def test_auto_picks_the_shorter_of_acs_and_z64() -> None:
    chose = set()
    for raster in _rasters():
        if raster.size == 0:
            continue
        body = re.sub(r"^\^GFA,\d+,\d+,\d+,", "", zpl.graphic_field(raster, "auto"))
        data, bpr, _ = pack_rows(raster)
        acs, z64 = zpl.acs_encode(data, bpr), zpl.z64_encode(data)
        assert body == (acs if len(acs) < len(z64) else z64)
        chose.add("z64" if body.startswith(":Z64:") else "acs")
    assert chose == {"acs", "z64"}  # both outcomes are exercised
