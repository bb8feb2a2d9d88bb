"""What gitward's command-line modules share: bad-input errors, opening a REPO argument, text output.

A module of its own because ``cli`` imports ``cli_write`` and ``cli_sync``: they cannot import
``cli`` back. Imports of ``tui.core`` stay inside the functions, as in the command modules, so
``gitward --help`` loads nothing it does not need.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import re
import sys
from collections.abc import Callable, Iterable

EXIT_OK = 0
EXIT_REFUSED = 1  # nothing was changed: not confirmed, read-only, a held lock, ...
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input from the command line: one line on stderr, exit 2."""


class NotConfirmed(Exception):
    """A change was not confirmed (no terminal to ask and no --yes, or the answer was no):
    one line on stderr, exit 1, nothing changed."""


# --------------------------------------------------------------------------- parsing


def suggest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'scan'?"`` for the nearest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


class Parser(argparse.ArgumentParser):
    """argparse with gitward's rule for bad input: one line on stderr and exit 2 (argparse
    prints its whole usage block first), naming the nearest choice for a typo."""

    def error(self, message: str) -> None:  # type: ignore[override]  (NoReturn: exits)
        choice = re.match(r"argument (.+?): invalid choice: (.+?) \(choose from (.*)\)$", message)
        if choice:
            try:
                value = ast.literal_eval(choice.group(2))
                options = ast.literal_eval(f"[{choice.group(3)}]")
            except (ValueError, SyntaxError):
                pass
            else:
                message = f"{choice.group(1)}: {value!r} is not one of {', '.join(map(str, options))}{suggest(str(value), map(str, options))}"
        self.exit(EXIT_ERROR, f"{self.prog}: {clean(message)} (see '{self.prog} --help')\n")

    def unrecognized(self, args: argparse.Namespace, extras: list[str]) -> None:
        """Arguments no parser took: named, with the nearest option of the (sub)command they
        were given to. argparse collects them in the top parser, which knows no sub-option."""
        parser = self._innermost(args)
        flags = [extra for extra in extras if extra.startswith("-")]
        hint = suggest(flags[0].split("=", 1)[0], parser._option_string_actions) if flags else ""
        noun = "option" if flags and len(flags) == len(extras) else "argument"
        parser.error(f"unknown {noun}{'s' if len(extras) > 1 else ''}: {' '.join(extras)}{hint}")

    def _innermost(self, args: argparse.Namespace) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self
        while True:
            sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
            chosen = getattr(args, sub.dest, None) if sub is not None else None
            if chosen is None or chosen not in sub.choices:
                return parser
            parser = sub.choices[chosen]


# --------------------------------------------------------------------------- confirming


def confirm(question: str, *, yes: bool, as_json: bool = False, typed: str | None = None, dry_run: bool = True) -> None:
    """The one rule for every command that changes a repository: ``--yes`` goes ahead; on a
    terminal the operator is asked (``typed``: they must type this, e.g. the repository's name,
    else ``y``); anywhere else (cron, pipes, ``--json``) nothing happens. Raises NotConfirmed."""
    if yes:
        return
    if as_json or not sys.stdin.isatty():
        preview = " (or --dry-run to only preview)" if dry_run else ""
        raise NotConfirmed(f"not applied: no terminal to ask; add --yes to apply{preview}")
    prompt = f"Type {clean(typed)} to confirm: " if typed else "Proceed? [y/N] "  # a name is untrusted text
    try:
        answer = input(f"{question} {prompt}")
    except EOFError:
        answer = ""
    agreed = answer.strip() == typed if typed else answer.strip().lower() in ("y", "yes")
    if not agreed:
        raise NotConfirmed("not applied: not confirmed")


def run_command(command: Callable[[], int | None]) -> int:
    """Run a parsed command to its exit code: bad input, a closed pipe and ctrl-c end it with at
    most one line on stderr, never a traceback. A command that returns None was not one of ours.
    A bug (any other exception) prints its traceback and exits 2, as an error does: exit 1 means
    findings or a refusal, and cron must not read a crash as either."""
    try:
        code = command()
    except UsageError as exc:
        print(f"gitward: {clean(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except NotConfirmed as exc:
        print(f"gitward: {clean(str(exc))}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:
        # 'gitward refs ... | head' closes the pipe early; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("gitward: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001  a bug: exit 2, never Python's 1, which means "findings"
        # deferred: loaded only when this command runs (every gitward start stays light)
        import traceback

        traceback.print_exc()
        print(f"gitward: internal error: {type(exc).__name__}: {clean(str(exc))}".replace("\n", " "), file=sys.stderr)
        return EXIT_ERROR
    return EXIT_ERROR if code is None else code


def open_repo(path: str):
    """The repository a REPO argument names, as ``discovery.classify`` sees it; a linked
    worktree's path names the repository it belongs to (as git run there would)."""
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core.discovery import NotARepository, repository_at

    try:
        return repository_at(path)
    except NotARepository as exc:
        common = linked_worktree_repository(path)
        if common is None:
            raise UsageError(str(exc)) from None
    try:
        return repository_at(common, shown=f"{path} (a linked worktree of {common})")
    except NotARepository as exc:
        raise UsageError(str(exc)) from None


def repo_argument(path: str) -> str:
    """A REPO argument with a linked worktree's path replaced by its repository's."""
    common = linked_worktree_repository(path)
    return path if common is None else open_repo(path).path


def linked_worktree_repository(path: str) -> str | None:
    """The common git dir of the linked worktree at ``path`` (its ``.git`` file names
    ``<common>/worktrees/<id>``, whose ``commondir`` leads back), or None if it is not one."""
    dot_git = os.path.join(path, ".git")
    if not os.path.isfile(dot_git):
        return None  # the usual ROOT: answered without loading the readers below
    # deferred: loaded only for a .git file (every gitward start stays light)
    from tui.core.discovery import read_gitfile
    from tui.core.fsutil import read_bytes

    git_dir = read_gitfile(dot_git)
    if git_dir is None:
        return None
    try:
        relative = read_bytes(os.path.join(git_dir, "commondir"), 4096).decode("utf-8", "surrogateescape").strip()
    except OSError:
        return None
    if not relative:
        return None
    return os.path.normpath(os.path.join(git_dir, relative))


def clean(text: str, *, redact: bool = False) -> str:
    """Untrusted text (ref names, paths, reasons) as one line that cannot drive the terminal:
    control characters shown escaped (``\\x1b``, ``\\n``), so a name can still be found again
    and a newline in it cannot forge an output line. Every text line the CLI prints that holds
    something it did not write itself goes through here.

    ``redact``: also mask credentials, for text that may quote a remote URL or git's output
    (escaped first: an escape sequence planted in a URL cannot hide its password).
    """
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core.redact import escape_terminal, redact_text

    safe = escape_terminal(str(text))
    return redact_text(safe) if redact else safe


def write_json_text(encoded: str) -> None:
    """An encoded JSON document (or part of one) to stdout, never with a raw control byte."""
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core.redact import json_safe

    sys.stdout.write(json_safe(encoded))


def fail(message: str, code: int, *, redact: bool = False) -> int:
    """Print ``message`` as one ``gitward: `` line on stderr; return ``code`` to exit with."""
    print(f"gitward: {clean(message, redact=redact)}", file=sys.stderr)
    return code


def print_table(header: list[str], rows: Iterable[list[str]], indent: str = "") -> None:
    """Left-aligned columns two spaces apart, on stdout; cells are cleaned and kept on one line."""
    rows = [[clean(cell) for cell in row] for row in rows]
    widths = [len(h) for h in header]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    write = sys.stdout.write
    write(indent + "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip() + "\n")
    for row in rows:
        write(indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n")


def run_standalone(parser: "Parser", dispatch: Callable[[argparse.Namespace], int | None], argv=None) -> int:
    """``python -m tui.cli.write ARGS`` (and sync): parse as gitward does, unknown options named."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        parser.unrecognized(args, extras)  # exits 2, naming them
    return run_command(lambda: dispatch(args))
