"""The demo's stories about worktrees: the git-sync root and the developer checkout."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tui.demo.histories import linear_history
from tui.demo.plumbing import (
    Build,
    FastImport,
    HOUR,
    init_repo,
    run_git,
    set_age,
    write_loose_ref,
    write_packed_refs,
)


# --------------------------------------------------------------------------- story 4: git-sync

GIT_SYNC_LINK = "current"
NFS_LOCK_REASON = "nfs volume"


def git_sync_webapp(build: Build) -> None:
    """A git-sync --root, laid out as git-sync v4 does it.

    The repo is at the root (``git init -b git-sync``), one detached worktree per synced commit
    under ``.worktrees/<sha>`` whose ``.git`` file is relative, and a relative symlink (--link)
    to the current one. An old worktree was locked by an operator (``nfs volume``), a newer one
    vanished with the NFS server, and an NFS silly-rename file sits in ``.worktrees/``.
    """
    upstream = init_repo(build.upstreams / "webapp.git", bare=True, branch="main")
    fi = FastImport()
    site = linear_history(fi, "webapp", 5)
    objects = fi.run(upstream)
    # The root synced site[3]; upstream has since moved on to site[4], so a sync moves the link.
    write_packed_refs(upstream, {"refs/heads/main": objects[site[3]]})

    root = build.host / "sync/webapp"
    root.mkdir(parents=True)
    run_git("init", "-q", "-b", "git-sync", cwd=root)
    run_git("remote", "add", "origin", upstream.as_uri(), cwd=root)
    run_git("fetch", upstream.as_uri(), "main", "--no-progress", "--prune", "--no-auto-gc", "-q", cwd=root)
    run_git("reset", "--soft", "FETCH_HEAD", cwd=root)
    build.remember_paths_in(root / ".git/config", root / ".git/FETCH_HEAD")

    locked, vanished, current = (objects[c] for c in site[1:4])
    for sha in (locked, vanished, current):
        _git_sync_worktree(build, root, sha)
    os.symlink(f".worktrees/{current}", root / GIT_SYNC_LINK)
    write_packed_refs(upstream, {"refs/heads/main": objects[site[4]]})
    run_git("worktree", "lock", "--reason", NFS_LOCK_REASON, root / ".worktrees" / locked, cwd=root)
    set_age(root / ".worktrees" / locked, build.now, 2 * 24 * HOUR)
    shutil.rmtree(root / ".worktrees" / vanished)
    (root / ".worktrees/.nfs000000000a1b2c3d00000001").write_bytes(b"deleted while still open on an NFS client\n")


def _git_sync_worktree(build: Build, root: Path, sha: str) -> None:
    worktree = root / ".worktrees" / sha
    run_git("worktree", "add", "--force", "--detach", "--no-checkout", worktree, sha, cwd=root)
    # git-sync rewrites the worktree's .git file to a relative path so volumes can move.
    (worktree / ".git").write_text(f"gitdir: ../../.git/worktrees/{sha}\n")
    run_git("reset", "-q", "--hard", sha, "--", cwd=worktree)
    build.remember_paths_in(root / ".git/worktrees" / sha / "gitdir")


# --------------------------------------------------------------------------- story 8: worktrees

# Lock reasons are free text an operator typed; this one shows they are never rendered as markup.
MARKUP_LOCK_REASON = "release build on usb disk; [bold red]not-markup[/] must show literally"


def work_tooling(build: Build) -> None:
    """A checkout with linked worktrees: locked, deleted (prunable), locked but unmounted (missing)."""
    top = build.host / "work/tooling"
    git_dir = init_repo(top, bare=False, branch="main")
    fi = FastImport()
    main = linear_history(fi, "tooling", 5)
    release = linear_history(fi, "tooling-release", 2, base=main[2])
    experiment = linear_history(fi, "tooling-experiment", 1, base=main[-1])
    v20 = fi.tag("v2.0", release[0], "tooling 2.0\n")
    objects = fi.run(git_dir)
    # As a fresh clone leaves them: packed; the experiment branch was made afterwards.
    packed = {
        "refs/heads/main": objects[main[-1]],
        "refs/heads/release/2.x": objects[release[-1]],
        "refs/tags/v2.0": objects[v20],
    }
    write_packed_refs(git_dir, packed, objects.peeled)
    write_loose_ref(git_dir, "refs/heads/experiment", objects[experiment[-1]])
    run_git("reset", "-q", "--hard", cwd=top)

    linked = build.host / "work/tooling-worktrees"
    run_git("worktree", "add", "-q", linked / "release", "release/2.x", cwd=top)
    run_git("worktree", "add", "-q", linked / "experiment", "experiment", cwd=top)
    run_git("worktree", "add", "-q", "--detach", linked / "scratch", "main", cwd=top)
    run_git("worktree", "lock", "--reason", MARKUP_LOCK_REASON, linked / "release", cwd=top)
    run_git("worktree", "lock", "--reason", "scratch disk unmounted for repair", linked / "scratch", cwd=top)
    shutil.rmtree(linked / "experiment")
    # Locked and gone (an unmounted disk): git keeps it, gitward says it is missing.
    shutil.rmtree(linked / "scratch")
    build.remember_paths_in(
        git_dir / "worktrees/release/gitdir",
        git_dir / "worktrees/experiment/gitdir",
        git_dir / "worktrees/scratch/gitdir",
        linked / "release/.git",
    )
