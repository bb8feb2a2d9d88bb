"""The console and the command line say the same thing: journal status words and order, sizes
("691 B", never "691 Bytes"), and counted nouns ("1 repository", "1 repo", "2 refs").

The CLI runs as a subprocess (as operators run it); the console is driven headless on the same
journal and the same host. What is compared is what each one shows.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from gitrepo import commit_chain, git, init_bare, init_with_worktrees
from refedit_support import build_shadows

from tui.app.app import create_app
from tui.app.screens.journal import JournalScreen
from tui.app.testing import settle, wait_for_scan
from tui.core.units import plural, size

ROOT = Path(__file__).resolve().parents[2]


def gitward(*argv: str) -> str:
    result = subprocess.run([sys.executable, "-m", "tui", *map(str, argv)], cwd=ROOT, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def table_rows(text: str) -> list[list[str]]:
    """``print_table`` output as cells (columns are two or more spaces apart)."""
    lines = text.splitlines()
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:] if line.strip()]


def entry_id(stdout: str) -> str:
    return stdout.split("journal entry ")[1].split()[0].rstrip(";)")


async def test_journal_words_and_order_are_the_same_in_the_console_and_the_cli(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale",))
    pruned = entry_id(gitward("shadows", "prune", repo.git_dir, "--yes"))
    main = init_with_worktrees(tmp_path / "main", "../wt")
    gitward("worktree", "lock", main, "wt", "--reason", "nfs")
    gitward("undo", pruned, "--yes")
    cli = [(row[0], row[2]) for row in table_rows(gitward("journal"))]
    assert [status for _, status in cli] == ["undo done", "done", "undone"]  # newest first
    app = create_app([str(tmp_path / "main")], jobs=1)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for_scan(pilot)
        assert app.run_command("journal")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JournalScreen)
        table = screen.table
        console = [(cells[0].plain, cells[2].plain) for cells in (table._render_row(row, table.palette) for row in table.rows)]
    assert console == cli


async def test_sizes_and_counts_read_the_same_in_the_console_and_the_cli(tmp_path):
    root = tmp_path / "host"
    repo = init_bare(root / "only.git")
    commit_chain(repo, 2)
    git(repo, "pack-refs", "--all")
    packed_refs = (repo / "packed-refs").stat().st_size
    assert packed_refs < 1024  # shown in bytes: where naturalsize alone says "Bytes"
    out = gitward("scan", root)
    header, row = out.splitlines()[:2]
    column = header.index("PACKED-REFS")
    assert row[column:].split("  ")[0].strip() == f"{packed_refs} B" == size(packed_refs)
    assert "1 repository scanned" in out
    app = create_app([str(root)], jobs=1)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for_scan(pilot)
        host = app.host_screen
        report = host.table.rows[0]
        assert host.table._texts[report.path].size == f"{packed_refs} B"
        assert "scanned 1 repo " in str(host.query_one("#scan-status").render()) + " "
        assert "1 repo " in str(host.query_one("#summary").render()).replace("\n", " ")  # may break there


def test_counted_nouns():
    assert [plural(n, "ref") for n in (0, 1, 2, 1200)] == ["0 refs", "1 ref", "2 refs", "1,200 refs"]
    assert plural(1, "repository", "repositories") == "1 repository"
    assert [size(n) for n in (None, 0, 1, 691, 1536)] == ["-", "0 B", "1 B", "691 B", "1.5 KiB"]
