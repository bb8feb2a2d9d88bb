"""Confirmations before syncing: one repository (always: a sync deletes refs or worktrees) and bulk syncs.

Both are ``ConfirmDialog``s: Cancel first and focused (enter alone starts nothing), the buttons
pinned under a body that scrolls, so they stay on an 80x24 screen however long the lists are.

``SyncConfirm`` says what the sync will do (``SyncPreview``) and, when the preflight warned,
which shadows it would overwrite. It returns ``"sync"``, ``"shadows"`` (look at them first: the
repository's Refs tab, shadows only; offered only when there are warnings) or None.
``BulkSyncConfirm`` returns ``"sync"`` or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.content import Content

from tui.app.dialogs.confirm import DIALOG_CSS, Choice, ConfirmDialog
from tui.app.sync_plans import BulkPlan, SyncPreview, bulk_summary
from tui.app.text import clean, plural, shorten_paths

MAX_LISTED = 12

# The body takes what the title and the pinned buttons leave (#dialog's max-height is 90%):
# at 24 rows that is about 12 rows, scrolled; the buttons never leave the screen.
_PINNED_CSS = """
{name} > #dialog > #dialog-body {{ max-height: 50vh; }}
"""


def _listed(names: Sequence[str]) -> str:
    shown = "\n".join(f"  {clean(name)}" for name in names[:MAX_LISTED])
    more = f"\n  … and {len(names) - MAX_LISTED:,} more" if len(names) > MAX_LISTED else ""
    return shown + more


class SyncConfirm(ConfirmDialog):
    DEFAULT_CSS = DIALOG_CSS.format(name="SyncConfirm", width=100) + _PINNED_CSS.format(name="SyncConfirm")

    def __init__(self, name: str, preview: SyncPreview, warnings: Sequence[Any] = ()) -> None:
        self.preview = preview
        body: list[Content] = [
            Content.assemble(("runs  ", "bold"), clean(preview.command)),
            Content.assemble(("from  ", "bold"), clean(preview.remote), " ", (shorten_paths(preview.url))),
            Content.assemble(("▲ ", "bold $text-warning"), preview.deletes),
        ]
        if preview.kind == "git-sync":
            if preview.removed_worktrees:
                body.append(
                    Content.assemble(
                        (f"{plural(len(preview.removed_worktrees), 'old worktree')} to remove (.worktrees/):\n", "bold"),
                        _listed(preview.removed_worktrees),
                    )
                )
            else:
                body.append(Content("No old worktree to remove (besides the current one, once the link moves)."))
            if preview.kept_worktrees:
                body.append(Content.assemble(("kept:\n", "bold"), _listed(preview.kept_worktrees)))
        for warning in warnings:
            body.append(Content.assemble(("▲ ", "bold $text-warning"), shorten_paths(warning.message)))
        refs = [ref for warning in warnings for ref in warning.refs]
        if refs:
            body.append(Content.assemble(("refs whose loose file is evidence:\n", "bold"), _listed(refs)))
            body.append(Content("Look at the shadows first, or sync anyway: afterwards, what this replica showed is gone."))
        if warnings:
            title = Content.assemble("Sync ", (clean(name), "bold"), "? It has shadows the fetch would overwrite")
            choices = [Choice("shadows", "Show the shadows", "primary"), Choice("sync", "Sync anyway", "error")]
        else:
            title = Content.assemble("Sync ", (clean(name), "bold"), f" from {clean(preview.remote)}?")
            choices = [Choice("sync", "Sync", "error")]
        super().__init__(title, body, choices, id="sync-confirm")


class BulkSyncConfirm(ConfirmDialog):
    DEFAULT_CSS = DIALOG_CSS.format(name="BulkSyncConfirm", width=100) + _PINNED_CSS.format(name="BulkSyncConfirm")

    def __init__(self, plan: BulkPlan) -> None:
        ready = plan.ready
        body: list[Content] = [
            Content.assemble(
                (f"{plural(len(ready), 'repository', 'repositories')} will be synced:\n", "bold"), _listed([r.name for r in ready])
            ),
            Content(
                "Each runs git fetch --prune: mirrors delete the refs that are gone upstream, git-sync roots remove "
                "their old worktrees. They run through the sync queue: never two syncs of one repository at once, "
                "a few at a time per remote host; the rest wait. :jobs shows them; x cancels one."
            ),
        ]
        left_out = bulk_summary(plan) if (plan.needs_confirmation or plan.unsyncable or plan.busy) else ""
        if left_out:
            body.append(Content.assemble(("left out\n", "bold $text-warning"), left_out))
        super().__init__(
            Content.assemble(f"Sync {plan.label} repositories ({len(ready):,})?"),
            body,
            [Choice("sync", f"Sync {len(ready):,}", "primary")],
            calm=True,
        )
