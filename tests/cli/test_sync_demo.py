"""The demo host syncs: the mirror catches up with its upstream, the git-sync root's link moves
and keeps git-sync's promises about locked worktrees and NFS files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gitrepo import for_each_ref, git
from sync_support import add_commits, log_texts

from tui.demo import GIT_SYNC_LINK, NFS_LOCK_REASON, build_demo
from tui.core.sync import JobState, SyncKind, SyncRequest, plan_sync, preflight, run_sync


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return Path(build_demo(str(tmp_path_factory.mktemp("sync-demo") / "demo"))).parent


def test_the_demo_mirror_sync_brings_the_new_upstream_commits(demo):
    mirror = demo / "host/mirrors/upstream-lib.git"
    upstream = demo / "upstreams/upstream-lib.git"
    plan = plan_sync(SyncRequest(str(mirror)))
    assert plan.kind is SyncKind.MIRROR and preflight(plan) == []
    assert for_each_ref(mirror) != for_each_ref(upstream)
    job = run_sync(SyncRequest(str(mirror)))
    assert job.state is JobState.OK, log_texts(job)
    assert for_each_ref(mirror) == for_each_ref(upstream)
    kinds = {c.name: c.kind for c in job.changed_refs}
    assert kinds["refs/heads/feature/async"] == "new"
    assert kinds["refs/tags/v1.2"] == "new"
    assert kinds["refs/heads/old-feature"] == "deleted"
    assert kinds["refs/heads/main"] == "updated"


def test_the_demo_git_sync_root_syncs_and_its_link_moves(demo):
    root = demo / "host/sync/webapp"
    upstream = demo / "upstreams/webapp.git"
    link = root / GIT_SYNC_LINK
    old = os.path.basename(os.readlink(link))
    locked = [w for w in os.listdir(root / ".worktrees") if w not in (old,) and not w.startswith(".nfs")]
    new = add_commits(upstream)
    plan = plan_sync(SyncRequest(str(root)))
    assert (plan.kind, plan.ref, plan.link) == (SyncKind.GIT_SYNC, "refs/heads/main", str(link))
    job = run_sync(SyncRequest(str(root)))
    assert job.state is JobState.OK, log_texts(job)
    assert os.readlink(link) == f".worktrees/{new}"
    assert git(root / ".worktrees" / new, "rev-parse", "HEAD").strip() == new
    remaining = sorted(os.listdir(root / ".worktrees"))
    assert old not in remaining and new in remaining
    assert set(locked) <= set(remaining)  # the operator's locked worktree ("nfs volume") survives
    assert any(name.startswith(".nfs") for name in remaining)
    porcelain = git(root, "worktree", "list", "--porcelain")
    assert f"locked {NFS_LOCK_REASON}" in porcelain
    assert "prunable" not in porcelain  # the vanished worktree was pruned, as git-sync does
