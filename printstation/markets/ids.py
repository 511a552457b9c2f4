"""Ids and client ids as the marketplace APIs take them (checked before any call)."""

from __future__ import annotations

import re
from typing import Iterable

from ..errors import AuthError, UsageError

#: What a credential sent in a header may hold: visible ASCII, nothing else.
HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
INT64_MAX = 2**63 - 1


def client_id(market: str, value: str | None) -> str:
    """A marketplace client id (Ozon ``Client-Id``, Lamoda ``client_id``); :class:`AuthError` if none."""
    v = str(value or "").strip()
    if not v:
        raise AuthError(f"no {market} client id configured")
    if not HEADER_SAFE.fullmatch(v):  # Ozon sends it as the Client-Id header
        raise AuthError(f"the {market} client id holds a space, line break, control or non-ASCII character")
    return v


def positive_ids(ids: Iterable[int | str], what: str) -> list[int]:
    """``ids`` as positive ints; a bad one is a :class:`UsageError` naming it as ``what``."""
    out = []
    for i in ids:
        try:
            n = int(str(i).strip())
        except ValueError:
            raise UsageError(f"bad {what} {i!r}: expected a number") from None
        if n <= 0:
            raise UsageError(f"bad {what} {i!r}: expected a positive number")
        if n > INT64_MAX:  # the APIs' ids are int64: one past it fails the whole batch (400)
            raise UsageError(f"bad {what} {i!r}: too large for an id (at most {INT64_MAX})")
        out.append(n)
    return out


__all__ = ["HEADER_SAFE", "INT64_MAX", "client_id", "positive_ids"]
