"""One test for "this repository is a git-sync root", on real layouts.

Discovery (the scan's layout), the sync's plan (what a sync does) and git_sync_view all take
their answer from ``tui.core.gitsync_layout.is_git_sync_root``. Before, three copies disagreed:
discovery called any repository with a ``.worktrees/`` directory git-sync (so ``gitward sync``
ran git-sync's cleanup there, deleting an operator's own worktrees under ``.worktrees/``), and
missed a root whose ``.worktrees/`` had been deleted, which the sync still treated as one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from gitrepo import git
from sync_support import add_commits, clone_of, make_upstream

from tui.core.discovery import classify
from tui.core.gitsync_layout import is_git_sync_root
from tui.core.model import Layout
from tui.core.sync import JobState, SyncKind, SyncRequest, plan_sync, run_sync


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    path = tmp_path / "up.git"
    make_upstream(path, 2)
    return path


def synced_root(upstream: Path, root: Path) -> Path:
    """A root made by gitward's git-sync update (git init -b git-sync, .worktrees/<sha>, link)."""
    job = run_sync(SyncRequest(str(root), url=upstream.as_uri()), timeout=60)
    assert job.state is JobState.OK, job.error
    return root


def answers(path: Path) -> tuple[bool, Layout | None, SyncKind]:
    """What the one test, discovery and the sync plan say of ``path``: they must agree."""
    candidate = classify(str(path), str(path.parent))
    assert candidate is not None
    return is_git_sync_root(str(path)), candidate.layout, plan_sync(SyncRequest(str(path))).kind


def test_a_root_gitwards_sync_made_is_git_sync_everywhere(upstream, tmp_path):
    root = synced_root(upstream, tmp_path / "root")
    assert answers(root) == (True, Layout.GIT_SYNC, SyncKind.GIT_SYNC)


def test_a_root_whose_worktrees_dir_was_deleted_stays_git_sync(upstream, tmp_path):
    # HEAD still on git-sync's branch: discovery used to call this an ordinary clone.
    root = synced_root(upstream, tmp_path / "root")
    shutil.rmtree(root / ".worktrees")
    (root / "up.git").unlink()
    assert answers(root) == (True, Layout.GIT_SYNC, SyncKind.GIT_SYNC)


def test_a_fresh_git_init_b_git_sync_root_is_git_sync(tmp_path, upstream):
    root = tmp_path / "root"
    git(tmp_path, "init", "-q", "-b", "git-sync", str(root))
    git(root, "remote", "add", "origin", upstream.as_uri())
    assert answers(root) == (True, Layout.GIT_SYNC, SyncKind.GIT_SYNC)


def test_a_link_into_worktrees_marks_a_root_on_another_branch(upstream, tmp_path):
    root = synced_root(upstream, tmp_path / "root")
    git(root, "checkout", "-q", "-b", "main")  # an operator moved the root's HEAD
    assert answers(root) == (True, Layout.GIT_SYNC, SyncKind.GIT_SYNC)
    (root / "up.git").unlink()  # no link; entries named by object ids remain
    assert answers(root) == (True, Layout.GIT_SYNC, SyncKind.GIT_SYNC)


def test_an_operators_own_worktrees_dir_is_not_git_sync_and_a_sync_keeps_it(upstream, tmp_path):
    clone = clone_of(upstream, tmp_path / "clone")
    git(clone, "worktree", "add", "-q", "-b", "feature", str(clone / ".worktrees" / "feature"))
    (clone / ".worktrees" / "feature" / "work.txt").write_text("uncommitted work\n")
    assert answers(clone) == (False, Layout.NON_BARE, SyncKind.CLONE)
    add_commits(upstream)
    job = run_sync(SyncRequest(str(clone)), timeout=60)
    assert job.state is JobState.OK, job.error
    assert (clone / ".worktrees" / "feature" / "work.txt").read_text() == "uncommitted work\n"
    assert "feature" in git(clone, "worktree", "list")


def test_a_bare_repository_with_git_syncs_worktrees_is_git_sync(upstream, tmp_path):
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", upstream.as_uri(), str(bare))
    sha = git(bare, "rev-parse", "HEAD").strip()
    assert not is_git_sync_root(str(bare))
    git(bare, "worktree", "add", "-q", "--detach", str(bare / ".worktrees" / sha), sha)
    candidate = classify(str(bare), str(tmp_path))
    assert is_git_sync_root(str(bare)) and candidate.layout is Layout.GIT_SYNC


def test_unreadable_or_planted_files_are_no_mark(tmp_path):
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    (repo / ".worktrees").symlink_to(tmp_path)  # a symlink is not git-sync's directory
    assert not is_git_sync_root(str(repo))
    (repo / ".worktrees").unlink()
    (repo / ".worktrees").mkdir()
    os.mkfifo(repo / ".worktrees" / "notes")
    assert not is_git_sync_root(str(repo))
