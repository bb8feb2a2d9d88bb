"""The console's messages: typed dataclasses, one docstring each (as Toolong's ``messages.py``).

A screen or a worker posts one of these; the App (or the screen that owns the subject) handles it
with ``@on``. Messages that belong to one widget stay nested in that widget's class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from tui.app.sync_plans import BulkPlan, SyncPreview
from tui.core.model import RepoReport

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
# Repository writes (h5)
# =============================================================================================
