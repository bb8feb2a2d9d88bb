"""Lock, unlock, prune and repair linked worktrees, as git 2.39 does, with journal and undo.

Behaviour and wording follow ``builtin/worktree.c`` (``lock_worktree``, ``unlock_worktree``,
``prune_worktrees``/``prune_dups``, ``repair``) and ``worktree.c`` (``find_worktree``,
``should_prune_worktree``, ``repair_worktree_at_path``, ``repair_gitfile``,
``infer_backlink``). Where gitward is stricter than git it says so in the plan:

- ``prune`` keeps an entry whose worktree path could not be checked (EACCES, EIO, a volume that
  blinked): git's ``file_exists()`` turns *unknown* into *gone*; gitward never destroys on
  unknown. It copies every admin dir it removes into the journal first (undo restores it), and
  keeps one it cannot copy (special files, larger than MAX_BACKUP_BYTES).
- ``repair`` never rewrites another repository's files (a ``.git`` file pointing elsewhere).
- ``locked`` is written atomically (git writes it in place), and WORKTREE may also be an id,
  which also reaches admin dirs ``git worktree list`` skips (so they can be locked).

Every change: a plan (pure, shown as a preview), then ``apply(plan, journal)``: owner check,
``<file>.lock`` taken, compare-and-swap against the plan, journal, act, done.
"""

from __future__ import annotations

import base64
import errno
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass, field

from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.write.journal import Journal, JournalEntry, recover_interrupted, run_journaled
from tui.core.write.locking import (
    FILES_REF_LOCK_TIMEOUT_MS,
    ApplyError,
    HeldLock,
    LockSet,
    RefusedError,
    StateChangedError,
    WriteError,
    fault_point,
    make_marker,
    new_nonce,
    unlink_if_exists,
)
from tui.core.model import Layout, Worktree
from tui.core.write.ownership import Meta, check_owned, owner_hint
from tui.core.worktrees import GitdirResolver, _c_string, list_worktrees

__all__ = [
    "ApplyError",
    "LockPlan",
    "PrunePlan",
    "RefusedError",
    "RepairPlan",
    "StateChangedError",
    "UnlockPlan",
    "WorktreeRepo",
    "WriteError",
    "apply",
    "find_worktree",
    "parse_expire",
    "plan_lock",
    "plan_prune",
    "plan_repair",
    "plan_unlock",
    "undo_entry",
]

MAIN_CANNOT_LOCK = "The main working tree cannot be locked or unlocked"  # builtin/worktree.c

# Prune removes an admin dir only after copying it into the journal (undo puts it back).
# Past this size, or with a FIFO/device inside, gitward keeps the dir and says why.
MAX_BACKUP_BYTES = 512 * 1024 * 1024

# read_gitfile_gently() error codes (setup.c), as far as repair tells them apart.
GITFILE_OK = 0
GITFILE_STAT_FAILED = 1
GITFILE_NOT_A_FILE = 2
GITFILE_BROKEN = 3  # open/read failed, no "gitdir: ", no path, too large
GITFILE_NOT_A_REPO = 4


# --------------------------------------------------------------------------- the repository


@dataclass(frozen=True)
class WorktreeRepo:
    """A repository with worktrees: its common dir and how git names its main worktree."""

    common_dir: str
    main_path: str | None = None
    bare: bool = False

    @classmethod
    def from_candidate(cls, candidate) -> WorktreeRepo:
        """From a discovery.Candidate (or anything with path, git_dir, layout)."""
        bare = candidate.layout is Layout.BARE or (
            candidate.layout is Layout.GIT_SYNC and candidate.path == candidate.git_dir
        )
        return cls(candidate.git_dir, candidate.git_dir if bare else candidate.path, bare)

    def list(self, expire: float | None = None) -> list[Worktree]:
        return list_worktrees(self.common_dir, main_path=self.main_path, bare=self.bare, expire=expire)

    def admin_dir(self, worktree_id: str) -> str:
        return os.path.join(self.common_dir, "worktrees", worktree_id)


def find_worktree(worktrees: list[Worktree], arg: str, cwd: str | None = None) -> Worktree:
    """worktree.c find_worktree() (a unique path suffix, then the real path), or an admin id.

    Refuses when the id names one worktree and git's rules another.
    """
    by_git = _find_by_suffix(worktrees, arg) or _find_by_path(worktrees, arg, cwd)
    wanted_id = arg.removeprefix("worktrees/")
    by_id = next((w for w in worktrees if w.id is not None and w.id == wanted_id), None)
    if by_git is not None and by_id is not None and by_git is not by_id:
        raise RefusedError(
            f"'{arg}' is ambiguous: it is the id of worktrees/{by_id.id} and names the worktree "
            f"at {by_git.path}; give the full path"
        )
    found = by_git or by_id
    if found is None:
        raise RefusedError(f"'{arg}' is not a working tree")  # builtin/worktree.c
    return found


def _find_by_suffix(worktrees: list[Worktree], suffix: str) -> Worktree | None:
    if not suffix:
        return None
    found = [
        w
        for w in worktrees
        if w.listed
        and w.path.endswith(suffix)
        and (len(w.path) == len(suffix) or w.path[len(w.path) - len(suffix) - 1] == "/")
    ]
    return found[0] if len(found) == 1 else None


def _find_by_path(worktrees: list[Worktree], arg: str, cwd: str | None) -> Worktree | None:
    path = os.path.realpath(os.path.join(cwd or os.getcwd(), arg))
    for wt in worktrees:
        if wt.listed and wt.path and os.path.realpath(wt.path) == path:
            return wt
    return None


# --------------------------------------------------------------------------- lock / unlock


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
    plan.refusals.extend(_owner_refusals([repo.admin_dir(wt.id)], "lock this worktree"))
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
    plan.refusals.extend(_owner_refusals([os.path.join(admin, "locked"), admin], "unlock this worktree"))
    return plan


def _owner_refusals(paths: list[str], what: str) -> list[RefusedError]:
    try:
        check_owned(paths, what=what)
    except RefusedError as exc:
        return [exc]
    return []


def _apply_lock(plan: LockPlan, journal: Journal) -> JournalEntry:
    admin = plan.repo.admin_dir(plan.worktree.id)
    return _create_locked(journal, plan.repo, admin, plan.content, None, plan.summary(), "worktree-lock", None)


def _apply_unlock(plan: UnlockPlan, journal: Journal) -> JournalEntry:
    admin = plan.repo.admin_dir(plan.worktree.id)
    return _remove_locked(journal, plan.repo, admin, plan.content, plan.summary(), "worktree-unlock", None)


def _create_locked(journal, repo, admin, content, meta, summary, kind, undo_of) -> JournalEntry:
    """Create ``<admin>/locked`` with ``content``: locked.lock, CAS (absent), journal, link."""
    target = os.path.join(admin, "locked")
    check_owned([admin], what="lock this worktree")
    recover_interrupted(journal, repo.common_dir)
    item = {"file": target, "admin": admin, "before_b64": None, "after_b64": _b64(content), "meta": meta}
    entry, locks = _begin_with_locks(journal, kind, repo, summary, [item], [target], undo_of)
    with locks:
        with journal.preparing(entry, locks.release_all):
            lock = _acquire_in_admin(locks, admin, target)
            fault_point("worktree:lock-taken")
            if not os.path.isdir(admin):
                raise StateChangedError(f"{admin} is gone (pruned since the plan?); nothing was changed")
            existing = _read_optional(target)
            if existing is not None:
                reason = existing.strip(b" \t\n\r").decode("utf-8", "surrogateescape")
                raise StateChangedError(
                    f"worktrees/{os.path.basename(admin)} was locked meanwhile"
                    + (f", reason: {reason}" if reason else "")
                    + "; nothing was changed"
                )
            journal.record_before(entry, [item], locks=[_planned(lock, content)])

        def work():
            like = Meta(*meta) if meta else None
            lock.commit(content, like, lambda: fault_point("worktree:locked-written"), replace=False)
            fault_point("worktree:locked-created")

        _run_journaled(entry, journal, locks, work)
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
    entry, locks = _begin_with_locks(journal, kind, repo, summary, intent, [target], undo_of)
    with locks:
        with journal.preparing(entry, locks.release_all):
            lock = _acquire_in_admin(locks, admin, target)
            fault_point("worktree:lock-taken")
            current = _read_optional(target)
            if current != expected:
                now = "gone" if current is None else f"now {current!r}"
                raise StateChangedError(
                    f"{target} changed since the plan (it was {expected!r}, {now}); nothing was changed"
                )
            st = os.lstat(target)
            item = {
                "file": target,
                "admin": admin,
                "before_b64": _b64(expected),
                "after_b64": None,
                "meta": [st.st_mode, st.st_uid, st.st_gid],
            }
            journal.record_before(entry, [item], locks=[lock.record()])

        def work():
            os.unlink(target)
            fsync_dir(admin)
            fault_point("worktree:locked-removed")

        _run_journaled(entry, journal, locks, work)
    return entry


# --------------------------------------------------------------------------- prune


@dataclass
class PruneItem:
    id: str
    path: str  # the worktree path git lists ("" when git does not list it)
    reason: str  # git's words: "gitdir file points to non-existent location", "duplicate entry"...
    admin: str

    def to_json(self) -> dict:
        return {"id": self.id, "path": self.path, "reason": self.reason, "admin": self.admin}


@dataclass
class PrunePlan:
    repo: WorktreeRepo
    expire: float | None
    items: list[PruneItem] = field(default_factory=list)
    kept: list[PruneItem] = field(default_factory=list)  # git would prune these; gitward does not
    refusals: list[RefusedError] = field(default_factory=list)

    def summary(self) -> str:
        ids = ", ".join(item.id for item in self.items)
        return f"worktree prune in {self.repo.common_dir}: {ids}"

    def to_json(self) -> dict:
        return {
            "repo": self.repo.common_dir,
            "removes": [i.to_json() for i in self.items],
            "keeps": [i.to_json() for i in self.kept],
            "refusals": [str(r) for r in self.refusals],
        }


def plan_prune(repo: WorktreeRepo, *, expire: float | None = None) -> PrunePlan:
    """builtin/worktree.c prune_worktrees(): should_prune_worktree() per entry, then prune_dups()."""
    plan = PrunePlan(repo, expire)
    gitdirs = GitdirResolver(repo.common_dir, repo.main_path)
    for wt in repo.list(expire):
        if wt.main or wt.id is None or wt.locked:
            continue
        reason = wt.prunable_reason if wt.prunable else _duplicate_reason(wt)
        if reason is None:
            continue
        item = PruneItem(wt.id, wt.path, reason, repo.admin_dir(wt.id))
        why_kept = _why_keep(item, gitdirs)
        if why_kept:
            plan.kept.append(PruneItem(item.id, item.path, why_kept, item.admin))
        else:
            plan.items.append(item)
    plan.items.sort(key=lambda i: os.fsencode(i.id))
    if plan.items:
        admins = [i.admin for i in plan.items]
        plan.refusals.extend(_owner_refusals([repo.common_dir, os.path.join(repo.common_dir, "worktrees"), *admins], "prune worktrees"))
    return plan


def _duplicate_reason(wt: Worktree) -> str | None:
    if any(p.code == "duplicate-worktree" for p in wt.problems):
        return "duplicate entry"  # prune_dups()
    return None


# should_prune_worktree()'s reasons for a gitdir file it could not read whole.
_GITDIR_NOT_READ = ("unable to read gitdir file", "short read")


def _why_keep(item: PruneItem, gitdirs: GitdirResolver) -> str | None:
    """gitward's extra care: never destroy on *unknown*, never remove what it does not know."""
    if item.reason.startswith(_GITDIR_NOT_READ):
        # git prunes an entry whose gitdir it cannot read (EACCES, EIO, a volume that blinked):
        # what the file says is unknown, and so is whether the worktree still exists.
        return (
            f"its gitdir file could not be read ({item.reason}): unknown is not gone; "
            "git would prune it, gitward keeps it (check the file, and who runs git)"
        )
    if item.reason == "gitdir file points to non-existent location":
        target = _gitdir_target(item.admin, gitdirs)
        if target is not None:
            try:
                os.lstat(target)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                    return (
                        f"cannot tell whether {target} exists ({exc.strerror}): unknown is not gone; "
                        "git would prune it, gitward keeps it (lock it if its volume blinks)"
                    )
    try:
        return _cannot_back_up(item.admin)
    except OSError as exc:
        return f"cannot read {exc.filename}: {exc.strerror} (unknown is not gone)"


def _gitdir_target(admin: str, gitdirs: GitdirResolver) -> str | None:
    try:
        data = _c_string(read_bytes(os.path.join(admin, "gitdir")).rstrip(b"\r\n"))
    except OSError:
        return None
    return os.fsdecode(gitdirs.resolve(admin, data)) if data else None


def _cannot_back_up(admin: str) -> str | None:
    """Why the admin dir cannot be copied into the journal (then it is not removed)."""
    try:
        st = os.lstat(admin)
    except OSError as exc:
        return f"cannot read {admin}: {exc.strerror}"
    if not stat.S_ISDIR(st.st_mode):
        return None if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode) else f"{admin} is a special file"
    total = 0
    for folder, _dirs, files in os.walk(admin, onerror=_raise):
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                return f"holds a special file {os.path.join(folder, name)}; inspect it first"
            total += st.st_size
    if total > MAX_BACKUP_BYTES:
        return f"holds {total >> 20} MiB, too much to keep a copy in the journal; inspect it, then remove by hand"
    return None


def _raise(exc: OSError) -> None:
    raise exc


def _apply_prune(plan: PrunePlan, journal: Journal) -> JournalEntry | None:
    if not plan.items:
        return None
    repo = plan.repo
    worktrees_dir = os.path.join(repo.common_dir, "worktrees")
    check_owned([repo.common_dir, worktrees_dir, *(i.admin for i in plan.items)], what="prune worktrees")
    recover_interrupted(journal, repo.common_dir)
    nonce = new_nonce()
    items = []
    trees = {}
    for n, item in enumerate(plan.items):
        trash = os.path.join(repo.common_dir, f"gitward-trash-{nonce}-{n}")
        items.append({**item.to_json(), "tree": str(n), "trash": trash})
        trees[str(n)] = item.admin
    entry = journal.begin("worktree-prune", repo.common_dir, plan.summary(), items, nonce=nonce)
    with journal.preparing(entry):
        _compare_prune(plan)
        try:
            journal.record_before(entry, items, trees=trees)
        except shutil.Error as exc:
            # copytree gathers one (source, target, why) per file it could not copy.
            raise WriteError(f"{_copy_failures(exc)}; nothing was pruned") from None

    def work():
        for item in items:
            # One rename is the change (atomic: git sees the admin dir or nothing); the
            # trash, outside worktrees/, is invisible to git and removed afterwards.
            os.rename(item["admin"], item["trash"])
            fsync_dir(worktrees_dir)
            fault_point("prune:admin-moved")
            _remove_path(item["trash"])
            fault_point("prune:trash-removed")
        try:
            os.rmdir(worktrees_dir)  # delete_worktrees_dir_if_empty()
        except OSError:
            pass

    _run_journaled(entry, journal, None, work)
    return entry


def _copy_failures(exc: shutil.Error) -> str:
    """shutil.Error's list of (source, target, why) as one line: the first failure, and how many."""
    failures = [f for f in (exc.args[0] if exc.args else []) if isinstance(f, tuple) and len(f) == 3]
    if not failures:
        return f"cannot copy into the journal: {exc}"
    source, _target, why = failures[0]
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return f"cannot copy {source} into the journal: {why}{more}"


def _compare_prune(plan: PrunePlan) -> None:
    """Under git's rules, right now: is every item still prunable for the same reason?"""
    now = {item.id: item for item in plan_prune(plan.repo, expire=plan.expire).items}
    for item in plan.items:
        current = now.get(item.id)
        if current is None or current.reason != item.reason:
            state = "is no longer prunable" if current is None else f"is now prunable because: {current.reason}"
            raise StateChangedError(
                f"worktrees/{item.id} changed since the plan ({state}); nothing was changed. Plan again"
            )


def _remove_path(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        unlink_if_exists(path)


# --------------------------------------------------------------------------- repair


@dataclass
class RepairItem:
    file: str  # the file rewritten: <admin>/gitdir or <worktree>/.git
    message: str  # git's words: "gitdir incorrect", ".git file broken", ...
    shown: str  # the path git prints with the message
    old: bytes | None  # None: the file does not exist (or is unreadable)
    new: bytes
    worktree_id: str

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "message": self.message,
            "path": self.shown,
            "worktree": self.worktree_id,
            "old": _text(self.old),
            "new": _text(self.new),
        }


@dataclass
class RepairPlan:
    repo: WorktreeRepo
    items: list[RepairItem] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, git's message)
    refusals: list[RefusedError] = field(default_factory=list)

    def summary(self) -> str:
        return f"worktree repair in {self.repo.common_dir}: {len(self.items)} files"

    def to_json(self) -> dict:
        return {
            "repo": self.repo.common_dir,
            "repairs": [i.to_json() for i in self.items],
            "errors": [{"path": p, "message": m} for p, m in self.errors],
            "refusals": [str(r) for r in self.refusals],
        }


def plan_repair(repo: WorktreeRepo, paths: list[str] = (), *, cwd: str | None = None) -> RepairPlan:
    """builtin/worktree.c repair(): repair_worktree_at_path() for each path, then
    repair_worktrees() (every linked worktree's .git file), computed on the state the first
    step leaves, exactly as git runs them one after the other."""
    plan = RepairPlan(repo)
    gitdirs = _read_gitdirs(repo)
    files = _PlannedFiles()
    for path in paths:
        _plan_at_path(plan, files, gitdirs, os.path.join(cwd or os.getcwd(), path))
    for worktree_id in sorted(gitdirs, key=os.fsencode):
        _plan_gitfile(plan, files, worktree_id, gitdirs[worktree_id])
    # Net changes only: a file one step rewrites and a later step puts back is not touched.
    plan.items = [item for item in plan.items if item.new != item.old]
    touched = [p for item in plan.items for p in (item.file, os.path.dirname(item.file))]
    plan.refusals.extend(_owner_refusals(touched, "repair worktrees"))
    return plan


def _read_gitdirs(repo: WorktreeRepo) -> dict[str, bytes | None]:
    """id -> gitdir contents (rtrimmed) for the admin dirs git lists; None: unreadable."""
    result: dict[str, bytes | None] = {}
    resolver = GitdirResolver(repo.common_dir, repo.main_path)
    for wt in repo.list():
        if wt.main or wt.id is None or not wt.listed:
            continue
        admin = repo.admin_dir(wt.id)
        try:
            content = read_bytes(os.path.join(admin, "gitdir")).rstrip(b" \t\n\r")
        except OSError:
            result[wt.id] = None
            continue
        if content.endswith(b"/.git") and not content.startswith(b"/"):
            # A relative path is used as it is, from where git runs (not gitward's cwd).
            content = resolver.resolve(admin, content[: -len(b"/.git")]) + b"/.git"
        result[wt.id] = content
    return result


class _PlannedFiles:
    """The files as git's repair steps leave them, step after step: what an earlier step of the
    plan writes, a later step reads (t2406 "repair incorrect .git file": fixing side1 rewrites
    worktrees/side2/gitdir, and fixing side2 must see that, as git does), the disk otherwise."""

    def __init__(self) -> None:
        self._written: dict[str, bytes] = {}

    def read(self, path: str) -> bytes | None:
        """The content (None: absent); raises OSError when the disk cannot tell."""
        if path in self._written:
            return self._written[path]
        return _read_optional(path)

    def read_gitfile(self, path: str) -> tuple[str | None, int]:
        if path in self._written:
            return _parse_gitfile(path, self._written[path])
        return read_gitfile(path)

    def write(self, plan: RepairPlan, item: RepairItem) -> None:
        self._written[item.file] = item.new
        _add_repair(plan, item)


def _plan_at_path(plan: RepairPlan, files: _PlannedFiles, gitdirs: dict[str, bytes | None], path: str) -> None:
    """worktree.c repair_worktree_at_path(): fix <repo>/worktrees/<id>/gitdir."""
    repo = plan.repo
    if _is_main_worktree_path(repo, path):
        return
    dotgit = os.path.join(path, ".git")
    if not os.path.isdir(os.path.dirname(os.path.realpath(dotgit))):
        plan.errors.append((path, "not a valid path"))
        return
    realdotgit = os.path.realpath(dotgit)
    backlink, err = files.read_gitfile(realdotgit)
    if err == GITFILE_NOT_A_FILE:
        plan.errors.append((realdotgit, "unable to locate repository; .git is not a file"))
        return
    if err == GITFILE_NOT_A_REPO:
        backlink = _infer_backlink(repo, realdotgit)
        if backlink is None:
            plan.errors.append((realdotgit, "unable to locate repository; .git file does not reference a repository"))
            return
    elif err:
        plan.errors.append((realdotgit, "unable to locate repository; .git file broken"))
        return
    worktree_id = _own_admin_id(repo, backlink)
    if worktree_id is None:
        # A copied worktree still points into the original repository. Newer git prefers
        # this repository's worktrees/<id> (infer_backlink) over rewriting the original's
        # files; gitward never touches another repository at all.
        inferred = _infer_backlink(repo, realdotgit)
        worktree_id = _own_admin_id(repo, inferred) if inferred else None
        if worktree_id is None:
            plan.errors.append((realdotgit, f"belongs to another repository ({backlink}); run gitward there"))
            return
    gitdir_file = os.path.join(repo.admin_dir(worktree_id), "gitdir")
    try:
        old = files.read(gitdir_file)
    except OSError as exc:
        # git would overwrite what it cannot read; gitward does not write over unknown.
        plan.errors.append((gitdir_file, f"cannot read it ({exc.strerror}): unknown, not rewritten"))
        return
    wanted = os.fsencode(realdotgit)
    if old is None:
        message = "gitdir unreadable"
    elif old.rstrip(b" \t\n\r") != wanted:
        message = "gitdir incorrect"
    else:
        return
    files.write(plan, RepairItem(gitdir_file, message, gitdir_file, old, wanted + b"\n", worktree_id))
    gitdirs[worktree_id] = wanted  # repair_worktrees() runs after this and sees the fix


def _plan_gitfile(plan: RepairPlan, files: _PlannedFiles, worktree_id: str, gitdir: bytes | None) -> None:
    """worktree.c repair_gitfile(): fix /path/to/worktree/.git."""
    if not gitdir or not gitdir.endswith(b"/.git"):
        return  # git lists such a worktree at its cwd; nothing sensible to repair
    path = os.fsdecode(gitdir[: -len(b"/.git")])
    if not os.path.lexists(path):
        return  # missing worktree can't be repaired
    if not os.path.isdir(path):
        plan.errors.append((path, "not a directory"))
        return
    repo_admin = os.path.realpath(plan.repo.admin_dir(worktree_id))
    dotgit = os.path.join(path, ".git")
    backlink, err = files.read_gitfile(dotgit)
    if err == GITFILE_NOT_A_FILE:
        plan.errors.append((path, ".git is not a file"))
        return
    if err:
        message = ".git file broken"
    elif backlink != repo_admin:
        message = ".git file incorrect"
    else:
        return
    try:
        old = files.read(dotgit)
    except OSError as exc:
        plan.errors.append((dotgit, f"cannot read it ({exc.strerror}): unknown, not rewritten"))
        return
    new = b"gitdir: " + os.fsencode(repo_admin) + b"\n"
    files.write(plan, RepairItem(dotgit, message, path, old, new, worktree_id))


def _add_repair(plan: RepairPlan, item: RepairItem) -> None:
    for n, existing in enumerate(plan.items):
        if existing.file == item.file:
            plan.items[n] = RepairItem(item.file, item.message, item.shown, existing.old, item.new, item.worktree_id)
            return
    plan.items.append(item)


def read_gitfile(path: str) -> tuple[str | None, int]:
    """setup.c read_gitfile_gently(): (real path of the git dir, error code)."""
    try:
        st = os.stat(path)
    except OSError:
        return None, GITFILE_STAT_FAILED
    if not stat.S_ISREG(st.st_mode):
        return None, GITFILE_NOT_A_FILE
    if st.st_size > 1 << 20:
        return None, GITFILE_BROKEN
    try:
        data = read_bytes(path)
    except OSError:
        return None, GITFILE_BROKEN
    return _parse_gitfile(path, data)


def _parse_gitfile(path: str, data: bytes) -> tuple[str | None, int]:
    """The content part of read_gitfile_gently(), for a file at ``path`` holding ``data``."""
    if not data.startswith(b"gitdir: "):
        return None, GITFILE_BROKEN
    target = data[len(b"gitdir: ") :].rstrip(b"\r\n")
    if not target:
        return None, GITFILE_BROKEN
    target_path = os.fsdecode(target)
    if not os.path.isabs(target_path):
        target_path = os.path.join(os.path.dirname(path), target_path)
    if not is_git_directory(target_path):
        return None, GITFILE_NOT_A_REPO
    return os.path.realpath(target_path), GITFILE_OK


def is_git_directory(path: str) -> bool:
    """setup.c is_git_directory(): a valid HEAD, and objects/ and refs/ in its common dir."""
    if not _valid_headref(os.path.join(path, "HEAD")):
        return False
    common = _common_dir_of(path)
    return os.access(os.path.join(common, "objects"), os.X_OK) and os.access(os.path.join(common, "refs"), os.X_OK)


def _valid_headref(path: str) -> bool:
    """setup.c validate_headref()."""
    try:
        if os.path.islink(path):
            return os.readlink(path).startswith("refs/")
        data = read_bytes(path, limit=256)
    except OSError:
        return False
    if data.startswith(b"ref:"):
        return data[4:].lstrip().startswith(b"refs/")
    return bool(re.match(rb"[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?\s*$", data))


def _common_dir_of(git_dir: str) -> str:
    """setup.c get_common_dir_noenv(): ``commondir`` (relative to the git dir), else itself."""
    try:
        data = read_bytes(os.path.join(git_dir, "commondir")).rstrip(b"\r\n")
    except OSError:
        return git_dir
    return os.path.realpath(os.path.join(git_dir, os.fsdecode(data)))


def _infer_backlink(repo: WorktreeRepo, gitfile: str) -> str | None:
    """worktree.c infer_backlink(): the <id> at the end of a .git file that points into a
    repository that moved, if this repository has worktrees/<id>."""
    try:
        data = read_bytes(gitfile)
    except OSError:
        return None
    if not data.startswith(b"gitdir:"):
        return None
    worktree_id = data.strip().rsplit(b"/", 1)[-1]
    if not worktree_id or b"/" in worktree_id or worktree_id in (b".", b".."):
        return None
    inferred = repo.admin_dir(os.fsdecode(worktree_id))
    return inferred if os.path.isdir(inferred) else None


def _own_admin_id(repo: WorktreeRepo, backlink: str) -> str | None:
    parent, worktree_id = os.path.split(os.path.realpath(backlink))
    if parent == os.path.realpath(os.path.join(repo.common_dir, "worktrees")):
        return worktree_id
    return None


def _is_main_worktree_path(repo: WorktreeRepo, path: str) -> bool:
    target = os.path.realpath(path).removesuffix("/.git")
    main = os.path.realpath(repo.common_dir).removesuffix("/.git")
    return target == main


def _apply_repair(plan: RepairPlan, journal: Journal) -> JournalEntry | None:
    if not plan.items:
        return None
    return _rewrite_files(journal, plan.repo, [(i.file, i.old, i.new, i.message) for i in plan.items], plan.summary(), None)


def _rewrite_files(journal, repo, changes, summary, undo_of) -> JournalEntry:
    """Replace (or create, or remove when new is None) small files with git's lock protocol.

    changes: (path, expected old bytes or None, new bytes or None, message).
    """
    paths = [p for path, *_ in changes for p in (path, os.path.dirname(path))]
    check_owned(paths, what="repair worktrees")
    recover_interrupted(journal, repo.common_dir)
    intent = [{"file": path, "message": message} for path, _old, _new, message in changes]
    entry, locks = _begin_with_locks(journal, "worktree-repair", repo, summary, intent, [c[0] for c in changes], undo_of)
    with locks:
        with journal.preparing(entry, locks.release_all):
            held: list[HeldLock] = []
            for path, _old, _new, _message in changes:
                held.append(locks.acquire(path, timeout_ms=FILES_REF_LOCK_TIMEOUT_MS, owner_hint=owner_hint(os.path.dirname(path))))
            fault_point("repair:locks-taken")
            items, records = [], []
            for lock, (path, old, new, message) in zip(held, changes):
                current = _read_optional(path)
                if current != old:
                    raise StateChangedError(f"{path} changed since the plan; nothing was changed. Plan again")
                meta = _meta_of(path)
                items.append({"file": path, "message": message, "before_b64": _b64(old), "after_b64": _b64(new), "meta": meta})
                records.append(_planned(lock, new))
            journal.record_before(entry, items, locks=records)

        def work():
            for lock, item in zip(held, items):
                new = _unb64(item["after_b64"])
                if new is None:
                    os.unlink(item["file"])
                    fsync_dir(os.path.dirname(item["file"]))
                    lock.release()
                else:
                    like = Meta(*item["meta"]) if item["meta"] else None
                    lock.commit(new, like, lambda: fault_point("repair:file-written"))
                fault_point("repair:file-replaced")

        _run_journaled(entry, journal, locks, work)
    return entry


# --------------------------------------------------------------------------- apply and undo


def apply(plan, journal: Journal) -> JournalEntry | None:
    """Carry out a plan from this module. Returns the journal entry (None: nothing to do)."""
    journal.check_writable()
    if plan.refusals:
        raise plan.refusals[0]
    if isinstance(plan, LockPlan):
        return _apply_lock(plan, journal)
    if isinstance(plan, UnlockPlan):
        return _apply_unlock(plan, journal)
    if isinstance(plan, PrunePlan):
        return _apply_prune(plan, journal)
    if isinstance(plan, RepairPlan):
        return _apply_repair(plan, journal)
    raise TypeError(f"not a worktree plan: {type(plan).__name__}")


def undo_entry(entry: JournalEntry, journal: Journal) -> JournalEntry:
    repo = WorktreeRepo(entry.repo)
    summary = f"undo {entry.id}: {entry.summary}"
    if entry.kind == "worktree-lock":
        (item,) = entry.items
        undo = _remove_locked_for_undo(journal, repo, item, summary, entry)
    elif entry.kind == "worktree-unlock":
        (item,) = entry.items
        undo = _undo_unlock(journal, repo, item, summary, entry)
    elif entry.kind == "worktree-prune":
        undo = _undo_prune(journal, repo, entry, summary)
    elif entry.kind == "worktree-repair":
        undo = _undo_repair(journal, repo, entry, summary)
    else:
        raise WriteError(f"{entry.id}: not a worktree entry ({entry.kind})")
    journal.mark_undone(entry, undo)
    return undo


def _remove_locked_for_undo(journal, repo, item, summary, entry) -> JournalEntry:
    current = _read_optional(item["file"])
    if current is None:  # interrupted before the file appeared: nothing to take back
        return _empty_undo(journal, repo, entry, summary)
    return _remove_locked(journal, repo, item["admin"], _unb64(item["after_b64"]), summary, entry.kind, entry.id)


def _undo_unlock(journal, repo, item, summary, entry) -> JournalEntry:
    current = _read_optional(item["file"])
    before = _unb64(item["before_b64"])
    if current == before:  # interrupted before the unlink: nothing to take back
        return _empty_undo(journal, repo, entry, summary)
    return _create_locked(journal, repo, item["admin"], before, item["meta"], summary, entry.kind, entry.id)


def _undo_prune(journal, repo, entry, summary) -> JournalEntry:
    """Put pruned admin dirs back from the journal's copies (each only if its place is free)."""
    recover_interrupted(journal, repo.common_dir)
    restore = [item for item in entry.items if not os.path.lexists(item["admin"])]
    check_owned([repo.common_dir, os.path.join(repo.common_dir, "worktrees")], what="restore worktrees")
    items = [{**item, "restored_from": entry.tree_path(item["tree"])} for item in restore]
    undo = journal.begin(entry.kind, repo.common_dir, summary, items, undo_of=entry.id)
    journal.record_before(undo, items)

    def work():
        os.makedirs(os.path.join(repo.common_dir, "worktrees"), exist_ok=True)
        for item in items:
            staging = os.path.join(repo.common_dir, f"gitward-restore-{undo.nonce}-{item['tree']}")
            source = item["restored_from"]
            if os.path.isdir(source) and not os.path.islink(source):
                shutil.copytree(source, staging, symlinks=True)
            else:
                shutil.copy2(source, staging, follow_symlinks=False)
            if os.path.lexists(item["admin"]):
                _remove_path(staging)
                raise StateChangedError(f"{item['admin']} exists again; not overwritten")
            os.rename(staging, item["admin"])
            fsync_dir(os.path.dirname(item["admin"]))
            fault_point("undo:admin-restored")

    _run_journaled(undo, journal, None, work)
    return undo


def _undo_repair(journal, repo, entry, summary) -> JournalEntry:
    changes = []
    for item in entry.items:
        current = _read_optional(item["file"])
        before, after = _unb64(item["before_b64"]), _unb64(item["after_b64"])
        if current == before:
            continue  # never rewritten (interrupted)
        if current != after:
            raise StateChangedError(
                f"cannot undo {entry.id}: {item['file']} changed since it was repaired; nothing was changed"
            )
        changes.append((item["file"], after, before, f"undo {item['message']}"))
    if not changes:
        return _empty_undo(journal, repo, entry, summary)
    return _rewrite_files(journal, repo, changes, summary, entry.id)


def _empty_undo(journal, repo, entry, summary) -> JournalEntry:
    recover_interrupted(journal, repo.common_dir)
    undo = journal.begin(entry.kind, repo.common_dir, summary + " (nothing had changed)", [], undo_of=entry.id)
    journal.record_before(undo, [])
    journal.mark_done(undo)
    return undo


def _run_journaled(entry: JournalEntry, journal: Journal, locks: LockSet | None, work) -> None:
    run_journaled(
        entry,
        journal,
        locks,
        work,
        done_point=f"{entry.kind}:finished",
        advice=f"; 'gitward undo {entry.id}' restores what was changed",
        reraise=(WriteError,),  # a refusal or a failure that already says what happened
    )


# --------------------------------------------------------------------------- helpers


def _meta_of(path: str) -> list[int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [st.st_mode, st.st_uid, st.st_gid]


def _begin_with_locks(journal, kind, repo, summary, intent, targets, undo_of):
    """Journal the intent, naming the <target>.lock files about to be created."""
    nonce = new_nonce()
    marker = make_marker(nonce)
    planned = [{"path": target + ".lock", "marker": marker.decode()} for target in targets]
    entry = journal.begin(kind, repo.common_dir, summary, intent, locks=planned, nonce=nonce, undo_of=undo_of)
    return entry, LockSet(marker, repo=repo.common_dir)


def _planned(lock: HeldLock, content: bytes | None) -> dict:
    record = lock.record()
    if content is not None:
        record["planned_b64"] = _b64(content)
    return record


def _read_optional(path: str) -> bytes | None:
    try:
        return read_bytes(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # not a regular file
            return None
        raise


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "surrogateescape")




# --------------------------------------------------------------------------- --expire


_UNITS = {
    "second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1,
    "minute": 60, "minutes": 60, "min": 60, "mins": 60, "m": 60,
    "hour": 3600, "hours": 3600, "h": 3600,
    "day": 86400, "days": 86400, "d": 86400,
    "week": 7 * 86400, "weeks": 7 * 86400, "w": 7 * 86400,
    "month": 30 * 86400, "months": 30 * 86400,
    "year": 365 * 86400, "years": 365 * 86400,
}


def parse_expire(text: str, now: float | None = None) -> float:
    """git's --expire values that operators use: "now"/"all", "never", "<n>.<unit>[.ago]",
    "<n> <unit> [ago]", "@<epoch>", ISO dates. Epoch seconds; raise ValueError otherwise."""
    # local by habit only: importing this module already loads it (could move to the top)
    from tui.core.worktrees import TIME_MAX

    now = time.time() if now is None else now
    value = text.strip().lower()
    if value in ("now", "all"):
        return TIME_MAX  # parse_expiry_date(): everything expires
    if value in ("never", "false"):
        return 0.0
    if value.startswith("@") and value[1:].isdigit():
        return float(value[1:])
    match = re.fullmatch(r"(\d+)[. ]+([a-z]+)(?:[. ]+ago)?", value)
    if match and match.group(2) in _UNITS:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    # lazy (import cost): datetime loads on first use, not with this module
    from datetime import datetime, timezone

    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"cannot parse --expire {text!r} (try '2.weeks.ago', 'now', 'never', or a date)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()

