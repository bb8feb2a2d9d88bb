"""git-sync's layout, read side: is this a git-sync root, and what git-sync serves from it.

git-sync (kubernetes/git-sync v4, main.go) keeps the repository at ``--root`` itself (``git
init -b git-sync``), one detached worktree per synced commit at ``<root>/.worktrees/<hash>``
(added with ``git worktree add --detach``, its ``.git`` file rewritten to a *relative* gitdir so
the volume can be mounted elsewhere), and ``publishSymlink`` renames a relative ``tmp-link``
onto ``--link``.

``is_git_sync_root`` is the one test for "git-sync root" (discovery's layout, the sync's kind);
``git_sync_view`` marks the served worktree and reports what is wrong with the layout. On the
read side because discovery and the scan need it; the sync side (``tui.core.sync``) builds on it.

Problem codes (``git_sync_view``, returned, not attached): ``link-to-missing-worktree``,
``link-to-unregistered-worktree``, ``current-worktree-prunable``, ``worktree-path-mismatch``,
``stray-worktree-entry``, ``stale-tmp-link``, ``multiple-sync-links``, ``no-sync-link``.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass

from tui.core.fsutil import read_bytes
from tui.core.gitfile import read_gitfile
from tui.core.model import Problem, Severity, Worktree
from tui.core.worktree_head import is_absent, is_directory, same_path, unreadable_problem

__all__ = [
    "GIT_SYNC_BRANCH", "TMP_LINK", "WORKTREES_DIR", "find_link", "git_sync_view", "is_git_sync_root",
]


WORKTREES_DIR = ".worktrees"
TMP_LINK = "tmp-link"


def _link_target(root: str, name: str) -> str | None:
    """Absolute, normalised target of symlink root/name if it points into .worktrees/."""
    try:
        target = os.readlink(os.path.join(root, name))
    except (OSError, ValueError):
        return None
    # currentWorktree(): relative targets are relative to the root
    target_abs = os.path.normpath(os.path.join(root, target))
    if os.path.dirname(target_abs) != os.path.normpath(os.path.join(root, WORKTREES_DIR)):
        return None
    return target_abs


def _sync_links(root: str, problems: list[Problem]) -> list[tuple[str, str]]:
    """(name, target) of every symlink directly in root that points into .worktrees/."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: os.fsencode(e.name))
    except (OSError, ValueError) as err:
        problems.append(unreadable_problem(root, err, root))
        return []
    links = []
    for entry in entries:
        try:
            is_link = entry.is_symlink()
        except OSError as err:
            problems.append(unreadable_problem(entry.path, err, entry.name))
            continue
        target = _link_target(root, entry.name) if is_link else None
        if target is not None:
            links.append((entry.name, target))
    return links


def _backlink_id(entry_path: str) -> str | None:
    """The admin id a worktree directory's .git file points to (``.../worktrees/<id>``)."""
    found = read_gitfile(os.path.join(entry_path, ".git"))
    if found.target is None:
        return None
    target = os.path.normpath(found.target)
    parent, admin_id = os.path.split(target)
    return admin_id if os.path.basename(parent) == "worktrees" else None




@dataclass(slots=True)
class _Match:
    worktree: Worktree
    by_path: bool  # False: only the .git back-link matches (registered under another path)


def _registered(entry_path: str, linked: list[Worktree]) -> _Match | None:
    for wt in linked:
        if wt.path and same_path(wt.path, entry_path):
            return _Match(wt, by_path=True)
    admin_id = _backlink_id(entry_path)
    for wt in linked:
        if admin_id is not None and wt.id == admin_id:
            return _Match(wt, by_path=False)
    return None


def _target_problems(name: str, target: str, match: _Match | None) -> list[Problem]:
    try:
        os.stat(target)
    except OSError as err:
        if not is_absent(err):
            return [unreadable_problem(target, err, name)]
        msg = (
            f"{name} -> {target}: that worktree does not exist; "
            "git-sync is serving broken content"
        )
        return [Problem("link-to-missing-worktree", Severity.ERROR, msg, name)]
    if match is None:
        msg = f"{name} -> {target}: git does not know this worktree (pruned while still served?)"
        return [Problem("link-to-unregistered-worktree", Severity.WARNING, msg, name)]
    wt = match.worktree
    if not match.by_path:
        return [_path_mismatch(wt, target)]
    if wt.prunable:
        msg = (
            f"{name} -> {target} is served, but git considers worktrees/{wt.id} prunable "
            f"({wt.prunable_reason}); git-sync runs `git worktree prune` on every cleanup"
        )
        return [Problem("current-worktree-prunable", Severity.ERROR, msg, wt.id or "")]
    return []


def _path_mismatch(wt: Worktree, seen_at: str) -> Problem:
    msg = (
        f"worktrees/{wt.id} is registered at {wt.path} but found at {seen_at}: this volume is "
        "mounted at another path than git-sync's --root. From here git thinks it is prunable; "
        "do not run `git worktree prune` from this mount"
    )
    return Problem("worktree-path-mismatch", Severity.WARNING, msg, wt.id or "")


def _stray_problems(root: str, linked: list[Worktree], served: set[str]) -> list[Problem]:
    wt_dir = os.path.join(root, WORKTREES_DIR)
    try:
        entries = sorted(os.scandir(wt_dir), key=lambda e: os.fsencode(e.name))
    except (OSError, ValueError) as err:
        if isinstance(err, OSError) and is_absent(err):
            return []
        return [unreadable_problem(wt_dir, err, WORKTREES_DIR)]
    problems = []
    for entry in entries:
        path = os.path.normpath(entry.path)
        if path in served:
            continue  # already reported against the link
        match = _registered(path, linked)
        if match is not None:
            if not match.by_path:
                problems.append(_path_mismatch(match.worktree, path))
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError as err:
            problems.append(unreadable_problem(path, err, entry.name))
            continue
        kind = "directory" if is_dir else "file"
        msg = f"{path} is a {kind} in {WORKTREES_DIR}/ that git does not know as a worktree"
        severity = Severity.WARNING if is_dir else Severity.INFO
        problems.append(Problem("stray-worktree-entry", severity, msg, entry.name))
    return problems


def git_sync_view(
    root: str, worktrees: list[Worktree]
) -> tuple[str | None, str | None, list[Problem]]:
    """git-sync's view of ``root``: (link path, absolute link target, problems).

    Marks the worktree(s) a link points to ``current=True``. Only links directly inside root
    are found; an absolute ``--link`` elsewhere is invisible from here. Never raises.
    """
    problems: list[Problem] = []
    linked = [wt for wt in worktrees if not wt.main]
    links = _sync_links(root, problems)
    tmp_links = [(n, t) for n, t in links if n == TMP_LINK]
    links = [(n, t) for n, t in links if n != TMP_LINK]
    for name, target in tmp_links:
        msg = f"{name} -> {target} is left over from an interrupted link swap"
        problems.append(Problem("stale-tmp-link", Severity.INFO, msg, name))
    if len(links) > 1:
        names = ", ".join(name for name, _ in links)
        msg = f"several links point into {WORKTREES_DIR}/: {names}"
        problems.append(Problem("multiple-sync-links", Severity.INFO, msg, root))
    served: set[str] = set()
    for name, target in links:
        match = _registered(target, linked)
        if match is not None:
            match.worktree.current = True
        problems.extend(_target_problems(name, target, match))
        served.add(target)
    problems.extend(_stray_problems(root, linked, served))
    if not links:
        msg = (
            f"no link in {root} points into {WORKTREES_DIR}/ "
            "(an absolute --link may live elsewhere)"
        )
        problems.append(Problem("no-sync-link", Severity.INFO, msg, root))
        return None, None, problems
    name, target = links[0]
    return os.path.join(root, name), target, problems


def is_git_sync_root(path: str, git_dir: str | None = None) -> bool:
    """The one test for "this repository is a git-sync root" (discovery's layout, the sync's kind).

    ``path``: the repository (work tree, or a bare repository's git dir); ``git_dir``: its git dir
    (default: ``path/.git`` when that is a directory, else ``path``). True when it carries one of
    git-sync v4's own marks:

    - a work tree whose HEAD is ``ref: refs/heads/git-sync`` (git-sync's ``git init -b git-sync``:
      true before the first worktree exists and after an operator deleted ``.worktrees/``);
    - a ``.worktrees/`` directory (not a symlink) and either a symlink in ``path`` pointing into it
      (the ``--link``, or a ``tmp-link`` left by an interrupted swap) or an entry named by a full
      object id (``worktreeFor(hash)``).

    A ``.worktrees/`` an operator keeps their own worktrees in (``.worktrees/feature``, no link,
    another branch) is not one: a sync would delete everything in it but the served worktree.
    Reads only; an unreadable file is not a mark.
    """
    if git_dir is None:
        git_dir = os.path.join(path, ".git")
        if not is_directory(git_dir):
            git_dir = path
    if git_dir != path and _head_is_git_sync_branch(git_dir):  # git-sync's roots have a work tree
        return True
    wt_dir = os.path.join(path, WORKTREES_DIR)
    try:
        if not stat.S_ISDIR(os.lstat(wt_dir).st_mode):
            return False
        names = os.listdir(wt_dir)
    except (OSError, ValueError):
        return False
    if any(_OBJECT_ID.fullmatch(name) for name in names):
        return True
    return bool(_sync_links(path, []))


GIT_SYNC_BRANCH = "refs/heads/git-sync"  # git-sync v4: `git init -b git-sync` at --root
_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def _head_is_git_sync_branch(git_dir: str) -> bool:
    try:
        head = read_bytes(os.path.join(git_dir, "HEAD"), 256)  # a FIFO must not hang discovery
    except OSError:
        return False
    return head.strip() == b"ref: " + GIT_SYNC_BRANCH.encode()


def find_link(root: str) -> str | None:
    """The name of the first symlink in ``root`` that points into ``.worktrees/`` (not
    ``tmp-link``): the ``--link`` git-sync publishes."""
    names = [name for name, _ in _sync_links(root, []) if name != TMP_LINK]
    return names[0] if names else None
