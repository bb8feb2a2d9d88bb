"""Read-only mode in the console: which actions change a repository, and the screens that hide them.

Whether writing is allowed at all is decided in the core (``tui/core/write/gate.py``), the same
answer the CLI and the journal get; the console reads it from ``host.gate``. This module names
the console's mutating actions and gives the screens one base class, ``GatedScreen``:

- its ``check_action`` hides (returns False for) every action in ``MUTATING_ACTIONS`` when the
  gate is closed, so the footer, the help screen and the command palette never offer them;
- a key bound to such a hidden action, or to a greyed one (``unavailable_reason``), says why
  nothing happened in a short notification instead of doing nothing silently.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.screen import Screen

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
    """May ``action`` run on this host? Only mutating actions depend on the write gate."""
    return action not in MUTATING_ACTIONS or host.gate.allowed


def action_name(action: str) -> str:
    """``screen.lock_worktree`` / ``show_tab('refs')`` -> ``lock_worktree`` / ``show_tab``."""
    return action.split("(", 1)[0].rsplit(".", 1)[-1]


class GatedScreen(Screen):
    """A screen whose mutating actions the write gate hides; their keys say why. Expects ``self.host``."""

    host: Any
    _probing = False  # True while on_key asks which binding a key would have run

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self._probing and not mutation_allowed(self.host, action):
            return False
        return super().check_action(action, parameters)

    def unavailable_reason(self, action: str) -> str | None:
        """Why a greyed action (``check_action`` None) does nothing now; None: say nothing."""
        return None

    def on_key(self, event: events.Key) -> None:
        """A key that runs nothing because its action is hidden or greyed: say why, briefly.

        The key reaches the screen before the bindings run (they are checked once it has
        bubbled to the App), so a key some enabled binding handles is left alone.
        """
        active = self.active_bindings.get(event.key)
        if active is not None and active.enabled:
            return
        self._probing = True  # the bindings as they would be with the gate open
        try:
            probed = self.active_bindings.get(event.key)
        finally:
            self._probing = False
        if probed is None:
            return
        action = action_name(probed.binding.action)
        if not mutation_allowed(self.host, action):
            reason = self.host.gate.reason
        elif not probed.enabled:
            reason = self.unavailable_reason(action)
        else:
            return
        if reason:
            title = f"{self.app.get_key_display(probed.binding)}: {probed.binding.description or action}"
            self.notify(reason, title=title, severity="warning", timeout=5, markup=False)

