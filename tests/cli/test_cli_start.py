"""What a start loads: 'gitward COMMAND' imports that command's module only, and the table of
command modules in tui/cli/main.py says what each module says it defines. (Speed itself is
measured by benchmarks/tui_bench.py; these tests only say which modules must stay off the path.)"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tui.cli.main import COMMAND_MODULES, COMMANDS, build_parser

COMMAND_PACKAGES = ("tui.cli.write", "tui.cli.sync", "tui.cli.compare", "tui.cli.fleet")


def loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; the modules of tui.cli, the core's heavy readers and
    the stdlib modules named below that it then holds (the last line it prints)."""
    probe = (
        f"{code}\n"
        "import sys\n"
        "watched = ('tui.cli.', 'tui.core.scan', 'tui.core.discovery', 'tui.core.model', 'multiprocessing',"
        " 'humanize', 'json', 'pygit2', 'textual')\n"
        "print(sorted(m for m in sys.modules if m.startswith(watched)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return eval(result.stdout.strip().splitlines()[-1])  # a list of names, printed by repr


def test_the_table_of_command_modules_is_what_each_module_defines():
    for package in COMMAND_PACKAGES:
        module = importlib.import_module(package)
        named_here = tuple(name for name, where in COMMAND_MODULES.items() if f"tui.cli.{where}" == package)
        assert module.COMMANDS == named_here, package
    assert len(set(COMMANDS)) == len(COMMANDS)


def test_every_command_is_registered_with_its_module_alone():
    everything = build_parser()
    sub = next(a for a in everything._actions if a.dest == "command")
    assert list(sub.choices) == list(COMMANDS)
    for command in COMMANDS:
        alone = build_parser(command)
        choices = next(a for a in alone._actions if a.dest == "command").choices
        assert command in choices
        assert choices[command].format_help() == sub.choices[command].format_help()


def test_parsing_roots_for_the_console_loads_no_command_module(tmp_path):
    code = (
        "from tui.cli.main import build_console_parser, _check_roots\n"
        f"args = build_console_parser().parse_args(['--jobs', '2', {str(tmp_path)!r}])\n"
        "_check_roots(args.roots)\n"
    )
    assert loaded_after(code) == ["tui.cli.common", "tui.cli.main"]


@pytest.mark.parametrize(
    "command, module",
    [("refs", None), ("worktree", "tui.cli.write"), ("sync", "tui.cli.sync"), ("manifest", "tui.cli.compare"), ("fleet", "tui.cli.fleet")],
)
def test_a_command_loads_its_own_module_only(command, module):
    code = f"from tui.cli.main import build_parser\nbuild_parser({command!r})\n"
    expected = sorted(["tui.cli.common", "tui.cli.main"] + ([module] if module else []))
    loaded = loaded_after(code)
    assert [m for m in loaded if m.startswith("tui.cli.")] == expected
    heavy = ("tui.core.scan", "tui.core.discovery", "multiprocessing", "pygit2", "textual")
    assert not [m for m in loaded if m.startswith(heavy)], "a parser needs no scanning code and no Textual"


def test_help_before_the_command_still_lists_every_command(capsys):
    from tui.cli.main import main

    with pytest.raises(SystemExit):
        main(["--help", "refs"])
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out
