"""Lock, unlock, prune and repair linked worktrees, as git 2.39 does, with journal and undo.

Behaviour and wording follow ``builtin/worktree.c`` (``lock_worktree``, ``unlock_worktree``,
``prune_worktrees``/``prune_dups``, ``repair``) and ``worktree.c`` (``find_worktree``,
``should_prune_worktree``, ``repair_worktree_at_path``, ``repair_gitfile``,
``infer_backlink``). Where gitward is stricter than git it says so in the plan:

- ``prune`` keeps an entry whose worktree path could not be checked (EACCES, EIO, a volume that
  blinked): git's ``file_exists()`` turns *unknown* into *gone*; gitward never destroys on
  unknown. It copies every admin dir it removes into the journal first (undo restores it), and
  keeps one it cannot copy (special files, larger than MAX_BACKUP_BYTES).
- ``repair`` never rewrites another repository's files (a ``.git`` file pointing elsewhere).
- ``locked`` is written atomically (git writes it in place), and WORKTREE may also be an id,
  which also reaches admin dirs ``git worktree list`` skips (so they can be locked).

Every change: a plan (pure, shown as a preview), then ``apply(plan, journal)``: owner check,
``<file>.lock`` taken, compare-and-swap against the plan, journal, act, done.

This module is the entry point; each operation is its own module: ``worktree_lock.py``,
``worktree_prune.py``, ``worktree_repair.py`` (shared parts: ``worktree_common.py``).
"""

from __future__ import annotations

from tui.core.write import worktree_lock, worktree_prune, worktree_repair
from tui.core.write.journal import Journal, JournalEntry
from tui.core.write.worktree_common import WorktreeRepo, find_worktree, parse_expire
from tui.core.write.worktree_lock import MAIN_CANNOT_LOCK, LockPlan, UnlockPlan, plan_lock, plan_unlock
from tui.core.write.worktree_prune import PruneItem, PrunePlan, plan_prune
from tui.core.write.worktree_repair import RepairItem, RepairPlan, plan_repair

__all__ = [
    "MAIN_CANNOT_LOCK",
    "LockPlan",
    "PruneItem",
    "PrunePlan",
    "RepairItem",
    "RepairPlan",
    "UnlockPlan",
    "WorktreeRepo",
    "apply",
    "find_worktree",
    "parse_expire",
    "plan_lock",
    "plan_prune",
    "plan_repair",
    "plan_unlock",
]


def apply(plan, journal: Journal) -> JournalEntry | None:
    """Carry out a worktree plan. Returns the journal entry (None: nothing to do)."""
    if isinstance(plan, (LockPlan, UnlockPlan)):
        return worktree_lock.apply(plan, journal)
    if isinstance(plan, PrunePlan):
        return worktree_prune.apply(plan, journal)
    if isinstance(plan, RepairPlan):
        return worktree_repair.apply(plan, journal)
    raise TypeError(f"not a worktree plan: {type(plan).__name__}")
