"""Small parsers for the shipped systemd unit and udev rules (used by the packaging tests)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "printstation.service"
RULES = ROOT / "systemd" / "60-printstation.rules"


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) with comments dropped and ``\\`` continuations joined."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line[0] in "#;"):
            continue
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        out.append((start, buf + line))
        buf = ""
    assert not buf, f"line {start}: continuation runs past the end of the file"
    return out


def parse_unit(path: Path = UNIT) -> dict[str, list[tuple[str, str]]]:
    """Unit file → {section: [(key, value), …]} keeping repeated keys in order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for n, line in logical_lines(path.read_text(encoding="utf-8")):
        m = re.fullmatch(r"\[([A-Za-z]+)\]", line)
        if m:
            current = sections.setdefault(m.group(1), [])
            continue
        assert current is not None, f"line {n}: directive outside a section"
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()), f"line {n}: not KEY=VALUE: {line}"
        current.append((key.strip(), value.strip()))
    return sections


class Unit:
    def __init__(self, path: Path = UNIT) -> None:
        self.sections = parse_unit(path)

    def all(self, key: str, section: str = "Service") -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]

    def get(self, key: str, section: str = "Service") -> str | None:
        values = self.all(key, section)
        return values[-1] if values else None

    def words(self, key: str, section: str = "Service") -> list[str]:
        """A list-valued directive with systemd's semantics: an empty assignment resets it."""
        out: list[str] = []
        for v in self.all(key, section):
            out = [] if not v else out + v.split()
        return out

    def environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for v in self.all("Environment"):
            for item in shlex.split(v):
                k, _, val = item.partition("=")
                env[k] = val
        return env

    def exec_start(self) -> list[str]:
        return shlex.split(self.get("ExecStart") or "")


# -- udev rules ---------------------------------------------------------------------------------

MATCH_KEYS = {"ACTION", "DEVPATH", "KERNEL", "NAME", "SYMLINK", "SUBSYSTEM", "DRIVER", "ATTR",
              "SYSCTL", "KERNELS", "SUBSYSTEMS", "DRIVERS", "ATTRS", "TAGS", "TAG", "ENV", "CONST",
              "TEST", "PROGRAM", "RESULT"}
ASSIGN_KEYS = {"NAME", "SYMLINK", "OWNER", "GROUP", "MODE", "ATTR", "SYSCTL", "ENV", "TAG", "RUN",
               "LABEL", "GOTO", "IMPORT", "OPTIONS", "SECLABEL"}
#: Keys that take a ``{argument}``.
ARG_KEYS = {"ATTR", "SYSCTL", "ATTRS", "ENV", "CONST", "TEST", "IMPORT", "RUN", "SECLABEL"}
TOKEN_RE = re.compile(r'\s*([A-Z]+)(?:\{([^}]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse_rules(path: Path = RULES) -> list[tuple[int, list[tuple[str, str | None, str, str]]]]:
    """Rules file → [(line, [(key, arg, op, value), …])]; asserts the udev syntax as it goes."""
    rules = []
    for n, line in logical_lines(path.read_text(encoding="utf-8")):
        pos, tokens = 0, []
        while pos < len(line):
            m = TOKEN_RE.match(line, pos)
            assert m, f"line {n}: cannot parse at column {pos + 1}: {line[pos:]!r}"
            key, arg, op, value, comma = m.groups()
            tokens.append((key, arg, op, value))
            pos = m.end()
            assert comma or pos == len(line), f"line {n}: missing comma"
        rules.append((n, tokens))
    return rules
