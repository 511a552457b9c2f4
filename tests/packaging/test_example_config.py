"""config/printstation.example.toml: loads, documents every key it sets, and shows every known key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from printstation.face import config
from printstation.face.settings import ApiTable
from printstation.queue.settings import BarcodesConfig, StationTable
from printstation.face.webhook_settings import KEYS as WEBHOOK_KEYS
from printstation.triggers.settings import RuleTable, ScanTable, SyncSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "printstation.example.toml"
KEY_RE = re.compile(r"^\s*#?\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")


def blocks(text: str) -> list[list[str]]:
    out, cur = [], []
    for line in text.splitlines():
        if line.strip():
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def test_example_loads():
    c = config.load(EXAMPLE)
    assert c.printers and c.station.log_level in config.LOG_LEVELS


def test_every_key_has_a_comment():
    """Each run of key lines is introduced by a comment (a comment may cover a few related keys)."""
    missing = []
    for block in blocks(EXAMPLE.read_text(encoding="utf-8")):
        seen_comment = False
        for line in block:
            s = line.strip()
            if s.startswith("#"):
                seen_comment = True
            elif s.startswith("["):
                continue
            elif "=" in s and not seen_comment and "#" not in s:
                missing.append(s)
    assert not missing, f"keys without a comment: {missing}"


def _keys_in_example() -> set[str]:
    return {m.group(1) for line in EXAMPLE.read_text(encoding="utf-8").splitlines()
            if (m := KEY_RE.match(line))}


@pytest.mark.parametrize("section, keys", [
    ("station", StationTable.__struct_fields__),
    ("api", ApiTable.__struct_fields__),
    ("printers", config.PRINTER_KEYS),
    ("barcodes", BarcodesConfig.__struct_fields__),
    ("hotfolder", config.HOTFOLDER_KEYS),
    ("scanners", config.SCANNER_KEYS),
    ("rules", RuleTable.__struct_fields__),
    ("scan", ScanTable.__struct_fields__),
    ("sync", SyncSettings.__struct_fields__),
    ("webhooks", WEBHOOK_KEYS),
])
def test_every_known_key_is_shown(section, keys):
    assert not (set(keys) - _keys_in_example()), f"[{section}] keys missing from the example"


def test_every_market_key_is_shown():
    from printstation.markets import settings

    for market, keys in settings.KEYS.items():
        assert not (set(keys) - _keys_in_example()), f"[markets.{market}] keys missing from the example"
