"""What a sync from the console will do, said before it runs (no Textual; the dialogs show it).

- ``SyncPreview``: one repository. A mirror's ``git fetch --prune`` deletes every ref that is
  absent upstream; a clone's prunes its remote-tracking refs; a git-sync root removes the old
  worktrees under ``.worktrees/`` (not locked ones, not ones it cannot read).
- ``BulkPlan``: a bulk sync, sorted into ready / needs a confirmation / cannot / already running.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tui.app.text import clean, plural
from tui.core.model import RepoReport

WORKTREES_DIR = ".worktrees"  # git-sync keeps one worktree per commit here


@dataclass(frozen=True, slots=True)
class SyncPreview:
    """One sync, in the operator's words. ``kind``: mirror, clone or git-sync."""

    kind: str
    remote: str
    url: str  # redacted
    command: str  # the git command, as the operator would type it
    deletes: str  # what it deletes, one sentence
    removed_worktrees: tuple[str, ...] = ()  # git-sync: entries of .worktrees/ that go
    kept_worktrees: tuple[str, ...] = ()  # git-sync: "entry: why it stays"


def preview_sync(plan: Any, report: RepoReport) -> SyncPreview:
    """``plan``: the core's ``SyncPlan`` for ``report`` (kind, remote, redacted url, ref)."""
    kind = str(plan.kind.value)
    if kind == "git-sync":
        removed, kept = _old_worktrees(report)
        ref = plan.ref or "HEAD"
        return SyncPreview(
            kind,
            plan.remote,
            plan.url,
            f"git fetch --prune {plan.remote} {ref}, then a worktree for the new commit and the link swapped to it",
            "Old worktrees under .worktrees/ are removed, except locked ones and ones that cannot be read; "
            "the one the link points to now goes too once the link has moved.",
            removed,
            kept,
        )
    if kind == "mirror":
        deletes = (
            "A mirror: every ref that no longer exists upstream is deleted here "
            "(branches, tags, refs/changes/*, notes), and refs that moved upstream are overwritten."
        )
    else:
        deletes = "Remote-tracking refs whose branch no longer exists upstream are deleted; local branches are not touched."
    return SyncPreview(kind, plan.remote, plan.url, f"git fetch --prune {plan.remote}", deletes)


def _old_worktrees(report: RepoReport) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What git-sync's cleanup would do to ``.worktrees/`` now: the entries it removes, and the
    ones it keeps with why (locked, NFS silly-rename files, unreadable). Locks are as the last
    scan read them; the sync reads them again before it removes anything. Called in a worker."""
    base = os.path.join(report.path, WORKTREES_DIR)
    by_path = {os.path.normpath(w.path): w for w in report.worktrees if w.path and not w.main}
    current = {os.path.normpath(w.path) for w in report.worktrees if w.current}
    if report.sync_link_target:
        current.add(os.path.normpath(os.path.join(report.path, report.sync_link_target)))
    removed: list[str] = []
    kept: list[str] = []
    try:
        entries = sorted(os.scandir(base), key=lambda entry: entry.name)
    except FileNotFoundError:
        return (), ()
    except OSError as exc:
        return (), (f"cannot list {WORKTREES_DIR}/ ({exc.strerror or exc}): nothing is removed while it cannot be read",)
    for entry in entries:
        path = os.path.normpath(entry.path)
        if path in current:
            continue  # what the link points to now: kept until the link has moved
        worktree = by_path.get(path)
        if entry.name.startswith(".nfs"):
            kept.append(f"{entry.name}: an NFS silly-rename file (NFS removes it)")
        elif worktree is not None and worktree.locked:
            kept.append(f"{entry.name}: locked" + (f" ({worktree.lock_reason})" if worktree.lock_reason else ""))
        else:
            removed.append(entry.name)
    return tuple(removed), tuple(kept)


@dataclass(slots=True)
class BulkPlan:
    label: str
    ready: list[RepoReport] = field(default_factory=list)
    needs_confirmation: list[tuple[RepoReport, str]] = field(default_factory=list)  # (report, why)
    unsyncable: list[tuple[RepoReport, str]] = field(default_factory=list)
    busy: list[RepoReport] = field(default_factory=list)  # already queued or running


def bulk_summary(plan: BulkPlan) -> str:
    """Why repositories are left out of a bulk sync, one line each kind."""
    lines = []
    if plan.needs_confirmation:
        names = ", ".join(clean(r.name) for r, _ in plan.needs_confirmation[:5])
        more = f" and {len(plan.needs_confirmation) - 5} more" if len(plan.needs_confirmation) > 5 else ""
        lines.append(
            f"{plural(len(plan.needs_confirmation), 'repository', 'repositories')} with stale-loose or diverged shadows "
            f"left out ({names}{more}): a sync would overwrite the evidence; sync each with S to confirm"
        )
    if plan.unsyncable:
        lines.append(f"{plural(len(plan.unsyncable), 'repository', 'repositories')} cannot be synced:")
        for report, why in plan.unsyncable[:5]:
            why = why.removeprefix(report.path + ": ")  # SyncError names the path; the name is enough
            lines.append(f"  {clean(report.name)}: {clean(why)}")
        if len(plan.unsyncable) > 5:
            lines.append(f"  … and {len(plan.unsyncable) - 5:,} more")
    if plan.busy:
        lines.append(f"{plural(len(plan.busy), 'repository', 'repositories')} already syncing")
    return "\n".join(lines) or "nothing to sync"
