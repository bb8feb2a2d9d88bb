"""The repository screen's write messages (``screens/repo_writes.py``), typed dataclasses with a
docstring each, as in ``tui/app/messages.py``; apart from those so that the console's first
frame does not create them (they load with the repository screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # types only: the plans live in the core, the outcomes in tui/app/writes.py
    from tui.app.ref_facts import RefFacts
    from tui.app.writes import Outcome, PrunePreview
    from tui.core.write.lock_clear import LockClearPlan
    from tui.core.write.shadows import ShadowPlan
    from tui.core.write.worktree_edit import RepairPlan


# =============================================================================================
# Repository writes (screens/repo_writes.py): a worker plans, the screen previews the plan in a
# dialog (Cancel focused), a worker applies exactly that plan, the screen says what happened.
# =============================================================================================


@dataclass
class PrunePlanned(Message):
    """A worktree prune was planned: preview it, with the reasons to lock or repair instead."""

    preview: PrunePreview


@dataclass
class RepairPlanned(Message):
    """A worktree repair was planned (the files git's own repair would rewrite): preview it."""

    plan: RepairPlan


@dataclass
class ShadowsPlanned(Message):
    """A shadows prune (``--keep auto``) was planned: preview it, per ref decisions allowed.

    ``refs``: the marked refs it was planned for; None: every shadow of the repository.
    """

    plan: ShadowPlan
    refs: list[str] | None


@dataclass
class ShadowDecisionsPlanned(Message):
    """The operator's per-ref decisions (keep packed / keep loose) were planned by the core and
    merged into the previewed plan: one plan, applied under one set of locks, one journal entry.

    ``bulk``: the operator must type the repository's name first.
    """

    plan: ShadowPlan
    bulk: bool


@dataclass
class LockClearPlanned(Message):
    """Clearing a stale lock was planned (its age, grace period, who left it): preview it."""

    plan: LockClearPlan


@dataclass
class WriteFinished(Message):
    """A write (or its planning) ended: say what happened, and read the repository again."""

    outcome: Outcome


@dataclass
class RefFactsFound(Message):
    """Facts about one shadowed ref's two values (commit subject, date, refs reaching them)."""

    facts: RefFacts
