"""``refs --shadowed`` without reading what it does not show.

A ref is shadowed when it is both loose and packed. On a Gerrit repository (200,000 packed
refs, 10,000 loose) the full read parses every packed line and reads every loose file, yet the
answer needs only the loose *names*, a bisection of packed-refs' raw sorted bytes for each of
them, and the contents of the few hundred loose files that are also packed.

Validation is lazy, never skipped: the packed-refs bytes are looked up as if canonical (sorted,
well-formed: the only kind git writes) while the exact parser checks them, in a forked child
when the caller allows it. When the check fails, the lookups are thrown away and the snapshot
is read in full by ``refstore.read_snapshot``: every anomaly is still found and reported, only
later. Nothing is shown before the check has passed.
"""

from __future__ import annotations

import marshal
import os
import stat
import threading

from tui.core import libgit2
from tui.core.loose import LooseRef, LooseWalk, read_loose_file
from tui.core.packed import (
    HEADER_PREFIX,
    PROBE_BYTES,
    PackedRefs,
    _starts_well,
    canonical_file_count,
    invalid_refname,
)
from tui.core.packed_check import read_header as _read_header
from tui.core.snapshot import RefSnapshot

# Below this size the full read is as fast: nothing to gain, one more code path to run.
MIN_PACKED_BYTES = 1 << 20
_MAX_READ = 0x7FFFF000  # what one read() returns at most on Linux
_SYMREF_MAXDEPTH = 5  # git's


class NotCanonical(Exception):
    """The fast path does not apply: read the snapshot in full."""


def read_shadowed(git_dir: str, hex_width: int = 40, *, may_fork: bool = False):
    """A ``RefSnapshot`` whose loose refs are exactly those ``iter_refs(shadowed_only=True)``
    lists (plus the loose targets of their symbolic refs), or None: then read it in full.

    ``may_fork``: the caller has a single thread (the CLI): the packed-refs check runs in a
    child process meanwhile.
    """
    path = os.path.join(git_dir, "packed-refs")
    try:
        st = os.lstat(path)
    except OSError:
        return None
    # A symlink, a FIFO, a small or a huge file: the full read knows every case.
    if not stat.S_ISREG(st.st_mode) or not MIN_PACKED_BYTES <= st.st_size <= _MAX_READ:
        return None
    data = _read(path, st.st_size, hex_width)
    if data is None:
        return None
    # Loose names after packed-refs' bytes: a concurrent 'git pack-refs' writes packed-refs
    # before deleting loose files, so this order never misses a ref being moved.
    check = _start_check(data, hex_width, may_fork)
    try:
        packed = _unchecked(data, st, hex_width)
        names, errors = _loose_names(git_dir)
        loose = _read_shadowed_loose(git_dir, names, packed, hex_width)
    except NotCanonical:
        check()  # reap the child
        return None
    if any(ref.value and ref.value != packed.get(name) for name, ref in loose.items()):
        libgit2.load()  # the verdicts will need it: import it while the child checks
    count = check()
    if count is None:
        return None
    packed._count = count
    head = read_loose_file(f"{git_dir}/HEAD", hex_width, missing_ok=True)
    walk = LooseWalk(refs=loose, errors=errors)
    return RefSnapshot(git_dir=git_dir, packed=packed, loose=walk, head=head, hex_width=hex_width)


def _read(path: str, size: int, hex_width: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if size > PROBE_BYTES and not _starts_well(os.pread(fd, PROBE_BYTES, 0), hex_width):
            return None  # the full read judges garbage from its first bytes
        data = os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) == size else None  # changed under us: let the full read tell


def _unchecked(data: bytes, st: os.stat_result, hex_width: int) -> PackedRefs:
    """``data`` as a canonical PackedRefs, trusted until the check says otherwise."""
    newline = data.find(b"\n")
    if not data.startswith(HEADER_PREFIX.encode()) or newline < 0 or not data.endswith(b"\n"):
        raise NotCanonical
    packed = PackedRefs(size=st.st_size, exists=True)
    packed.mtime = st.st_mtime
    _read_header(data[:newline].decode("utf-8", "surrogateescape"), packed)
    try:
        packed._use_buffer(data, newline + 1, hex_width, 0)
    except (ValueError, IndexError) as exc:  # no newline where a record should end
        raise NotCanonical from exc
    return packed


def _start_check(data: bytes, hex_width: int, may_fork: bool):
    """Run the exact parser over ``data``; returns a function giving the ref count, or None
    when the file is not canonical (so the fast path's answers must not be used)."""

    def verdict() -> int | None:
        # Canonical: what the parser would keep as these very bytes. A sorted file with a bad
        # line, or with upper-case ids, is kept as a cleaned copy: the lookups read the original.
        return canonical_file_count(data, hex_width)

    if not may_fork or threading.active_count() != 1:
        answer = verdict()
        return lambda: answer
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: check, send, leave without running any parent cleanup
        status = 1
        try:
            os.close(read_end)
            os.write(write_end, marshal.dumps(verdict()))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)

    def result() -> int | None:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status == 0:
            try:
                count = marshal.loads(payload)
            except (EOFError, ValueError, TypeError):
                return verdict()
            return count if count is None or isinstance(count, int) else verdict()
        return verdict()

    return result


def _loose_names(git_dir: str) -> tuple[dict[str, os.DirEntry], list[tuple[str, str]]]:
    """Every loose ref name under refs/, walked as ``walk_loose_refs`` walks (same skips, same
    errors), without opening a single file."""
    names: dict[str, os.DirEntry] = {}
    errors: list[tuple[str, str]] = []
    stack = [(os.path.join(git_dir, "refs"), "refs", True)]
    while stack:
        path, name, is_top = stack.pop()
        try:
            entries = list(os.scandir(path))
        except FileNotFoundError:
            if not is_top:
                errors.append((name, "directory vanished during the scan"))
            continue
        except NotADirectoryError:
            errors.append((name, "not a directory"))
            continue
        except OSError as exc:
            errors.append((name, f"cannot list directory: {exc.strerror}"))
            continue
        for entry in entries:
            entry_name = entry.name
            if entry_name.endswith(".lock") or entry_name.startswith("."):
                continue
            child = f"{name}/{entry_name}"
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError as exc:
                errors.append((child, exc.strerror or str(exc)))
                continue
            if is_dir:
                stack.append((entry.path, child, False))
            else:
                names[child] = entry
    return names, errors


def _read_shadowed_loose(
    git_dir: str, names: dict[str, os.DirEntry], packed: PackedRefs, hex_width: int
) -> dict[str, LooseRef]:
    """The loose refs that are also packed, read as ``walk_loose_refs`` reads them, and the
    loose targets of their symbolic refs (which ``resolve`` follows)."""
    refs: dict[str, LooseRef] = {}

    def read(name: str) -> LooseRef:
        entry = names[name]
        if invalid_refname(name):  # checked only for the few names read (walk_loose_refs' rule)
            return LooseRef(broken_reason="invalid ref name: git ignores this file")
        return read_loose_file(entry.path, hex_width, listed_regular=entry.is_file(follow_symlinks=False))

    targets = []
    for name in names:
        if name in packed:
            ref = refs[name] = read(name)
            if ref.symbolic_target:
                targets.append(ref.symbolic_target)
    for _ in range(_SYMREF_MAXDEPTH):
        next_targets = []
        for target in targets:
            if target in names and target not in refs:
                ref = refs[target] = read(target)
                if ref.symbolic_target:
                    next_targets.append(ref.symbolic_target)
        targets = next_targets
    return refs
