"""README names only what exists: every package path (``printstation/…``, ``face/cli/…``) and
every dotted ``printstation.x.y`` name it mentions — a module moved or renamed by a refactor
(issue 14) must take the README along."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: Dotted names that are not Python: logger names and file names of the station.
NOT_PYTHON = {"printstation.jobs", "printstation.lock", "printstation.sock", "printstation.toml",
              "printstation.example", "printstation.service", "printstation.local", "printstation.rules"}


def package_paths(text: str) -> set[str]:
    """``printstation/…`` paths not under another folder (``/etc/printstation/…`` is a host path)
    and backticked ``.py`` paths relative to the package, the tests or the repository."""
    found = {m.rstrip(".,:;)/") for m in re.findall(r"(?<![/\w.-])printstation/[\w./-]+", text)}
    found |= set(re.findall(r"`([\w/.-]+\.py)`", text))
    return {p for p in found if p}


def dotted_names(text: str) -> set[str]:
    return set(re.findall(r"(?<![/\w.-])printstation(?:\.[A-Za-z_]\w*)+", text)) - NOT_PYTHON


def resolves(name: str) -> bool:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_every_package_path_in_the_readme_exists():
    missing = sorted(p for p in package_paths(README)
                     if not any((base / p).exists() for base in (ROOT, ROOT / "printstation", ROOT / "tests",
                                                                 ROOT / "tests" / "support" / "fakes")))
    assert not missing, f"README names paths that do not exist: {missing}"


def test_every_dotted_name_in_the_readme_resolves():
    assert not sorted(n for n in dotted_names(README) if not resolves(n))


def test_the_checks_see_a_stale_name():
    text = "see `printstation/cli` and printstation.config.load; /etc/printstation/x is a host path"
    assert package_paths(text) == {"printstation/cli"}
    assert dotted_names(text) == {"printstation.config.load"} and not resolves("printstation.config.load")
