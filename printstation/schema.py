"""Shape and range checks of the config, written once: msgspec models → :class:`ConfigError`.

Every layer describes its own TOML section(s) as a :class:`Section` (a frozen msgspec ``Struct``
that refuses unknown keys) with ranges and choices as ``Annotated`` metadata (:func:`between`,
:func:`one_of`, :func:`expect`). :func:`convert` checks a table against it and turns msgspec's
error into one line that starts with the key path, worded as the station always did::

    printers[1].dpi: 5 out of range (72..1200)
    printers[0].colour: unknown key (known: copies, cut, …)
    api.idle_timeout: expected a number, got a string

Semantic checks (URIs, media sizes, paths, regular expressions…) stay by hand in the layer's
settings module, after the shape is known to be right.

Why msgspec and not pydantic — measured on the project machine (Python 3.11, msgspec 0.23,
pydantic 2.14; the station's section models ported to both; a busy 2-core box, best of 3):

=======================================  ===========  ============
                                         msgspec      pydantic 2
=======================================  ===========  ============
``-X importtime``: the library           30-36 ms     44-49 ms
``-X importtime``: library + the models  32 ms        144-165 ms
CPU of ``python -c "import models"``     47 ms        167 ms
validate the example config's document   4-8 µs       70-140 µs
=======================================  ===========  ============

(``python -c pass``: 11 ms CPU.) Inside the station msgspec adds ~12 ms to the import of
:mod:`printstation.face.config` (the rest is shared with what the package imports anyway);
``import + load(config/printstation.example.toml)`` costs 213 ms CPU, as before (211 ms).
Raw messages: msgspec ``Expected `int` >= 72 - at `$.printers[0].dpi``` (one line with the path,
first error only); pydantic a multi-line report per error with a documentation URL (the input
value and bounds as data, though). Both need rewording to keep the station's messages, and
msgspec's start cost (every CLI command loads the config) decided it.
"""

from __future__ import annotations

import ipaddress
import math
import re
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

from .errors import ConfigError

__all__ = ["Section", "between", "positive", "one_of", "expect", "convert", "fail", "join", "kind", "array_of_tables",
           "parse_listen", "is_loopback", "Annotated", "Meta"]

S = TypeVar("S", bound="Section")


class Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A TOML table: its keys are the fields; any other key is refused.

    Subclasses say ``frozen=True`` again (msgspec inherits it; mypy only sees it when written)."""


def between(lo: float, hi: float) -> Meta:
    """A number in ``lo..hi`` (both included)."""
    return Meta(ge=lo, le=hi)


def positive() -> Meta:
    """A finite number above zero."""
    return Meta(gt=0, le=_FINITE)


_FINITE = sys.float_info.max


def one_of(*choices: str, bad: str = "bad value") -> Meta:
    """A string among ``choices``; the message starts with ``bad`` (``bad value 'x' (one of …)``)."""
    return Meta(pattern="^(?:" + "|".join(re.escape(c) for c in choices) + ")$",
                extra={"choices": choices, "bad": bad})


def expect(text: str, *, got: str = "kind") -> Meta:
    """Word a shape error as ``expected <text>, got <kind of value>`` (``got="repr"``: the value)."""
    return Meta(extra={"expected": text, "got": got})


def fail(path: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {message}" if path else message)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def kind(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(v), type(v).__name__)


def array_of_tables(value: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise fail(path, f"expected an array of tables ([[{path}]]), got {kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise fail(f"{path}[{i}]", f"expected a table, got {kind(item)}")
    return value


def _dec_hook(type_: Any, value: Any) -> Any:
    if type_ is Path and isinstance(value, str):
        return Path(value)
    raise TypeError(f"expected a string, got {kind(value)}")


def convert(value: Any, model: type[S], path: str) -> S:
    """``value`` (a TOML table) checked against ``model``; :class:`ConfigError` names the key."""
    if not isinstance(value, dict):
        raise fail(path, f"expected a table, got {kind(value)}")
    try:
        return msgspec.convert(value, model, strict=True, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise _reword(str(exc), value, model, path) from None


# -- msgspec's message → the station's ----------------------------------------------------------

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<at>[^`]*)`)?$", re.S)
_TOKEN = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+|\.\.\.)\]")
_TYPE = re.compile(r"^Expected `[^`]+`, got `[^`]+`$|^Expected `array` of length")
_RANGE = re.compile(r"^Expected `(?:int|float)` (?:>=|<=|>|<) \S+$")
_FIELD = re.compile(r"^Object (?P<what>contains unknown|missing required) field `(?P<key>.*)`$", re.S)


def _reword(message: str, doc: Any, model: type, path: str) -> ConfigError:
    m = _AT.match(message)
    assert m is not None  # the pattern matches any string
    msg, tokens = m.group("msg"), [a or b for a, b in _TOKEN.findall(m.group("at") or "")]
    in_array = False  # an error in one element of an array is reported on the array's key
    while tokens and (tokens[-1].isdigit() or tokens[-1] == "..."):
        tokens.pop()
        in_array = True
    where = path + "".join(f"[{t}]" if t.isdigit() else f".{t}" for t in tokens)
    value, hint = _lookup(doc, model, tokens)
    meta = _meta(hint)
    f = _FIELD.match(msg)
    if f:
        key = f.group("key")
        if f.group("what") == "missing required":
            return fail(join(where, key), "required key is missing")
        known = ", ".join(sorted(getattr(_struct_of(hint), "__struct_fields__", ())))
        return fail(join(where, key), f"unknown key (known: {known})")
    if "choices" in meta and isinstance(value, str):
        return fail(where, f"{meta['bad']} {value!r} (one of {', '.join(meta['choices'])})")
    if _RANGE.match(msg) and isinstance(value, (int, float)) and not in_array:
        return fail(where, _out_of_range(value, meta))
    if _TYPE.match(msg) or "expected" in meta or in_array:
        got = repr(value) if meta.get("got") == "repr" else kind(value)
        return fail(where, f"expected {meta.get('expected') or _expected(hint)}, got {got}")
    return fail(where, msg)


def _lookup(doc: Any, model: type, tokens: list[str]) -> tuple[Any, Any]:
    """The value at ``tokens`` in ``doc`` and the type annotation of that key (``model`` for none)."""
    value: Any = doc
    hint: Any = model
    for t in tokens:
        value = value.get(t) if isinstance(value, dict) else None
        owner = _struct_of(hint)
        hint = typing.get_type_hints(owner, include_extras=True).get(t) if owner is not None else None
    return value, hint


def _meta(hint: Any) -> dict[str, Any]:
    """Bounds (ge, gt, le, lt) and ``extra`` of every ``Meta`` on ``hint``."""
    meta: dict[str, Any] = {}
    for m in _metas(hint):
        meta.update({k: getattr(m, k) for k in ("ge", "gt", "le", "lt") if getattr(m, k) is not None})
        meta.update(m.extra or {})
    return meta


def _metas(hint: Any) -> list[Meta]:
    if typing.get_origin(hint) is Annotated:
        base, *extra = typing.get_args(hint)
        return [m for m in extra if isinstance(m, Meta)] + _metas(base)
    if type(None) in typing.get_args(hint):  # X | None
        return [m for a in typing.get_args(hint) for m in _metas(a)]
    return []


def _unwrap(hint: Any) -> list[Any]:
    """``hint`` without ``Annotated`` and ``None``: the member types of an optional/union."""
    if typing.get_origin(hint) is Annotated:
        return _unwrap(typing.get_args(hint)[0])
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [a for x in typing.get_args(hint) if x is not type(None) for a in _unwrap(x)]
    return [hint]


def _struct_of(hint: Any) -> Any:
    return next((h for h in _unwrap(hint) if isinstance(h, type) and issubclass(h, msgspec.Struct)), None)


_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false", Path: "a string"}


def _expected(hint: Any) -> str:
    words = []
    for h in _unwrap(hint):
        origin = typing.get_origin(h)
        if origin in (list, tuple):
            words.append("an array of strings" if str in typing.get_args(h) else "an array")
        elif isinstance(h, type) and issubclass(h, msgspec.Struct):
            words.append("a table")
        else:
            words.append(_WORDS.get(h, getattr(h, "__name__", str(h))))
    return " or ".join(words)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


def _out_of_range(v: float, meta: dict[str, Any]) -> str:
    lo: Any = meta.get("ge", meta.get("gt"))
    hi: Any = meta.get("le", meta.get("lt"))
    if isinstance(v, float) and not math.isfinite(v):
        return f"expected a finite number, got {v!r}"
    shown = f"{v:g}" if isinstance(v, float) else str(v)
    if hi is None or hi == _FINITE:
        return f"must be {'>' if 'gt' in meta else '≥'} {_num(lo)}, got {v!r}"
    if lo is None:
        return f"at most {_num(hi)}, got {shown}"
    return f"{shown} out of range ({_num(lo)}..{_num(hi)})"


# -- semantic helpers shared by several sections -------------------------------------------------


def parse_listen(text: str, path: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``PORT`` (on 127.0.0.1)."""
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([^:\[\]]+):(\d+)|(\d+)", text.strip())
    if not m:
        raise fail(path, f"bad listen address {text!r} (HOST:PORT, e.g. 127.0.0.1:8631)")
    if m.group(5):
        host, port = "127.0.0.1", int(m.group(5))
    else:
        host = m.group(1) or m.group(3)
        port = int(m.group(2) or m.group(4))
    if not 0 <= port <= 65535:
        raise fail(path, f"port {port} out of range (0..65535)")
    return host, port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_key_file(file: str | Path, path: str, limit: int = 64 * 1024) -> str:
    """The text of a ``*_file`` key's file (a token or secret), read once at load: one
    ConfigError naming the key ``path`` when it is missing, unreadable, not a regular file (a
    symlink the admin made is followed to the regular file it names; a FIFO, device or folder is
    refused without being opened), over ``limit`` bytes or not UTF-8. The message names the file,
    never its contents."""
    import errno

    from .fsutil import read_regular

    try:
        data = read_regular(file, limit, follow=True)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise fail(path, f"cannot read {file}: it does not exist") from None
        if exc.errno == errno.ELOOP:
            raise fail(path, f"{file}: a symlink loop") from None
        if exc.errno in (errno.EINVAL, errno.EFBIG):
            raise fail(path, f"{file}: {exc.strerror} (a token or secret file)") from None
        raise fail(path, f"cannot read {file}: {exc.strerror or type(exc).__name__}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise fail(path, f"{file} is not UTF-8 text") from None
