"""The console's messages: typed dataclasses with a docstring each, as Toolong's ``messages.py``.

A worker, a widget or a screen posts one; the App (or the screen that owns the subject) handles
it with ``@on``. Each says what happened and carries real types, never a ``kind`` string with an
``Any`` payload dispatched through a dict. Messages that belong to one widget stay nested in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # types only: the plans live in the core, the outcomes in tui/app/writes.py
    from tui.core.model import RepoReport  # (loaded with the scan, after the first frame)
    from tui.app.sync_plans import BulkPlan, SyncPreview  # (loaded with the first sync, not the first frame)
    from tui.app.ref_facts import RefFacts
    from tui.app.writes import Outcome, PrunePreview
    from tui.core.write.lock_clear import LockClearPlan
    from tui.core.write.shadows import ShadowPlan
    from tui.core.write.worktree_edit import RepairPlan


# =============================================================================================
# Syncs (tui/app/syncing.py: the App's SyncController; tui/app/sync_center.py: the jobs)
# =============================================================================================


@dataclass
class SyncRequested(Message):
    """The operator asked to sync ``report`` (``S`` on the host list or a repository screen).

    ``show_log``: switch the repository screen to its Log tab once the job starts."""

    report: RepoReport
    show_log: bool = False


@dataclass
class SyncPreflighted(Message):
    """A worker read the repository before its sync: what the sync will do (``preview``) and what
    must be confirmed first (``warnings``), or why it cannot be synced (``error``)."""

    report: RepoReport
    show_log: bool
    preview: SyncPreview | None = None
    warnings: list = field(default_factory=list)  # tui.core.sync PreflightWarning
    error: str | None = None


@dataclass
class SyncStarted(Message):
    """A sync of ``report`` was queued or was already running (``show_log``: as for SyncRequested)."""

    report: RepoReport
    show_log: bool


@dataclass
class BulkPlanned(Message):
    """A worker sorted the repositories of a bulk sync (``:sync faulted`` / ``:sync shown``)."""

    plan: BulkPlan


@dataclass
class SyncRescanned(Message):
    """A repository was read again after its sync ended (whatever the outcome)."""

    report: RepoReport


@dataclass
class ShadowsWanted(Message):
    """Before syncing, the operator chose to look at the shadows the fetch would overwrite."""

    report: RepoReport


class SyncNews(Message):
    """Some job has news; ``SyncCenter.take_news()`` says which. A burst is one message."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncNews)



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


@dataclass
class RepoRescanned(Message):
    """A repository screen read its repository again; the App keeps the host list in step."""

    report: RepoReport
