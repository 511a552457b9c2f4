"""The shared database's URL: its shape checked, its passwords never shown (``printstation.pg``)."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from ..errors import UsageError


def redact_url(url: str) -> str:
    """``url`` with its password (and any ``password=`` parameter) shown as ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable database URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = re.sub(r"(?i)(^|&)((?:ssl)?password=)[^&]*", r"\1\2***", parts.query)
    shown = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    if not netloc and url[len(parts.scheme) + 1:].startswith("//"):  # postgresql:///db: keep its "//"
        shown = f"{parts.scheme}://{shown[len(parts.scheme) + 1:]}"
    return shown


def url_secrets(url: str) -> list[str]:
    """The passwords written in ``url`` (user info, ``password=``, ``sslpassword=``), as written
    and decoded: what an error message quoting part of the URL must not show."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return []
    found = []
    userinfo = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    if ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    found += re.findall(r"(?i)(?:^|&)(?:ssl)?password=([^&]*)", parts.query)
    out = {w for f in found for w in (f, urllib.parse.unquote(f)) if w}
    return sorted(out, key=len, reverse=True)


def check_url(url: str) -> str:
    """A ``postgresql://`` (or ``postgres://``) URL, or a one-line :class:`UsageError`."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("postgresql", "postgres"):
        raise UsageError(f"database {redact_url(url)!r}: only postgresql://… URLs are supported "
                         "(leave it unset for the embedded SQLite store)")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise UsageError(f"database {redact_url(url)!r}: {exc}") from None
    return url


@dataclass
class Scrubber:
    words: tuple[str, ...] = ()

    def scrub(self, text: str) -> str:
        for w in self.words:
            text = text.replace(w, "***")
        return text


__all__ = ["Scrubber", "check_url", "redact_url", "url_secrets"]
