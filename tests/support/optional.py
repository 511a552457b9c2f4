"""System programs some tests need, which a developer box may lack: skip there, fail in CI.

Python packages are not optional: ``make setup`` installs ``.[test,postgres]`` (psycopg, playwright
...), so tests import them plainly and a missing or broken one fails. The Debian programs ``.ci/run``
installs (cupsd, chromium, the PostgreSQL server) need root and apt; without them a test skips on
a developer's box, but when the ``CI`` environment variable is set (every CI runner sets it) a
missing one is a failure, so CI can never go green by skipping.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def strict() -> bool:
    """True in CI: a missing program fails the test instead of skipping it."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> NoReturn:
    """Skip (developer box) or fail (CI) because ``reason`` (a program is not installed)."""
    if strict():
        pytest.fail(f"{reason} -- required in CI (.ci/run installs it)", pytrace=False)
    pytest.skip(reason)


def needs(available: bool, reason: str) -> pytest.MarkDecorator:
    """A mark: skip when not ``available`` -- except in CI, where the test runs (and fails)."""
    return pytest.mark.skipif(not available and not strict(), reason=reason)


__all__ = ["missing", "needs", "strict"]
