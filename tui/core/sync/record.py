"""What each sync did, recorded where the CLI, the console and the next scan all see it.

When a job ends (``tui.core.sync.jobs``: every sync, whether the CLI or the console ran it):

1. a journal entry of kind ``sync``, through the journal's public API, for a sync that changed
   refs or did not end ok (one that found everything up to date changed nothing to tell): its
   summary says how it ended and which refs it changed, its items are those refs (old -> new),
   and it is marked done or failed with the error. A sync is not undoable (the old objects may be gone upstream, and
   the next fetch would redo it), so the summary says "not undoable";
2. the outcome in the per-repository store of ``tui.core.fetch_status``, which the scan reads
   to show the last *successful* fetch and a newer failed, cancelled or timed-out one as such.

Recording never fails a sync: what could not be written becomes a warning on the job. This is
the one module of the sync side that writes to the journal (``tui.core.write``).
"""

from __future__ import annotations

from tui.core.fetch_status import SyncOutcome, write_outcome
from tui.core.sync.git import RefChange
from tui.core.write.journal import Journal

__all__ = ["JOURNAL_KIND", "MAX_JOURNALED_REFS", "NOT_UNDOABLE", "record_sync", "sync_summary"]

JOURNAL_KIND = "sync"
NOT_UNDOABLE = "not undoable"
# A first fetch of a Gerrit mirror changes hundreds of thousands of refs: the journal keeps the
# first ones (the summary says how many there were; the job's log file has every line).
MAX_JOURNALED_REFS = 1000
_SUMMARY_REFS = 3


def sync_summary(name: str, remote: str, state: str, changes: list[RefChange], error: str | None) -> str:
    """One line for journal listings: ``sync mirror.git from origin: ok, 2 refs changed
    (refs/heads/main 1a2b3c4 -> 5d6e7f8, ...); not undoable``."""
    count = len(changes)
    if count == 0 and state != "ok":
        what = "which refs it changed before it stopped is not known (rescan to see)"
    else:
        what = "no ref changed" if count == 0 else f"{count:,} ref{'s' if count != 1 else ''} changed"
    shown = ", ".join(_change_text(change) for change in changes[:_SUMMARY_REFS])
    if count > _SUMMARY_REFS:
        shown += f", and {count - _SUMMARY_REFS:,} more"
    outcome = state if state == "ok" else f"{state} ({error or 'no reason given'})"
    return f"sync {name} from {remote}: {outcome}, {what}" + (f" ({shown})" if shown else "") + f"; {NOT_UNDOABLE}"


def _change_text(change: RefChange) -> str:
    old = change.old[:7] if change.old else "(new)"
    new = change.new[:7] if change.new else "(deleted)"
    return f"{change.name} {old} -> {new}"


def record_sync(
    *,
    repo_key: str,
    git_dir: str,
    name: str,
    remote: str,
    url: str,
    state: str,
    started: float | None,
    ended: float,
    exit_code: int | None,
    error: str | None,
    changes: list[RefChange],
    journal: Journal | None = None,
) -> tuple[str | None, list[str]]:
    """Journal the sync and store its outcome; returns (journal entry id, warnings)."""
    warnings: list[str] = []
    entry_id = None
    # A sync that found everything up to date changed nothing to tell: the outcome store below
    # says when it was checked (a cron sync every minute must not add 1,440 entries a day).
    if state != "ok" or changes:
        try:
            entry_id = _journal(journal or Journal(), git_dir, sync_summary(name, remote, state, changes, error),
                                state, error, [_item(change, remote, url) for change in changes[:MAX_JOURNALED_REFS]])
        except Exception as exc:  # noqa: BLE001  a journal that cannot be written must not fail the sync
            warnings.append(f"the sync was not journaled: {exc}")
    outcome = SyncOutcome(state, ended, started, exit_code, error, len(changes), entry_id)
    try:
        write_outcome(repo_key, outcome)
    except OSError as exc:
        warnings.append(f"the sync's outcome was not recorded ({exc.strerror or exc}): 'last fetch' may not show it")
    return entry_id, warnings


def _journal(journal: Journal, git_dir: str, summary: str, state: str, error: str | None, items: list[dict]) -> str:
    entry = journal.begin(JOURNAL_KIND, git_dir, summary, items)
    if state == "ok":
        journal.mark_done(entry)
    else:
        journal.mark_failed(entry, error or state)
    return entry.id


def _item(change: RefChange, remote: str, url: str) -> dict:
    return {"ref": change.name, "old": change.old, "new": change.new, "change": change.kind, "remote": remote, "url": url}
