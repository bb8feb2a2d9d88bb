"""The one reader of ``.git`` files ("gitdir: <path>"), with git 2.39's rules (setup.c).

``read_gitfile_gently`` in git, step by step, and the error it names at each step:

1. ``stat`` the file (follows symlinks): failing is ``STAT_FAILED`` (git then looks for a
   ``.git`` directory, or further up); not a regular file is ``NOT_A_FILE`` (a directory, a
   FIFO: it is never opened, so it cannot block);
2. larger than 1 MiB: ``TOO_LARGE`` ("too large to be a .git file");
3. open and read exactly the size ``stat`` gave: ``OPEN_FAILED`` / ``READ_FAILED``;
4. the bytes must start with ``gitdir: `` (one space, exactly): else ``INVALID_FORMAT``;
5. trailing ``\\n`` and ``\\r`` are dropped (nothing else: a trailing space is part of the path,
   and so is everything after a first newline); nothing left after the prefix is ``NO_PATH``;
   the path ends at a NUL (C strings);
6. a relative path is joined to the directory of the ``.git`` file *as given* (not normalised:
   ``..`` after a symlink is resolved by the kernel, as git's ``is_git_directory`` sees it);
7. it must be a git directory (``is_git_directory``: a valid ``HEAD``, ``objects/`` and ``refs/``
   in its common dir): else ``NOT_A_REPO``; the answer is its real path.

One difference, on purpose (DESIGN.md, three answers): git cannot tell "absent" from "could not
look" (its own NEEDSWORK); here every failure keeps the ``OSError`` behind it, and
``Gitfile.unknown`` is true when that was not an absence (EACCES, EIO, ESTALE): a caller that
would delete or rebuild on a broken ``.git`` file must not do it on an unknown one.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from enum import IntEnum

from tui.core.fsutil import SpecialFile, open_regular, read_up_to

__all__ = ["GitfileError", "Gitfile", "is_git_directory", "parse_gitfile", "read_gitfile"]

MAX_GITFILE_BYTES = 1 << 20  # setup.c: max_file_size
PREFIX = b"gitdir: "
_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR})


class GitfileError(IntEnum):
    """setup.c ``READ_GITFILE_ERR_*``, with git's numbers."""

    STAT_FAILED = 1
    NOT_A_FILE = 2
    OPEN_FAILED = 3
    READ_FAILED = 4
    INVALID_FORMAT = 5
    NO_PATH = 6
    NOT_A_REPO = 7
    TOO_LARGE = 8


@dataclass(frozen=True, slots=True)
class Gitfile:
    """What one ``.git`` file says. ``git_dir`` is set exactly when git would use it."""

    path: str  # the .git file
    git_dir: str | None = None  # real path of the git dir it names (None: an error)
    target: str | None = None  # the path it names, joined to its directory, not resolved
    error: GitfileError | None = None
    os_error: OSError | None = None  # what the file system said, when that caused the error

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def unknown(self) -> bool:
        """The answer could not be read (permission, I/O, a stale handle): not *broken*."""
        return self.os_error is not None and self.os_error.errno not in _ABSENT

    @property
    def message(self) -> str:
        """git's words for the error (``fatal: ...`` without ``fatal:``); "" when ok."""
        if self.error is None:
            return ""
        why = f" ({os.strerror(self.os_error.errno)})" if self.os_error is not None and self.os_error.errno else ""
        return {
            GitfileError.STAT_FAILED: f"cannot stat {self.path}{why}",
            GitfileError.NOT_A_FILE: f"{self.path} is not a regular file",
            GitfileError.OPEN_FAILED: f"error opening '{self.path}'{why}",
            GitfileError.TOO_LARGE: f"too large to be a .git file: '{self.path}'",
            GitfileError.READ_FAILED: f"error reading {self.path}{why}",
            GitfileError.INVALID_FORMAT: f"invalid gitfile format: {self.path}",
            GitfileError.NO_PATH: f"no path in gitfile: {self.path}",
            GitfileError.NOT_A_REPO: f"not a git repository: {self.target}{why}",
        }[self.error]


def read_gitfile(path: str, *, resolve: bool = True) -> Gitfile:
    """setup.c ``read_gitfile_gently(path)``; never raises, never blocks.

    ``resolve=False``: for a caller that needs the verdict and ``target`` only; ``git_dir`` is
    then ``target`` as named, not its real path (a realpath is an lstat per path component).
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        return Gitfile(path, error=GitfileError.STAT_FAILED, os_error=_os_error(exc, path))
    if not stat.S_ISREG(st.st_mode):
        return Gitfile(path, error=GitfileError.NOT_A_FILE)
    if st.st_size > MAX_GITFILE_BYTES:
        return Gitfile(path, error=GitfileError.TOO_LARGE)
    try:
        # Non-blocking and checked on the descriptor: a file swapped for a FIFO after the stat
        # is refused instead of hanging us.
        fd, _ = open_regular(path)
    except SpecialFile:
        return Gitfile(path, error=GitfileError.NOT_A_FILE)
    except OSError as exc:
        return Gitfile(path, error=GitfileError.OPEN_FAILED, os_error=exc)
    try:
        data = read_up_to(fd, st.st_size)
    except OSError as exc:
        return Gitfile(path, error=GitfileError.READ_FAILED, os_error=exc)
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        return Gitfile(path, error=GitfileError.READ_FAILED)
    return parse_gitfile(path, data, resolve=resolve)


def parse_gitfile(path: str, data: bytes, *, resolve: bool = True) -> Gitfile:
    """The content part of ``read_gitfile_gently``, for a file at ``path`` holding ``data``
    (a planned write that is not on disk yet reads the same as one that is). ``resolve``: as
    for ``read_gitfile``."""
    if not data.startswith(PREFIX):
        return Gitfile(path, error=GitfileError.INVALID_FORMAT)
    content = data.rstrip(b"\r\n")
    if len(content) <= len(PREFIX):
        return Gitfile(path, error=GitfileError.NO_PATH)
    named = os.fsdecode(content[len(PREFIX) :].split(b"\0", 1)[0])
    if not named:
        # "gitdir: \0..." : git's C string is empty here, so is_git_directory("") fails
        return Gitfile(path, target=named, error=GitfileError.NOT_A_REPO)
    if not os.path.isabs(named) and "/" in path:
        named = path[: path.rindex("/") + 1] + named  # setup.c: strrchr(path, '/'), joined as is
    problem = _not_a_git_directory(named)
    if problem is not None:
        return Gitfile(path, target=named, error=GitfileError.NOT_A_REPO, os_error=problem or None)
    return Gitfile(path, git_dir=os.path.realpath(named) if resolve else named, target=named)


def is_git_directory(path: str) -> bool:
    """setup.c ``is_git_directory``: a valid ``HEAD`` here, ``objects/`` and ``refs/`` in the
    common dir (``commondir``, relative to ``path``, else ``path`` itself)."""
    return _not_a_git_directory(path) is None


def _not_a_git_directory(path: str) -> OSError | bool | None:
    """None: a git directory. Else why not: the OSError that was not an absence (so the answer
    is unknown), or False (it is not one)."""
    common = path
    try:
        commondir = _read_small(os.path.join(path, "commondir"))
    except OSError as exc:
        if exc.errno not in _ABSENT:
            return exc
        commondir = None
    if commondir is not None:
        common = os.path.join(path, os.fsdecode(commondir.rstrip(b"\r\n").split(b"\0", 1)[0]))
    for name in ("objects", "refs"):
        target = os.path.join(common, name)
        try:
            os.stat(target)
        except OSError as exc:
            return False if exc.errno in _ABSENT else exc
        if not os.access(target, os.X_OK):
            return False
    return _invalid_head(os.path.join(path, "HEAD"))


# setup.c validate_headref: "ref: refs/..." (spaces after the colon), or an object id first
_DETACHED = re.compile(rb"[0-9a-fA-F]{40}")


def _invalid_head(path: str) -> OSError | bool | None:
    try:
        if os.path.islink(path):
            return None if os.readlink(path).startswith("refs/") else False
        data = _read_small(path, 256)
    except OSError as exc:
        return False if exc.errno in _ABSENT else exc
    if data.startswith(b"ref:"):
        return None if data[4:].lstrip().startswith(b"refs/") else False
    return None if _DETACHED.match(data) else False


def _read_small(path: str, limit: int = 4096) -> bytes:
    fd, _ = open_regular(path)
    try:
        return read_up_to(fd, limit)
    finally:
        os.close(fd)


def _os_error(exc: OSError | ValueError, path: str) -> OSError:
    # A NUL in a path is ValueError in Python; for git it is a path that does not exist.
    return exc if isinstance(exc, OSError) else FileNotFoundError(errno.ENOENT, "No such file or directory", path)
