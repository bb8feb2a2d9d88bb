"""Clear a stale lock file (``gitward locks clear``), and put it back on undo.

A lock file is removed only when it is older than its grace period (``problems.LOCK_GRACE_SECONDS``,
per kind of lock), or when the journal proves an interrupted gitward created it; never one
another process may hold. The removal is journaled with the lock's content, owner and mtime;
undo recreates it whole or not at all (a staging file named with the undo's nonce, then
link(2), which fails if a new holder took the name meanwhile).
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field

import humanize

from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.problems import LOCK_GRACE_SECONDS
from tui.core.write.errors import ApplyError, RefusedError, StateChangedError, error_text
from tui.core.write.journal import ApplyResult, Journal, JournalEntry, b64, unb64
from tui.core.write.locking import fault_point, link_no_replace, staging_lock_path, unlink_if_exists, write_all
from tui.core.write.ownership import Meta, check_owned, copy_metadata
from tui.core.write.recovery import entry_left_lock

__all__ = ["LEFT_BY_GITWARD", "LockClearPlan", "apply", "plan_lock_clear", "undo_entry"]


LEFT_BY_GITWARD = "left-by-gitward"


@dataclass
class LockClearPlan:
    """Removing one lock file that is past its grace period (or proven left by gitward)."""

    git_dir: str
    path: str  # absolute
    relpath: str  # relative to the git dir, as scans show it
    kind: str  # a key of problems.LOCK_GRACE_SECONDS, or LEFT_BY_GITWARD
    age_seconds: float
    grace_seconds: float
    size: int
    dev: int
    ino: int
    mtime_ns: int
    left_by: str | None = None  # journal entry of an interrupted gitward that created it
    refusals: list[RefusedError] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "repo": self.git_dir,
            "path": self.relpath,
            "kind": self.kind,
            "age_seconds": round(self.age_seconds, 1),
            "grace_seconds": self.grace_seconds,
            "left_by": self.left_by,
            "refusals": [str(r) for r in self.refusals],
        }


def plan_lock_clear(git_dir: str, lockfile: str, *, journal: Journal | None = None, now: float | None = None) -> LockClearPlan:
    """Check that ``lockfile`` (relative to the git dir, as scans list it) may be removed."""
    now = time.time() if now is None else now
    path, relpath = _lock_path(git_dir, lockfile)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise RefusedError(f"{relpath} does not exist (its holder finished?)") from None
    if not stat.S_ISREG(st.st_mode):
        raise RefusedError(f"{relpath} is not a regular file; gitward removes only lock files")
    left_by = _left_by_gitward(journal, git_dir, path)
    # A lock proven to be an interrupted gitward's own has no grace period: nobody holds it.
    kind = LEFT_BY_GITWARD if left_by else _lock_kind(relpath)
    plan = LockClearPlan(
        git_dir=git_dir,
        path=path,
        relpath=relpath,
        kind=kind,
        age_seconds=max(0.0, now - st.st_mtime),
        grace_seconds=0.0 if left_by else LOCK_GRACE_SECONDS[kind],
        size=st.st_size,
        dev=st.st_dev,
        ino=st.st_ino,
        mtime_ns=st.st_mtime_ns,
        left_by=left_by,
    )
    if plan.age_seconds <= plan.grace_seconds and plan.left_by is None:
        plan.refusals.append(
            RefusedError(
                f"{relpath} is {_age(plan.age_seconds)} old, inside its grace period of "
                f"{_age(plan.grace_seconds)}: a git process may still hold it. Wait, or check "
                "with fuser/lsof that none runs"
            )
        )
    try:
        check_owned([path, os.path.dirname(path)], what="remove this lock")
    except RefusedError as exc:
        plan.refusals.append(exc)
    return plan


def _lock_path(git_dir: str, lockfile: str) -> tuple[str, str]:
    real_git_dir = os.path.realpath(git_dir)
    candidate = lockfile if os.path.isabs(lockfile) else os.path.join(git_dir, lockfile)
    path = os.path.join(os.path.realpath(os.path.dirname(candidate)), os.path.basename(candidate))
    relpath = os.path.relpath(path, real_git_dir)
    if relpath.startswith(".."):
        raise RefusedError(f"{lockfile} is not inside the repository {git_dir}")
    name = os.path.basename(path)
    if not (name.endswith(".lock") or name == "packed-refs.new"):
        raise RefusedError(f"{lockfile} is not a lock file (*.lock or packed-refs.new)")
    return path, relpath


def _lock_kind(relpath: str) -> str:
    name = os.path.basename(relpath)
    if relpath.startswith("refs/"):
        return "ref"
    if name in LOCK_GRACE_SECONDS:
        return name
    raise RefusedError(f"{relpath}: gitward knows no grace period for this kind of lock; remove it by hand if you are sure")


def _left_by_gitward(journal: Journal | None, git_dir: str, path: str) -> str | None:
    if journal is None:
        return None
    for entry in journal.unfinished_for(git_dir):
        if entry_left_lock(entry, path):
            return entry.id
    return None


def _age(seconds: float) -> str:
    return humanize.naturaldelta(seconds)


def apply(plan: LockClearPlan, journal: Journal) -> ApplyResult:
    """Remove the lock file, journaled first (its before-image is the file itself)."""
    journal.check_writable()
    if plan.refusals:
        raise plan.refusals[0]
    check_owned([plan.path, os.path.dirname(plan.path)], what="remove this lock")
    summary = f"locks clear {plan.relpath} in {plan.git_dir} ({_age(plan.age_seconds)} old)"
    entry = journal.begin("lock-clear", plan.git_dir, summary, [{"file": plan.path, "relpath": plan.relpath}])
    with journal.preparing(entry):
        item = _lock_clear_item(plan)
        journal.record_before(entry, [item])
    try:
        os.unlink(plan.path)
        fsync_dir(os.path.dirname(plan.path))
        fault_point("locks:unlinked")
    except OSError as exc:
        journal.mark_failed(entry, error_text(exc))
        raise ApplyError(f"cannot remove {plan.relpath}: {error_text(exc)}", entry.id) from exc
    journal.mark_done(entry)
    return ApplyResult(entry.id, [plan.relpath])


def _lock_clear_item(plan: LockClearPlan) -> dict:
    """The lock file's before-image, after checking it is the very file that was judged."""
    try:
        st = os.lstat(plan.path)
        content = read_bytes(plan.path)
    except FileNotFoundError:
        raise StateChangedError(f"{plan.relpath} is gone already; nothing was changed") from None
    if (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size) != (plan.dev, plan.ino, plan.mtime_ns, plan.size):
        raise StateChangedError(f"{plan.relpath} changed since it was checked (a new lock?); nothing was changed")
    return {
        "file": plan.path,
        "relpath": plan.relpath,
        "kind": plan.kind,
        "age_seconds": round(plan.age_seconds, 1),
        "left_by": plan.left_by,
        "content_b64": b64(content),
        "meta": [st.st_mode, st.st_uid, st.st_gid],
        "mtime_ns": st.st_mtime_ns,
    }


def _is_the_cleared_lock(path: str, item: dict) -> bool:
    try:
        st = os.lstat(path)
        return st.st_mtime_ns == item["mtime_ns"] and read_bytes(path) == unb64(item["content_b64"])
    except OSError:
        return False


def undo_entry(entry: JournalEntry, journal: Journal) -> JournalEntry:
    """Put the lock file of a ``lock-clear`` entry back, unless a new holder took its name."""
    (item,) = entry.items
    path = item["file"]
    check_owned([os.path.dirname(path)], what="put this lock back")
    summary = f"undo {entry.id}: put {item['relpath']} back in {entry.repo}"
    undo = journal.begin("lock-clear", entry.repo, summary, [{"file": path}], undo_of=entry.id)
    with journal.preparing(undo):
        if os.path.lexists(path):
            if not _is_the_cleared_lock(path, item):
                raise StateChangedError(
                    f"cannot undo {entry.id}: {item['relpath']} exists again (a new holder); nothing was changed"
                )
            # Interrupted before the unlink: the very same lock is still there.
            journal.record_before(undo, [])
            journal.mark_done(undo)
            journal.mark_undone(entry, undo)
            return undo
        journal.record_before(undo, [dict(item)])
    # The lock is put back whole or not at all: content, owner and mtime go to a staging file
    # named with the undo's nonce (a kill leaves only that, which recovery removes), then
    # link(2) makes it the lock, failing if a new holder took the name meanwhile.
    staging = staging_lock_path(path, undo.nonce)
    try:
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            write_all(fd, unb64(item["content_b64"]))
            copy_metadata(fd, Meta(*item["meta"]))
        finally:
            os.close(fd)
        os.utime(staging, ns=(item["mtime_ns"], item["mtime_ns"]))
        fault_point("undo:lock-staged")
        link_no_replace(staging, path)  # removes the staging name once linked
        fault_point("undo:lock-linked")
    except OSError as exc:
        unlink_if_exists(staging)
        journal.mark_failed(undo, error_text(exc))
        raise ApplyError(f"cannot recreate {item['relpath']}: {error_text(exc)}", undo.id) from exc
    fsync_dir(os.path.dirname(path))
    journal.mark_done(undo)
    journal.mark_undone(entry, undo)
    return undo
