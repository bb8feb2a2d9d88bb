"""gitward and the REAL git-sync (kubernetes/git-sync v4.6.0) on one root (issue 8, item 8).

git-sync wipes and re-initialises its root whenever its repo check fails (``rev-parse
--show-toplevel`` is not the root, ``fsck --connectivity-only`` fails, ``.git/shallow.lock``
exists), and removes every non-current entry of ``.worktrees/`` with ``rm -rf`` plus ``git
worktree prune``. These tests let the two take turns and ask git, the filesystem and git-sync's
own log what happened. Skipped, with the reason, where git-sync cannot be built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import git
from sync_support import add_commits, fsck_ok, make_upstream

from tui.cli import sync as cli_sync
from tui.core.sync import JobState, SyncRequest, run_sync

WORKTREE = Path(cli_sync.__file__).resolve().parents[2]
BUILD = Path(os.environ.get("GITWARD_GIT_SYNC_BUILD", WORKTREE.parent / "shared" / "tools" / "git-sync" / "build"))
# What git-sync logs when it is about to wipe a root it finds unusable.
WIPE_MESSAGES = ("repo directory was empty or failed checks", "can't wipe unusable root directory")


@pytest.fixture(scope="session")
def git_sync_binary() -> str:
    if not BUILD.is_file():
        pytest.skip(f"the git-sync build script is not here ({BUILD})")
    try:
        result = subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"git-sync could not be built: {exc}")
    path = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0 or not os.access(path, os.X_OK):
        pytest.skip(f"git-sync could not be built: {(result.stderr or result.stdout).strip()[-300:]}")
    return path


@pytest.fixture
def upstream(tmp_path) -> Path:
    path = tmp_path / "up.git"
    make_upstream(path, 2)
    return path


def real_git_sync(binary: str, upstream: Path, root: Path, *extra: str) -> str:
    """One sync by the real git-sync (``--one-time``); returns its log, fails on its failure."""
    result = subprocess.run(
        [binary, f"--repo={upstream.as_uri()}", f"--root={root}", "--one-time", "-v", "3", *extra],
        capture_output=True, text=True, timeout=120,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    return log


def gitward(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui", *argv], cwd=WORKTREE, capture_output=True, text=True, timeout=120
    )


def link_name(upstream: Path) -> str:
    return upstream.name  # git-sync's default --link: the last element of --repo


def served(root: Path, upstream: Path) -> str:
    target = os.readlink(root / link_name(upstream))
    assert not os.path.isabs(target) and os.path.dirname(target) == ".worktrees", target
    return os.path.basename(target)


def tip(upstream: Path) -> str:
    return git(upstream, "rev-parse", "HEAD").strip()


def identity(root: Path) -> tuple[int, int]:
    """The inodes that a wipe and re-init would change: the root's .git and its objects dir."""
    return (root / ".git").stat().st_ino, (root / ".git" / "objects").stat().st_ino


def test_a_root_made_by_git_sync_is_read_as_git_sync(git_sync_binary, upstream, tmp_path):
    host = tmp_path / "host"
    root = host / "root"
    real_git_sync(git_sync_binary, upstream, root)
    result = gitward("scan", str(host), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (repo,) = report["repos"]
    assert repo["path"] == str(root) and repo["layout"] == "git-sync"
    items = repo["worktrees"]["items"]
    current = [w for w in items if w["current"]]
    assert [w["id"] for w in current] == [tip(upstream)]
    assert current[0]["head"] == tip(upstream) and not current[0]["missing"] and not current[0]["prunable"]
    assert repo["problems"] == [] and report["problems"] == []
    assert repo["sync_link"] == str(root / link_name(upstream))


@pytest.mark.parametrize("first", ["git-sync", "gitward"])
def test_gitward_and_git_sync_take_turns_without_wiping_the_root(git_sync_binary, upstream, tmp_path, first):
    root = tmp_path / "root"
    if first == "git-sync":
        real_git_sync(git_sync_binary, upstream, root)
    else:
        job = run_sync(SyncRequest(str(root), url=upstream.as_uri()), timeout=60)
        assert job.state is JobState.OK, job.error
    before = identity(root)
    for round_ in range(3):
        new = add_commits(upstream, message=f"round {round_} a")
        job = run_sync(SyncRequest(str(root)), timeout=60)
        assert job.state is JobState.OK, job.error
        assert served(root, upstream) == new
        new = add_commits(upstream, message=f"round {round_} b")
        log = real_git_sync(git_sync_binary, upstream, root)
        assert not any(message in log for message in WIPE_MESSAGES), log
        assert served(root, upstream) == new
        assert identity(root) == before, f"round {round_}: the root was re-initialised"
        assert fsck_ok(root)
        # One link, one worktree: each tool cleaned up after the other.
        links = sorted(e.name for e in os.scandir(root) if e.is_symlink())
        assert links == [link_name(upstream)]
        assert sorted(os.listdir(root / ".worktrees")) == [new]
        listed = git(root, "worktree", "list", "--porcelain")
        assert listed.count("worktree ") == 2 and new in listed
    # Nothing changes when nobody moved: both are no-ops on the other's work.
    assert run_sync(SyncRequest(str(root)), timeout=60).state is JobState.OK
    real_git_sync(git_sync_binary, upstream, root)
    assert identity(root) == before and fsck_ok(root)


def test_a_worktree_locked_by_gitward_then_removed_by_git_sync_is_reported_truthfully(git_sync_binary, upstream, tmp_path):
    host = tmp_path / "host"
    root = host / "root"
    real_git_sync(git_sync_binary, upstream, root)
    old = served(root, upstream)
    result = gitward("worktree", "lock", str(root), old, "--reason", "keep for the audit")
    assert result.returncode == 0, result.stderr
    add_commits(upstream)
    real_git_sync(git_sync_binary, upstream, root)  # rm -rf of every non-current entry
    assert not (root / ".worktrees" / old).exists()  # the lock did not protect the directory
    assert (root / ".git" / "worktrees" / old / "locked").is_file()  # it kept the admin dir
    result = gitward("worktrees", str(root), "--json")
    assert result.returncode == 0, result.stderr
    (entry,) = [w for w in json.loads(result.stdout) if w["id"] == old]
    assert entry["locked"] and entry["lock_reason"] == "keep for the audit"
    assert entry["missing"] and not entry["prunable"] and not entry["current"]
    result = gitward("scan", str(host), "--json")
    (repo,) = json.loads(result.stdout)["repos"]
    messages = [p["message"] for p in repo["problems"] if p["subject"] == old]
    assert messages, repo["problems"]
    # gitward's own sync afterwards: the locked admin dir stays, nothing is rebuilt at that path.
    add_commits(upstream)
    job = run_sync(SyncRequest(str(root)), timeout=60)
    assert job.state is JobState.OK, job.error
    assert (root / ".git" / "worktrees" / old / "locked").is_file()
    assert not (root / ".worktrees" / old).exists()


def test_the_lock_dialog_says_what_a_lock_protects():
    """What the test above shows, said where an operator locks a worktree."""
    from tui.app.dialogs.prompts import ReasonDialog

    text = " ".join(part.plain for part in ReasonDialog("worktrees/x").body)
    assert "git-sync's cleanup) keeps" not in text
    assert "protects the admin dir, not the directory" in text and "git-sync's cleanup still removes" in text


@pytest.mark.parametrize("state", ["as-made", "worktrees-deleted", "fresh-init"])
def test_the_one_git_sync_root_test_knows_git_syncs_own_roots(git_sync_binary, upstream, tmp_path, state):
    """Discovery, the sync plan and is_git_sync_root agree on roots the real git-sync made."""
    from tui.core.discovery import classify
    from tui.core.gitsync_layout import is_git_sync_root
    from tui.core.model import Layout
    from tui.core.sync import SyncKind, plan_sync

    root = tmp_path / "root"
    real_git_sync(git_sync_binary, upstream, root)
    if state == "worktrees-deleted":
        subprocess.run(["rm", "-rf", str(root / ".worktrees"), str(root / link_name(upstream))], check=True)
    elif state == "fresh-init":
        # What git-sync's initRepo leaves before its first worktree: the root, on its branch.
        subprocess.run(["rm", "-rf", str(root / ".worktrees"), str(root / link_name(upstream))], check=True)
        git(root, "update-ref", "-d", "refs/heads/git-sync")
    assert git(root, "symbolic-ref", "HEAD").strip() == "refs/heads/git-sync"
    candidate = classify(str(root), str(tmp_path))
    assert is_git_sync_root(str(root))
    assert candidate.layout is Layout.GIT_SYNC
    assert plan_sync(SyncRequest(str(root))).kind is SyncKind.GIT_SYNC
