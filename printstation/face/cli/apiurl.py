"""The daemon's API URL as the CLI takes it (``--api`` / ``$PRINTSTATION_API``) and shows it."""

from __future__ import annotations

from ...errors import UsageError
from ...names import printable

DEFAULT_API = "http://127.0.0.1:8631"


def check_api_url(api: str) -> str:
    """``api`` when it is an ``http(s)://HOST[:PORT]`` URL, else a one-line :class:`UsageError`
    (exit 2) naming it — not "cannot reach the daemon" for a mistyped address."""
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(api)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(f"bad API URL {printable(shown_url(api))!r} (--api or $PRINTSTATION_API): expected "
                         f"http://HOST:PORT, e.g. {DEFAULT_API}")
    return api


def shown_url(api: str) -> str:
    """``api`` without the password of a ``user:password@`` in it."""
    head, sep, rest = api.partition("://")
    netloc, slash, path = rest.partition("/")
    if not sep or "@" not in netloc:
        return api
    user, _, host = netloc.rpartition("@")
    return f"{head}://{user.split(':')[0]}:***@{host}{slash}{path}"
