"""The journal: what gitward is about to change, with the before-image, written before the change.

Layout under ``paths.state_dir()/journal`` (one directory per entry, so entries of any size are
created atomically and two gitward processes never write the same file)::

    <id>/entry.json          the header, small whatever the action's size: kind, repo, summary,
                             pid, host, user, the nonce its lock markers carry, how many items
                             and locks, and the first few items (what a listing shows)
    <id>/intent.json         the intent: every item it will change and every lock file it will
                             create (with the marker they hold); published with the header
    <id>/before/before.json  the before-image, taken under the locks after compare-and-swap:
                             items with exact old file contents, the locks held (inodes)
    <id>/before/blobs, trees larger before-images (whole files, copies of removed directories)
    <id>/before/size         the before-image's size in bytes (for the journal cap)
    <id>/done                written after the change completed
    <id>/failed              written when the change stopped half-way (with the error)
    <id>/undone              written when ``undo`` restored the before-image (names the undo entry)
    <id>/recovered           lock files of an interrupted entry that were removed later
    <id>/expired             the journal cap removed the undo data (intent, before-image); the
                             entry stays as a record that says so

Listing reads only the headers and the names of the marker files: before-images are read by
``undo`` and by ``gitward journal ID`` alone, so a listing of 10,000 entries stays fast.

The protocol: ``begin()`` (the intent, before any file in the repository is touched, even a
lock), take the locks, compare-and-swap, ``record_before()``, act, ``mark_done()``. Each step is
written to a staging dir, fsync'ed, renamed into place, and the directory fsync'ed. So a process
killed at any point leaves either no entry (nothing touched; at most a ``.tmp-*`` staging dir,
removed by the next run), an entry without a before-image (only its own lock files, which hold
the marker from the instant they exist, see locking.py), or a complete before-image. A refusal
before any change discards the entry. ``begin()`` is also the single gate for read-only mode.
(One entry, as read back: ``journal_entry.py``.)

An entry without ``done`` or ``failed`` whose process is gone was interrupted: the listing
shows it as ``interrupted``, ``recovery.py`` removes the lock files it left, and ``gitward undo``
(``undo.py``) restores what it had changed.

The cap (config ``[journal] max_bytes``, ``max_age_days``): after each action, finished entries
past the age, then the oldest finished entries while the journal is over the size, lose their
undo data; never the newest entry, never an unfinished one (its locks may still be left).
"""

from __future__ import annotations

import base64
import calendar
import errno
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from tui.core import paths
from tui.core.config import ConfigError, JournalConfig, load_config
from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.write.errors import ApplyError, UnknownEntryError, WriteError, error_text
from tui.core.write.gate import WriteGate
from tui.core.write.journal_entry import (
    BEFORE_DIR,
    BEFORE_FILE,
    ENTRY_FILE,
    INTENT_FILE,
    PREVIEW,
    SIZE_FILE,
    JournalEntry,
    load_entry,
)
from tui.core.write.locking import (
    LockSet,
    fault_point,
    hostname,
    new_nonce,
    process_alive,
    process_start_ticks,
    unlink_if_exists,
    write_durably,
)
from tui.core.write.ownership import user_label

__all__ = ["ApplyResult", "Journal", "JournalEntry", "JournalLimits", "b64", "run_journaled", "unb64"]

STAGING_PREFIX = ".tmp-"


@dataclass(frozen=True)
class JournalLimits:
    """The journal cap: undo data of finished entries past either limit is removed."""

    max_bytes: int
    max_age_seconds: float

    @classmethod
    def from_config(cls) -> JournalLimits:
        try:
            settings = load_config().journal
        except ConfigError:
            settings = JournalConfig()  # writes refuse on a broken config; the cap stays sane
        return cls(settings.max_bytes, settings.max_age_days * 86400.0)


class Journal:
    """The journal directory. Every ``begin()`` asks ``gate`` (tui/core/write/gate.py) first;
    ``read_only=True`` is short for a closed gate.

    ``limits``: the cap; None reads it from gitward's config when it is first needed.
    """

    def __init__(
        self,
        root: str | None = None,
        *,
        read_only: bool = False,
        gate: WriteGate | None = None,
        limits: JournalLimits | None = None,
    ) -> None:
        self._root = root
        self.gate = gate if gate is not None else WriteGate(read_only)
        self._limits = limits

    @property
    def root(self) -> str:
        if self._root is None:
            self._root = os.path.join(paths.state_dir(), "journal")
        return self._root

    @property
    def limits(self) -> JournalLimits:
        if self._limits is None:
            self._limits = JournalLimits.from_config()
        return self._limits

    # ------------------------------------------------------------------ writing

    @property
    def read_only(self) -> bool:
        return not self.gate.allowed

    def check_writable(self) -> None:
        self.gate.check()

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
        locks = list(locks or [])
        entry = JournalEntry(
            id=self._new_id(),
            kind=kind,
            repo=repo,
            summary=summary,
            created=time.time(),
            pid=os.getpid(),
            start_ticks=process_start_ticks(os.getpid()),
            host=hostname(),
            user=user_label(os.geteuid()),
            nonce=nonce or new_nonce(),
            undo_of=undo_of,
            item_count=len(intent),
            items_preview=intent[:PREVIEW],
            lock_count=len(locks),
            locks_preview=[lock["path"] for lock in locks[:PREVIEW]],
            _intent=intent,
            _locks=locks,
            _items=[],
            _held_locks=[],
        )
        intent_file = _dumps({"intent": intent, "locks": locks})
        for attempt in range(8):
            final = os.path.join(root, entry.id)
            files = {ENTRY_FILE: _dumps(entry._header()), INTENT_FILE: intent_file}
            try:
                _publish_dir(root, _staging_name(entry.id), final, files, step="journal")
                break
            except OSError as exc:
                # Another entry got the same id in the same second (rename onto a non-empty dir).
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt == 7:
                    raise
                entry.id = self._new_id()
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
            entry.path, ".before-tmp", os.path.join(entry.path, BEFORE_DIR), files, trees=trees, step="journal:before",
            size_file=SIZE_FILE,
        )
        entry._items, entry._held_locks, entry.has_before = items, data["locks"], True

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
        self._apply_cap_quietly(entry)

    def mark_failed(self, entry: JournalEntry, error: str) -> None:
        entry.failed = error
        self._mark(entry, "failed", {"time": time.time(), "error": error})
        self._apply_cap_quietly(entry)

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

    # ------------------------------------------------------------------ the cap

    def _apply_cap_quietly(self, entry: JournalEntry) -> None:
        # After the action: a failure to trim the journal must not turn a done change into an
        # error (the next action tries again).
        try:
            self.apply_cap(keep=entry.id)
        except OSError:
            pass

    def apply_cap(self, now: float | None = None, *, keep: str | None = None) -> list[str]:
        """Remove the undo data of finished entries past the cap; returns their ids.

        First every finished entry older than ``max_age``, then the oldest finished entries
        while the journal is larger than ``max_bytes``. The newest entry, ``keep`` (the entry
        just finished) and unfinished entries (running or interrupted: recovery needs their
        intent) keep theirs. Each such entry gets an ``expired`` marker (written first) saying
        why; its record stays.
        """
        if self.read_only:
            return []
        now = time.time() if now is None else now
        limits = self.limits
        try:
            names = [n for n in os.listdir(self.root) if not n.startswith(".")]
        except FileNotFoundError:
            return []
        found: list[tuple[tuple, str, int, bool]] = []  # order, name, bytes of undo data, finished
        for name in names:
            path = os.path.join(self.root, name)
            try:
                created = _id_time(name)
                present = set(os.listdir(path))
                # The header is written once, at begin(): its mtime orders entries of one second.
                order = (created, os.stat(os.path.join(path, ENTRY_FILE)).st_mtime_ns)
            except (OSError, ValueError):
                continue  # not an entry (or not readable): neither counted nor touched
            finished = bool(present & {"done", "failed"}) and "expired" not in present
            found.append((order, name, _undo_data_size(path, present), finished))
        found.sort()
        total = sum(size for _order, _name, size, _finished in found)
        newest = found[-1][1] if found else None
        sizes = [(name, size, finished and name not in (keep, newest)) for _order, name, size, finished in found]
        expired = []
        max_age = limits.max_age_seconds
        for name, size, may_expire in sizes:
            old = (now - _id_time(name)) > max_age
            over = total > limits.max_bytes
            if not may_expire or not (old or over):
                continue
            why = (
                f"older than {max_age / 86400:g} days" if old else f"journal over {limits.max_bytes} bytes"
            )
            self._expire(os.path.join(self.root, name), f"journal cap: {why}")
            total -= size
            expired.append(name)
        return expired

    def _expire(self, path: str, reason: str) -> None:
        had_before = os.path.isdir(os.path.join(path, BEFORE_DIR))
        marker = os.path.join(path, "expired")
        _write_file_durably(marker + ".tmp", _dumps({"time": time.time(), "reason": reason, "had_before": had_before}))
        os.rename(marker + ".tmp", marker)
        fsync_dir(path)
        # The marker first: a kill from here on leaves an entry that already refuses undo.
        shutil.rmtree(os.path.join(path, BEFORE_DIR), ignore_errors=True)
        unlink_if_exists(os.path.join(path, INTENT_FILE))
        fsync_dir(path)

    # ------------------------------------------------------------------ reading

    def entries(self) -> list[JournalEntry]:
        """Every entry, oldest first. Unreadable entries are skipped (the listing is a view).

        Reads each entry's small header and the names of its marker files only."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        result = []
        for name in names:
            if name.startswith("."):
                continue
            try:
                result.append(self._load(name))
            except (OSError, ValueError, KeyError):
                continue
        # By creation time: ids made in the same second sort by their random part.
        return sorted(result, key=lambda entry: (entry.created, entry.id))

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

    def unfinished_for(self, repo: str | None) -> list[JournalEntry]:
        """Interrupted entries (process gone) that changed ``repo`` (None: any repository):
        their locks may be left.

        Runs before every change, so it opens only entries without a ``done``/``failed``
        marker, not the whole (growing) journal.
        """
        real = os.path.realpath(repo) if repo is not None else None
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
            if entry.unfinished and entry.process_gone and (real is None or os.path.realpath(entry.repo) == real):
                found.append(entry)
        return found

    def remove_dead_staging(self) -> list[str]:
        """Remove ``.tmp-*`` staging dirs whose writing process is gone: a kill between the
        mkdir and the rename leaves them. They are named with the writer's pid and start time;
        a running writer's are kept. (An entry's own ``.before-tmp`` and ``*.tmp`` markers go
        with the recovery of that interrupted entry.)"""
        removed = []
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        for name in names:
            if not name.startswith(STAGING_PREFIX) or _staging_writer_alive(name):
                continue
            path = os.path.join(self.root, name)
            shutil.rmtree(path, ignore_errors=True)
            if not os.path.lexists(path):
                removed.append(path)
        if removed:
            fsync_dir(self.root)
        return removed

    def _load(self, entry_id: str) -> JournalEntry:
        return load_entry(os.path.join(self.root, entry_id))


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


@dataclass
class ApplyResult:
    """What a journaled ref change did (shadows prune, lock clear)."""

    entry_id: str | None  # None: nothing to do, nothing journaled
    changed: list[str] = field(default_factory=list)
    recovered_locks: list[str] = field(default_factory=list)


def b64(data: bytes) -> str:
    """Before-images keep file bytes as base64 text in JSON."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


# --------------------------------------------------------------------------- file helpers


def _dumps(data: dict) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def _staging_name(entry_id: str) -> str:
    """``.tmp-<pid>-<start ticks>-<id>``: whoever finds it can tell whether its writer runs."""
    return f"{STAGING_PREFIX}{os.getpid()}-{process_start_ticks(os.getpid()) or 0}-{entry_id}"


def _staging_writer_alive(name: str) -> bool:
    parts = name[len(STAGING_PREFIX) :].split("-", 2)
    try:
        pid, ticks = int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        # An older gitward's ".tmp-<id>": gone once it is older than any write takes.
        try:
            return time.time() - _id_time(name[len(STAGING_PREFIX) :]) < 3600
        except ValueError:
            return True
    return process_alive(pid, ticks or None)


def _id_time(entry_id: str) -> float:
    """The creation time an entry id starts with (20260101-120000-3f9a), in seconds (UTC)."""
    return float(calendar.timegm(time.strptime(entry_id[:15], "%Y%m%d-%H%M%S")))


def _undo_data_size(path: str, present: set[str]) -> int:
    """Bytes the cap can free in one entry dir: its intent and its before-image."""
    if "expired" in present:
        return 0
    size = 0
    if INTENT_FILE in present:
        try:
            size += _disk_bytes(os.stat(os.path.join(path, INTENT_FILE)))
        except OSError:
            pass
    elif ENTRY_FILE in present:  # an older entry keeps its intent in the header
        try:
            size += _disk_bytes(os.stat(os.path.join(path, ENTRY_FILE)))
        except OSError:
            pass
    if BEFORE_DIR in present:
        before = os.path.join(path, BEFORE_DIR)
        try:
            size += int(read_bytes(os.path.join(before, SIZE_FILE)))
        except (OSError, ValueError):
            size += _tree_size(before)
    return size


def _disk_bytes(st: os.stat_result) -> int:
    # What the file takes on disk (a 100-byte file takes a block): the cap is about the disk.
    return max(st.st_size, st.st_blocks * 512)


def _tree_size(path: str) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += _disk_bytes(os.lstat(os.path.join(folder, name)))
            except OSError:
                pass
    return total


def _publish_dir(
    parent: str, staging_name: str, final: str, files: dict[str, bytes], *, trees=None, step: str, size_file: str | None = None
) -> None:
    """Write ``files`` (and copies of ``trees``) into a staging dir, fsync everything, rename
    it to ``final`` and fsync ``parent``: readers see all of it or nothing. ``size_file``: also
    write the staged bytes' total there (what the journal cap counts)."""
    staging = os.path.join(parent, staging_name)
    shutil.rmtree(staging, ignore_errors=True)
    os.mkdir(staging, 0o700)
    try:
        for name, data in files.items():
            _write_file_durably(os.path.join(staging, name), data)
        for name, source in (trees or {}).items():
            _copy_tree_durably(source, os.path.join(staging, "trees", name))
        if size_file is not None:
            _write_file_durably(os.path.join(staging, size_file), str(_tree_size(staging)).encode())
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
