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

from __future__ import annotations

import importlib
from typing import Any

from tui.core.write import errors as _errors  # a leaf of a few classes: cheap to load at once

# The package's face is lazy (PEP 562): ``from tui.core.write import Journal`` loads only the
# modules that name needs. Importing every writer here made ``tui.core.write.gate`` (which the
# console's back end asks at start) cost ~80 ms of the first frame.
_WHERE: dict[str, tuple[str, str]] = {
    **{name: ("errors", name) for name in _errors.__all__},
    **{name: ("journal", name) for name in ("ApplyResult", "Journal", "JournalEntry", "JournalLimits")},
    "LockClearPlan": ("lock_clear", "LockClearPlan"),
    "plan_lock_clear": ("lock_clear", "plan_lock_clear"),
    "apply_lock_clear": ("lock_clear", "apply"),
    **{name: ("prune_cautions", name) for name in ("Caution", "PrunePreview", "preview_prune", "prune_cautions")},
    "recover_interrupted": ("recovery", "recover_interrupted"),
    **{name: ("shadows", name) for name in ("Action", "Keep", "ShadowItem", "ShadowPlan", "plan_shadow_prune")},
    "apply_shadow_prune": ("shadows", "apply"),
    "undo": ("undo", ""),  # the module (undo.undo(journal, entry_id)): one name, not two
    **{name: ("worktree_edit", name) for name in (
        "LockPlan", "PrunePlan", "RepairPlan", "UnlockPlan", "WorktreeRepo", "find_worktree",
        "parse_expire", "plan_lock", "plan_prune", "plan_repair", "plan_unlock",
    )},
    "apply_worktree_plan": ("worktree_edit", "apply"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module = importlib.import_module(f"{__name__}.{module_name}")
    value = getattr(module, attr) if attr else module
    globals()[name] = value  # once found, a plain attribute
    return value


__all__ = [
    *_errors.__all__,
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
