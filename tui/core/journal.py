"""The journal: what gitward is about to change, with the before-image, written before the change.

Layout under ``paths.state_dir()/journal`` (one directory per entry, so entries of any size are
created atomically and two gitward processes never write the same file)::

    <id>/entry.json          the intent: kind, repo, what will change, the lock files the action
                             will create (with the nonce marker they hold), pid, host, user
    <id>/before/before.json  the before-image, taken under the locks after compare-and-swap:
                             items with exact old file contents, the locks held (inodes)
    <id>/before/blobs, trees larger before-images (whole files, copies of removed directories)
    <id>/done                written after the change completed
    <id>/failed              written when the change stopped half-way (with the error)
    <id>/undone              written when ``undo`` restored the before-image (names the undo entry)
    <id>/recovered           lock files of an interrupted entry that were removed later

The protocol: ``begin()`` (the intent, before any file in the repository is touched, even a
lock), take the locks, compare-and-swap, ``record_before()``, act, ``mark_done()``. Each step is
written to a staging dir, fsync'ed, renamed into place, and the directory fsync'ed. So a process
killed at any point leaves either no entry (nothing touched), an entry without a before-image
(only its own lock files, recognisable by their marker), or a complete before-image. A refusal
before any change discards the entry. ``begin()`` is also the single gate for read-only mode.

An entry without ``done`` or ``failed`` whose process is gone was interrupted: the listing
shows it as ``interrupted`` and ``gitward undo`` restores what it had changed (and removes the
lock files it left).
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.locking import (
    ApplyError,
    LockSet,
    ReadOnlyError,
    RefusedError,
    WriteError,
    error_text,
    fault_point,
    hostname,
    lock_left_by,
    new_nonce,
    process_alive,
    process_start_ticks,
    unlink_if_exists,
    write_durably,
)
from tui.core.ownership import user_label

ENTRY_FILE = "entry.json"
BEFORE_DIR = "before"
BEFORE_FILE = "before.json"

# Which module undoes which kind of entry (imported lazily: the journal sits below them).
UNDO_MODULES = {
    "shadows-prune": "tui.core.refedit",
    "lock-clear": "tui.core.refedit",
    "worktree-lock": "tui.core.worktree_edit",
    "worktree-unlock": "tui.core.worktree_edit",
    "worktree-prune": "tui.core.worktree_edit",
    "worktree-repair": "tui.core.worktree_edit",
}

READ_ONLY_MESSAGE = (
    "read-only mode (--read-only, or read_only = true in the config): gitward changes nothing"
)


class UnknownEntryError(WriteError):
    """No journal entry with that id."""


@dataclass
class JournalEntry:
    id: str
    kind: str
    repo: str  # the git (common) dir the entry changes
    summary: str  # one line for listings
    created: float
    intent: list[dict]  # what the action set out to change (before the locks and the CAS)
    locks: list[dict] = field(default_factory=list)  # planned lock files: path + marker
    items: list[dict] = field(default_factory=list)  # the before-image items ([] until recorded)
    held_locks: list[dict] = field(default_factory=list)  # locks held, with inodes
    has_before: bool = False
    pid: int = 0
    start_ticks: int | None = None
    host: str = ""
    user: str = ""
    nonce: str = ""
    undo_of: str | None = None
    path: str = ""
    # state, from the marker files
    finished: float | None = None
    failed: str | None = None
    undone_by: str | None = None
    recovered: list[str] = field(default_factory=list)

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

    def blob_path(self, name: str) -> str:
        return os.path.join(self.path, BEFORE_DIR, "blobs", name)

    def tree_path(self, name: str) -> str:
        return os.path.join(self.path, BEFORE_DIR, "trees", name)

    def _identity(self) -> dict:
        # What says which change this is: first in the header file and in the JSON view alike.
        return {"id": self.id, "kind": self.kind, "repo": self.repo, "summary": self.summary, "created": self.created}

    def to_json(self) -> dict:
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
            "items": self.items if self.has_before else self.intent,
            "locks": [lock["path"] for lock in self.locks],
            "recovered_locks": self.recovered,
        }

    def _header(self) -> dict:
        return {
            **self._identity(),
            "intent": self.intent,
            "locks": self.locks,
            "pid": self.pid,
            "start_ticks": self.start_ticks,
            "host": self.host,
            "user": self.user,
            "nonce": self.nonce,
            "undo_of": self.undo_of,
        }


class Journal:
    """The journal directory. ``read_only=True`` makes every ``begin()`` refuse."""

    def __init__(self, root: str | None = None, *, read_only: bool = False) -> None:
        self._root = root
        self.read_only = read_only

    @property
    def root(self) -> str:
        if self._root is None:
            from tui.core import paths

            self._root = os.path.join(paths.state_dir(), "journal")
        return self._root

    # ------------------------------------------------------------------ writing

    def check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(READ_ONLY_MESSAGE)

    def begin(
        self,
        kind: str,
        repo: str,
        summary: str,
        intent: list[dict],
        *,
        locks: list[dict] | None = None,
        nonce: str | None = None,
        undo_of: str | None = None,
    ) -> JournalEntry:
        """Write the intent durably, before the action touches the repository (even a lock).

        ``locks``: the lock files the action will create, each {"path", "marker"}: after a
        crash, a file there holding exactly that marker is provably this entry's.
        """
        self.check_writable()
        root = self.root
        os.makedirs(root, mode=0o700, exist_ok=True)
        entry = JournalEntry(
            id=self._new_id(),
            kind=kind,
            repo=repo,
            summary=summary,
            created=time.time(),
            intent=intent,
            locks=list(locks or []),
            pid=os.getpid(),
            start_ticks=process_start_ticks(os.getpid()),
            host=hostname(),
            user=user_label(os.geteuid()),
            nonce=nonce or new_nonce(),
            undo_of=undo_of,
        )
        final = os.path.join(root, entry.id)
        _publish_dir(root, f".tmp-{entry.id}", final, {ENTRY_FILE: _dumps(entry._header())}, step="journal")
        entry.path = final
        return entry

    def record_before(
        self,
        entry: JournalEntry,
        items: list[dict],
        *,
        locks: list[dict] | None = None,
        blobs: dict[str, bytes] | None = None,
        trees: dict[str, str] | None = None,
    ) -> None:
        """The before-image, complete and durable, before the first change. ``locks``: the
        locks now held, with device and inode (see locking.lock_left_by)."""
        data = {"items": items, "locks": list(locks or [])}
        files = {BEFORE_FILE: _dumps(data)}
        files.update({os.path.join("blobs", name): blob for name, blob in (blobs or {}).items()})
        _publish_dir(
            entry.path, ".before-tmp", os.path.join(entry.path, BEFORE_DIR), files, trees=trees, step="journal:before"
        )
        entry.items, entry.held_locks, entry.has_before = items, data["locks"], True

    def discard(self, entry: JournalEntry) -> None:
        """Forget an entry whose action was refused before it changed anything."""
        shutil.rmtree(entry.path, ignore_errors=True)
        fsync_dir(self.root)

    @contextmanager
    def preparing(self, entry: JournalEntry, cleanup=None):
        """Around the steps between begin() and record_before(): a refusal or error there
        (a held lock, a moved ref) undoes the preparation and discards the entry."""
        try:
            yield
        except BaseException:
            try:
                if cleanup is not None:
                    cleanup()
            finally:
                if not entry.has_before:
                    self.discard(entry)
            raise

    def mark_done(self, entry: JournalEntry) -> None:
        entry.finished = time.time()
        self._mark(entry, "done", {"time": entry.finished})

    def mark_failed(self, entry: JournalEntry, error: str) -> None:
        entry.failed = error
        self._mark(entry, "failed", {"time": time.time(), "error": error})

    def mark_undone(self, entry: JournalEntry, undo_entry: JournalEntry) -> None:
        entry.undone_by = undo_entry.id
        self._mark(entry, "undone", {"time": time.time(), "by": undo_entry.id})

    def mark_recovered(self, entry: JournalEntry, removed: list[str]) -> None:
        entry.recovered = sorted(set(entry.recovered) | set(removed))
        self._mark(entry, "recovered", {"time": time.time(), "removed": entry.recovered})

    def _mark(self, entry: JournalEntry, name: str, data: dict) -> None:
        path = os.path.join(entry.path, name)
        tmp = path + ".tmp"
        _write_file_durably(tmp, _dumps(data))
        os.rename(tmp, path)
        fsync_dir(entry.path)

    def _new_id(self) -> str:
        # Sortable by time, short enough to type: 20260101-120000-3f9a
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        return f"{stamp}-{new_nonce()[:4]}"

    # ------------------------------------------------------------------ reading

    def entries(self) -> list[JournalEntry]:
        """Every entry, oldest first. Unreadable entries are skipped (the listing is a view)."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        result = []
        for name in sorted(names):
            if name.startswith("."):
                continue
            try:
                result.append(self._load(name))
            except (OSError, ValueError, KeyError):
                continue
        return result

    def get(self, entry_id: str) -> JournalEntry:
        if not entry_id or "/" in entry_id or entry_id.startswith("."):
            raise UnknownEntryError(f"no journal entry {entry_id!r}")
        try:
            return self._load(entry_id)
        except FileNotFoundError:
            raise UnknownEntryError(
                f"no journal entry {entry_id!r} in {self.root} ('gitward journal' lists them)"
            ) from None
        except (OSError, ValueError, KeyError) as exc:
            raise WriteError(f"journal entry {entry_id} is unreadable: {exc}") from None

    def unfinished_for(self, repo: str) -> list[JournalEntry]:
        """Interrupted entries (process gone) that changed ``repo``: their locks may be left.

        Runs before every change, so it opens only entries without a ``done``/``failed``
        marker, not the whole (growing) journal.
        """
        real = os.path.realpath(repo)
        try:
            names = sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            path = os.path.join(self.root, name)
            if name.startswith(".") or any(os.path.exists(os.path.join(path, m)) for m in ("done", "failed")):
                continue
            try:
                entry = self._load(name)
            except (OSError, ValueError, KeyError):
                continue
            if entry.unfinished and entry.process_gone and os.path.realpath(entry.repo) == real:
                found.append(entry)
        return found

    def _load(self, entry_id: str) -> JournalEntry:
        path = os.path.join(self.root, entry_id)
        with open(os.path.join(path, ENTRY_FILE), encoding="utf-8") as handle:
            data = json.load(handle)
        entry = JournalEntry(
            id=data["id"],
            kind=data["kind"],
            repo=data["repo"],
            summary=data["summary"],
            created=data["created"],
            intent=data.get("intent", []),
            locks=data.get("locks", []),
            pid=data.get("pid", 0),
            start_ticks=data.get("start_ticks"),
            host=data.get("host", ""),
            user=data.get("user", ""),
            nonce=data.get("nonce", ""),
            undo_of=data.get("undo_of"),
            path=path,
        )
        before = _read_marker(os.path.join(path, BEFORE_DIR), BEFORE_FILE)
        if before is not None:
            entry.items, entry.held_locks, entry.has_before = before.get("items", []), before.get("locks", []), True
        done = _read_marker(path, "done")
        if done is not None:
            entry.finished = done.get("time")
        failed = _read_marker(path, "failed")
        if failed is not None:
            entry.failed = failed.get("error", "failed")
        undone = _read_marker(path, "undone")
        if undone is not None:
            entry.undone_by = undone.get("by")
        recovered = _read_marker(path, "recovered")
        if recovered is not None:
            entry.recovered = list(recovered.get("removed", []))
        return entry


def run_journaled(
    entry: JournalEntry,
    journal: Journal,
    locks: LockSet | None,
    work,
    *,
    done_point: str,
    advice: str,
    reraise: tuple[type[BaseException], ...] = (),
) -> None:
    """Do ``work`` once ``entry`` exists, release ``locks``, mark the entry done.

    On any failure the locks are released and the entry is marked failed ("stopped half-way:
    <why>"); ctrl-c and the ``reraise`` types then go on as they are, anything else becomes an
    ``ApplyError`` whose message is that text followed by ``advice`` (what state the files are
    in, how to undo). ``done_point``: the fault point reached once the locks are released.
    """
    try:
        work()
        if locks is not None:
            locks.release_all()
        fault_point(done_point)
    except BaseException as exc:
        try:
            if locks is not None:
                locks.release_all()
        finally:
            message = f"stopped half-way: {error_text(exc)}"
            journal.mark_failed(entry, message)
        if isinstance(exc, (KeyboardInterrupt, *reraise)):
            raise
        raise ApplyError(message + advice, entry.id) from exc
    journal.mark_done(entry)


def recover_interrupted(journal: Journal, repo: str) -> list[str]:
    """Remove what interrupted gitward processes left in ``repo``: their lock files (proven
    theirs: same inode, marker or planned content, process gone, same host), a
    ``packed-refs.new`` created under such a lock, and their ``gitward-trash-<nonce>-*`` dirs.

    Returns the paths removed. Nothing that another process created is touched.
    """
    journal.check_writable()
    removed: list[str] = []
    for entry in journal.unfinished_for(repo):
        removed_here = _recover_entry(entry)
        if removed_here:
            journal.mark_recovered(entry, removed_here)
            removed.extend(removed_here)
    return removed


def _recover_entry(entry: JournalEntry) -> list[str]:
    removed = []
    held = {record["path"]: record for record in entry.held_locks}
    planned = {record["path"]: record for record in entry.locks}
    for path in dict.fromkeys([*planned, *held]):
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
    for trash in entry_trash_dirs(entry):
        if os.path.lexists(trash):
            shutil.rmtree(trash, ignore_errors=True)
            if not os.path.lexists(trash):
                removed.append(trash)
    return removed


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
    module_name = UNDO_MODULES.get(entry.kind)
    if module_name is None:
        raise WriteError(f"{entry.id}: gitward does not know how to undo a {entry.kind!r} entry")
    if not entry.has_before:
        return _nothing_to_undo(journal, entry)
    module = importlib.import_module(module_name)
    return module.undo_entry(entry, journal)


def _nothing_to_undo(journal: Journal, entry: JournalEntry) -> JournalEntry:
    """The entry stopped before its first change: remove the locks it left, record the undo."""
    removed = recover_interrupted(journal, entry.repo)
    summary = f"undo {entry.id}: nothing had changed" + (f"; removed {len(removed)} lock file(s) it left" if removed else "")
    undo_entry = journal.begin(entry.kind, entry.repo, summary, [], undo_of=entry.id)
    journal.record_before(undo_entry, [])
    journal.mark_done(undo_entry)
    journal.mark_undone(entry, undo_entry)
    return undo_entry


# --------------------------------------------------------------------------- file helpers


def _dumps(data: dict) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def _read_marker(path: str, name: str) -> dict | None:
    try:
        with open(os.path.join(path, name), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def _publish_dir(parent: str, staging_name: str, final: str, files: dict[str, bytes], *, trees=None, step: str) -> None:
    """Write ``files`` (and copies of ``trees``) into a staging dir, fsync everything, rename
    it to ``final`` and fsync ``parent``: readers see all of it or nothing."""
    staging = os.path.join(parent, staging_name)
    shutil.rmtree(staging, ignore_errors=True)
    os.mkdir(staging, 0o700)
    try:
        for name, data in files.items():
            _write_file_durably(os.path.join(staging, name), data)
        for name, source in (trees or {}).items():
            _copy_tree_durably(source, os.path.join(staging, "trees", name))
        fsync_dir(staging)
        fault_point(f"{step}:staged")
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(parent)
    fault_point(f"{step}:published")


def _write_file_durably(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        write_durably(fd, data)
    finally:
        os.close(fd)


def _copy_tree_durably(source: str, target: str) -> None:
    """Copy a file or directory (symlinks as links, metadata kept) and fsync every file."""
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    if os.path.isdir(source) and not os.path.islink(source):
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target, follow_symlinks=False)
    for folder, _dirs, files in os.walk(target):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(folder)
