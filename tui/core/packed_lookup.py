"""``refs --shadowed`` without reading what it does not show.

A ref is shadowed when it is both loose and packed. On a Gerrit repository (200,000 packed
refs, 10,000 loose) the full read parses every packed line and reads every loose file, yet the
answer needs only the loose *names*, a bisection of packed-refs' raw sorted bytes for each of
them, and the contents of the few hundred loose files that are also packed.

Validation is never skipped: a check proves the packed-refs bytes canonical (sorted,
well-formed, the only kind git writes: ``packed_canonical``) and, in the same pass over the
names, finds the loose names among them; in a forked child when the caller allows it, which
checks the lines' form while the parent walks the loose names. When the check fails, the
snapshot is read in full by ``refstore.read_snapshot``: every anomaly is still found and
reported. Nothing is looked up before the check has passed.
"""

from __future__ import annotations

import marshal
import os
import stat
import threading

from tui.core import libgit2
from tui.core.loose import LooseRef, LooseWalk, read_loose_file
from tui.core.packed import PROBE_BYTES, PackedRefs, _starts_well, invalid_refname
from tui.core.packed_canonical import canonical_file_start, find_if_increasing
from tui.core.packed_check import read_header as _read_header
from tui.core.snapshot import RefSnapshot

# Below this size the full read is as fast: nothing to gain, one more code path to run.
MIN_PACKED_BYTES = 1 << 20
_MAX_READ = 0x7FFFF000  # what one read() returns at most on Linux
_SYMREF_MAXDEPTH = 5  # git's


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
    names, errors = _loose_names(git_dir)
    # The verdicts will need pygit2 when a loose ref is also packed: import it while the child
    # checks (when there is no child, the verdicts import it if they need it).
    answer = check(names, meanwhile=libgit2.load if names else None)
    if answer is None:
        return None
    count, records = answer
    packed = PackedRefs(size=st.st_size, exists=True)
    packed.mtime = st.st_mtime
    start = data.index(b"\n") + 1
    _read_header(data[: start - 1].decode("utf-8", "surrogateescape"), packed)
    packed._use_buffer(data, start, hex_width, count)
    # Every loose name was looked up by the check: -1 for those not packed.
    packed._memo.update(dict.fromkeys(names, -1))
    packed._memo.update(records)
    loose = _read_shadowed_loose(git_dir, names, packed, hex_width)
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


def _start_check(data: bytes, hex_width: int, may_fork: bool):
    """Check that ``data`` is canonical and look the loose names up in it, in a child process
    when allowed (the form is checked while the parent walks the loose names).

    Returns ``answer(names, meanwhile=None)``: (ref count, {name: record offset} for the names
    that are packed), or None when the file is not canonical (then the full read decides).
    ``meanwhile`` runs in the parent while the child works."""

    def check(names) -> tuple[int, dict[str, int]] | None:
        start = canonical_file_start(data, hex_width)
        return None if start is None else find_if_increasing(data, start, hex_width, names)

    if not may_fork or threading.active_count() != 1:
        return lambda names, meanwhile=None: check(names)
    names_read, names_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: check, send, leave without running any parent cleanup
        status = 1
        try:
            os.close(names_write)
            os.close(answer_read)
            start = canonical_file_start(data, hex_width)  # meanwhile the parent walks the loose refs
            with os.fdopen(names_read, "rb") as pipe:
                names = marshal.loads(pipe.read())
            found = None if start is None else find_if_increasing(data, start, hex_width, names)
            with os.fdopen(answer_write, "wb") as pipe:
                pipe.write(marshal.dumps(found))
            status = 0
        finally:
            os._exit(status)
    os.close(names_read)
    os.close(answer_write)

    def answer(names, meanwhile=None) -> tuple[int, dict[str, int]] | None:
        names = list(names)
        try:
            with os.fdopen(names_write, "wb") as pipe:
                pipe.write(marshal.dumps(names))
        except OSError:
            pass  # the child is gone: its status says so, and the check runs here
        try:
            if meanwhile is not None:
                meanwhile()
        finally:  # the child is reaped whatever happens here
            with os.fdopen(answer_read, "rb") as pipe:
                payload = pipe.read()
            _, status = os.waitpid(pid, 0)
        if status == 0:
            try:
                found = marshal.loads(payload)
            except (EOFError, ValueError, TypeError):
                return check(names)
            if found is None or (isinstance(found, tuple) and len(found) == 2 and isinstance(found[1], dict)):
                return found
        return check(names)

    return answer


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
