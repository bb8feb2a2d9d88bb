"""git-sync's update, done by gitward on a git-sync root: fetch, worktree, check, link swap, cleanup.

The layout is git-sync v4's (kubernetes/git-sync ``main.go``): the repository is the root itself
(``git init -b git-sync``, remote ``origin``), one detached worktree per synced commit at
``<root>/.worktrees/<sha>`` (``git worktree add --force --detach --no-checkout``, its ``.git``
file rewritten relative so the volume can be mounted elsewhere, then ``git reset --hard``), and
the ``--link`` symlink, relative, swapped by renaming a ``tmp-link`` onto it.

``sync_git_sync_root`` follows ``SyncRepo`` step by step, with the lesson of incident 2 built in
(git-sync on NFS deleted and rebuilt worktrees in a loop because a check that *timed out* was
taken for a check that *failed*):

- every health check answers ok, broken or unknown (``Health``); a timeout, an I/O error or a
  permission error is unknown, and nothing is deleted or rebuilt on unknown;
- the link is only ever swapped to a worktree whose check said ok;
- old worktrees are removed only when they are neither current nor locked (a lock whose state
  cannot be read counts as locked); NFS silly-rename files (``.nfs*``) are left to NFS;
- ``git worktree prune`` is skipped when the listing shows anything unknown, or worktrees
  registered at another path (this volume mounted elsewhere: git would prune them all).

Differences from git-sync, on purpose: no ``git gc`` (a sync never starts housekeeping), no
``--depth`` (the root keeps the history it has), no submodules/sparse checkout, a broken
current worktree whose HEAD is readable is repaired in place (``checkout --force --detach``;
the stray commit stays in its reflog) rather than deleted while it is being served, an existing
sane worktree for the new commit is reused, and a non-empty directory that is not a repository
is refused, never wiped.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from dataclasses import dataclass, field
from enum import StrEnum

from tui.core.units import plural
from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.gitfile import Gitfile, GitfileError, read_gitfile
from tui.core.gitsync_layout import GIT_SYNC_BRANCH, TMP_LINK, WORKTREES_DIR, git_sync_view
from tui.core.redact import redact_url
from tui.core.sync.git import GitRunner, RefChange, SyncError, diff_refs, read_refs
from tui.core.sync.plan import SyncPlan
from tui.core.worktrees import list_worktrees
CHECK_TIMEOUT_SECONDS = 30.0  # one health-check command; running out means *unknown*
# Plumbing inside a worktree must not run the repository's hooks or fsmonitor.
_NO_HOOKS = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"]
# git's errors that mean "could not look", not "looked and it is wrong".
_CANNOT_TELL = re.compile(
    r"Input/output error|Stale file handle|Resource temporarily unavailable|Transport endpoint"
    r"|timed out|Interrupted system call|Permission denied|Too many open files|No such device",
    re.IGNORECASE,
)
_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR})
_EMPTY = "the directory is empty"


# --------------------------------------------------------------------------- plan helpers


def worktree_path(root: str, sha: str) -> str:
    return os.path.join(root, WORKTREES_DIR, sha)


def _git_dir_of(root: str) -> str:
    # git-sync's roots are non-bare (<root>/.git); a bare repository with .worktrees/ is its own
    dot_git = os.path.join(root, ".git")
    return dot_git if os.path.isdir(dot_git) else root


# --------------------------------------------------------------------------- health


class Health(StrEnum):
    OK = "ok"
    BROKEN = "broken"
    UNKNOWN = "unknown"  # could not look: never a reason to delete or rebuild


@dataclass(frozen=True, slots=True)
class Check:
    health: Health
    reason: str = ""
    missing: bool = False  # broken because the directory is not there at all
    head: str | None = None  # the HEAD found, when it could be read

    @property
    def ok(self) -> bool:
        return self.health is Health.OK


def _unknown(reason: str) -> Check:
    return Check(Health.UNKNOWN, reason)


def _broken(reason: str, **kwargs) -> Check:
    return Check(Health.BROKEN, reason, **kwargs)


def check_worktree(runner: GitRunner, path: str, sha: str) -> Check:
    """Is ``path`` a sane worktree of ``sha``? (git-sync's ``sanityCheckWorktree``, three answers.)

    Present, not empty, a ``.git`` file naming an admin dir, HEAD equal to ``sha``, no modified
    tracked files.
    """
    try:
        names = os.listdir(path)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return _broken("the directory is missing", missing=True)
        return _unknown(f"cannot list {path}: {exc.strerror or exc}")
    if not names:
        return _broken(_EMPTY)
    if ".git" not in names:
        return _broken("it has no .git file")
    answer = _gitfile_check(os.path.join(path, ".git"))
    if answer is not None:
        return answer
    head = _git_check(runner, ["rev-parse", "--verify", "-q", "HEAD"], path, "rev-parse HEAD")
    if isinstance(head, Check):
        return head
    head = head.strip()
    if head != sha:
        return _broken(f"HEAD is {head[:12] or 'unreadable'}, not {sha[:12]}", head=head)
    status = _git_check(runner, [*_NO_HOOKS, "status", "--porcelain", "--untracked-files=no"], path, "status")
    if isinstance(status, Check):
        return Check(status.health, status.reason, head=head)
    modified = [line for line in status.splitlines() if line.strip()]
    if modified:
        return _broken(f"{plural(len(modified), 'tracked file')} modified", head=head)
    return Check(Health.OK, head=head)


def _gitfile_check(gitfile: str) -> Check | None:
    """What the ``.git`` file alone says, by git's rules (``tui.core.gitfile``): None when it
    names a git dir, else the answer. A read that failed on the way (EACCES, EIO, ESTALE) is
    *unknown* ("cannot read PATH: strerror"); a FIFO planted there is never opened."""
    found = read_gitfile(gitfile)
    if found.ok:
        return None
    if found.unknown:
        return _unknown(_cannot_read(found))
    if found.error is GitfileError.STAT_FAILED:
        return _broken("it has no .git file")
    if found.error is GitfileError.NOT_A_FILE:
        return _broken("its .git is not a regular file")
    return _broken(f"its .git file does not name a git dir ({found.message})")


def _cannot_read(found: Gitfile) -> str:
    error = found.os_error
    return f"cannot read {error.filename or found.path}: {error.strerror or error}"


def _git_check(runner: GitRunner, args: list[str], cwd: str, what: str) -> str | Check:
    """Run one check command: its stdout, or the Check that its failure means."""
    timeout = min(CHECK_TIMEOUT_SECONDS, max(runner.remaining(), 0.1))
    result = runner.run(args, cwd, capture=True, quiet=True, timeout=timeout)
    if result.ok:
        return result.stdout
    if result.step_timed_out:
        return _unknown(f"git {what} did not answer within {timeout:.0f} s")
    if result.error and _CANNOT_TELL.search(result.error):
        return _unknown(result.error)
    return _broken(result.error or f"git exited with {result.returncode}")


# --------------------------------------------------------------------------- the update


@dataclass(slots=True)
class GitSyncOutcome:
    sha: str  # the commit the tracked ref resolved to
    old_target: str | None  # where the link pointed before (absolute), None: no link
    new_target: str  # where it points now
    published: bool  # the link was (re)written
    repaired: str | None = None  # what was wrong with the current worktree, if it was repaired
    removed: list[str] = field(default_factory=list)  # entries of .worktrees/ removed
    kept: list[str] = field(default_factory=list)  # entries kept, with why
    # what could not be read ("PATH: strerror"): unknown, so kept; the sync then exits non-zero
    unreadable: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changed_refs: list[RefChange] = field(default_factory=list)


def sync_git_sync_root(runner: GitRunner, plan: SyncPlan) -> GitSyncOutcome:
    """The whole git-sync update of ``plan.path``; raises SyncError/GitFailed/Stopped on failure,
    in which case the link still points where it pointed (to a worktree that was sane or that
    gitward could not judge, never to one it built and found broken)."""
    root, link, log = plan.path, plan.link or "", runner.log
    if plan.initialise:
        _initialise(runner, plan)
    old_target = read_link(link)
    log.note(f"link {link} -> {old_target or '(none)'}; tracking {plan.ref} of {plan.remote} ({plan.url})")
    before = read_refs(runner, root)
    runner.run_checked(["fetch", "--progress", "--prune", "--no-auto-gc", plan.remote, plan.ref or "HEAD"], root, what="fetch")
    sha = _fetched_commit(runner, root, plan.ref or "HEAD")
    target = worktree_path(root, sha)
    outcome = GitSyncOutcome(sha=sha, old_target=old_target, new_target=target, published=False)
    if old_target is not None and os.path.normpath(old_target) == target:
        log.note(f"{plan.ref} is still {sha[:12]}: checking the current worktree")
        outcome.repaired = _ensure_current_sane(runner, root, target, sha)
    else:
        log.note(f"{plan.ref} is {sha[:12]}: preparing {os.path.relpath(target, root)}")
        _prepare_worktree(runner, root, target, sha)
        runner.check_stop()  # the last point where a cancel leaves everything as it was
        publish_link(link, target)
        outcome.published = True
        log.note(f"link {link} -> {os.path.relpath(target, os.path.dirname(link))} (swapped atomically)")
    _follow_with_branch(runner, plan.git_dir, root, sha, outcome)
    cleanup_worktrees(runner, plan.git_dir, root, target, outcome)
    outcome.changed_refs = diff_refs(before, read_refs(runner, root))
    return outcome


def _follow_with_branch(runner: GitRunner, git_dir: str, root: str, sha: str, outcome: GitSyncOutcome) -> None:
    """Like git-sync, move the root's ``git-sync`` branch to the served commit (``reset --soft``)
    so it stays reachable for gc; but only that branch: if an operator checked out another one
    in the root, ``reset`` would move *that* branch."""
    try:
        head = read_bytes(os.path.join(git_dir, "HEAD"), 256).strip().decode("utf-8", "replace")
    except OSError as exc:
        head = f"unreadable ({exc.strerror or exc})"
    if head != f"ref: {GIT_SYNC_BRANCH}":
        outcome.warnings.append(f"the root's HEAD is {head}, not {GIT_SYNC_BRANCH}: not moved")
        runner.log.note(outcome.warnings[-1])
        return
    runner.run_checked(["reset", "--soft", "-q", sha], root, quiet=True, what="move the git-sync branch")


def _initialise(runner: GitRunner, plan: SyncPlan) -> None:
    """git-sync's ``initRepo`` for an empty root: ``git init -b git-sync`` and the remote."""
    os.makedirs(plan.path, exist_ok=True)
    runner.run_checked(["init", "-q", "-b", "git-sync"], plan.path, what="init")
    url = plan.request.url or ""
    runner.run_checked(
        ["remote", "add", plan.remote, url], plan.path, show=["remote", "add", plan.remote, redact_url(url)], what="add the remote"
    )


def read_link(link: str) -> str | None:
    """Absolute target of the link, None when there is none. Anything else at that path, or a
    link that cannot be read, stops the sync: gitward does not replace what it cannot judge."""
    try:
        target = os.readlink(link)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return None
        if exc.errno == errno.EINVAL:
            raise SyncError(f"{link} exists and is not a symlink; refusing to replace it") from None
        raise SyncError(f"cannot read the link {link}: {exc.strerror or exc}; nothing was changed") from None
    return os.path.normpath(os.path.join(os.path.dirname(link), target))


def _fetched_commit(runner: GitRunner, root: str, ref: str) -> str:
    # ^{commit}: git-sync's ^{} (peel annotated tags) plus "and it must be a commit".
    result = runner.run(["rev-parse", "--verify", "-q", "FETCH_HEAD^{commit}"], root, capture=True, quiet=True)
    sha = result.stdout.strip()
    if not result.ok or not sha:
        raise SyncError(f"{ref} does not name a commit upstream; the link was not touched")
    return sha


def _ensure_current_sane(runner: GitRunner, root: str, target: str, sha: str) -> str | None:
    """The link already serves ``sha``: check it, repair it if broken; returns what was wrong.

    The served worktree is never removed: a reader of the link would find nothing. It is
    rebuilt only where it is already gone or empty, and repaired in place where its HEAD reads.
    """
    check = check_worktree(runner, target, sha)
    if check.ok:
        runner.log.note("current worktree: ok")
        return None
    if check.health is Health.UNKNOWN:
        raise SyncError(f"cannot tell whether the current worktree is sane ({check.reason}); unknown is not broken, so nothing was changed")
    runner.log.note(f"current worktree: broken ({check.reason}); repairing it")
    if check.missing or check.reason == _EMPTY:
        _build_worktree(runner, root, target, sha)
    elif check.head is not None:
        _repair_in_place(runner, target, sha, check)
    else:
        raise SyncError(
            f"the served worktree {target} is broken ({check.reason}) and gitward never removes the worktree "
            f"the link serves; repair it by hand (git -C {root} worktree repair {target}), then sync again"
        )
    _require_ok(runner, target, sha, "the repaired worktree")
    return check.reason


def _repair_in_place(runner: GitRunner, target: str, sha: str, check: Check) -> None:
    # It is being served: put it right where it stands instead of deleting it.
    if check.head and check.head != sha:
        runner.log.note(f"HEAD was {check.head}; it stays in this worktree's reflog (git -C {target} reflog)")
    runner.run_checked([*_NO_HOOKS, "checkout", "--force", "--detach", "-q", sha, "--"], target, what="repair the worktree")


def _prepare_worktree(runner: GitRunner, root: str, target: str, sha: str) -> None:
    """Make ``target`` a sane worktree of ``sha``: reuse it if it already is one, else (re)build."""
    if os.path.lexists(target):
        check = check_worktree(runner, target, sha)
        if check.ok:
            runner.log.note(f"{os.path.relpath(target, root)} exists and is sane: reusing it")
            return
        if check.health is Health.UNKNOWN:
            raise SyncError(f"cannot tell whether {target} is sane ({check.reason}); nothing was changed")
        _replace_broken(runner, root, target, sha, check)
    else:
        _build_worktree(runner, root, target, sha)
    _require_ok(runner, target, sha, "the new worktree")


def _replace_broken(runner: GitRunner, root: str, target: str, sha: str, check: Check) -> None:
    lock = entry_lock(read_admin_dirs(_git_dir_of(root), root), target)
    if lock.locked is not False:
        why = "it is locked" if lock.locked else f"its lock state cannot be read ({lock.reason})"
        raise SyncError(f"{target} is broken ({check.reason}) but {why}; gitward will not delete it. Unlock or repair it by hand")
    runner.check_stop()
    runner.log.note(f"removing broken {os.path.relpath(target, root)} ({check.reason}) to rebuild it")
    remove_entry(target)
    _build_worktree(runner, root, target, sha)


def _build_worktree(runner: GitRunner, root: str, target: str, sha: str) -> None:
    """git-sync's ``createWorktree`` + ``configureWorktree``."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    runner.run_checked(
        [*_NO_HOOKS, "worktree", "add", "--force", "--detach", "--no-checkout", target, sha], root, what="add the worktree"
    )
    runner.check_stop()
    _make_gitfile_relative(target)
    runner.run_checked([*_NO_HOOKS, "reset", "--hard", "-q", sha, "--"], target, what="check out the worktree")


def _make_gitfile_relative(target: str) -> None:
    """The volume may be mounted at another path in the consumer: ``gitdir: ../../.git/worktrees/<id>``."""
    gitfile = os.path.join(target, ".git")
    admin = read_gitfile(gitfile).git_dir
    if admin is None:
        raise SyncError(f"git wrote no usable .git file in {target}")
    temporary = gitfile + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(f"gitdir: {os.path.relpath(admin, target)}\n")
    os.replace(temporary, gitfile)


def _require_ok(runner: GitRunner, target: str, sha: str, what: str) -> None:
    check = check_worktree(runner, target, sha)
    if not check.ok:
        raise SyncError(f"{what} failed its check: {check.health.value} ({check.reason}); the link was not moved to it")
    runner.log.note(f"{os.path.basename(target)[:12]}: ok (HEAD {sha[:12]}, no modified files)")


# --------------------------------------------------------------------------- the link


def publish_link(link: str, target: str) -> None:
    """git-sync's ``publishSymlink``: a relative ``tmp-link`` next to the link, renamed onto it.

    rename(2) replaces the old link atomically: a reader sees the old target or the new one,
    never nothing.
    """
    link_dir = os.path.dirname(link)
    os.makedirs(link_dir, exist_ok=True)
    if os.path.lexists(link) and not os.path.islink(link):
        raise SyncError(f"{link} exists and is not a symlink; refusing to replace it")
    temporary = os.path.join(link_dir, TMP_LINK)
    if os.path.lexists(temporary):
        if not os.path.islink(temporary):
            raise SyncError(f"{temporary} exists and is not a symlink; refusing to replace it")
        os.unlink(temporary)  # left over from an interrupted swap
    os.symlink(os.path.relpath(target, link_dir), temporary)
    os.rename(temporary, link)
    fsync_dir(link_dir)


# --------------------------------------------------------------------------- cleanup


@dataclass(slots=True)
class AdminDirs:
    """The repository's worktree admin dirs (``$GIT_COMMON_DIR/worktrees/<id>``), as their own
    ``gitdir`` files describe them: where a worktree's lock lives, found without its ``.git`` file."""

    git_dir: str
    ids: frozenset[str]
    by_path: dict[str, list[str]]  # real path of a registered worktree -> its admin ids
    unreadable: list[str]  # "PATH: strerror": admin dirs that cannot be tied to a worktree


def read_admin_dirs(git_dir: str, root: str) -> AdminDirs:
    base = os.path.join(git_dir, "worktrees")
    try:
        ids = frozenset(os.listdir(base))
    except OSError as exc:
        unreadable = [] if exc.errno in _ABSENT else [f"cannot list {base}: {exc.strerror or exc}"]
        return AdminDirs(git_dir, frozenset(), {}, unreadable)
    by_path: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for wt in list_worktrees(git_dir, main_path=root, bare=False):
        if wt.main or wt.id is None:
            continue
        if wt.listed and wt.path:
            by_path.setdefault(os.path.realpath(wt.path), []).append(wt.id)
        else:  # its gitdir file could not be read: it may be any entry's admin dir
            unreadable.extend(p.message for p in wt.problems if p.code == "unreadable")
    return AdminDirs(git_dir, ids, by_path, unreadable)


@dataclass(frozen=True, slots=True)
class LockState:
    locked: bool | None  # None: cannot tell, which counts as locked
    reason: str = ""  # the lock reason when locked; what could not be read when None
    unreadable: tuple[str, ...] = ()  # every read that failed on the way ("PATH: strerror")


def entry_lock(admins: AdminDirs, entry: str) -> LockState:
    """Is the worktree at ``entry`` locked? Looked up in the admin dirs that may be its own: the
    ones whose ``gitdir`` names it, the one named like it (``git worktree add`` names the admin
    dir after the directory), and the one its ``.git`` file names (when that reads). A locked
    one wins; any read that failed on the way makes the answer unknown."""
    ids = set(admins.by_path.get(os.path.realpath(entry), ()))
    if os.path.basename(entry) in admins.ids:
        ids.add(os.path.basename(entry))
    unreadable = list(admins.unreadable)
    found = read_gitfile(os.path.join(entry, ".git"))
    if found.unknown:
        unreadable.append(_cannot_read(found))
    named = _admin_id(found)
    if named in admins.ids:
        ids.add(named)
    reasons = []
    for admin_id in sorted(ids):
        locked, text = lock_state(admins.git_dir, admin_id)
        if locked:
            reasons.append(text)
        elif locked is None:
            unreadable.append(text)
    if reasons:
        return LockState(True, "; ".join(r for r in reasons if r), tuple(unreadable))
    if unreadable:
        return LockState(None, "; ".join(unreadable), tuple(unreadable))
    return LockState(False)


def admin_id_of(entry: str) -> str | None:
    """The admin dir id (``.git/worktrees/<id>``) a worktree directory's ``.git`` file names."""
    return _admin_id(read_gitfile(os.path.join(entry, ".git")))


def _admin_id(found: Gitfile) -> str | None:
    # The path as named, whether or not it is still a valid git dir: a lock may sit in an admin
    # dir git would no longer open, and a lock missed is a worktree deleted.
    if found.target is None:
        return None
    admin = os.path.normpath(found.target)
    return os.path.basename(admin) if os.path.basename(os.path.dirname(admin)) == "worktrees" else None


def lock_state(git_dir: str, admin_id: str) -> tuple[bool | None, str]:
    """(True, reason): locked; (False, ""): not locked; (None, "cannot read PATH: strerror")."""
    path = os.path.join(git_dir, "worktrees", admin_id, "locked")
    try:
        os.lstat(path)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return False, ""
        return None, f"cannot read {path}: {exc.strerror or exc}"
    try:
        reason = read_bytes(path, 512).decode("utf-8", "replace").strip()
    except OSError:
        reason = ""  # present, so locked; the reason is only for the log
    return True, reason


def remove_entry(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def cleanup_worktrees(runner: GitRunner, git_dir: str, root: str, current: str, outcome: GitSyncOutcome) -> None:
    """git-sync's ``cleanup``: everything in ``.worktrees/`` but the current worktree goes,
    except locked worktrees, entries whose state cannot be read, and NFS silly-rename files;
    then ``git worktree prune`` unless the listing makes that unsafe."""
    log = runner.log
    wt_dir = os.path.join(root, WORKTREES_DIR)
    try:
        entries = sorted(os.scandir(wt_dir), key=lambda e: e.name)
    except OSError as exc:
        outcome.unreadable.append(f"cannot list {wt_dir}: {exc.strerror or exc}")
        log.note(f"{outcome.unreadable[-1]}: unknown, so no cleanup")
        return
    admins = read_admin_dirs(git_dir, root)
    for entry in entries:
        path = os.path.normpath(entry.path)
        if path == current:
            continue
        why_keep = _reason_to_keep(admins, entry, outcome)
        if why_keep:
            outcome.kept.append(f"{entry.name}: {why_keep}")
            log.note(f"kept {WORKTREES_DIR}/{entry.name}: {why_keep}")
            continue
        runner.check_stop()  # a sync past its deadline (or abandoned) deletes nothing more
        try:
            remove_entry(path)
        except OSError as exc:
            outcome.warnings.append(f"could not remove {path}: {exc.strerror or exc}")
            log.note(outcome.warnings[-1])
            continue
        outcome.removed.append(entry.name)
        log.note(f"removed {WORKTREES_DIR}/{entry.name}")
    _prune_if_safe(runner, git_dir, root, outcome)


def _reason_to_keep(admins: AdminDirs, entry: os.DirEntry, outcome: GitSyncOutcome) -> str | None:
    if entry.name.startswith(".nfs"):
        return "an NFS silly-rename file (a deleted file still open somewhere); NFS removes it"
    try:
        entry.stat(follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return "vanished while cleaning"
        outcome.unreadable.append(f"cannot read {entry.path}: {exc.strerror or exc}")
        return f"{outcome.unreadable[-1]}: unknown, so not deleted"
    lock = entry_lock(admins, entry.path)
    outcome.unreadable.extend(u for u in lock.unreadable if u not in outcome.unreadable)
    if lock.locked:
        return "locked" + (f" ({lock.reason})" if lock.reason else "") + (
            f"; and {'; '.join(lock.unreadable)}" if lock.unreadable else ""
        )
    if lock.locked is None:
        return f"{lock.reason}: unknown, so not deleted"
    return None


def _prune_if_safe(runner: GitRunner, git_dir: str, root: str, outcome: GitSyncOutcome) -> None:
    why_not, unknown = _prune_unsafe(git_dir, root)
    if unknown and not outcome.unreadable:
        # Something no cleanup step met (a worktree's HEAD, say): still unknown, still reported.
        outcome.unreadable.append(why_not)
    if why_not:
        outcome.warnings.append(f"git worktree prune skipped: {why_not}")
        runner.log.note(outcome.warnings[-1])
        return
    result = runner.run(["worktree", "prune", "--verbose"], root)
    if not result.ok:
        outcome.warnings.append(f"git worktree prune failed: {result.error}")


def _prune_unsafe(git_dir: str, root: str) -> tuple[str | None, bool]:
    """Why ``git worktree prune`` must not run now (None: it may), and whether that is because
    something could not be read.

    git prunes a worktree whose directory it cannot see; on a volume that blinked, or mounted at
    another path than the one git recorded, that is every worktree.
    """
    worktrees = list_worktrees(git_dir, main_path=root, bare=False)
    # git_sync_view's worktree-path-mismatch: an entry of .worktrees/ whose .git file names the
    # admin dir of a worktree registered at another path (subject: its id).
    _, _, view_problems = git_sync_view(root, worktrees)
    elsewhere = {p.subject for p in view_problems if p.code == "worktree-path-mismatch"}
    for wt in worktrees:
        for problem in wt.problems:
            # git never prunes a locked worktree, whatever it cannot read in it
            if problem.code == "unreadable" and not wt.locked:
                return problem.message, True
        if wt.id in elsewhere and wt.path and not wt.locked and wt.prunable:
            return (
                f"worktrees/{wt.id} is registered at {wt.path} but lives under {root}: this volume is "
                "mounted at another path than git recorded, and prune would remove it"
            ), False
    return None, False
