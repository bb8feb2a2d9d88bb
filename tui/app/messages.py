"""The console's messages: typed dataclasses with a docstring each, as Toolong's ``messages.py``.

A worker, a widget or a screen posts one; the App (or the screen that owns the subject) handles
it with ``@on``. Each says what happened and carries real types, never a ``kind`` string with an
``Any`` payload dispatched through a dict. Messages that belong to one widget stay nested in it.
The repository screen's write messages are in ``tui/app/write_messages.py`` (loaded with that
screen, not with the first frame: each dataclass costs its creation at import).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # types only: loaded with the scan and the first sync, after the first frame
    from tui.core.model import RepoReport
    from tui.app.sync_plans import BulkPlan, SyncPreview


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



@dataclass
class RepoRescanned(Message):
    """A repository screen read its repository again; the App keeps the host list in step."""

    report: RepoReport
