"""``git worktree lock`` / ``unlock`` (builtin/worktree.c ``lock_worktree``, ``unlock_worktree``),
journaled, with undo.

``locked`` is written atomically (git writes it in place): ``locked.lock`` (git's lock protocol),
compare-and-swap, journal, then link(2), which fails instead of overwriting a lock someone
else created meanwhile. WORKTREE may also be an admin id, which reaches admin dirs
``git worktree list`` skips (so they can be locked).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.model import Worktree
from tui.core.write.errors import RefusedError, StateChangedError
from tui.core.write.journal import Journal, JournalEntry
from tui.core.write.locking import FILES_REF_LOCK_TIMEOUT_MS, HeldLock, LockSet, fault_point
from tui.core.write.ownership import Meta, check_owned, owner_hint
from tui.core.write.recovery import recover_interrupted
from tui.core.write.worktree_common import (
    WorktreeRepo,
    begin_with_locks,
    check_applicable,
    empty_undo,
    find_worktree,
    opt_b64,
    opt_unb64,
    owner_refusals,
    planned_lock_record,
    read_optional,
    run_journaled_change,
)

__all__ = ["MAIN_CANNOT_LOCK", "LockPlan", "UnlockPlan", "apply", "plan_lock", "plan_unlock", "undo_entry"]

MAIN_CANNOT_LOCK = "The main working tree cannot be locked or unlocked"  # builtin/worktree.c


@dataclass
class LockPlan:
    repo: WorktreeRepo
    worktree: Worktree
    reason: str | None
    refusals: list[RefusedError] = field(default_factory=list)

    @property
    def content(self) -> bytes:
        return locked_file_content(self.reason)

    def summary(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return f"worktree lock worktrees/{self.worktree.id}{why} in {self.repo.common_dir}"

    def to_json(self) -> dict:
        return {"action": "lock", "worktree": self.worktree.to_json(), "reason": self.reason, "refusals": [str(r) for r in self.refusals]}


@dataclass
class UnlockPlan:
    repo: WorktreeRepo
    worktree: Worktree
    content: bytes  # the ``locked`` file as the plan saw it
    refusals: list[RefusedError] = field(default_factory=list)

    def summary(self) -> str:
        return f"worktree unlock worktrees/{self.worktree.id} in {self.repo.common_dir}"

    def to_json(self) -> dict:
        return {"action": "unlock", "worktree": self.worktree.to_json(), "refusals": [str(r) for r in self.refusals]}


def locked_file_content(reason: str | None) -> bytes:
    """write_file(path, "%s", reason): the reason plus a final LF; no reason, an empty file."""
    data = (reason or "").encode("utf-8", "surrogateescape")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return data


def plan_lock(repo: WorktreeRepo, arg: str, reason: str | None = None, *, cwd: str | None = None) -> LockPlan:
    wt = find_worktree(repo.list(), arg, cwd)
    if wt.main:
        raise RefusedError(MAIN_CANNOT_LOCK)
    if wt.locked:
        if wt.lock_reason:
            raise RefusedError(f"'{arg}' is already locked, reason: {wt.lock_reason}")
        raise RefusedError(f"'{arg}' is already locked")
    plan = LockPlan(repo, wt, reason)
    plan.refusals.extend(owner_refusals([repo.admin_dir(wt.id)], "lock this worktree"))
    return plan


def plan_unlock(repo: WorktreeRepo, arg: str, *, cwd: str | None = None) -> UnlockPlan:
    wt = find_worktree(repo.list(), arg, cwd)
    if wt.main:
        raise RefusedError(MAIN_CANNOT_LOCK)
    if not wt.locked:
        raise RefusedError(f"'{arg}' is not locked")
    admin = repo.admin_dir(wt.id)
    try:
        content = read_bytes(os.path.join(admin, "locked"))
    except OSError as exc:
        raise RefusedError(f"cannot read {admin}/locked: {exc.strerror}; nothing was changed") from None
    plan = UnlockPlan(repo, wt, content)
    plan.refusals.extend(owner_refusals([os.path.join(admin, "locked"), admin], "unlock this worktree"))
    return plan


def apply(plan: LockPlan | UnlockPlan, journal: Journal) -> JournalEntry:
    """Create (lock) or remove (unlock) ``<admin>/locked``; returns the journal entry."""
    check_applicable(plan, journal)
    admin = plan.repo.admin_dir(plan.worktree.id)
    if isinstance(plan, LockPlan):
        return _create_locked(journal, plan.repo, admin, plan.content, None, plan.summary(), "worktree-lock", None)
    return _remove_locked(journal, plan.repo, admin, plan.content, plan.summary(), "worktree-unlock", None)


def _create_locked(journal, repo, admin, content, meta, summary, kind, undo_of) -> JournalEntry:
    """Create ``<admin>/locked`` with ``content``: locked.lock, CAS (absent), journal, link."""
    target = os.path.join(admin, "locked")
    check_owned([admin], what="lock this worktree")
    recover_interrupted(journal, repo.common_dir)
    item = {"file": target, "admin": admin, "before_b64": None, "after_b64": opt_b64(content), "meta": meta}
    entry, locks = begin_with_locks(journal, kind, repo, summary, [item], [target], undo_of)
    with locks:
        with journal.preparing(entry, locks.release_all):
            lock = _acquire_in_admin(locks, admin, target)
            fault_point("worktree:lock-taken")
            if not os.path.isdir(admin):
                raise StateChangedError(f"{admin} is gone (pruned since the plan?); nothing was changed")
            existing = read_optional(target)
            if existing is not None:
                reason = existing.strip(b" \t\n\r").decode("utf-8", "surrogateescape")
                raise StateChangedError(
                    f"worktrees/{os.path.basename(admin)} was locked meanwhile"
                    + (f", reason: {reason}" if reason else "")
                    + "; nothing was changed"
                )
            journal.record_before(entry, [item], locks=[planned_lock_record(lock, content)])

        def work():
            like = Meta(*meta) if meta else None
            lock.commit(content, like, lambda: fault_point("worktree:locked-written"), replace=False)
            fault_point("worktree:locked-created")

        run_journaled_change(entry, journal, locks, work)
    return entry


def _acquire_in_admin(locks: LockSet, admin: str, target: str) -> HeldLock:
    try:
        return locks.acquire(target, timeout_ms=FILES_REF_LOCK_TIMEOUT_MS, owner_hint=owner_hint(admin))
    except (FileNotFoundError, NotADirectoryError):
        raise StateChangedError(f"{admin} is gone (pruned since the plan?); nothing was changed") from None


def _remove_locked(journal, repo, admin, expected, summary, kind, undo_of) -> JournalEntry:
    """Remove ``<admin>/locked`` if it still holds ``expected``: locked.lock, CAS, journal, unlink."""
    target = os.path.join(admin, "locked")
    check_owned([target, admin], what="unlock this worktree")
    recover_interrupted(journal, repo.common_dir)
    intent = [{"file": target, "admin": admin, "removes": True}]
    entry, locks = begin_with_locks(journal, kind, repo, summary, intent, [target], undo_of)
    with locks:
        with journal.preparing(entry, locks.release_all):
            lock = _acquire_in_admin(locks, admin, target)
            fault_point("worktree:lock-taken")
            current = read_optional(target)
            if current != expected:
                now = "gone" if current is None else f"now {current!r}"
                raise StateChangedError(
                    f"{target} changed since the plan (it was {expected!r}, {now}); nothing was changed"
                )
            st = os.lstat(target)
            item = {
                "file": target,
                "admin": admin,
                "before_b64": opt_b64(expected),
                "after_b64": None,
                "meta": [st.st_mode, st.st_uid, st.st_gid],
            }
            journal.record_before(entry, [item], locks=[lock.record()])

        def work():
            os.unlink(target)
            fsync_dir(admin)
            fault_point("worktree:locked-removed")

        run_journaled_change(entry, journal, locks, work)
    return entry


# --------------------------------------------------------------------------- undo


def undo_entry(entry: JournalEntry, journal: Journal) -> JournalEntry:
    """Take a ``worktree-lock`` back (remove the file) or a ``worktree-unlock`` (recreate it)."""
    repo = WorktreeRepo(entry.repo)
    summary = f"undo {entry.id}: {entry.summary}"
    (item,) = entry.items
    if entry.kind == "worktree-lock":
        undo = _remove_locked_for_undo(journal, repo, item, summary, entry)
    else:
        undo = _undo_unlock(journal, repo, item, summary, entry)
    journal.mark_undone(entry, undo)
    return undo


def _remove_locked_for_undo(journal, repo, item, summary, entry) -> JournalEntry:
    current = read_optional(item["file"])
    if current is None:  # interrupted before the file appeared: nothing to take back
        return empty_undo(journal, repo, entry, summary)
    return _remove_locked(journal, repo, item["admin"], opt_unb64(item["after_b64"]), summary, entry.kind, entry.id)


def _undo_unlock(journal, repo, item, summary, entry) -> JournalEntry:
    current = read_optional(item["file"])
    before = opt_unb64(item["before_b64"])
    if current == before:  # interrupted before the unlink: nothing to take back
        return empty_undo(journal, repo, entry, summary)
    return _create_locked(journal, repo, item["admin"], before, item["meta"], summary, entry.kind, entry.id)
