"""Build the demo host: a small, deterministic git host that shows every capability and problem.

``build_demo(target_dir)`` lays out::

    target_dir/
      README-demo.txt        the story of every repository (also marks the dir as a demo)
      host/                  the root to scan
        gerrit/project-alpha.git   stale loose refs after an rsync without --delete
        gerrit/All-Users.git       ~3,000 starred-changes refs to one blob
        gitlab/busy-service.git    dead-packed and identical shadows, a loose-ref backlog
        gitlab/locked-repo.git     a two-hour-old packed-refs.lock, a stale ref lock
        gitlab/corrupt-packed.git  packed-refs with a torn line and a false "sorted" claim
        mirrors/upstream-lib.git   a bare mirror that is behind its upstream
        sync/webapp                a git-sync root: current, locked and vanished worktrees
        work/tooling               a non-bare repo: a locked, a prunable and a locked-but-missing worktree
      upstreams/             remotes the mirror and the git-sync root fetch from (not scanned)
      compare/source, compare/replica   a migration rehearsal with differences

History is made with one ``git fast-import`` per repository and fixed dates; ref files are
written directly, so the same ref values come out of every build, in about a second. Git runs
with a fixed environment (no system or global config, hooks disabled).

The package: ``build`` (``build_demo``, the staging dir swapped into place, the README),
``plumbing`` (``git_env``, ``run_git``, ``init_repo``, ``FastImport``, the ref writers: shared
with ``benchmarks/fixtures.py``), ``histories`` (commit histories the stories share), and the
stories: ``ref_stories`` (Gerrit, GitLab, the mirror), ``worktree_stories`` (the git-sync root,
the developer checkout), ``compare_stories`` (the migration rehearsal).
"""

from __future__ import annotations

from tui.demo.build import DEMO_MARKER, build_demo
from tui.demo.plumbing import (
    FIXED_EPOCH,
    FastImport,
    Objects,
    change_ref,
    git_env,
    init_repo,
    run_git,
    set_age,
    starred_ref,
    write_loose_ref,
    write_loose_refs,
    write_packed_refs,
)
from tui.demo.worktree_stories import GIT_SYNC_LINK, NFS_LOCK_REASON

__all__ = [
    "DEMO_MARKER",
    "FIXED_EPOCH",
    "GIT_SYNC_LINK",
    "NFS_LOCK_REASON",
    "FastImport",
    "Objects",
    "build_demo",
    "change_ref",
    "git_env",
    "init_repo",
    "run_git",
    "set_age",
    "starred_ref",
    "write_loose_ref",
    "write_loose_refs",
    "write_packed_refs",
]
