"""What ``discover`` found → ready-to-paste TOML ``[[printers]]`` blocks, JSON, or an appended config.

A block::

    # Zebra ZD421-203dpi, firmware V84.20.18Z (answered ZPL ~HI + ^HH)
    [[printers]]
    name = "zd421"
    uri = "tcp://10.0.0.5:9100"
    lang = "zpl"
    dpi = 203
    media = "100x150"

Unknown values stay commented (``# media = "58x40"  # the printer does not report its labels``).
A port where no printer answered is a comment only, never a block with a language.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Callable, Iterable

from ..errors import ConfigError, UsageError
from ..identify import Identity
from ..lang.registry import LANGUAGES, Language, identifiers

#: The largest config file we read back before appending (a config is a few KiB).
MAX_CONFIG = 1024 * 1024
_NAME_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def toml_str(s: str) -> str:
    """A TOML basic string (JSON escaping is valid TOML for the characters we emit)."""
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._")


def base_name(ident: Identity) -> str:
    """A printer name from the model: ``ZTC ZD421-203dpi ZPL`` → ``zd421``."""
    model = ident.model or ""
    model = re.sub(r"\(.*?\)", " ", model)
    model = re.sub(r"^(?:ZTC|Zebra|TSC|EPSON|Godex|Xprinter)\s+", "", model.strip(), flags=re.I)
    model = re.sub(r"[-_ ]?\d{3}\s*dpi\b", "", model, flags=re.I)
    model = re.sub(r"\s+Series$", "", model.strip(), flags=re.I)
    words = model.split()
    probes = identifiers()
    if len(words) > 1 and any(p.usb_command and p.usb_command.match(words[-1]) for _, p in probes):
        model = " ".join(words[:-1])  # a trailing language name: ``ZD421 ZPL``
    name = _slug(model)
    lang = LANGUAGES.get(ident.lang or "")
    if not name or (lang is not None and name == _slug(f"{lang.shown} printer")):  # "ESC/POS printer (…)"
        proto = dict(probes).get(ident.lang or "")
        name = proto.default_name if proto is not None else "printer"  # the language's: ``receipt``
    return name[:48]


def assign_names(found: Iterable[Identity], taken: Iterable[str] = ()) -> dict[int, str]:
    """A unique name per printer found (``zd421``, ``zd421-2`` …), avoiding ``taken``."""
    used = {n.lower() for n in taken}
    out: dict[int, str] = {}
    for i, ident in enumerate(found):
        if not ident.found:
            continue
        base = base_name(ident)
        name, n = base, 2
        while name.lower() in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name.lower())
        out[i] = name
    return out


def _comment(text: str) -> str:
    return "# " + re.sub(r"[\r\n]+", " ", text)


def block(ident: Identity, name: str | None) -> str:
    """One ``[[printers]]`` block (or comment lines for a port where nothing answered)."""
    if not ident.found or name is None:
        why = ident.problem or "no printer answered"
        return _comment(f"{ident.uri}: {why}") + "\n"
    who = " ".join(x for x in (ident.manufacturer, ident.model) if x) or "unknown model"
    head = who + (f", firmware {ident.firmware}" if ident.firmware else "")
    if ident.serial:
        head += f", serial {ident.serial}"
    lines = [_comment(f"{head} (answered {ident.via})" if ident.via else head),
             "[[printers]]", f"name = {toml_str(name)}", f"uri = {toml_str(ident.uri)}",
             f"lang = {toml_str(ident.lang or '')}"]
    if ident.dpi:
        lines.append(f"dpi = {ident.dpi}")
    else:
        lines.append("# dpi = 203  # the printer does not say: check its spec sheet (203, 300, 600)")
    lang = LANGUAGES.get(ident.lang or "")
    default = lang.default_media if lang is not None else Language.default_media  # the registry's
    if ident.media:
        lines.append(f"media = {toml_str(ident.media)}")
    elif ident.width_mm:
        height = default.partition("x")[2]
        lines.append(f'# media = "{ident.width_mm:g}x{height}"  # print width {ident.width_mm:g} mm reported; '
                     "set WIDTHxHEIGHT of your labels")
    else:
        lines.append(f'# media = "{default}"  # the printer does not report its labels: set WIDTHxHEIGHT in mm')
    return "\n".join(lines) + "\n"


def render_text(found: list[Identity], taken: Iterable[str] = ()) -> str:
    names = assign_names(found, taken)
    parts = [block(ident, names.get(i)) for i, ident in enumerate(found)]
    return "\n".join(parts)


def render_json(found: list[Identity]) -> str:
    return json.dumps([f.to_json() for f in found], indent=2, ensure_ascii=False)


# -- appending to a config -------------------------------------------------------------------


def _read_limited(fd: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        total += len(b)
        if total > MAX_CONFIG:
            raise UsageError(f"config is larger than {MAX_CONFIG} bytes: not a printstation config?")
        chunks.append(b)


def _uri_key(uri: str) -> str:
    u = uri.strip().lower().rstrip("/")
    if u.startswith("tcp://") and not re.search(r":\d+$", u):
        u += ":9100"
    return u


def configured(text: str) -> tuple[dict[str, str], list[str]]:
    """(uri key → printer name, names) of the ``[[printers]]`` in a config's text."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"bad TOML: {exc}") from None
    uris: dict[str, str] = {}
    names: list[str] = []
    for p in doc.get("printers", []) if isinstance(doc.get("printers"), list) else []:
        if isinstance(p, dict):
            if isinstance(p.get("name"), str):
                names.append(p["name"])
            if isinstance(p.get("uri"), str):
                uris[_uri_key(p["uri"])] = str(p.get("name", "?"))
    return uris, names


#: ``validate(text, addition, path)``: raises :class:`ConfigError` when the config ``text`` with
#: ``addition`` appended would not load (the station config is the face's: it passes this in).
Validator = Callable[[str, str, Path], None]


def append_to_config(path: Path, found: list[Identity], validate: Validator) -> tuple[list[str], list[str]]:
    """Append a block per printer found to ``path``; ``(added names, refused lines)``.

    A printer whose uri the config already has is refused (one line each, nothing changed for
    it). The file is opened without following symlinks and appended in place (its owner, mode
    and inode stay); a missing file is created (mode 0640). The result must pass ``validate``
    (load as a valid config) before anything is written.
    """
    fd, created = _open_config(path)
    try:
        text = _locked_text(fd, path)
        try:
            uris, names = configured(text)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        new, refused = _not_configured(found, uris, path)
        if not new:
            return [], refused
        assigned = assign_names(new, names)
        added = [assigned[i] for i in range(len(new))]
        body = "\n".join(block(ident, assigned[i]) for i, ident in enumerate(new))
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        header = "# added by printstation printers discover\n"
        addition = sep + header + body
        validate(text, addition, path)
        view = memoryview(addition.encode("utf-8"))
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
        created = False
        return added, refused
    finally:
        os.close(fd)
        if created:  # made by us and nothing written: leave no empty file behind
            try:
                if path.stat().st_size == 0:
                    path.unlink()
            except OSError:
                pass


def _open_config(path: Path) -> tuple[int, bool]:
    """``(fd, created)`` of the config opened for appending, never through a symlink."""
    flags = (os.O_RDWR | os.O_APPEND | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0))  # O_NONBLOCK: a FIFO/device given by mistake never blocks
    try:
        return os.open(path, flags), False
    except FileNotFoundError:
        try:
            return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o640), True
        except OSError as exc:
            raise UsageError(f"{path}: cannot create: {exc.strerror or exc}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{path}: is a symlink; give the real file") from None
        raise UsageError(f"{path}: cannot open: {exc.strerror or exc}") from None


def _locked_text(fd: int, path: Path) -> str:
    """The config's text, read under an exclusive ``flock`` (two discovers append one after
    the other); a file that is not a writable regular UTF-8 file is refused."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: not a regular file")
    if not st.st_mode & 0o222:  # root could write it anyway: a read-only file means "leave it"
        raise UsageError(f"{path}: is read-only (mode {stat.S_IMODE(st.st_mode):04o}): not changed")
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)  # two discovers appending at once: one after the other
    os.lseek(fd, 0, os.SEEK_SET)
    raw = _read_limited(fd)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None


def _not_configured(found: list[Identity], uris: dict[str, str], path: Path) -> tuple[list[Identity], list[str]]:
    """The printers found whose uri the config does not have yet, and a line per one refused."""
    refused: list[str] = []
    new: list[Identity] = []
    seen = set(uris)
    for ident in found:
        if not ident.found:
            continue
        key = _uri_key(ident.uri)
        if key in seen:
            owner = uris.get(key)
            refused.append(f"{ident.uri} is already configured"
                           + (f" as printer {owner!r}" if owner else " (listed twice)")
                           + f" in {path}: not added")
            continue
        seen.add(key)
        new.append(ident)
    return new, refused


def valid_name(name: str) -> bool:
    return bool(_NAME_OK.fullmatch(name))
