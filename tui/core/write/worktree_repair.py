"""``git worktree repair`` (builtin/worktree.c ``repair``; worktree.c ``repair_worktree_at_path``,
``repair_gitfile``, ``infer_backlink``), journaled, with undo.

gitward never rewrites another repository's files (a ``.git`` file pointing elsewhere), and
never writes over a file it could not read (unknown is not broken).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.units import plural
from tui.core.write.errors import RefusedError, StateChangedError
from tui.core.write.journal import Journal, JournalEntry
from tui.core.write.locking import FILES_REF_LOCK_TIMEOUT_MS, HeldLock, fault_point
from tui.core.write.ownership import Meta, check_owned, owner_hint
from tui.core.write.recovery import recover_interrupted
from tui.core.write.worktree_common import (
    WorktreeRepo,
    begin_with_locks,
    check_applicable,
    empty_undo,
    meta_of,
    opt_b64,
    opt_text,
    opt_unb64,
    owner_refusals,
    planned_lock_record,
    read_optional,
    run_journaled_change,
)
from tui.core.gitfile import Gitfile, GitfileError, parse_gitfile, read_gitfile
from tui.core.worktrees import GitdirResolver

__all__ = ["RepairItem", "RepairPlan", "apply", "plan_repair", "undo_entry"]



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
            "old": opt_text(self.old),
            "new": opt_text(self.new),
        }


@dataclass
class RepairPlan:
    repo: WorktreeRepo
    items: list[RepairItem] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, git's message)
    refusals: list[RefusedError] = field(default_factory=list)

    def summary(self) -> str:
        return f"worktree repair in {self.repo.common_dir}: {plural(len(self.items), 'file')}"

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
    plan.refusals.extend(owner_refusals(touched, "repair worktrees"))
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
        return read_optional(path)

    def read_gitfile(self, path: str) -> Gitfile:
        if path in self._written:
            return parse_gitfile(path, self._written[path])
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
    found = files.read_gitfile(realdotgit)
    backlink = found.git_dir
    if found.error is GitfileError.NOT_A_FILE:
        plan.errors.append((realdotgit, "unable to locate repository; .git is not a file"))
        return
    if found.error is GitfileError.NOT_A_REPO:
        backlink = _infer_backlink(repo, realdotgit)
        if backlink is None:
            plan.errors.append((realdotgit, "unable to locate repository; .git file does not reference a repository"))
            return
    elif found.error is not None:
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
    found = files.read_gitfile(dotgit)
    if found.error is GitfileError.NOT_A_FILE:
        plan.errors.append((path, ".git is not a file"))
        return
    if found.error is not None:
        message = ".git file broken"
    elif found.git_dir != repo_admin:
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


def apply(plan: RepairPlan, journal: Journal) -> JournalEntry | None:
    """Rewrite the planned files with git's lock protocol (None: nothing to repair)."""
    check_applicable(plan, journal)
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
    entry, locks = begin_with_locks(journal, "worktree-repair", repo, summary, intent, [c[0] for c in changes], undo_of)
    with locks:
        with journal.preparing(entry, locks.release_all):
            held: list[HeldLock] = []
            for path, _old, _new, _message in changes:
                held.append(locks.acquire(path, timeout_ms=FILES_REF_LOCK_TIMEOUT_MS, owner_hint=owner_hint(os.path.dirname(path))))
            fault_point("repair:locks-taken")
            items, records = [], []
            for lock, (path, old, new, message) in zip(held, changes):
                current = read_optional(path)
                if current != old:
                    raise StateChangedError(f"{path} changed since the plan; nothing was changed. Plan again")
                meta = meta_of(path)
                items.append({"file": path, "message": message, "before_b64": opt_b64(old), "after_b64": opt_b64(new), "meta": meta})
                records.append(planned_lock_record(lock, new))
            journal.record_before(entry, items, locks=records)

        def work():
            for lock, item in zip(held, items):
                new = opt_unb64(item["after_b64"])
                if new is None:
                    os.unlink(item["file"])
                    fsync_dir(os.path.dirname(item["file"]))
                    lock.release()
                else:
                    like = Meta(*item["meta"]) if item["meta"] else None
                    lock.commit(new, like, lambda: fault_point("repair:file-written"))
                fault_point("repair:file-replaced")

        run_journaled_change(entry, journal, locks, work)
    return entry


# --------------------------------------------------------------------------- undo


def undo_entry(entry: JournalEntry, journal: Journal) -> JournalEntry:
    """Put back the files a ``worktree-repair`` entry rewrote, if they still hold what it wrote."""
    repo = WorktreeRepo(entry.repo)
    summary = f"undo {entry.id}: {entry.summary}"
    changes = []
    for item in entry.items:
        current = read_optional(item["file"])
        before, after = opt_unb64(item["before_b64"]), opt_unb64(item["after_b64"])
        if current == before:
            continue  # never rewritten (interrupted)
        if current != after:
            raise StateChangedError(
                f"cannot undo {entry.id}: {item['file']} changed since it was repaired; nothing was changed"
            )
        changes.append((item["file"], after, before, f"undo {item['message']}"))
    if not changes:
        undo = empty_undo(journal, repo, entry, summary)
    else:
        undo = _rewrite_files(journal, repo, changes, summary, entry.id)
    journal.mark_undone(entry, undo)
    return undo
