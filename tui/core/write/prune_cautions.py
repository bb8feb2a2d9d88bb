"""Why a worktree that ``git worktree prune`` would remove may only be away for a while.

DESIGN.md incident 2: on git-sync over NFS, a volume that blinked made live worktrees look
deleted, and a cleanup that took *can't tell* for *gone* destroyed them in a loop. git's rule
(``should_prune_worktree``: the gitdir file points to a path that does not exist) cannot tell
a deleted worktree from one on a volume that is unmounted, moved or blinking. These cautions
can: a worktree whose directory exists but whose ``.git`` is wrong looks moved, one whose parent
is missing too or that lived on another file system looks like an unmounted volume, and a
git-sync worktree looks exactly like this when its volume blinks.

Both front ends ask here: the console shows the cautions in its prune dialog (with "lock
instead" and "repair"), ``gitward worktree prune`` prints them and refuses without ``--yes``,
and without ``--force-moved`` when every linked worktree of the repository looks gone.

Messages are plain text built from paths in the repository: escape them before showing them.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

from tui.core.model import Layout, RepoReport, Worktree
from tui.core.write.worktree_common import WorktreeRepo
from tui.core.write.worktree_prune import PrunePlan, plan_prune

__all__ = ["MOVED_CODES", "NOT_EXISTING", "Caution", "PrunePreview", "preview_prune", "prune_cautions"]

# Problems that make a prunable worktree look like a moved or blinking volume, not a deleted one.
MOVED_CODES = ("worktree-path-mismatch", "current-worktree-prunable")
NOT_EXISTING = "gitdir file points to non-existent location"  # git's prunable reason


@dataclass(frozen=True, slots=True)
class Caution:
    """Why pruning this worktree may destroy something that is only away for a while."""

    worktree_id: str
    message: str
    suggest: str  # "lock" or "repair"
    path: str | None = None  # repair: where the worktree seems to be now

    def to_json(self) -> dict:
        return {"worktree": self.worktree_id, "message": self.message, "suggest": self.suggest, "path": self.path}


@dataclass
class PrunePreview:
    """A prune plan (git's rules, gitward's extra care) with the reasons to lock or repair instead."""

    plan: PrunePlan
    cautions: list[Caution] = field(default_factory=list)
    # Every linked worktree of the repository is missing: what an unmounted volume looks like.
    every_worktree_gone: bool = False

    @property
    def suggests_repair(self) -> bool:
        return any(c.suggest == "repair" for c in self.cautions)


def preview_prune(report: RepoReport, *, expire: float | None = None) -> PrunePreview:
    """Plan ``worktree prune`` for a scanned repository and judge it. Reads the file system
    (the plan, a few stats): call it from a worker."""
    plan = plan_prune(WorktreeRepo.from_candidate(report), expire=expire)
    cautions = prune_cautions(report, plan)
    return PrunePreview(plan, cautions, bool(cautions) and every_worktree_gone(report.worktrees))


def every_worktree_gone(worktrees: list[Worktree]) -> bool:
    """True when the repository has linked worktrees and none of their directories exists."""
    linked = [wt for wt in worktrees if not wt.main and wt.id is not None and wt.listed and wt.path]
    return bool(linked) and all(wt.missing for wt in linked)


def prune_cautions(report: RepoReport, plan: PrunePlan) -> list[Caution]:
    """Prunable worktrees whose directory looks moved or on a volume that may be away."""
    ids = {item.id: item for item in plan.items}
    cautions: dict[str, Caution] = {}
    problems = list(report.problems) + [p for wt in report.worktrees for p in wt.problems]
    for problem in problems:
        if problem.subject in ids and problem.code in MOVED_CODES and problem.subject not in cautions:
            suggest = "repair" if problem.code == "worktree-path-mismatch" else "lock"
            cautions[problem.subject] = Caution(
                problem.subject, problem.message.strip(), suggest, _found_at(report, problem.subject)
            )
    common = _device(report.git_dir)
    for item_id, item in ids.items():
        if item_id in cautions or item.reason != NOT_EXISTING or not item.path:
            continue
        caution = _volume_caution(report, item_id, item.path, common)
        if caution is not None:
            cautions[item_id] = caution
    return [cautions[i] for i in ids if i in cautions]


def _volume_caution(report: RepoReport, item_id: str, path: str, common_device: int | None) -> Caution | None:
    label = f"worktrees/{item_id}"
    if os.path.isdir(path):
        return Caution(
            item_id,
            f"{label}: {path} exists but its .git file is gone or wrong: it looks moved or damaged, not deleted",
            "repair",
            path,
        )
    parent, missing_levels = _nearest_existing(path)
    if parent is None:
        return Caution(item_id, f"{label}: cannot tell whether {path} exists (unknown is not gone)", "lock")
    if missing_levels > 1:
        gone = os.path.dirname(path)
        return Caution(
            item_id,
            f"{label}: its parent {gone} is missing too: an unmounted or moved volume looks like this",
            "lock",
        )
    device = _device(parent)
    if device is not None and common_device is not None and device != common_device:
        return Caution(
            item_id,
            f"{label}: {path} was on another file system than the repository "
            f"(mounted at {_mount_point(parent)}): a blinking volume looks like this",
            "lock",
        )
    if report.layout is Layout.GIT_SYNC:
        return Caution(
            item_id,
            f"{label}: a git-sync worktree; when its (NFS) volume blinks it looks exactly like this. "
            "Prune only if that commit is retired.",
            "lock",
        )
    return None


def _found_at(report: RepoReport, worktree_id: str) -> str | None:
    """Where a git-sync worktree is found on this mount (``<root>/.worktrees/<id>``)."""
    candidate = os.path.join(report.path, ".worktrees", worktree_id)
    return candidate if os.path.isdir(candidate) else None


def _nearest_existing(path: str) -> tuple[str | None, int]:
    """The closest existing ancestor of ``path`` and how many levels are missing; None: unknown."""
    levels = 0
    current = path
    while True:
        try:
            os.stat(current)
            return current, levels
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                return None, levels
        parent = os.path.dirname(current)
        if parent == current:
            return None, levels
        current = parent
        levels += 1


def _device(path: str) -> int | None:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def _mount_point(path: str) -> str:
    current = os.path.abspath(path)
    while not os.path.ismount(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current
