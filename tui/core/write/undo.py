"""``gitward undo ENTRY_ID``: restore the before-image of a journal entry.

Each kind of entry is undone by the module that wrote it, imported here directly (the writers
never import this module, so there is no circle): the undo takes the same locks as the action
and compares-and-swaps, so an item whose file moved on since refuses the whole undo.
"""

from __future__ import annotations

from collections.abc import Callable

from tui.core.units import plural
from tui.core.write import lock_clear, shadows, worktree_lock, worktree_prune, worktree_repair
from tui.core.write.errors import RefusedError, WriteError
from tui.core.write.journal import Journal
from tui.core.write.journal_entry import EXPIRED_NOTE, JournalEntry
from tui.core.write.locking import hostname
from tui.core.write.recovery import recover_interrupted

__all__ = ["UNDO_BY_KIND", "undo"]

# Which writer undoes which kind of entry.
UNDO_BY_KIND: dict[str, Callable[[JournalEntry, Journal], JournalEntry]] = {
    "shadows-prune": shadows.undo_entry,
    "lock-clear": lock_clear.undo_entry,
    "worktree-lock": worktree_lock.undo_entry,
    "worktree-unlock": worktree_lock.undo_entry,
    "worktree-prune": worktree_prune.undo_entry,
    "worktree-repair": worktree_repair.undo_entry,
}


def undo(journal: Journal, entry_id: str) -> JournalEntry:
    """Restore the before-image of ``entry_id``; returns the new (undo) entry.

    The handlers take the same locks as the action and compare-and-swap: an item whose file
    moved on since the entry refuses the whole undo.
    """
    journal.check_writable()
    entry = journal.get(entry_id)
    if entry.undo_of:
        raise RefusedError(
            f"{entry.id} is itself the undo of {entry.undo_of}; to redo, run the original action again"
        )
    if entry.undone_by:
        raise RefusedError(f"{entry.id} was already undone by {entry.undone_by}")
    status = entry.status
    if status in ("running", "unfinished"):
        where = f"pid {entry.pid}" + ("" if entry.host == hostname() else f" on {entry.host}")
        raise RefusedError(f"{entry.id} is still in progress ({where}); wait for it to finish")
    if entry.expired:
        raise RefusedError(
            f"{entry.id}: {EXPIRED_NOTE}: its before-image was removed ({entry.expired}); "
            "nothing was changed. The cap is [journal] max_bytes / max_age_days in the config"
        )
    if entry.kind == "sync":
        raise RefusedError(
            f"{entry.id}: a sync is not undoable: its journal entry is a record of what the fetch changed "
            "(old -> new per ref); nothing was changed"
        )
    undo_entry = UNDO_BY_KIND.get(entry.kind)
    if undo_entry is None:
        raise WriteError(f"{entry.id}: gitward does not know how to undo a {entry.kind!r} entry")
    if not entry.has_before:
        return _nothing_to_undo(journal, entry)
    return undo_entry(entry, journal)


def _nothing_to_undo(journal: Journal, entry: JournalEntry) -> JournalEntry:
    """The entry stopped before its first change: remove the locks it left, record the undo."""
    removed = recover_interrupted(journal, entry.repo)
    summary = f"undo {entry.id}: nothing had changed" + (f"; removed {plural(len(removed), 'lock file')} it left" if removed else "")
    undo_entry = journal.begin(entry.kind, entry.repo, summary, [], undo_of=entry.id)
    journal.record_before(undo_entry, [])
    journal.mark_done(undo_entry)
    journal.mark_undone(entry, undo_entry)
    return undo_entry
