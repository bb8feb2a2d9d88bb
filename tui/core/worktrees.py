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
``broken-worktree-gitfile``, ``broken-head``, ``broken-commondir``, ``unreadable``;
for git-sync roots (``git_sync_view``, returned, not attached): ``link-to-missing-worktree``,
``link-to-unregistered-worktree``, ``current-worktree-prunable``, ``worktree-path-mismatch``,
``stray-worktree-entry``, ``stale-tmp-link``, ``multiple-sync-links``, ``no-sync-link``.

Three answers, never two: a file we cannot read (EACCES, EIO, ELOOP, a volume that blinked)
is *unknown* and reported as ``unreadable``; it is never treated as *gone*.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
from dataclasses import dataclass
from typing import NamedTuple

from tui.core.fsutil import open_for_reading, read_file, read_up_to
from tui.core.gitfile import GitfileError, read_gitfile
from tui.core.gitconfig import parse_bool, read_config
from tui.core.model import Problem, Severity, Worktree

__all__ = ["GitdirResolver", "git_sync_view", "is_git_sync_root", "list_worktrees"]

# (commit id or None when unborn, "refs/heads/x" or None when detached)
MainHead = tuple[str | None, str | None]

# git's TIME_MAX: ``git worktree list`` (and ``prune``) without --expire prune regardless of age.
TIME_MAX = float(2**63 - 1)

# git's own isspace() (sane_ctype GIT_SPACE): no \v, no \f, unlike Python's strip().
_GIT_SPACE = b" \t\n\r"
_ABSENT_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR})
_PACKED_CHUNK = 1 << 20  # packed-refs is searched in chunks of this size
_SYMREF_MAXDEPTH = 5  # refs.h SYMREF_MAXDEPTH
_NOT_EXISTING = "gitdir file points to non-existent location"


# --------------------------------------------------------------------------- filesystem


def _is_absent(err: OSError) -> bool:
    return err.errno in _ABSENT_ERRNOS


def _describe(err: OSError | ValueError) -> str:
    if isinstance(err, OSError) and err.errno is not None:
        return os.strerror(err.errno)
    return str(err)


def _unreadable(path: str, err: OSError | ValueError, subject: str) -> Problem:
    return Problem(
        "unreadable",
        Severity.WARNING,
        f"cannot read {path}: {_describe(err)}; its state is unknown (not treated as gone)",
        subject,
    )


def _c_string(data: bytes) -> bytes:
    """What C sees of a buffer: everything before the first NUL."""
    return data.split(b"\0", 1)[0]


def _file_exists(path: str) -> bool:
    """git's ``file_exists``: lstat() succeeds (a dangling symlink exists)."""
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def _is_directory(path: str) -> bool:
    """git's ``is_directory``: stat() (follows symlinks) says directory."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _text(data: bytes) -> str:
    # Lossless: odd bytes survive as surrogates and can be re-encoded for display or JSON.
    return data.decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- refs


def _valid_refname(name: bytes, *, allow_onelevel: bool) -> bool:
    """git's ``check_refname_format`` (refs.c), without the refspec-pattern flag."""
    if not name or name == b"@" or name.endswith((b"/", b".")):
        return False
    components = name.split(b"/")
    for part in components:
        if not part or part.startswith(b".") or part.endswith(b".lock"):
            return False
        if b".." in part or b"@{" in part:
            return False
        if any(c < 0x20 or c == 0x7F or c in b" ~^:?*[\\" for c in part):
            return False
    return allow_onelevel or len(components) >= 2


def _is_per_worktree_ref(name: bytes) -> bool:
    """refs.c ``ref_type``: per-worktree refs and pseudorefs live in the worktree's git dir."""
    if name.startswith((b"refs/worktree/", b"refs/bisect/", b"refs/rewritten/")):
        return True
    return not name.startswith(b"refs/") and bool(re.fullmatch(rb"[A-Z_]+", name))


@dataclass(slots=True)
class _RawRef:
    oid: str | None = None  # set for a direct ref
    target: bytes | None = None  # set for a symbolic ref
    error: int = 0  # an errno: unreadable, absent, or EINVAL for an unparseable file


@dataclass(slots=True)
class _Head:
    oid: str | None = None  # None: unborn, missing or unresolvable
    branch: str | None = None
    detached: bool = False
    broken: str | None = None  # why HEAD could not be resolved at all
    unknown: bool = False  # broken because a file could not be read, not because it is bad


class _RefReader:
    """Just enough of the files ref backend to resolve a worktree's HEAD."""

    def __init__(self, common_dir: str, hexsz: int | None = None) -> None:
        self.common_dir = common_dir
        self.hexsz = hexsz or self._hash_hex_length(common_dir)
        self._packed: dict[bytes, str | None] = {}  # lookups so far, misses included
        self.problems: list[Problem] = []  # about shared files (packed-refs), reported once

    @staticmethod
    def _hash_hex_length(common_dir: str) -> int:
        # A full config parser is out of scope; objectformat only ever appears under
        # [extensions], and a sha256 repo cannot be misread as sha1 by this check.
        try:
            config = read_file(os.path.join(common_dir, "config"))
        except (OSError, ValueError):
            return 40
        if re.search(rb"(?im)^\s*objectformat\s*=\s*sha256\s*$", config):
            return 64
        return 40

    def _parse_oid(self, data: bytes) -> str | None:
        """``parse_oid_hex`` plus files-backend's rule: the hex must end the value or a word."""
        hexpart = data[: self.hexsz]
        if len(hexpart) != self.hexsz or not re.fullmatch(rb"[0-9a-fA-F]+", hexpart):
            return None
        rest = data[self.hexsz :]
        if rest and rest[:1] not in _GIT_SPACE + b"\0":
            return None
        return hexpart.decode("ascii").lower()

    def _packed_lookup(self, name: bytes) -> str | None:
        if name not in self._packed:
            self._packed[name] = self._search_packed(name)
        return self._packed[name]

    def _search_packed(self, name: bytes) -> str | None:
        """Find the line "<oid> <name>\\n" without loading packed-refs into memory.

        Gerrit's packed-refs run to hundreds of MB; we only ever need a branch or two.
        """
        path = os.path.join(self.common_dir, "packed-refs")
        needle = b" " + name + b"\n"
        carry = b"\n"  # as if a line ended just before the file starts
        try:
            fd = open_for_reading(path)
        except OSError as err:
            self._packed_refs_unreadable(path, err)
            return None
        try:
            while chunk := os.read(fd, _PACKED_CHUNK):
                buf = carry + chunk
                pos = buf.find(needle)
                while pos != -1:
                    start = pos - self.hexsz
                    if start >= 1 and buf[start - 1 : start] == b"\n":
                        oid = self._parse_oid(buf[start:pos])
                        if oid is not None:
                            return oid
                    pos = buf.find(needle, pos + 1)
                carry = buf[-(len(needle) + self.hexsz + 1) :]
        except OSError as err:
            self._packed_refs_unreadable(path, err)
        finally:
            os.close(fd)
        return None

    def _packed_refs_unreadable(self, path: str, err: OSError) -> None:
        if not _is_absent(err) and not self.problems:
            self.problems.append(_unreadable(path, err, "packed-refs"))

    def _from_packed(self, name: bytes, missing_errno: int) -> _RawRef:
        oid = self._packed_lookup(name)
        return _RawRef(oid=oid) if oid else _RawRef(error=missing_errno)

    def read_raw(self, git_dir: str, name: bytes) -> _RawRef:
        """files-backend ``files_read_raw_ref``: loose file first, then packed-refs."""
        base = git_dir if _is_per_worktree_ref(name) else self.common_dir
        path = os.path.join(base, os.fsdecode(name))
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                link = os.fsencode(os.readlink(path))
                # Legacy symlinked refs: a link to "refs/..." is a symref, anything else is read.
                if link.startswith(b"refs/") and _valid_refname(link, allow_onelevel=False):
                    return _RawRef(target=link)
                st = os.stat(path)
            if stat.S_ISDIR(st.st_mode):
                return self._from_packed(name, errno.EISDIR)
            data = read_file(path).rstrip(_GIT_SPACE)
        except OSError as err:
            if err.errno == errno.ENOENT:
                return self._from_packed(name, errno.ENOENT)
            return _RawRef(error=err.errno or errno.EIO)
        if data.startswith(b"ref:"):
            return _RawRef(target=_c_string(data[4:].lstrip(_GIT_SPACE)))
        oid = self._parse_oid(data)
        return _RawRef(oid=oid) if oid else _RawRef(error=errno.EINVAL)

    def resolve_head(self, git_dir: str) -> _Head:
        """``refs_resolve_ref_unsafe(HEAD, 0)`` as ``add_head_info`` uses it."""
        name = b"HEAD"
        symbolic = False
        for _ in range(_SYMREF_MAXDEPTH):
            if not _valid_refname(name, allow_onelevel=True):
                return _Head(broken=f"HEAD points to an invalid ref name {_text(name)!r}")
            raw = self.read_raw(git_dir, name)
            if raw.error:
                # Only a missing ref is fine (unborn branch, missing HEAD): anything else
                # makes git give up on HEAD entirely.
                if raw.error == errno.EINVAL:
                    return _Head(broken=f"{_text(name)} is unparseable")
                if raw.error not in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
                    why = f"{_text(name)} cannot be read: {os.strerror(raw.error)}"
                    return _Head(broken=why, unknown=True)
                return self._head(None, name, symbolic)
            if raw.target is None:
                return self._head(raw.oid, name, symbolic)
            name, symbolic = raw.target, True
        return _Head(broken="HEAD is a chain of more than 5 symbolic refs")

    @staticmethod
    def _head(oid: str | None, name: bytes, symbolic: bool) -> _Head:
        if symbolic:
            return _Head(oid=oid, branch=_text(name))
        return _Head(oid=oid, detached=True)


class _RefReaders:
    """One reader (and its packed-refs lookups) per common dir seen in this scan."""

    def __init__(self, hexsz: int | None = None) -> None:
        self._readers: dict[str, _RefReader] = {}
        self._hexsz = hexsz  # known by the caller (it parsed the config): saves a read

    def __call__(self, common_dir: str) -> _RefReader:
        if common_dir not in self._readers:
            self._readers[common_dir] = _RefReader(common_dir, self._hexsz)
        return self._readers[common_dir]

    def problems(self) -> list[Problem]:
        return [p for reader in self._readers.values() for p in reader.problems]


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
            config, _unreadable = read_config(os.path.join(self.common_dir, "config"))
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
    if not _is_directory(admin):
        return _PruneVerdict("not a valid directory")
    if _file_exists(os.path.join(admin, "locked")):
        return _PruneVerdict()  # git returns before reading gitdir: no path for prune_dups
    gitdir = os.path.join(admin, "gitdir")
    try:
        st = os.stat(gitdir)
    except (OSError, ValueError):
        return _PruneVerdict("gitdir file does not exist")
    try:
        fd = open_for_reading(gitdir)
    except OSError as err:
        return _PruneVerdict(f"unable to read gitdir file ({_describe(err)})")
    try:
        data = read_up_to(fd, st.st_size)
    except OSError as err:
        return _PruneVerdict(f"unable to read gitdir file ({_describe(err)})")
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        return _PruneVerdict(f"short read (expected {st.st_size} bytes, read {len(data)})")
    content = data.rstrip(b"\r\n")  # only CR/LF here, unlike the listing's rtrim
    if not content:
        return _PruneVerdict("invalid gitdir file")
    dotgit = gitdirs.resolve(admin, _c_string(content))
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
        if isinstance(err, OSError) and _is_absent(err):
            return None, "its gitdir file does not exist"
        problems.append(_unreadable(gitdir, err, subject))
        return None, f"its gitdir file cannot be read ({_describe(err)})"
    if not data:
        return None, "its gitdir file is empty"
    # rtrim and strip "/.git" on the whole buffer, then C sees up to the first NUL
    path = _c_string(data.rstrip(_GIT_SPACE).removesuffix(b"/.git"))
    if path and not path.startswith(b"/"):
        path = gitdirs.resolve(admin, path)
    return os.fsdecode(path), ""


def _lock_state(admin: str, problems: list[Problem], subject: str) -> tuple[bool, str | None]:
    """worktree.c ``worktree_lock_reason``: present file = locked; content trimmed = reason."""
    path = os.path.join(admin, "locked")
    if not _file_exists(path):
        return False, None
    try:
        reason = _c_string(read_file(path).strip(_GIT_SPACE))
    except (OSError, ValueError) as err:
        # git dies here; the file exists, so the worktree is locked, reason unknown.
        problems.append(_unreadable(path, err, subject))
        return True, None
    return True, _text(reason) or None


# --------------------------------------------------------------------------- checks on the tree


def _known_missing(path: str, problems: list[Problem], subject: str) -> bool:
    """True when the worktree directory is known to be missing (not merely unreadable)."""
    try:
        os.stat(path)
    except OSError as err:
        if _is_absent(err):
            return True
        problems.append(_unreadable(path, err, subject))
    except ValueError as err:
        problems.append(_unreadable(path, err, subject))
    return False


def _gitfile_problem(wt: Worktree, admin: str) -> Problem | None:
    """The worktree's own .git file must point back at worktrees/<id>."""
    dotgit = os.path.join(wt.path, ".git")
    repair = f"`git worktree repair {wt.path}` rewrites it"
    found = read_gitfile(dotgit)
    if found.unknown:
        return _unreadable(found.os_error.filename or dotgit, found.os_error, wt.id or "")
    if found.error is GitfileError.STAT_FAILED:
        return _broken_gitfile(wt, f"{dotgit} is missing; {repair}")
    if found.error is GitfileError.NOT_A_FILE:
        kind = "a directory" if _is_directory(dotgit) else "not a regular file"
        return _broken_gitfile(wt, f"{dotgit} is {kind}, not a .git file (a clone was put in its place?)")
    if found.target is None:
        return _broken_gitfile(wt, f"{found.message}; {repair}")
    if not _same_path(found.target, admin):
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
    if error is not None and not _is_absent(error):
        return (
            f"but {wt.path}/.git could not be checked ({_describe(error)}): that is unknown, "
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
        if not _is_absent(err):
            problems.append(_unreadable(path, err, "worktrees"))
    except ValueError as err:
        problems.append(_unreadable(path, err, "worktrees"))
    return []


def _main_worktree(
    common_dir: str, main_path: str | None, bare: bool, refs: _RefReader, main_head: MainHead | None
) -> Worktree:
    if main_path is None:
        # get_main_worktree: real path of the common dir, "/.git" stripped
        main_path = os.path.realpath(common_dir).removesuffix("/.git")
    wt = Worktree(id=None, path=main_path, main=True, bare=bare)
    if main_head is not None:
        # The caller already resolved HEAD from the same files: do not read them twice.
        oid, branch = main_head
        _apply_head(wt, _Head(oid=oid, branch=branch) if branch else _Head(oid=oid, detached=True))
    else:
        _apply_head(wt, refs.resolve_head(common_dir))
    wt.missing = _known_missing(main_path, wt.problems, "")
    return wt


def _linked_common_dir(admin: str, problems: list[Problem], subject: str) -> str:
    """setup.c ``get_common_dir_noenv``: where a linked worktree's ref store finds shared refs.

    ``commondir`` (CR/LF trimmed, relative to the admin dir); without it, the admin dir itself.
    """
    path = os.path.join(admin, "commondir")
    if not _file_exists(path):
        return admin
    try:
        data = _c_string(read_file(path).rstrip(b"\r\n"))
    except (OSError, ValueError) as err:
        problems.append(_unreadable(path, err, subject))  # git dies here
        return admin
    return os.path.normpath(os.path.join(admin, os.fsdecode(data)))


def _apply_head(wt: Worktree, head: _Head) -> None:
    wt.head, wt.branch, wt.detached = head.oid, head.branch, head.detached
    if head.broken:
        code = "unreadable" if head.unknown else "broken-head"
        wt.problems.append(Problem(code, Severity.WARNING, head.broken, wt.id or ""))


def _linked_worktree(
    common_dir: str,
    admin_id: str,
    refs: _RefReaders,
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
        if not _same_path(shared, common_dir):
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

    Order: the main worktree, then the listed linked worktrees sorted by path as git sorts them,
    then admin dirs that git does not list (``listed=False``) by id. Never raises.
    """
    expire = TIME_MAX if expire is None else expire
    now = time.time() if now is None else now
    refs = _RefReaders(hex_width)
    main = _main_worktree(common_dir, main_path, bare, refs(common_dir), main_head)
    gitdirs = GitdirResolver(common_dir, main.path)
    linked = [
        _linked_worktree(common_dir, admin_id, refs, gitdirs, expire, now)
        for admin_id in _admin_ids(common_dir, main.problems)
    ]
    _flag_duplicates(common_dir, linked)
    main.problems.extend(refs.problems())
    listed = sorted(
        (item.worktree for item in linked if item.worktree.listed),
        key=lambda wt: (os.fsencode(wt.path), os.fsencode(wt.id or "")),
    )
    unlisted = sorted(
        (item.worktree for item in linked if not item.worktree.listed),
        key=lambda wt: os.fsencode(wt.id or ""),
    )
    return [main, *listed, *unlisted]


# --------------------------------------------------------------------------- git-sync

# git-sync (kubernetes/git-sync v4, main.go): the repo is ``--root`` itself (``git init`` there),
# ``worktreeFor(hash)`` = ``<root>/.worktrees/<hash>`` added with ``git worktree add --detach``,
# each worktree's .git file rewritten to a *relative* gitdir so the volume can be mounted
# elsewhere, and ``publishSymlink`` renames a relative ``tmp-link`` onto ``--link``.

_WORKTREES_DIR = ".worktrees"
_TMP_LINK = "tmp-link"


def _link_target(root: str, name: str) -> str | None:
    """Absolute, normalised target of symlink root/name if it points into .worktrees/."""
    try:
        target = os.readlink(os.path.join(root, name))
    except (OSError, ValueError):
        return None
    # currentWorktree(): relative targets are relative to the root
    target_abs = os.path.normpath(os.path.join(root, target))
    if os.path.dirname(target_abs) != os.path.normpath(os.path.join(root, _WORKTREES_DIR)):
        return None
    return target_abs


def _sync_links(root: str, problems: list[Problem]) -> list[tuple[str, str]]:
    """(name, target) of every symlink directly in root that points into .worktrees/."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: os.fsencode(e.name))
    except (OSError, ValueError) as err:
        problems.append(_unreadable(root, err, root))
        return []
    links = []
    for entry in entries:
        try:
            is_link = entry.is_symlink()
        except OSError as err:
            problems.append(_unreadable(entry.path, err, entry.name))
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


def _same_path(a: str, b: str) -> bool:
    if os.path.normpath(a) == os.path.normpath(b):
        return True
    return os.path.realpath(a) == os.path.realpath(b)


@dataclass(slots=True)
class _Match:
    worktree: Worktree
    by_path: bool  # False: only the .git back-link matches (registered under another path)


def _registered(entry_path: str, linked: list[Worktree]) -> _Match | None:
    for wt in linked:
        if wt.path and _same_path(wt.path, entry_path):
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
        if not _is_absent(err):
            return [_unreadable(target, err, name)]
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
    wt_dir = os.path.join(root, _WORKTREES_DIR)
    try:
        entries = sorted(os.scandir(wt_dir), key=lambda e: os.fsencode(e.name))
    except (OSError, ValueError) as err:
        if isinstance(err, OSError) and _is_absent(err):
            return []
        return [_unreadable(wt_dir, err, _WORKTREES_DIR)]
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
            problems.append(_unreadable(path, err, entry.name))
            continue
        kind = "directory" if is_dir else "file"
        msg = f"{path} is a {kind} in {_WORKTREES_DIR}/ that git does not know as a worktree"
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
    tmp_links = [(n, t) for n, t in links if n == _TMP_LINK]
    links = [(n, t) for n, t in links if n != _TMP_LINK]
    for name, target in tmp_links:
        msg = f"{name} -> {target} is left over from an interrupted link swap"
        problems.append(Problem("stale-tmp-link", Severity.INFO, msg, name))
    if len(links) > 1:
        names = ", ".join(name for name, _ in links)
        msg = f"several links point into {_WORKTREES_DIR}/: {names}"
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
            f"no link in {root} points into {_WORKTREES_DIR}/ "
            "(an absolute --link may live elsewhere)"
        )
        problems.append(Problem("no-sync-link", Severity.INFO, msg, root))
        return None, None, problems
    name, target = links[0]
    return os.path.join(root, name), target, problems


def is_git_sync_root(path: str) -> bool:
    """A ``.worktrees/`` dir holding a registered linked worktree, or a link into it."""
    wt_dir = os.path.join(path, _WORKTREES_DIR)
    if not _is_directory(wt_dir):
        return False
    try:
        names = os.listdir(wt_dir)
    except (OSError, ValueError):
        names = []
    admin_root = os.path.join(path, ".git", "worktrees")
    for name in names:
        if _is_directory(os.path.join(admin_root, name)):
            return True
        if _backlink_id(os.path.join(wt_dir, name)) is not None:
            return True
    return bool(_sync_links(path, []))
