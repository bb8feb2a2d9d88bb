"""``build_demo``: build every story in a staging dir, then swap it into place."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from tui.demo.compare_stories import compare_pair
from tui.demo.plumbing import Build
from tui.demo.ref_stories import (
    gerrit_all_users,
    gerrit_project_alpha,
    gitlab_busy_service,
    gitlab_corrupt_packed,
    gitlab_locked_repo,
    mirror_upstream_lib,
)
from tui.demo.worktree_stories import git_sync_webapp, work_tooling


DEMO_MARKER = "README-demo.txt"


def build_demo(target_dir: str, *, now: float | None = None) -> str:
    """Build (or rebuild) the demo under ``target_dir``; return the host root to scan.

    The demo is built in a staging dir next to ``target_dir`` and renamed into place, so a failed
    build leaves an existing demo untouched. An existing ``target_dir`` is replaced only when it
    is empty or is a demo (holds README-demo.txt); anything else raises FileExistsError.
    ``now`` is the clock that lock-file and fetch ages are relative to (default: the real time).
    """
    now = time.time() if now is None else now
    # Real paths: git stores them for worktrees, and the relocation below must match them.
    # Only the parent is resolved, so a symlink named as the target is refused, not followed.
    requested = Path(os.path.abspath(target_dir))
    requested.parent.mkdir(parents=True, exist_ok=True)
    target = Path(os.path.realpath(requested.parent)) / requested.name
    _refuse_unless_replaceable(target)
    staging = Path(os.path.realpath(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent)))
    try:
        build = Build(staging, now)
        _build_everything(build)
        _relocate(build.files_with_paths, staging, target)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(target / "host")


def _refuse_unless_replaceable(target: Path) -> None:
    if not os.path.lexists(target):
        return
    if not target.is_dir() or target.is_symlink():
        raise FileExistsError(f"{target} exists and is not a directory; refusing to replace it")
    if any(target.iterdir()) and not (target / DEMO_MARKER).is_file():
        raise FileExistsError(
            f"{target} is not empty and is not a gitward demo (no {DEMO_MARKER}); refusing to replace it"
        )


def _build_everything(build: Build) -> None:
    gerrit_project_alpha(build)
    gerrit_all_users(build)
    gitlab_busy_service(build)
    gitlab_locked_repo(build)
    gitlab_corrupt_packed(build)
    mirror_upstream_lib(build)
    git_sync_webapp(build)
    work_tooling(build)
    compare_pair(build)
    (build.root / DEMO_MARKER).write_text(_readme())


def _relocate(files: Iterable[Path], staging: Path, target: Path) -> None:
    """Point absolute paths git wrote during the build (worktree links, remote URLs) at ``target``."""
    old, new = os.fsencode(staging), os.fsencode(target)
    for path in files:
        if not path.exists():
            continue
        times = path.stat()
        path.write_bytes(path.read_bytes().replace(old, new))
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))  # FETCH_HEAD's age is part of the story


def _swap_into_place(staging: Path, target: Path) -> None:
    if not os.path.lexists(target):
        os.rename(staging, target)
        return
    # Two renames: directories cannot be exchanged atomically (portably). On failure the old
    # demo goes back; either way the graveyard is removed.
    graveyard = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, graveyard / "demo")
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(graveyard / "demo", target)
        raise
    finally:
        shutil.rmtree(graveyard, ignore_errors=True)


# --------------------------------------------------------------------------- README


def _readme() -> str:
    return """\
gitward demo host
=================

Built by `gitward demo DIR` (or `gitward --demo`); rebuilding replaces this directory.
Scan host/; upstreams/ holds the remotes the mirror and git-sync root fetch from.

host/gerrit/project-alpha.git
    A Gerrit project copied with rsync without --delete before the source ran gc. Seven refs
    (master, stable-1.0, refs/meta/config, four change meta refs) have a stale loose file that
    hides the newer packed value: merged changes look open, review comments are gone.
    Running `git pack-refs`/`git gc` here would make the loss permanent.
host/gerrit/All-Users.git
    3,000 refs/starred-changes/* pointing at one blob; most packed, the newest 120 loose.
host/gitlab/busy-service.git
    A loose-ref backlog (hundreds of merge-request, pipeline and keep-around refs), normal
    dead-packed shadows (pushes since the last pack-refs) and identical shadows (an interrupted
    pack-refs). Its remote URL carries a (fake) credential that must be shown redacted. One loose
    file is named refs/heads/[bold red]not-markup: git rejects the name and ignores the file, and
    gitward must show it literally, never as markup.
host/gitlab/locked-repo.git
    A packed-refs.lock left two hours ago by a killed pack-refs, and a three-hour-old
    refs/heads/feature.lock from a push that died.
host/gitlab/corrupt-packed.git
    packed-refs with a torn line and out-of-order entries under a "sorted" header; git refuses
    to read it, so nothing may write to this repo until it is repaired by hand.
host/mirrors/upstream-lib.git
    A bare mirror (git clone --mirror) last fetched three days ago; upstream has three new
    commits on main, a new branch, a new tag, and deleted old-feature. Sync brings them in.
host/sync/webapp
    A git-sync root: the link `current` points at .worktrees/<sha>; an older worktree is locked
    ("nfs volume"), a newer one vanished with the NFS server (prunable), and an NFS
    silly-rename file sits in .worktrees/. Upstream has one new commit: a sync moves the link.
host/work/tooling
    A developer checkout with linked worktrees in work/tooling-worktrees/: `release` is locked
    (its reason contains markup-looking text), `experiment` was deleted and is prunable,
    `scratch` is locked but its disk is unmounted (missing, kept by git).
compare/source, compare/replica
    A migration rehearsal (`gitward compare compare/source compare/replica`): on the replica
    project-beta has stale loose refs, project-gamma lacks tag v1.1, project-delta is missing
    and project-zeta exists only there; project-epsilon shows every other class: a branch
    behind, one ahead, one diverged, an extra branch, a missing object, HEAD pointing
    elsewhere, a ref stored differently, a loose file only on the replica, a copied
    packed-refs.lock, a hook and a config key that differ, an alternate and a worktree path
    that do not exist on the replica.
"""
