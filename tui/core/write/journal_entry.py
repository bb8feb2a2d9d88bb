"""One journal entry as it lies on disk: its files, its header, its state, read lazily.

``journal.py`` keeps the entries (publishing, markers, the cap, listing); this module says what
one entry holds and reads it. See ``journal.py`` for the layout of an entry's directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from tui.core.write.locking import hostname, process_alive

ENTRY_FILE = "entry.json"
INTENT_FILE = "intent.json"
BEFORE_DIR = "before"
BEFORE_FILE = "before.json"
SIZE_FILE = "size"
MARKERS = ("done", "failed", "undone", "recovered", "expired")
# Items and lock paths a listing shows per entry (the header keeps these; the rest is in
# intent.json): enough to recognise an action, bounded whatever its size.
PREVIEW = 5
EXPIRED_NOTE = "undo expired (journal cap)"


@dataclass
class JournalEntry:
    id: str
    kind: str
    repo: str  # the git (common) dir the entry changes
    summary: str  # one line for listings
    created: float
    pid: int = 0
    start_ticks: int | None = None
    host: str = ""
    user: str = ""
    nonce: str = ""
    undo_of: str | None = None
    path: str = ""
    item_count: int = 0
    items_preview: list[dict] = field(default_factory=list)  # the first PREVIEW intent items
    lock_count: int = 0
    locks_preview: list[str] = field(default_factory=list)  # the first PREVIEW lock paths
    has_before: bool = False
    # state, from the marker files
    finished: float | None = None
    failed: str | None = None
    undone_by: str | None = None
    recovered: list[str] = field(default_factory=list)
    expired: str | None = None  # why the cap removed the undo data
    # read on demand (intent.json, before/before.json): never by a listing
    _intent: list[dict] | None = field(default=None, repr=False)
    _locks: list[dict] | None = field(default=None, repr=False)
    _items: list[dict] | None = field(default=None, repr=False)
    _held_locks: list[dict] | None = field(default=None, repr=False)

    @property
    def intent(self) -> list[dict]:
        """What the action set out to change (before the locks and the CAS)."""
        if self._intent is None:
            self._load_intent()
        return self._intent or []

    @property
    def locks(self) -> list[dict]:
        """The lock files the action planned to create: path + marker."""
        if self._locks is None:
            self._load_intent()
        return self._locks or []

    @property
    def items(self) -> list[dict]:
        """The before-image items ([] until recorded, or once expired)."""
        if self._items is None:
            self._load_before()
        return self._items or []

    @property
    def held_locks(self) -> list[dict]:
        """The locks held when the before-image was taken, with inodes."""
        if self._held_locks is None:
            self._load_before()
        return self._held_locks or []

    def _load_intent(self) -> None:
        data = read_marker(self.path, INTENT_FILE) or {}
        self._intent, self._locks = data.get("intent", []), data.get("locks", [])

    def _load_before(self) -> None:
        data = read_marker(os.path.join(self.path, BEFORE_DIR), BEFORE_FILE) or {}
        self._items, self._held_locks = data.get("items", []), data.get("locks", [])

    @property
    def unfinished(self) -> bool:
        return self.finished is None and self.failed is None

    @property
    def process_gone(self) -> bool:
        """True when the process that wrote this entry is known to be dead (same host only)."""
        if self.host != hostname():
            return False
        return not process_alive(self.pid, self.start_ticks)

    @property
    def status(self) -> str:
        if self.undone_by:
            return "undone"
        if self.finished is not None:
            return "done"
        if self.failed is not None:
            return "failed"
        if self.host != hostname():
            return "unfinished"  # another host's process: we cannot tell whether it runs
        return "interrupted" if self.process_gone else "running"

    @property
    def undo_expired(self) -> str | None:
        """"undo expired (journal cap)" once the cap removed the undo data, else None."""
        return EXPIRED_NOTE if self.expired else None

    def blob_path(self, name: str) -> str:
        return os.path.join(self.path, BEFORE_DIR, "blobs", name)

    def tree_path(self, name: str) -> str:
        return os.path.join(self.path, BEFORE_DIR, "trees", name)

    def _identity(self) -> dict:
        # What says which change this is: first in the header file and in the JSON view alike.
        return {"id": self.id, "kind": self.kind, "repo": self.repo, "summary": self.summary, "created": self.created}

    def to_json(self, *, full: bool = False) -> dict:
        """The entry as ``gitward journal --json`` lists it: ``items`` and ``locks`` are the first
        PREVIEW of ``item_count``/``lock_count`` (what will change, without before-images).
        ``full``: every item (the before-image, once recorded) and every lock (``journal ID``)."""
        if full:
            items = self.items if self.has_before and not self.expired else self.intent
            locks = [lock["path"] for lock in self.locks]
        else:
            items, locks = self.items_preview[:PREVIEW], self.locks_preview[:PREVIEW]
        return {
            **self._identity(),
            "status": self.status,
            "before_image": self.has_before,  # False: stopped before any change
            "finished": self.finished,
            "error": self.failed,
            "undo_of": self.undo_of,
            "undone_by": self.undone_by,
            "user": self.user,
            "host": self.host,
            "pid": self.pid,
            "items": items,
            "item_count": self.item_count,
            "locks": locks,
            "lock_count": self.lock_count,
            "recovered_locks": self.recovered,
            "undo_expired": self.undo_expired,
            "expired_reason": self.expired,
        }

    def _header(self) -> dict:
        return {
            **self._identity(),
            "pid": self.pid,
            "start_ticks": self.start_ticks,
            "host": self.host,
            "user": self.user,
            "nonce": self.nonce,
            "undo_of": self.undo_of,
            "item_count": self.item_count,
            "items_preview": self.items_preview,
            "lock_count": self.lock_count,
            "locks_preview": self.locks_preview,
        }


def load_entry(path: str) -> JournalEntry:
    """An entry from its directory: the header and the names of its marker files."""
    present = set(os.listdir(path))
    with open(os.path.join(path, ENTRY_FILE), encoding="utf-8") as handle:
        data = json.load(handle)
    entry = JournalEntry(
        id=data["id"],
        kind=data["kind"],
        repo=data["repo"],
        summary=data["summary"],
        created=data["created"],
        pid=data.get("pid", 0),
        start_ticks=data.get("start_ticks"),
        host=data.get("host", ""),
        user=data.get("user", ""),
        nonce=data.get("nonce", ""),
        undo_of=data.get("undo_of"),
        path=path,
    )
    if "intent" in data:  # written before intent.json existed: the header holds it all
        intent, locks = data.get("intent", []), data.get("locks", [])
        entry._intent, entry._locks = intent, locks
        entry.item_count, entry.items_preview = len(intent), intent[:PREVIEW]
        entry.lock_count, entry.locks_preview = len(locks), [lock["path"] for lock in locks[:PREVIEW]]
    else:
        entry.item_count, entry.items_preview = data.get("item_count", 0), data.get("items_preview", [])
        entry.lock_count, entry.locks_preview = data.get("lock_count", 0), data.get("locks_preview", [])
    entry.has_before = BEFORE_DIR in present
    if "done" in present:
        # The marker's mtime is the time it holds (written together): a stat, not a parse.
        entry.finished = os.stat(os.path.join(path, "done")).st_mtime
    if "failed" in present:
        entry.failed = (read_marker(path, "failed") or {}).get("error", "failed")
    if "undone" in present:
        entry.undone_by = (read_marker(path, "undone") or {}).get("by")
    if "recovered" in present:
        entry.recovered = list((read_marker(path, "recovered") or {}).get("removed", []))
    if "expired" in present:
        expired = read_marker(path, "expired") or {}
        entry.expired = expired.get("reason") or "journal cap"
        entry.has_before = entry.has_before or bool(expired.get("had_before"))
    return entry


def read_marker(path: str, name: str) -> dict | None:
    try:
        with open(os.path.join(path, name), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
