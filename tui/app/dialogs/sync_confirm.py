"""Confirmations before syncing: one repository whose preflight warns, and bulk syncs.

Both are ``ConfirmDialog``s (Cancel first and focused: enter alone starts nothing).

``SyncConfirm`` returns ``"sync"`` (go ahead: the fetch overwrites the shadowed refs),
``"shadows"`` (look at them first: the repository's Refs tab, shadows only) or None.
``BulkSyncConfirm`` returns ``"sync"`` or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.content import Content

from tui.app.dialogs.confirm import Choice, ConfirmDialog
from tui.app.text import clean, plural, shorten_paths

MAX_LISTED = 12


class SyncConfirm(ConfirmDialog):
    def __init__(self, name: str, warnings: Sequence[Any]) -> None:
        refs = [ref for warning in warnings for ref in warning.refs]
        body: list[Content] = [
            Content.assemble(("▲ ", "bold $text-warning"), shorten_paths(warning.message)) for warning in warnings
        ]
        if refs:
            shown = "\n".join(f"  {clean(ref)}" for ref in refs[:MAX_LISTED])
            more = f"\n  … and {len(refs) - MAX_LISTED:,} more" if len(refs) > MAX_LISTED else ""
            body.append(Content.assemble(("refs whose loose file is evidence:\n", "bold"), shown, more))
        body.append(
            Content("Look at the shadows first, or sync anyway: afterwards, what this replica showed is gone.")
        )
        super().__init__(
            Content.assemble("Sync ", (clean(name), "bold"), "? It has shadows the fetch would overwrite"),
            body,
            [Choice("shadows", "Show the shadows", "primary"), Choice("sync", "Sync anyway", "error")],
        )


class BulkSyncConfirm(ConfirmDialog):
    def __init__(self, plan: Any) -> None:
        ready = plan.ready
        names = "\n".join(f"  {clean(report.name)}" for report in ready[:MAX_LISTED])
        more = f"\n  … and {len(ready) - MAX_LISTED:,} more" if len(ready) > MAX_LISTED else ""
        body: list[Content] = [
            Content.assemble((f"{plural(len(ready), 'repository', 'repositories')} will be synced:\n", "bold"), names, more),
            Content(
                "They run through the sync queue: never two syncs of one repository at once, a few at a time "
                "per remote host; the rest wait. :jobs shows them; x cancels one."
            ),
        ]
        # deferred: an import circle with app.syncing (KNOWN_CIRCLES in tests/test_layers.py)
        from tui.app.syncing import bulk_summary

        left_out = bulk_summary(plan) if (plan.needs_confirmation or plan.unsyncable or plan.busy) else ""
        if left_out:
            body.append(Content.assemble(("left out\n", "bold $text-warning"), left_out))
        super().__init__(
            Content.assemble(f"Sync {plan.label} repositories ({len(ready):,})?"),
            body,
            [Choice("sync", f"Sync {len(ready):,}", "primary")],
            calm=True,
        )
