"""Config text for ``[markets.ozon]`` and ``[markets.lamoda]`` pointed at the fake servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def ol_markets_toml(tmp: Path, oz: Any, lm: Any, print_on_status: list[str], printer: str = "packs") -> str:
    """The two tables (the Ozon key and the Lamoda secret written into ``tmp``)."""
    (tmp / "ozon.key").write_text(oz.api_key)
    (tmp / "lamoda.secret").write_text(lm.client_secret)
    statuses = ", ".join(f'"{s}"' for s in print_on_status)
    return f"""[markets.ozon]
base_url = "{oz.url}"
client_id = "{oz.client_id}"
api_key_file = "{tmp / 'ozon.key'}"
rate_per_min = 60000
burst = 1000
[markets.lamoda]
base_url = "{lm.url}"
client_id = "{lm.client_id}"
client_secret_file = "{tmp / 'lamoda.secret'}"
print_on_status = [{statuses}]
printer = "{printer}"
"""
