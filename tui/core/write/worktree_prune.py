"""``git worktree prune`` (builtin/worktree.c ``prune_worktrees``/``prune_dups``,
worktree.c ``should_prune_worktree``), journaled, with undo.

Where gitward is stricter than git it says so in the plan (``kept``): it keeps an entry whose
worktree path could not be checked (EACCES, EIO, a volume that blinked): git's
``file_exists()`` turns *unknown* into *gone*; gitward never destroys on unknown. It copies
every admin dir it removes into the journal first (undo restores it), and keeps one it cannot
copy (special files, larger than MAX_BACKUP_BYTES). Why a prunable worktree may only be away
for a while (a moved or unmounted volume) is ``prune_cautions.py``'s question.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from dataclasses import dataclass, field

from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.model import Worktree
from tui.core.write.errors import RefusedError, StateChangedError, WriteError
from tui.core.write.journal import Journal, JournalEntry
from tui.core.write.locking import fault_point, new_nonce, unlink_if_exists
from tui.core.write.ownership import check_owned
from tui.core.write.recovery import recover_interrupted
from tui.core.write.worktree_common import (
    WorktreeRepo,
    check_applicable,
    owner_refusals,
    run_journaled_change,
)
from tui.core.worktree_head import c_string
from tui.core.worktrees import GitdirResolver

__all__ = ["MAX_BACKUP_BYTES", "PruneItem", "PrunePlan", "apply", "plan_prune", "undo_entry"]

# Prune removes an admin dir only after copying it into the journal (undo puts it back).
# Past this size, or with a FIFO/device inside, gitward keeps the dir and says why.
MAX_BACKUP_BYTES = 512 * 1024 * 1024


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
        plan.refusals.extend(owner_refusals([repo.common_dir, os.path.join(repo.common_dir, "worktrees"), *admins], "prune worktrees"))
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
        data = c_string(read_bytes(os.path.join(admin, "gitdir")).rstrip(b"\r\n"))
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


def apply(plan: PrunePlan, journal: Journal) -> JournalEntry | None:
    """Remove the admin dirs, each copied into the journal first (None: nothing to prune)."""
    check_applicable(plan, journal)
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

    run_journaled_change(entry, journal, None, work)
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


# --------------------------------------------------------------------------- undo


def undo_entry(entry: JournalEntry, journal: Journal) -> JournalEntry:
    """Put pruned admin dirs back from the journal's copies (each only if its place is free)."""
    repo = WorktreeRepo(entry.repo)
    summary = f"undo {entry.id}: {entry.summary}"
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

    run_journaled_change(undo, journal, None, work)
    journal.mark_undone(entry, undo)
    return undo
