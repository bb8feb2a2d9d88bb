"""Worktrees exactly as git sees them, read straight from the files (no subprocess, no writes).

The rules mirror git 2.39 (the version on the hosts we run on):

* ``worktree.c``: ``get_main_worktree`` (real path of the common dir, ``/.git`` stripped),
  ``get_linked_worktree`` (an admin dir whose ``gitdir`` file is missing, empty or unreadable is
  *not listed*), ``worktree_lock_reason`` (``locked`` file, ``strbuf_trim``) and
  ``should_prune_worktree`` (the prunable reasons, their order and wording).
* ``builtin/worktree.c``: ``list`` uses ``expire = TIME_MAX`` and sorts linked worktrees by
  path (``fspathcmp``) after the main one; ``prune`` drops *duplicate entries* (``prune_dups``).
* ``refs/files-backend.c``: how ``HEAD`` resolves (loose file, then ``packed-refs``; a missing
  or unborn target still yields a branch; a bad name or unparseable file yields nothing).

A relative path in ``gitdir``: git 2.39 hands it to ``file_exists()`` as it is, so it is
relative to the directory git runs in (the main worktree's top for ``git -C REPO``, the git dir
of a bare repository); ``git worktree prune`` then removes the entry as pointing to a
non-existent location unless that happens to exist. We resolve it there (``GitdirResolver``).
git 2.48+ writes relative paths itself (``worktree.useRelativePaths``), always together with
``extensions.relativeWorktrees``, which git 2.39 refuses to open: with that extension, relative
paths are resolved against the admin dir ``worktrees/<id>/`` as that git does. Deliberate
difference: git 2.39 *lists* such a worktree at the raw relative text; we show the absolute
path it resolves to (a relative path on screen means nothing to an operator).

Problem codes (all on ``Worktree.problems``; scan-level ones on the main worktree):
``prunable-worktree``, ``missing-worktree``, ``duplicate-worktree``, ``unlisted-worktree``,
``broken-worktree-gitfile``, ``broken-head``, ``broken-commondir``, ``unreadable``. git-sync's
view of a root (the served worktree, its problems) is in ``tui.core.gitsync_layout``; HEAD is
resolved by ``tui.core.worktree_head``.

Three answers, never two: a file we cannot read (EACCES, EIO, ELOOP, a volume that blinked)
is *unknown* and reported as ``unreadable``; it is never treated as *gone*.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import NamedTuple

from tui.core.fsutil import open_for_reading, read_file, read_up_to
from tui.core.gitfile import GitfileError, read_gitfile
from tui.core.gitconfig import parse_bool, read_config
from tui.core.model import Problem, Severity, Worktree
from tui.core.worktree_head import (
    GIT_SPACE,
    Head,
    RefReader,
    RefReaders,
    c_string,
    describe,
    file_exists,
    is_absent,
    is_directory,
    same_path,
    text,
    unreadable_problem,
)

__all__ = ["GitdirResolver", "linked_worktree_entries", "list_worktrees"]

# (commit id or None when unborn, "refs/heads/x" or None when detached)
MainHead = tuple[str | None, str | None]

# git's TIME_MAX: ``git worktree list`` (and ``prune``) without --expire prune regardless of age.
TIME_MAX = float(2**63 - 1)

_NOT_EXISTING = "gitdir file points to non-existent location"


# --------------------------------------------------------------------------- admin dir rules


@dataclass(slots=True)
class _PruneVerdict:
    reason: str | None = None  # git's wording, None: not prunable
    kept_path: bytes | None = None  # what prune_dups compares (gitdir content), None: not kept
    gitfile_error: OSError | None = None  # why the .git file looked absent, when it did


class GitdirResolver:
    """Where a ``worktrees/<id>/gitdir`` path points, for one repository (see the module notes)."""

    def __init__(self, common_dir: str, main_path: str | None) -> None:
        self.common_dir = common_dir
        # get_main_worktree(): where `git -C REPO` runs (a bare repository: its git dir).
        self.git_cwd = main_path or os.path.realpath(common_dir).removesuffix("/.git")
        self._admin_relative: bool | None = None  # read from the config on first need

    def admin_relative(self) -> bool:
        """``extensions.relativeWorktrees`` (git 2.48+): relative to the admin dir."""
        if self._admin_relative is None:
            config, unreadable_problem = read_config(os.path.join(self.common_dir, "config"))
            value = config.get("extensions", None, "relativeworktrees")
            self._admin_relative = value is not None and parse_bool(value) is not False
        return self._admin_relative

    def resolve(self, admin: str, content: bytes) -> bytes:
        if content.startswith(b"/"):
            return content
        base = admin if self.admin_relative() else self.git_cwd
        return os.fsencode(os.path.realpath(os.path.join(os.fsencode(base), content)))


def _should_prune(admin: str, expire: float, gitdirs: GitdirResolver) -> _PruneVerdict:
    """worktree.c ``should_prune_worktree``, check by check, message by message."""
    if not is_directory(admin):
        return _PruneVerdict("not a valid directory")
    if file_exists(os.path.join(admin, "locked")):
        return _PruneVerdict()  # git returns before reading gitdir: no path for prune_dups
    gitdir = os.path.join(admin, "gitdir")
    try:
        st = os.stat(gitdir)
    except (OSError, ValueError):
        return _PruneVerdict("gitdir file does not exist")
    try:
        fd = open_for_reading(gitdir)
    except OSError as err:
        return _PruneVerdict(f"unable to read gitdir file ({describe(err)})")
    try:
        data = read_up_to(fd, st.st_size)
    except OSError as err:
        return _PruneVerdict(f"unable to read gitdir file ({describe(err)})")
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        return _PruneVerdict(f"short read (expected {st.st_size} bytes, read {len(data)})")
    content = data.rstrip(b"\r\n")  # only CR/LF here, unlike the listing's rtrim
    if not content:
        return _PruneVerdict("invalid gitdir file")
    dotgit = gitdirs.resolve(admin, c_string(content))
    try:
        os.lstat(dotgit)
    except OSError as err:
        index_mtime = _index_mtime(admin)
        if index_mtime is None or index_mtime <= expire:
            return _PruneVerdict(_NOT_EXISTING, gitfile_error=err)
    return _PruneVerdict(kept_path=dotgit)


def _index_mtime(admin: str) -> int | None:
    try:
        # time_t seconds, as git compares them against the expiry timestamp
        return os.stat(os.path.join(admin, "index")).st_mtime_ns // 1_000_000_000
    except (OSError, ValueError):
        return None


def _listed_path(
    admin: str, gitdirs: GitdirResolver, problems: list[Problem], subject: str
) -> tuple[str | None, str]:
    """worktree.c ``get_linked_worktree``: the path git lists, or None when git skips the entry.

    Returns (path, why_unlisted).
    """
    gitdir = os.path.join(admin, "gitdir")
    try:
        data = read_file(gitdir)
    except (OSError, ValueError) as err:
        if isinstance(err, OSError) and is_absent(err):
            return None, "its gitdir file does not exist"
        problems.append(unreadable_problem(gitdir, err, subject))
        return None, f"its gitdir file cannot be read ({describe(err)})"
    if not data:
        return None, "its gitdir file is empty"
    # rtrim and strip "/.git" on the whole buffer, then C sees up to the first NUL
    path = c_string(data.rstrip(GIT_SPACE).removesuffix(b"/.git"))
    if path and not path.startswith(b"/"):
        path = gitdirs.resolve(admin, path)
    return os.fsdecode(path), ""


def _lock_state(admin: str, problems: list[Problem], subject: str) -> tuple[bool, str | None]:
    """worktree.c ``worktree_lock_reason``: present file = locked; content trimmed = reason."""
    path = os.path.join(admin, "locked")
    if not file_exists(path):
        return False, None
    try:
        reason = c_string(read_file(path).strip(GIT_SPACE))
    except (OSError, ValueError) as err:
        # git dies here; the file exists, so the worktree is locked, reason unknown.
        problems.append(unreadable_problem(path, err, subject))
        return True, None
    return True, text(reason) or None


# --------------------------------------------------------------------------- checks on the tree


def _known_missing(path: str, problems: list[Problem], subject: str) -> bool:
    """True when the worktree directory is known to be missing (not merely unreadable)."""
    try:
        os.stat(path)
    except OSError as err:
        if is_absent(err):
            return True
        problems.append(unreadable_problem(path, err, subject))
    except ValueError as err:
        problems.append(unreadable_problem(path, err, subject))
    return False


def _gitfile_problem(wt: Worktree, admin: str) -> Problem | None:
    """The worktree's own .git file must point back at worktrees/<id>."""
    dotgit = os.path.join(wt.path, ".git")
    repair = f"`git worktree repair {wt.path}` rewrites it"
    found = read_gitfile(dotgit, resolve=False)  # its target is compared below, not its real path
    if found.unknown:
        return unreadable_problem(found.os_error.filename or dotgit, found.os_error, wt.id or "")
    if found.error is GitfileError.STAT_FAILED:
        return _broken_gitfile(wt, f"{dotgit} is missing; {repair}")
    if found.error is GitfileError.NOT_A_FILE:
        kind = "a directory" if is_directory(dotgit) else "not a regular file"
        return _broken_gitfile(wt, f"{dotgit} is {kind}, not a .git file (a clone was put in its place?)")
    if found.target is None:
        return _broken_gitfile(wt, f"{found.message}; {repair}")
    if not same_path(found.target, admin):
        why = f"{dotgit} points to {os.path.normpath(found.target)}, not to {admin}; {repair}"
        return _broken_gitfile(wt, why)
    return None


def _broken_gitfile(wt: Worktree, why: str) -> Problem:
    return Problem("broken-worktree-gitfile", Severity.WARNING, why, wt.id or "")


# --------------------------------------------------------------------------- problems


def _prunable_problem(wt: Worktree, verdict: _PruneVerdict) -> Problem:
    head = f"`git worktree prune` will remove worktrees/{wt.id} ({verdict.reason})"
    advice = _prune_advice(wt, verdict)
    return Problem("prunable-worktree", Severity.WARNING, f"{head}: {advice}", wt.id or "")


def _prune_advice(wt: Worktree, verdict: _PruneVerdict) -> str:
    reason = verdict.reason or ""
    if reason.startswith(("unable to read", "short read")):
        return "the gitdir file could not be read whole; check it (and who git runs as) first"
    if reason != _NOT_EXISTING:
        return "the admin entry is broken; pruning removes only that entry"
    error = verdict.gitfile_error
    if error is not None and not is_absent(error):
        return (
            f"but {wt.path}/.git could not be checked ({describe(error)}): that is unknown, "
            "not gone. Do not prune; check the volume, and "
            f"`git worktree lock --reason ... {wt.path}` if it blinks"
        )
    if not wt.missing:
        return f"{wt.path} exists but its .git file is gone; `git worktree repair {wt.path}`"
    return (
        f"{wt.path} does not exist. Deleted: prune. Moved: `git worktree repair <new-path>`. "
        "On a volume that may be unmounted or blinking: `git worktree lock --reason ...` "
        "so prune keeps it"
    )


def _missing_problem(wt: Worktree, admin: str, expire: float, now: float) -> Problem | None:
    if wt.locked:
        reason = f" (reason: {wt.lock_reason})" if wt.lock_reason else ""
        msg = (
            f"{wt.path} does not exist; it is locked{reason}, so git keeps it. "
            "If it is really gone: `git worktree unlock` then `git worktree prune`"
        )
        return Problem("missing-worktree", Severity.INFO, msg, wt.id or "")
    if wt.prunable:
        return None  # the prunable problem already says it all
    mtime = _index_mtime(admin)
    if mtime is not None and mtime > expire:
        why = f"its index was touched {int(now - mtime)} s ago, after the expiry; prune later"
    else:
        why = "git does not consider it prunable (its gitdir file names another path)"
    msg = f"{wt.path} does not exist; {why}"
    return Problem("missing-worktree", Severity.WARNING, msg, wt.id or "")


# --------------------------------------------------------------------------- assembly


@dataclass(slots=True)
class _Linked:
    worktree: Worktree
    kept_path: bytes | None  # for prune_dups


def _admin_ids(common_dir: str, problems: list[Problem]) -> list[str]:
    path = os.path.join(common_dir, "worktrees")
    try:
        return os.listdir(path)
    except OSError as err:
        if not is_absent(err):
            problems.append(unreadable_problem(path, err, "worktrees"))
    except ValueError as err:
        problems.append(unreadable_problem(path, err, "worktrees"))
    return []


def _main_worktree(
    common_dir: str, main_path: str | None, bare: bool, refs: RefReader, main_head: MainHead | None
) -> Worktree:
    if main_path is None:
        # get_main_worktree: real path of the common dir, "/.git" stripped
        main_path = os.path.realpath(common_dir).removesuffix("/.git")
    wt = Worktree(id=None, path=main_path, main=True, bare=bare)
    if main_head is not None:
        # The caller already resolved HEAD from the same files: do not read them twice.
        oid, branch = main_head
        _apply_head(wt, Head(oid=oid, branch=branch) if branch else Head(oid=oid, detached=True))
    else:
        _apply_head(wt, refs.resolve_head(common_dir))
    wt.missing = _known_missing(main_path, wt.problems, "")
    return wt


def _linked_common_dir(admin: str, problems: list[Problem], subject: str) -> str:
    """setup.c ``get_common_dir_noenv``: where a linked worktree's ref store finds shared refs.

    ``commondir`` (CR/LF trimmed, relative to the admin dir); without it, the admin dir itself.
    """
    path = os.path.join(admin, "commondir")
    if not file_exists(path):
        return admin
    try:
        data = c_string(read_file(path).rstrip(b"\r\n"))
    except (OSError, ValueError) as err:
        problems.append(unreadable_problem(path, err, subject))  # git dies here
        return admin
    return os.path.normpath(os.path.join(admin, os.fsdecode(data)))


def _apply_head(wt: Worktree, head: Head) -> None:
    wt.head, wt.branch, wt.detached = head.oid, head.branch, head.detached
    if head.broken:
        code = "unreadable" if head.unknown else "broken-head"
        wt.problems.append(Problem(code, Severity.WARNING, head.broken, wt.id or ""))


def _linked_worktree(
    common_dir: str,
    admin_id: str,
    refs: RefReaders,
    gitdirs: GitdirResolver,
    expire: float,
    now: float,
) -> _Linked:
    admin = os.path.join(common_dir, "worktrees", admin_id)
    problems: list[Problem] = []
    path, why_unlisted = _listed_path(admin, gitdirs, problems, admin_id)
    wt = Worktree(id=admin_id, path=path or "", listed=path is not None, problems=problems)
    wt.locked, wt.lock_reason = _lock_state(admin, problems, admin_id)
    verdict = _should_prune(admin, expire, gitdirs)
    wt.prunable, wt.prunable_reason = verdict.reason is not None, verdict.reason
    if wt.listed:
        shared = _linked_common_dir(admin, problems, admin_id)
        if not same_path(shared, common_dir):
            msg = f"worktrees/{admin_id}/commondir leads to {shared}, not to this repository"
            problems.append(Problem("broken-commondir", Severity.WARNING, msg, admin_id))
        _apply_head(wt, refs(shared).resolve_head(admin))
        wt.missing = _known_missing(wt.path, problems, admin_id)
    problems.extend(_state_problems(wt, verdict, admin, why_unlisted, expire, now))
    return _Linked(wt, verdict.kept_path)


def _state_problems(
    wt: Worktree, verdict: _PruneVerdict, admin: str, why_unlisted: str, expire: float, now: float
) -> list[Problem]:
    problems = []
    if wt.prunable:
        problems.append(_prunable_problem(wt, verdict))
    elif not wt.listed:
        kept = "it is locked, so " if wt.locked else ""
        msg = f"`git worktree list` skips worktrees/{wt.id}: {why_unlisted}; {kept}prune keeps it"
        problems.append(Problem("unlisted-worktree", Severity.INFO, msg, wt.id or ""))
    if wt.missing:
        problems.append(_missing_problem(wt, admin, expire, now))
    elif wt.listed and wt.path:
        problems.append(_gitfile_problem(wt, admin))
    return [p for p in problems if p is not None]


class _Claim(NamedTuple):
    """One entry of prune_dups' list: who claims which gitdir path."""

    path: bytes
    rank: int  # 0 for the main worktree: it sorts first among equal paths, never removed
    admin_id: bytes
    worktree: Worktree | None


def _flag_duplicates(common_dir: str, linked: list[_Linked]) -> None:
    """builtin/worktree.c ``prune_dups``: same gitdir path twice, the later id is dropped."""
    claims = [_Claim(os.fsencode(os.path.abspath(common_dir)), 0, b"", None)]
    for item in linked:
        if item.kept_path is not None:
            wt = item.worktree
            claims.append(_Claim(item.kept_path, 1, os.fsencode(wt.id or ""), wt))
    claims.sort(key=lambda c: (c.path, c.rank, c.admin_id))
    for kept, dropped in zip(claims, claims[1:]):
        if kept.path != dropped.path or dropped.worktree is None:
            continue
        other = f"worktrees/{kept.worktree.id}" if kept.worktree else "the main worktree"
        msg = (
            f"worktrees/{dropped.worktree.id} points to {os.fsdecode(dropped.path)}, like "
            f"{other}; `git worktree prune` removes it as a duplicate entry"
        )
        dropped.worktree.problems.append(
            Problem("duplicate-worktree", Severity.WARNING, msg, dropped.worktree.id or "")
        )


def list_worktrees(
    common_dir: str,
    *,
    main_path: str | None,
    bare: bool,
    expire: float | None = None,
    now: float | None = None,
    hex_width: int | None = None,
    main_head: MainHead | None = None,
    admin_dir_listed: bool = True,
) -> list[Worktree]:
    """All worktrees of the repository whose git common dir is ``common_dir``.

    ``main_path``: the main worktree's path as ``git worktree list`` prints it (None: derive it
    as git does). ``expire``: epoch seconds; a worktree whose gitdir points nowhere is prunable
    only when its admin ``index`` is not newer than this. None means git's default for
    ``git worktree list`` and ``git worktree prune``: TIME_MAX, i.e. always.
    ``now``: the clock used for ages in messages (default: the current time).
    ``hex_width``: 40 or 64 when the caller knows the object format (None: read the config).
    ``main_head``: (commit id or None, branch or None) when the caller resolved the main HEAD
    with git's rules already; None: resolve it here.
    ``admin_dir_listed``: False when the caller's listing of ``common_dir`` just now had no
    ``worktrees`` entry (the host scan lists every git dir anyway): no linked worktrees, no listdir.

    Order: the main worktree, then the listed linked worktrees sorted by path as git sorts them,
    then admin dirs that git does not list (``listed=False``) by id. Never raises.
    """
    expire = TIME_MAX if expire is None else expire
    now = time.time() if now is None else now
    refs = RefReaders(hex_width)
    main = _main_worktree(common_dir, main_path, bare, refs(common_dir), main_head)
    gitdirs = GitdirResolver(common_dir, main.path)
    admin_ids = _admin_ids(common_dir, main.problems) if admin_dir_listed else []
    linked = [_linked_worktree(common_dir, admin_id, refs, gitdirs, expire, now) for admin_id in admin_ids]
    if linked:  # the main worktree alone cannot be a duplicate
        _flag_duplicates(common_dir, linked)
    main.problems.extend(refs.problems())
    return [main, *_in_git_order([item.worktree for item in linked])]


def _in_git_order(linked: list[Worktree]) -> list[Worktree]:
    """The listed linked worktrees by path as git sorts them, then the admin dirs git does not
    list, by id."""
    listed = sorted((wt for wt in linked if wt.listed), key=lambda wt: (os.fsencode(wt.path), os.fsencode(wt.id or "")))
    unlisted = sorted((wt for wt in linked if not wt.listed), key=lambda wt: os.fsencode(wt.id or ""))
    return [*listed, *unlisted]


def linked_worktree_entries(common_dir: str, *, main_path: str | None, admin_dir_listed: bool = True) -> list[Worktree]:
    """The linked worktrees as a manifest describes them: id, path, listed, locked, missing.

    Same entries and order as ``list_worktrees`` without its main worktree, for a fraction of
    the work: no HEADs, no prune verdicts, no problems (a compare of two 2,200-repository hosts
    spent 12% of its time on those and dropped them). ``missing`` is set for listed entries only,
    as there.
    """
    gitdirs = GitdirResolver(common_dir, main_path)
    ignored: list[Problem] = []
    linked = []
    for admin_id in _admin_ids(common_dir, ignored) if admin_dir_listed else []:
        admin = os.path.join(common_dir, "worktrees", admin_id)
        path, _ = _listed_path(admin, gitdirs, ignored, admin_id)
        wt = Worktree(id=admin_id, path=path or "", listed=path is not None)
        wt.locked, wt.lock_reason = _lock_state(admin, ignored, admin_id)
        if wt.listed:
            wt.missing = _known_missing(wt.path, ignored, admin_id)
        linked.append(wt)
    return _in_git_order(linked)
