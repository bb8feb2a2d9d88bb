"""Syncs on a hostile host: what gitward cannot read is *unknown*, and nothing is destroyed on it.

Incident 2 (DESIGN.md) repeated by gitward's own sync, as issue 8 item 1 found it: run as a
non-root user (root reads through chmod 000), with the served worktree's ``.git`` file
unreadable, locked or not, upstream moved or not. git is the judge of what is still there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from asuser import User, adversary_user, chown_tree, run_cli_as, shared_dir
from gitrepo import git, run_git
from sync_support import add_commits, make_upstream

from tui.core.sync import JobState, SyncRequest, run_sync

LINK = "up.git"  # git-sync's default --link: the last element of the repo URL
ROOT = User("root", 0, 0)


@pytest.fixture
def user():
    return adversary_user()


@pytest.fixture
def place(user, monkeypatch):
    """A directory the unprivileged user owns, with gitward's own dirs inside it."""
    with shared_dir(user) as path:
        for name in ("config", "state", "log", "data"):
            (path / name).mkdir()
            monkeypatch.setenv(f"GITWARD_{name.upper()}_DIR", str(path / name))
        yield path


@pytest.fixture
def synced(place, user):
    """(upstream, root): a git-sync root after its first sync, all owned by the user."""
    upstream, root = place / "up.git", place / "root"
    make_upstream(upstream, 2)
    job = run_sync(SyncRequest(str(root), url=upstream.as_uri()), timeout=60)
    assert job.state is JobState.OK, job.error
    chown_tree(place, user)
    return upstream, root


# git as root on the user's repository: root is not its owner, so git wants it named safe.
SAFE = ("-c", "safe.directory=*")


def fsck_ok(repo: Path) -> bool:
    return run_git(repo, *SAFE, "fsck", "--no-progress").returncode == 0


def served(root: Path) -> str:
    return os.path.basename(os.readlink(root / LINK))


def porcelain(root: Path) -> dict[str, dict]:
    """`git worktree list --porcelain` of the root: basename of each linked worktree -> its fields."""
    result, current = {}, None
    for line in git(root, *SAFE, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = {"path": line.split(" ", 1)[1]}
            result[os.path.basename(current["path"])] = current
        elif line and current is not None:
            key, _, value = line.partition(" ")
            current[key] = value
    result.pop(root.name, None)
    return result


def move_upstream(upstream: Path, user, message: str = "next") -> str:
    """A new commit upstream (made as root, then given back to the user); returns it."""
    chown_tree(upstream, ROOT)
    new = add_commits(upstream, message=message)
    chown_tree(upstream, user)
    return new


def unreadable_gitfile(root: Path, sha: str) -> Path:
    gitfile = root / ".worktrees" / sha / ".git"
    os.chmod(gitfile, 0)
    return gitfile


def snapshot(root: Path) -> tuple:
    """What must survive a sync that could not tell: the entries, the link, the registrations."""
    return sorted(os.listdir(root / ".worktrees")), os.readlink(root / LINK), sorted(os.listdir(root / ".git" / "worktrees"))


@pytest.mark.parametrize("locked", [False, True], ids=["unlocked", "locked"])
def test_an_unreadable_current_gitfile_is_unknown_and_nothing_is_touched(synced, user, locked):
    upstream, root = synced
    sha = served(root)
    if locked:
        git(root, *SAFE, "worktree", "lock", "--reason", "nfs blinked", str(root / ".worktrees" / sha))
    gitfile = unreadable_gitfile(root, sha)
    before = snapshot(root)
    inode = os.stat(root / ".worktrees" / sha).st_ino
    result = run_cli_as(user, "sync", str(root), "--timeout", "60")
    assert result.code == 1, result
    assert snapshot(root) == before
    assert os.stat(root / ".worktrees" / sha).st_ino == inode  # not deleted and rebuilt
    assert f"{gitfile}: Permission denied" in result.stderr
    assert "unknown" in result.stderr
    assert ("locked" in porcelain(root)[sha]) is locked
    os.chmod(gitfile, 0o644)
    assert fsck_ok(root)


@pytest.mark.parametrize("locked", [False, True], ids=["unlocked", "locked"])
def test_upstream_moved_the_new_worktree_is_served_and_the_unreadable_old_one_is_kept(synced, user, locked):
    upstream, root = synced
    old = served(root)
    if locked:
        git(root, *SAFE, "worktree", "lock", "--reason", "nfs blinked", str(root / ".worktrees" / old))
    gitfile = unreadable_gitfile(root, old)
    new = move_upstream(upstream, user)
    result = run_cli_as(user, "sync", str(root), "--timeout", "60")
    assert result.code == 1, result
    # Served: the new worktree, checked ok before the link moved; never a link to nothing.
    assert served(root) == new and (root / LINK / "file.txt").is_file()
    # Kept: the old one, still registered, still locked if it was; its files untouched.
    assert sorted(os.listdir(root / ".worktrees")) == sorted([old, new])
    listed = porcelain(root)
    assert set(listed) == {old, new}
    assert ("locked" in listed[old]) is locked and "locked" not in listed[new]
    assert (root / ".worktrees" / old / "file.txt").is_file()
    assert f"{gitfile}: Permission denied" in result.stderr
    assert "kept" in result.stderr
    os.chmod(gitfile, 0o644)
    assert fsck_ok(root)


def test_an_old_locked_worktree_with_an_unreadable_gitfile_survives_two_moves(synced, user):
    upstream, root = synced
    first = served(root)
    git(root, *SAFE, "worktree", "lock", "--reason", "kept for the audit", str(root / ".worktrees" / first))
    second = move_upstream(upstream, user, "second")
    assert run_cli_as(user, "sync", str(root)).code == 0  # first is kept: locked
    gitfile = unreadable_gitfile(root, first)
    third = move_upstream(upstream, user, "third")
    result = run_cli_as(user, "sync", str(root), "--timeout", "60")
    assert served(root) == third
    assert sorted(os.listdir(root / ".worktrees")) == sorted([first, third])  # second cleaned, first kept
    listed = porcelain(root)
    assert set(listed) == {first, third} and "locked" in listed[first]
    assert second not in listed
    assert result.code == 1 and f"{gitfile}: Permission denied" in result.stderr, result
    os.chmod(gitfile, 0o644)
    assert fsck_ok(root)


def test_an_unreadable_admin_dir_makes_the_old_worktree_unknown_and_kept(synced, user):
    upstream, root = synced
    old = served(root)
    admin = root / ".git" / "worktrees" / old
    os.chmod(admin, 0)
    new = move_upstream(upstream, user)
    result = run_cli_as(user, "sync", str(root), "--timeout", "60")
    os.chmod(admin, 0o755)
    assert served(root) == new
    assert sorted(os.listdir(root / ".worktrees")) == sorted([old, new])
    assert set(porcelain(root)) == {old, new}
    assert result.code == 1 and f"{admin}" in result.stderr and "Permission denied" in result.stderr, result
    assert fsck_ok(root)


def test_an_unlistable_worktrees_admin_dir_keeps_every_old_worktree(synced, user):
    upstream, root = synced
    old = served(root)
    new = move_upstream(upstream, user)
    admins = root / ".git" / "worktrees"
    # Readable enough for git to add the new worktree (-wx), not to list it (no r).
    os.chmod(admins, 0o300)
    result = run_cli_as(user, "sync", str(root), "--timeout", "60")
    os.chmod(admins, 0o755)
    assert served(root) == new
    assert sorted(os.listdir(root / ".worktrees")) == sorted([old, new])
    assert set(porcelain(root)) == {old, new}
    assert result.code == 1 and f"cannot list {admins}: Permission denied" in result.stderr, result


def test_a_broken_served_worktree_is_never_removed(synced, user):
    """Garbage in the served worktree's .git file: broken, but the link serves it; removing it
    to rebuild would leave the link pointing at nothing while (and if) the rebuild fails."""
    upstream, root = synced
    sha = served(root)
    worktree = root / ".worktrees" / sha
    (worktree / ".git").write_text("not a gitfile\n")
    inode = os.stat(worktree).st_ino
    result = run_cli_as(user, "sync", str(root), "--timeout", "60")
    assert result.code == 1 and "never removes the worktree the link serves" in result.stderr, result
    assert os.stat(worktree).st_ino == inode and (worktree / "file.txt").is_file()
    assert served(root) == sha


def test_the_log_file_keeps_what_was_kept_and_what_could_not_be_read(synced, user, place):
    upstream, root = synced
    old = served(root)
    gitfile = unreadable_gitfile(root, old)
    move_upstream(upstream, user)
    result = run_cli_as(user, "sync", str(root), "--timeout", "60")
    assert result.code == 1, result
    log_file = max((place / "log").iterdir(), key=lambda p: p.stat().st_mtime_ns)  # this sync's
    text = log_file.read_text()
    assert f"kept .worktrees/{old}: cannot read {gitfile}: Permission denied: unknown, so not deleted" in text
    assert text.rstrip().splitlines()[-1].endswith(f"but cannot read {gitfile}: Permission denied: unknown, so kept and nothing of it was deleted")
