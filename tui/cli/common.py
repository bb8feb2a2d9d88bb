"""What gitward's command-line modules share: bad-input errors, opening a REPO argument, text output.

A module of its own because ``cli`` imports ``cli_write`` and ``cli_sync``: they cannot import
``cli`` back. Imports of ``tui.core`` stay inside the functions, as in the command modules, so
``gitward --help`` loads nothing it does not need.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input from the command line: one line on stderr, exit 2."""


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
    except BrokenPipeError:
        # 'gitward refs ... | head' closes the pipe early; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("gitward: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001  a bug: exit 2, never Python's 1, which means "findings"
        # deferred: only a crash (a bug) prints a traceback
        import traceback

        traceback.print_exc()
        print(f"gitward: internal error: {type(exc).__name__}: {clean(str(exc))}".replace("\n", " "), file=sys.stderr)
        return EXIT_ERROR
    return EXIT_ERROR if code is None else code


def open_repo(path: str):
    """The repository a REPO argument names, as ``discovery.classify`` sees it."""
    # loaded when the command runs: --help and the other commands skip core.discovery
    from tui.core.discovery import NotARepository, repository_at

    try:
        return repository_at(path)
    except NotARepository as exc:
        raise UsageError(str(exc)) from None


def clean(text: str, *, redact: bool = False) -> str:
    """Untrusted text (ref names, paths, reasons) as one line that cannot drive the terminal:
    control characters shown escaped (``\\x1b``, ``\\n``), so a name can still be found again
    and a newline in it cannot forge an output line. Every text line the CLI prints that holds
    something it did not write itself goes through here.

    ``redact``: also mask credentials, for text that may quote a remote URL or git's output
    (escaped first: an escape sequence planted in a URL cannot hide its password).
    """
    # loaded when the command runs: --help and the other commands skip core.redact
    from tui.core.redact import escape_terminal, redact_text

    safe = escape_terminal(str(text))
    return redact_text(safe) if redact else safe


def write_json_text(encoded: str) -> None:
    """An encoded JSON document (or part of one) to stdout, never with a raw control byte."""
    # loaded when the command runs: --help and the other commands skip core.redact
    from tui.core.redact import json_safe

    sys.stdout.write(json_safe(encoded))


def fail(message: str, code: int, *, redact: bool = False) -> int:
    """Print ``message`` as one ``gitward: `` line on stderr; return ``code`` to exit with."""
    print(f"gitward: {clean(message, redact=redact)}", file=sys.stderr)
    return code


def short(value: str | None) -> str:
    """An object id as the tables show it: its first 12 digits, or ``-``."""
    return value[:12] if value else "-"


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
