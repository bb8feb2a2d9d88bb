"""The write side: every change gitward makes to a repository, with git's own protocol.

Each change is a pure *plan* (shown as a preview, refusals inside), then an *apply* that takes
git's locks, compares-and-swaps against the plan, journals the before-image and acts; ``undo``
restores a journal entry. Callers (``tui.cli``, ``tui.app``) import from this package.

Modules, bottom up: ``errors``; ``ownership``, ``locking`` (git's lock files); ``journal_entry``,
``journal``, ``recovery``; the writers ``files_backend`` + ``shadows``, ``lock_clear``,
``worktree_common`` + ``worktree_lock`` / ``worktree_prune`` / ``worktree_repair`` (one entry
point: ``worktree_edit``), ``prune_cautions``; on top ``undo``, which imports the writers (they
never import it).
"""

from tui.core.write.errors import (
    ApplyError,
    LockHeldError,
    OwnershipError,
    PermissionRefusedError,
    ReadOnlyError,
    RefusedError,
    StateChangedError,
    UnknownEntryError,
    UnsupportedError,
    WriteError,
)
from tui.core.write.journal import ApplyResult, Journal, JournalEntry, JournalLimits
from tui.core.write.lock_clear import LockClearPlan, plan_lock_clear
from tui.core.write.lock_clear import apply as apply_lock_clear
from tui.core.write.prune_cautions import Caution, PrunePreview, preview_prune, prune_cautions
from tui.core.write.recovery import recover_interrupted
from tui.core.write.shadows import Action, Keep, ShadowItem, ShadowPlan, plan_shadow_prune
from tui.core.write.shadows import apply as apply_shadow_prune
from tui.core.write import undo  # the module (undo.undo(journal, entry_id)): one name, not two
from tui.core.write.worktree_edit import (
    LockPlan,
    PrunePlan,
    RepairPlan,
    UnlockPlan,
    WorktreeRepo,
    find_worktree,
    parse_expire,
    plan_lock,
    plan_prune,
    plan_repair,
    plan_unlock,
)
from tui.core.write.worktree_edit import apply as apply_worktree_plan

__all__ = [
    # errors
    "ApplyError",
    "LockHeldError",
    "OwnershipError",
    "PermissionRefusedError",
    "ReadOnlyError",
    "RefusedError",
    "StateChangedError",
    "UnknownEntryError",
    "UnsupportedError",
    "WriteError",
    # the journal and undo
    "Journal",
    "JournalEntry",
    "JournalLimits",
    "recover_interrupted",
    "undo",  # module
    # shadows prune, stale lock clearing
    "Action",
    "ApplyResult",
    "Keep",
    "LockClearPlan",
    "ShadowItem",
    "ShadowPlan",
    "apply_lock_clear",
    "apply_shadow_prune",
    "plan_lock_clear",
    "plan_shadow_prune",
    # worktrees
    "Caution",
    "LockPlan",
    "PrunePlan",
    "PrunePreview",
    "RepairPlan",
    "UnlockPlan",
    "WorktreeRepo",
    "apply_worktree_plan",
    "find_worktree",
    "parse_expire",
    "plan_lock",
    "plan_prune",
    "plan_repair",
    "plan_unlock",
    "preview_prune",
    "prune_cautions",
]
