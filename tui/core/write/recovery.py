"""Cleaning up after an interrupted gitward: the lock files, staging files and scratch
directories its journal entry proves are its own, and nothing that another process created.

Every change runs ``recover_interrupted`` for its repository before it starts (a lock file
left by a killed gitward would otherwise refuse it); ``gitward journal`` runs it everywhere.
"""

from __future__ import annotations

import base64
import os
import shutil

from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.write.journal import Journal
from tui.core.write.journal_entry import JournalEntry
from tui.core.write.locking import lock_left_by, marker_nonce, staging_lock_path, unlink_if_exists

__all__ = ["entry_left_lock", "entry_trash_dirs", "recover_interrupted"]


def recover_interrupted(journal: Journal, repo: str | None) -> list[str]:
    """Remove what interrupted gitward processes left in ``repo`` (None: in every repository):
    their lock files (proven theirs: the marker their journaled intent names, or the inode
    their before-image recorded; process gone, same host), the staging files those locks were
    linked from, a ``packed-refs.new`` created under such a lock, their
    ``gitward-trash-<nonce>-*`` dirs, and the journal's own dead ``.tmp-*`` staging dirs.

    Returns the paths removed. Nothing that another process created is touched.
    """
    journal.check_writable()
    removed: list[str] = journal.remove_dead_staging()
    for entry in journal.unfinished_for(repo):
        removed_here = _recover_entry(entry)
        if removed_here:
            journal.mark_recovered(entry, removed_here)
            removed.extend(removed_here)
    return removed


def _recover_entry(entry: JournalEntry) -> list[str]:
    removed = _remove_entry_staging(entry)
    held = {record["path"]: record for record in entry.held_locks}
    planned = {record["path"]: record for record in entry.locks}
    for path in dict.fromkeys([*planned, *held]):
        staging = _staging_left_by_entry(entry, path, planned.get(path))
        if staging is not None and unlink_if_exists(staging):
            removed.append(staging)
        if not _left_by_entry(path, planned.get(path), held.get(path)):
            continue
        if os.path.basename(path) == "packed-refs.lock":
            # packed-refs.new can only be created by the holder of packed-refs.lock: ours.
            new = os.path.join(os.path.dirname(path), "packed-refs.new")
            if unlink_if_exists(new):
                removed.append(new)
        if unlink_if_exists(path):
            removed.append(path)
            fsync_dir(os.path.dirname(path))
    for item in entry.intent:
        # A file an action puts back by staging and link(2) (a cleared lock): the staging copy
        # is named with this entry's nonce.
        if isinstance(item.get("file"), str) and entry.nonce:
            staging = staging_lock_path(item["file"], entry.nonce)
            if unlink_if_exists(staging):
                removed.append(staging)
    for trash in entry_trash_dirs(entry):
        if os.path.lexists(trash):
            shutil.rmtree(trash, ignore_errors=True)
            if not os.path.lexists(trash):
                removed.append(trash)
    return removed


def _remove_entry_staging(entry: JournalEntry) -> list[str]:
    """An interrupted entry's half-written before-image (``.before-tmp``) and markers (``*.tmp``)."""
    removed = []
    try:
        names = os.listdir(entry.path)
    except OSError:
        return []
    for name in names:
        path = os.path.join(entry.path, name)
        if name == ".before-tmp":
            shutil.rmtree(path, ignore_errors=True)
        elif name.endswith(".tmp"):
            unlink_if_exists(path)
        else:
            continue
        removed.append(path)
    return removed


def _staging_left_by_entry(entry: JournalEntry, lock_path: str, planned: dict | None) -> str | None:
    """The staging file ``acquire_lock`` writes before linking ``lock_path``, if this entry left
    it: named with the entry's nonce, holding (a prefix of) the marker."""
    if planned is None:
        return None
    try:
        nonce = marker_nonce(planned["marker"].encode())
    except ValueError:
        return None
    if nonce != entry.nonce:
        return None
    staging = staging_lock_path(lock_path, nonce)
    try:
        content = read_bytes(staging)
    except OSError:
        return None
    return staging if planned["marker"].encode().startswith(content) else None


def entry_left_lock(entry: JournalEntry, path: str) -> bool:
    """Is the lock file at ``path`` one that (interrupted) ``entry`` created?"""
    real = os.path.realpath(path)
    planned = next((r for r in entry.locks if os.path.realpath(r["path"]) == real), None)
    held = next((r for r in entry.held_locks if os.path.realpath(r["path"]) == real), None)
    return _left_by_entry(path, planned, held)


def _left_by_entry(path: str, planned: dict | None, held: dict | None) -> bool:
    if held is not None:
        content = base64.b64decode(held["planned_b64"]) if held.get("planned_b64") is not None else None
        return lock_left_by(held, content)
    if planned is None:
        return False
    try:
        return read_bytes(path) == planned["marker"].encode()
    except OSError:
        return False


def entry_trash_dirs(entry: JournalEntry) -> list[str]:
    """Scratch directories an action names in its items ("trash": path with its nonce)."""
    items = entry.items if entry.has_before else entry.intent
    return [item["trash"] for item in items if item.get("trash") and entry.nonce in item["trash"]]
