"""The sync side of the core: bring a repository up to date with its upstream, with git's CLI.

Modules, bottom up: ``synclog`` (the live log), ``git`` (the runner, its errors, ref diffs),
``plan`` (what will run; preflight; mirrors and clones), ``gitsync`` (git-sync's update of a
root), ``lock`` (one sync per repository across processes), ``jobs`` (one job run to its end),
``runner`` (the queue and its limits), ``record`` (what each sync did, kept in the state dir
and journaled). git-sync's on-disk layout is read by ``tui.core.gitsync_layout`` (read side).

Callers (the CLI, the console) import from here.
"""

from tui.core.sync.git import (
    AUTH_HINT,
    Cancelled,
    GitFailed,
    GitRunner,
    RefChange,
    Stopped,
    SyncError,
    TimedOut,
    call_within,
    git_environment,
)
from tui.core.sync.jobs import JobState, SyncJob
from tui.core.sync.plan import (
    PreflightWarning,
    SyncKind,
    SyncPlan,
    SyncRequest,
    plan_sync,
    preflight,
)
from tui.core.sync.runner import JobRunner, run_sync

__all__ = [
    "AUTH_HINT",
    "Cancelled",
    "GitFailed",
    "GitRunner",
    "JobRunner",
    "JobState",
    "PreflightWarning",
    "RefChange",
    "Stopped",
    "SyncError",
    "SyncJob",
    "SyncKind",
    "SyncPlan",
    "SyncRequest",
    "TimedOut",
    "call_within",
    "git_environment",
    "plan_sync",
    "preflight",
    "run_sync",
]
