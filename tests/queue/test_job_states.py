"""Job states are ``JobState`` members everywhere: no bare ``"queued"``/``'done'`` compared with a
job's state or written into SQL in the package (read with ``ast``, so new code stays that way)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from printstation.queue.base import STATES, JobState

PACKAGE = Path(__file__).resolve().parents[2] / "printstation"
_SQL_STATE = re.compile(r"state\s*(?:=|!=|<>|IN\s*\()\s*'(?:%s)'" % "|".join(STATES), re.I)


def _is_state(node: ast.AST) -> bool:
    """``x.state``, ``x["state"]``, ``x.get("state")`` or a name ``state``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "state"
    if isinstance(node, ast.Name):
        return node.id == "state"
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "state"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "state"
    return False


def _literals(node: ast.AST) -> list[str]:
    """State names written as string constants in ``node`` (a constant or a tuple/set/list)."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.Set, ast.List)) else [node]
    return [n.value for n in items if isinstance(n, ast.Constant) and n.value in STATES]


def bare_states(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_state(s) for s in sides):
                found += [(node.lineno, lit) for s in sides for lit in _literals(s)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL_STATE.search(node.value):
            found.append((node.lineno, node.value))
    return found


def test_the_checker_finds_bare_states():
    src = ('if job.state == "queued": pass\nif job["state"] in ("done", "failed"): pass\n'
           'ok = rec.get("state") != "sending"\nq = "SELECT * FROM jobs WHERE state=\'queued\'"\n'
           'fine = job.state == JobState.QUEUED or rec.get("outcome") == "failed"\n')
    assert [line for line, _ in bare_states(src)] == [1, 2, 2, 3, 4]


def test_no_bare_job_state_in_the_package():
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for line, text in bare_states(path.read_text(encoding="utf-8"))]
    assert found == []


def test_states_are_strings_on_the_wire():
    assert [str(s) for s in JobState] == list(STATES)
    assert JobState.QUEUED == "queued" and f"{JobState.DONE}" == "done"
