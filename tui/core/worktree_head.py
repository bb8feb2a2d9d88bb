"""Small pieces the worktree readers share: git's file rules (``file_exists``, ``is_directory``,
C strings, "unreadable" problems) and just enough of the files ref backend to resolve a
worktree's HEAD (``RefReader``: loose file, then ``packed-refs``, searched without loading it).

Used by ``tui.core.worktrees`` (the listing) and ``tui.core.gitsync_layout`` (git-sync's view).
Three answers, never two: a file that cannot be read is reported as ``unreadable``, never as gone.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass

from tui.core.fsutil import open_for_reading, read_file
from tui.core.model import Problem, Severity

# git's own isspace() (sane_ctype GIT_SPACE): no \v, no \f, unlike Python's strip().
GIT_SPACE = b" \t\n\r"
ABSENT_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR})
_PACKED_CHUNK = 1 << 20  # packed-refs is searched in chunks of this size
_SYMREF_MAXDEPTH = 5  # refs.h SYMREF_MAXDEPTH


# --------------------------------------------------------------------------- filesystem


def is_absent(err: OSError) -> bool:
    return err.errno in ABSENT_ERRNOS


def describe(err: OSError | ValueError) -> str:
    if isinstance(err, OSError) and err.errno is not None:
        return os.strerror(err.errno)
    return str(err)


def unreadable_problem(path: str, err: OSError | ValueError, subject: str) -> Problem:
    return Problem(
        "unreadable",
        Severity.WARNING,
        f"cannot read {path}: {describe(err)}; its state is unknown (not treated as gone)",
        subject,
    )


def c_string(data: bytes) -> bytes:
    """What C sees of a buffer: everything before the first NUL."""
    return data.split(b"\0", 1)[0]


def file_exists(path: str) -> bool:
    """git's ``file_exists``: lstat() succeeds (a dangling symlink exists)."""
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def is_directory(path: str) -> bool:
    """git's ``is_directory``: stat() (follows symlinks) says directory."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def text(data: bytes) -> str:
    # Lossless: odd bytes survive as surrogates and can be re-encoded for display or JSON.
    return data.decode("utf-8", "surrogateescape")

def same_path(a: str, b: str) -> bool:
    if os.path.normpath(a) == os.path.normpath(b):
        return True
    return os.path.realpath(a) == os.path.realpath(b)


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
class Head:
    oid: str | None = None  # None: unborn, missing or unresolvable
    branch: str | None = None
    detached: bool = False
    broken: str | None = None  # why HEAD could not be resolved at all
    unknown: bool = False  # broken because a file could not be read, not because it is bad


class RefReader:
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
        if rest and rest[:1] not in GIT_SPACE + b"\0":
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
        if not is_absent(err) and not self.problems:
            self.problems.append(unreadable_problem(path, err, "packed-refs"))

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
            data = read_file(path).rstrip(GIT_SPACE)
        except OSError as err:
            if err.errno == errno.ENOENT:
                return self._from_packed(name, errno.ENOENT)
            return _RawRef(error=err.errno or errno.EIO)
        if data.startswith(b"ref:"):
            return _RawRef(target=c_string(data[4:].lstrip(GIT_SPACE)))
        oid = self._parse_oid(data)
        return _RawRef(oid=oid) if oid else _RawRef(error=errno.EINVAL)

    def resolve_head(self, git_dir: str) -> Head:
        """``refs_resolve_ref_unsafe(HEAD, 0)`` as ``add_head_info`` uses it."""
        name = b"HEAD"
        symbolic = False
        for _ in range(_SYMREF_MAXDEPTH):
            if not _valid_refname(name, allow_onelevel=True):
                return Head(broken=f"HEAD points to an invalid ref name {text(name)!r}")
            raw = self.read_raw(git_dir, name)
            if raw.error:
                # Only a missing ref is fine (unborn branch, missing HEAD): anything else
                # makes git give up on HEAD entirely.
                if raw.error == errno.EINVAL:
                    return Head(broken=f"{text(name)} is unparseable")
                if raw.error not in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
                    why = f"{text(name)} cannot be read: {os.strerror(raw.error)}"
                    return Head(broken=why, unknown=True)
                return self._head(None, name, symbolic)
            if raw.target is None:
                return self._head(raw.oid, name, symbolic)
            name, symbolic = raw.target, True
        return Head(broken="HEAD is a chain of more than 5 symbolic refs")

    @staticmethod
    def _head(oid: str | None, name: bytes, symbolic: bool) -> Head:
        if symbolic:
            return Head(oid=oid, branch=text(name))
        return Head(oid=oid, detached=True)


class RefReaders:
    """One reader (and its packed-refs lookups) per common dir seen in this scan."""

    def __init__(self, hexsz: int | None = None) -> None:
        self._readers: dict[str, RefReader] = {}
        self._hexsz = hexsz  # known by the caller (it parsed the config): saves a read

    def __call__(self, common_dir: str) -> RefReader:
        if common_dir not in self._readers:
            self._readers[common_dir] = RefReader(common_dir, self._hexsz)
        return self._readers[common_dir]

    def problems(self) -> list[Problem]:
        return [p for reader in self._readers.values() for p in reader.problems]
