"""Read-only mode: every action that changes a repository is named here and gated in one place.

Screens mix in ``MutationGate``; its ``check_action`` hides (returns False for) every action in
``MUTATING_ACTIONS`` when the host is read-only, so the footer, the help screen and the command
palette never offer them and their keys do nothing. Later features (lock/unlock/prune worktrees,
shadows prune, sync) add their action names here.
"""

from __future__ import annotations

from typing import Any

# Action names (the part after "action_").
# The repository screen's write actions: Worktrees, Refs and Locks tabs (screens/repo_writes.py).
WRITE_ACTIONS = (
    "lock_worktree",
    "unlock_worktree",
    "prune_worktrees",
    "repair_worktrees",
    "mark_shadow",
    "preview_shadows",
    "clear_lock",
)
MUTATING_ACTIONS: frozenset[str] = frozenset(
    {
        # Syncs (tui/app/syncing.py): S, :sync faulted/shown, x on the jobs screen and the Log pane.
        "sync",
        "sync_faulted",
        "cancel_sync",
        *WRITE_ACTIONS,
        "undo_entry",  # the journal's undo
    }
)


def mutation_allowed(host: Any, action: str) -> bool:
    return not (getattr(host, "read_only", False) and action in MUTATING_ACTIONS)


class MutationGate:
    """Mixin for screens (before ``Screen`` in the bases); expects ``self.host``."""

    host: Any

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not mutation_allowed(self.host, action):
            return False
        return super().check_action(action, parameters)  # type: ignore[misc]
