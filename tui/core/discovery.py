"""Roots to repositories: bare, non-bare (``.git`` dir or file) and git-sync roots.

Rules: never descend into a git dir, into ``objects/``, or into a work tree (a linked
worktree is listed under its repository, not as a repository of its own). Symlinks to
directories are followed once (device + inode), so a loop is reported, not walked forever.
Every file-system error becomes a problem on the root, never an exception.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from tui.core import gitfile
from tui.core.defaults import DEFAULT_MAX_DEPTH
from tui.core.gitconfig import read_config
from tui.core.gitsync_layout import is_git_sync_root
from tui.core.model import Layout, Problem, Severity


@dataclass(frozen=True, slots=True)
class Candidate:
    """A repository found under a root, before it is scanned."""

    root: str
    path: str  # the work tree for non-bare repos, the git dir for bare ones
    git_dir: str
    layout: Layout

    @property
    def name(self) -> str:
        if self.path == self.root:
            return os.path.basename(self.path)
        prefix = self.root.rstrip("/") + "/"
        if self.path.startswith(prefix):
            return self.path[len(prefix) :]  # what relpath gives, without its cost per repo
        return os.path.relpath(self.path, self.root)


def is_git_dir(path: str) -> bool:
    """git's is_git_directory(), cheaply: a HEAD file, an objects dir and a refs entry."""
    try:
        head = os.lstat(f"{path}/HEAD")
        objects = os.stat(f"{path}/objects")
    except OSError:
        return False
    if not (stat.S_ISREG(head.st_mode) or stat.S_ISLNK(head.st_mode)):
        return False
    if not stat.S_ISDIR(objects.st_mode):
        return False
    # reftable repos keep a 'refs' directory too; a missing one is not a repository.
    return os.path.lexists(f"{path}/refs")


def read_gitfile(path: str) -> str | None:
    """The git dir a ``.git`` file names (its real path), or None where git would not use it:
    git 2.39's rules, in ``tui.core.gitfile`` (the one reader)."""
    return gitfile.read_gitfile(path).git_dir


def _is_linked_worktree_gitdir(git_dir: str) -> bool:
    # A linked worktree's git dir is <common>/worktrees/<id> and has a 'commondir' file.
    return os.path.exists(f"{git_dir}/commondir")


def classify(path: str, root: str) -> Candidate | None:
    """Is ``path`` a repository (not a linked worktree)? Returns its candidate or None."""
    dot_git = f"{path}/.git"
    try:
        st = os.lstat(dot_git)
    except OSError:
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            if not is_git_dir(dot_git):
                return None
            layout = Layout.GIT_SYNC if is_git_sync_root(path, dot_git) else Layout.NON_BARE
            return Candidate(root, path, dot_git, layout)
        if stat.S_ISREG(st.st_mode):
            target = read_gitfile(dot_git)
            if target is None or _is_linked_worktree_gitdir(target) or not is_git_dir(target):
                # Linked worktrees and submodule work trees belong to another repository.
                return None
            return Candidate(root, path, target, Layout.NON_BARE)
        return None
    if is_git_dir(path):
        if _is_linked_worktree_gitdir(path):
            return None
        layout = Layout.GIT_SYNC if is_git_sync_root(path, path) else Layout.BARE
        return Candidate(root, path, path, layout)
    return None


class NotARepository(ValueError):
    """A path given as one repository is not one; the message says why."""


def repository_at(path: str, shown: str | None = None) -> Candidate:
    """The repository at ``path`` (a REPO argument), as ``classify`` sees it.

    ``shown``: how the path appears in the error (default: as given). Raises NotARepository.
    """
    shown = path if shown is None else shown
    absolute = os.path.abspath(path)
    if not os.path.exists(absolute):
        raise NotARepository(f"{shown}: no such directory")
    if not os.path.isdir(absolute):
        raise NotARepository(f"{shown}: not a directory")
    candidate = classify(absolute, os.path.dirname(absolute))
    if candidate is None:
        raise NotARepository(
            f"{shown}: not a git repository (nor a bare one); for a linked worktree, give its main repository"
        )
    if candidate.layout is Layout.BARE:
        owner = work_tree_owning(absolute)
        if owner is not None:
            return owner
    return candidate


def work_tree_owning(git_dir: str) -> Candidate | None:
    """The non-bare repository whose ``.git`` directory ``git_dir`` is, or None.

    git run inside ``REPO/.git`` (t2402 "called in .git directory") lists the main worktree at
    ``REPO`` (``get_main_worktree``: real path of the common dir, ``/.git`` stripped) and, with
    ``core.bare = false`` as ``git init`` writes it, not bare. ``REPO/.git`` given as REPO is
    that repository, not a bare one. With ``core.bare = true`` git calls it bare: so do we.
    """
    real = os.path.realpath(git_dir)
    if os.path.basename(real) != ".git":
        return None
    config, _unreadable = read_config(os.path.join(real, "config"))
    if config.get_bool("core", None, "bare") is True:
        return None
    work_tree = os.path.dirname(real)
    owner = classify(work_tree, os.path.dirname(work_tree))
    if owner is None or os.path.realpath(owner.git_dir) != real:
        return None
    return owner


def discover(
    roots: list[str], max_depth: int = DEFAULT_MAX_DEPTH
) -> Iterator[Candidate | Problem]:
    """Yield candidates and root-level problems, root by root, in a stable order."""
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        yield from _unique_git_dirs(_discover_root(root, max_depth, seen_dirs))


@dataclass(frozen=True, slots=True)
class Superseded:
    """``discover_lazily``: a candidate yielded earlier is the same repository as a later one."""

    candidate: Candidate


def discover_lazily(
    roots: list[str], max_depth: int = DEFAULT_MAX_DEPTH
) -> Iterator[Candidate | Problem | Superseded]:
    """``discover()`` streamed: each candidate as soon as it is found, so scanning can start.

    A separate git dir reached first as a directory of its own (BARE) and later through a work
    tree's ``.git`` file is yielded twice: the later candidate follows ``Superseded(earlier)``.
    Only a BARE candidate is ever superseded, and only until discovery ends; a consumer that
    holds back BARE results until then sees exactly what ``discover()`` lists.
    """
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        kept: dict[tuple[int, int] | str, Candidate] = {}  # per root, as discover() dedupes
        for item in _discover_root(root, max_depth, seen_dirs):
            if isinstance(item, Candidate):
                key = _inode(item.git_dir)
                earlier = kept.get(key)
                if earlier is not None:
                    if earlier.layout is not Layout.BARE or item.layout is Layout.BARE:
                        continue  # the same rule as _unique_git_dirs: the first one stays
                    yield Superseded(earlier)
                kept[key] = item
            yield item


def _unique_git_dirs(found: Iterator[Candidate | Problem]) -> Iterator[Candidate | Problem]:
    """A separate git dir (``git init --separate-git-dir``) is reached twice: through the work
    tree's ``.git`` file and as a directory of its own. Report it once, with its work tree."""
    items = list(found)
    by_git_dir: dict[tuple[int, int] | str, Candidate] = {}
    for item in items:
        if isinstance(item, Candidate):
            key = _inode(item.git_dir)
            kept = by_git_dir.get(key)
            if kept is None or (kept.layout is Layout.BARE and item.layout is not Layout.BARE):
                by_git_dir[key] = item
    kept_ids = {id(c) for c in by_git_dir.values()}
    for item in items:
        if not isinstance(item, Candidate) or id(item) in kept_ids:
            yield item


def _inode(path: str) -> tuple[int, int] | str:
    # One stat instead of realpath()'s lstat per path component.
    try:
        st = os.stat(path)
    except OSError:
        return path
    return (st.st_dev, st.st_ino)


def _discover_root(root: str, max_depth: int, seen_dirs: set[tuple[int, int]]) -> Iterator[Candidate | Problem]:
    root = os.path.abspath(root)
    try:
        st = os.stat(root)
    except FileNotFoundError:
        yield Problem("unreadable", Severity.ERROR, f"root {root} does not exist", root)
        return
    except OSError as exc:
        yield Problem("unreadable", Severity.ERROR, f"root {root}: {exc.strerror}", root)
        return
    if not stat.S_ISDIR(st.st_mode):
        yield Problem("unreadable", Severity.ERROR, f"root {root} is not a directory", root)
        return
    owner = work_tree_owning(root)  # a root named REPO/.git is REPO, as git sees it
    if owner is not None:
        root = owner.path
    not_descended: list[str] = []
    # Depth first, each directory's entries sorted, with an explicit stack (no recursion limit).
    stack: list[Iterator[tuple[str, int]]] = [iter([(root, 0)])]
    while stack:
        for path, depth in stack[-1]:
            children = yield from _visit(root, path, depth, max_depth, seen_dirs, not_descended)
            if children:
                stack.append(iter(children))
                break  # descend now; this level's iterator resumes after the children
        else:
            stack.pop()
    yield from _depth_limit_problems(root, max_depth, not_descended)


def _visit(
    root: str, path: str, depth: int, max_depth: int, seen: set[tuple[int, int]], not_descended: list[str]
) -> Generator[Candidate | Problem, None, list[tuple[str, int]]]:
    """Yield what ``path`` is (a repository, or problems); return the directories to visit next."""
    try:
        st = os.stat(path)
    except OSError as exc:
        yield _fs_problem(path, exc)
        return []
    key = (st.st_dev, st.st_ino)
    if key in seen:
        if os.path.islink(path):
            yield Problem(
                "symlink-loop",
                Severity.WARNING,
                f"{path} leads back to a directory already scanned (symlink loop or "
                "second link to the same tree); not scanned twice",
                path,
            )
        return []
    seen.add(key)
    candidate = classify(path, root)
    if candidate is not None:
        yield candidate
        return []  # never descend into a repository or its work tree
    try:
        with os.scandir(path) as iterator:
            entries = sorted(iterator, key=lambda e: e.name)
    except OSError as exc:
        if depth >= max_depth:
            not_descended.append(path)  # not descended into either way; the limit says why
        else:
            yield _fs_problem(path, exc)
        return []
    children = []
    problems = []
    dot_git = False
    git_dir_names = 0  # of HEAD, objects, refs: all three, and classify() said no, is suspicious
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            # Hidden entries on a host are caches, trash and tooling state, not repos.
            dot_git = dot_git or name == ".git"
            continue
        if name in _GIT_DIR_NAMES:
            git_dir_names += 1
            if name == "objects":
                continue
        try:
            is_dir = entry.is_dir()  # follows symlinks; loops caught via 'seen'
        except OSError as exc:
            problems.append(_fs_problem(entry.path, exc))
            continue
        if is_dir:
            children.append((entry.path, depth + 1))
    # Not a repository, as far as classify() could see: unless it could not see.
    unknown = _unreadable_git_dir(path) if dot_git else None
    if unknown is None and git_dir_names == len(_GIT_DIR_NAMES):
        unknown = _unreadable_bare_repository(path)
    if unknown is not None:
        yield _unknown_repository_problem(path, unknown[0], bare=unknown[1])
        return []  # a git dir we cannot read: never walk into it as a plain directory
    yield from problems
    if children and depth >= max_depth:
        not_descended.append(path)
        return []
    return children


def _unreadable_git_dir(path: str) -> tuple[OSError, bool] | None:
    """The error that hides whether ``path`` is a non-bare repository: its ``.git`` directory
    exists but cannot be looked into (EACCES, EIO, ESTALE). None when there is no such doubt."""
    dot_git = f"{path}/.git"
    try:
        if not stat.S_ISDIR(os.lstat(dot_git).st_mode):
            return None
        os.lstat(f"{dot_git}/HEAD")
        os.stat(f"{dot_git}/objects")
    except FileNotFoundError:
        return None  # a readable .git without HEAD or objects is simply not a repository
    except OSError as exc:
        return exc, False
    return None


def _unreadable_bare_repository(path: str) -> tuple[OSError, bool] | None:
    """The error that hides whether ``path`` is a bare repository: it lists HEAD, objects and
    refs (a readable but unsearchable directory) but HEAD cannot be looked at."""
    try:
        os.lstat(f"{path}/HEAD")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc, True
    return None


_GIT_DIR_NAMES = frozenset({"HEAD", "objects", "refs"})


def _unknown_repository_problem(path: str, exc: OSError, *, bare: bool = False) -> Problem:
    reason = "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else (exc.strerror or str(exc))
    git_dir = path if bare else f"{path}/.git"
    return Problem(
        "unlistable-dir",
        Severity.WARNING,
        f"{git_dir} cannot be read ({reason}): whether {path} is a repository is unknown, so it "
        "was not scanned; run as the repositories' owner to see inside",
        git_dir,
    )


_NAMED_DEPTH_LIMITS = 20  # directories named one problem each; the rest are counted


def _depth_limit_problems(root: str, max_depth: int, paths: list[str]) -> Iterator[Problem]:
    for path in paths[:_NAMED_DEPTH_LIMITS]:
        yield Problem(
            "depth-limit",
            Severity.WARNING,
            f"{path} was not descended into: it is {max_depth} levels below the root {root}, the "
            "depth limit; repositories below it were not scanned (raise --max-depth to scan them)",
            path,
        )
    more = len(paths) - _NAMED_DEPTH_LIMITS
    if more > 0:
        yield Problem(
            "depth-limit",
            Severity.WARNING,
            f"{more} more directories under {root} at the depth limit ({max_depth}) were not "
            "descended into (raise --max-depth to scan them)",
            root,
        )


def _fs_problem(path: str, exc: OSError) -> Problem:
    if exc.errno == errno.ELOOP:
        return Problem("symlink-loop", Severity.WARNING, f"{path}: too many levels of symbolic links", path)
    if exc.errno == errno.ENOENT:
        return Problem(
            "vanished",
            Severity.WARNING,
            f"{path} vanished during the scan (a volume that blinked, or a repo being moved); rescan",
            path,
        )
    reason = "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else (exc.strerror or str(exc))
    return Problem(
        "unlistable-dir",
        Severity.WARNING,
        f"{path} cannot be listed ({reason}): whether repositories are below it is unknown; "
        "run as the repositories' owner to see inside",
        path,
    )
