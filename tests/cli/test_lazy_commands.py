"""A known command builds only its own parser (``printstation convert`` imports no client,
markets or config stack): the table saying which modules register a command must match what the
modules register, and the help and parse of every command must be the full parser's."""

from __future__ import annotations

import contextlib
import importlib
import io
import subprocess
import sys

import pytest

from printstation.face import cli


def _registered_by(module: str) -> set[str]:
    parser = cli.ArgParser(prog="printstation")
    sub = parser.add_subparsers(dest="command", parser_class=cli.ArgParser)
    importlib.import_module(module).register(sub)
    return set(sub.choices)


def test_the_table_names_every_module_that_registers_a_command() -> None:
    want: dict[str, set[str]] = {}
    for module in cli.COMMAND_MODULES:
        for command in _registered_by(module):
            want.setdefault(command, set()).add(module)
    assert {c: set(m) for c, m in cli.COMMANDS.items()} == want


def _help(parser, argv: list[str]) -> tuple[str, int]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), pytest.raises(SystemExit) as ex:
        parser.parse_args(argv)
    return out.getvalue(), int(ex.value.code or 0)


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_a_command_alone_parses_and_helps_as_the_full_parser(command: str) -> None:
    full, alone = cli.build_parser(), cli.build_parser(command)
    choices = alone._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(choices) == set().union(*(_registered_by(m) for m in cli.COMMANDS[command]))
    assert _help(alone, [command, "--help"]) == _help(full, [command, "--help"])
    assert _help(alone, ["-v", command, "--no-such-option"]) == _help(full, ["-v", command, "--no-such-option"])


def test_command_word() -> None:
    assert cli.command_of(["-vv", "convert", "x.pdf"]) == "convert"
    assert cli.command_of(["--version"]) is None
    assert cli.command_of(["--", "convert"]) is None
    assert cli.command_of([]) is None


def test_convert_imports_no_client_or_config_stack(tmp_path) -> None:
    out = tmp_path / "o.zpl"
    code = ("import sys; from printstation.face.cli import main; rc = main(sys.argv[1:]); "
            "print(sorted(m for m in sys.modules if m.startswith(('printstation.face.cli.', "
            "'printstation.face.config', 'printstation.markets', 'httpx', 'msgspec'))))")
    r = subprocess.run([sys.executable, "-c", code, "convert", "-", "--media", "40x30", "-o", str(out)],
                       input=b"^XA^FO10,10^FDx^FS^XZ", capture_output=True, check=True)
    assert r.stdout.decode().strip() == "['printstation.face.cli.convert']"
    assert out.read_bytes().startswith(b"^XA")


def test_help_and_unknown_commands_list_every_command() -> None:
    py = [sys.executable, "-m", "printstation"]
    top = subprocess.run(py + ["--help"], capture_output=True, text=True, check=True).stdout
    bare = subprocess.run(py, capture_output=True, text=True)
    bad = subprocess.run(py + ["nosuch"], capture_output=True, text=True)
    assert bare.returncode == 2 and bare.stderr == top
    assert bad.returncode == 2 and "invalid choice: 'nosuch'" in bad.stderr
    for command in cli.COMMANDS:
        assert command in top and command in bad.stderr
