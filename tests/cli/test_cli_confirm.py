"""One rule for every command-line write: on a terminal it asks; anywhere else it needs --yes.

``shadows prune`` (tests/core/test_refedit.py), ``undo``, ``locks clear``, ``worktree prune`` and
``sync`` of a mirror. Without a terminal and without --yes: exit 1, one line naming --yes, and git
sees nothing changed; with --yes: done. On a terminal (a pty as stdin) the answer decides.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gitrepo import for_each_ref, git, init_with_worktrees
from refedit_support import build_shadows, ref_files
from sync_support import add_commits, upstream_and_mirror

ROOT = Path(__file__).resolve().parents[2]


def gitward(*argv: str, answer: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m tui ARGV``; ``answer``: stdin is a terminal (a pty) with this line typed."""
    if answer is None:
        return subprocess.run([sys.executable, "-m", "tui", *map(str, argv)], cwd=ROOT, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=120)
    master, slave = pty.openpty()
    try:
        os.write(master, answer.encode() + b"\n")  # the line discipline keeps it until read
        return subprocess.run([sys.executable, "-m", "tui", *map(str, argv)], cwd=ROOT, capture_output=True,
                              text=True, stdin=slave, timeout=120)
    finally:
        os.close(slave)
        os.close(master)


def refused_for_want_of_yes(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stderr.splitlines()[-1].startswith("gitward: not applied: no terminal to ask; add --yes"), result.stderr
    assert "Traceback" not in result.stderr


def applied_entry(stdout: str) -> str:
    return stdout.split("journal entry ")[1].split()[0].rstrip(";)")


# --------------------------------------------------------------------------- undo


@pytest.fixture
def pruned(tmp_path):
    """A repository whose stale-loose shadow was resolved: (repo, refs before, journal entry)."""
    repo = build_shadows(tmp_path, kinds=("stale",))
    before = ref_files(repo.git_dir)
    applied = gitward("shadows", "prune", repo.git_dir, "--yes")
    assert applied.returncode == 0, applied.stderr
    assert ref_files(repo.git_dir) != before
    return repo, before, applied_entry(applied.stdout)


def test_undo_needs_yes_without_a_terminal(pruned):
    repo, before, entry_id = pruned
    after_prune = ref_files(repo.git_dir)
    refs = for_each_ref(repo.path)
    refused_for_want_of_yes(gitward("undo", entry_id))
    assert ref_files(repo.git_dir) == after_prune and for_each_ref(repo.path) == refs
    done = gitward("undo", entry_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert ref_files(repo.git_dir) == before


def test_undo_on_a_terminal_asks(pruned):
    repo, before, entry_id = pruned
    after_prune = ref_files(repo.git_dir)
    said_no = gitward("undo", entry_id, answer="n")
    assert said_no.returncode == 1 and "not confirmed" in said_no.stderr
    assert f"Undo {entry_id}" in said_no.stdout and "[y/N]" in said_no.stdout
    assert ref_files(repo.git_dir) == after_prune
    said_yes = gitward("undo", entry_id, answer="y")
    assert said_yes.returncode == 0, said_yes.stderr
    assert ref_files(repo.git_dir) == before


def test_a_refusal_is_said_before_anything_is_asked(pruned):
    repo, _, entry_id = pruned
    result = gitward("undo", entry_id, "--read-only", answer="y")
    assert result.returncode == 1 and "read-only" in result.stderr and "[y/N]" not in result.stdout
    assert gitward("undo", "no-such-entry", answer="y").returncode == 2


# --------------------------------------------------------------------------- locks clear


def test_locks_clear_needs_yes_without_a_terminal(tmp_path):
    repo = build_shadows(tmp_path, kinds=())
    lock = repo.path / "packed-refs.lock"
    lock.write_bytes(b"")
    past = time.time() - 7200  # older than the grace period
    os.utime(lock, (past, past))
    refused_for_want_of_yes(gitward("locks", "clear", repo.git_dir, "packed-refs.lock"))
    assert lock.exists()
    assert gitward("locks", "clear", repo.git_dir, "packed-refs.lock", "--json").returncode == 1
    assert lock.exists()
    dry = gitward("locks", "clear", repo.git_dir, "packed-refs.lock", "--dry-run")  # never asks
    assert dry.returncode == 0 and lock.exists()
    done = gitward("locks", "clear", repo.git_dir, "packed-refs.lock", "--yes")
    assert done.returncode == 0, done.stderr
    assert not lock.exists()
    git(repo.path, "pack-refs", "--all")  # git can take its lock again


# --------------------------------------------------------------------------- worktree prune


def porcelain(repo: Path) -> str:
    return git(repo, "worktree", "list", "--porcelain")


@pytest.fixture
def prunable(tmp_path) -> Path:
    main = init_with_worktrees(tmp_path / "main", "../gone", "../kept")
    import shutil

    shutil.rmtree(tmp_path / "gone")
    assert "prunable gitdir file points to non-existent location" in porcelain(main)
    return main


def test_worktree_prune_needs_yes_without_a_terminal(prunable):
    before = porcelain(prunable)
    result = gitward("worktree", "prune", str(prunable))
    refused_for_want_of_yes(result)
    assert "Would remove worktrees/gone" in result.stdout  # what would go, before the refusal
    assert porcelain(prunable) == before and (prunable / ".git/worktrees/gone").is_dir()
    assert gitward("worktree", "prune", str(prunable), "--json").returncode == 1
    assert porcelain(prunable) == before
    done = gitward("worktree", "prune", str(prunable), "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert [item["id"] for item in json.loads(done.stdout)["removes"]] == ["gone"]
    assert "gone" not in porcelain(prunable) and "kept" in porcelain(prunable)


def test_worktree_prune_on_a_terminal_wants_the_repository_name(prunable):
    before = porcelain(prunable)
    wrong = gitward("worktree", "prune", str(prunable), answer="y")
    assert wrong.returncode == 1 and "Type main to confirm" in wrong.stdout
    assert porcelain(prunable) == before
    read_only = gitward("worktree", "prune", str(prunable), "--read-only", answer="main")
    assert read_only.returncode == 1 and "read-only" in read_only.stderr and "Type main" not in read_only.stdout
    right = gitward("worktree", "prune", str(prunable), answer="main")
    assert right.returncode == 0, right.stderr
    assert "gone" not in porcelain(prunable)


def test_nothing_to_prune_asks_nothing(tmp_path):
    main = init_with_worktrees(tmp_path / "main", "../wt")
    result = gitward("worktree", "prune", str(main))
    assert result.returncode == 0 and result.stderr == ""


# --------------------------------------------------------------------------- sync of a mirror


def test_mirror_sync_needs_yes_without_a_terminal(tmp_path):
    upstream, mirror = upstream_and_mirror(tmp_path)
    git(upstream, "branch", "doomed", "main")
    git(mirror, "fetch", "--quiet", "--prune", "origin")
    git(upstream, "branch", "-D", "doomed")  # fetch --prune deletes it from the mirror
    tip = add_commits(upstream)
    before = for_each_ref(mirror)
    assert "refs/heads/doomed" in before
    result = gitward("sync", str(mirror))
    refused_for_want_of_yes(result)
    assert for_each_ref(mirror) == before
    done = gitward("sync", str(mirror), "--yes")
    assert done.returncode == 0, done.stderr
    after = for_each_ref(mirror)
    assert after["refs/heads/main"] == tip and "refs/heads/doomed" not in after


def test_mirror_sync_on_a_terminal_asks(tmp_path):
    upstream, mirror = upstream_and_mirror(tmp_path)
    add_commits(upstream)
    before = for_each_ref(mirror)
    said_no = gitward("sync", str(mirror), answer="")
    assert said_no.returncode == 1 and "with --prune" in said_no.stdout
    assert for_each_ref(mirror) == before
    said_yes = gitward("sync", str(mirror), answer="yes")
    assert said_yes.returncode == 0, said_yes.stderr
    assert for_each_ref(mirror) == for_each_ref(upstream)
