"""Reader for loose refs, following git's ``refs/files-backend.c``.

One pass over ``refs/`` with ``os.scandir`` and one ``open``/``read`` per file: the scan
path reads thousands of repositories, so every syscall counts.
"""

from __future__ import annotations

import errno
import marshal
import os
import re
from dataclasses import dataclass, field

from tui.core.fsutil import READ_NOFOLLOW_FLAGS, SpecialFile, open_for_reading, open_regular
from tui.core.packed import _HEX, bytes_key, invalid_refname
from tui.core.packed_check import _PLAIN_REFNAME

_READ_SIZE = 4096  # loose ref files are one line; anything larger is garbage anyway


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~1 µs more per ref, x 10,000s
class LooseRef:
    value: str | None = None  # lower-case hex object id
    symbolic_target: str | None = None  # "refs/heads/x" for "ref: refs/heads/x"
    broken_reason: str | None = None  # set when git could not parse the file
    special: str | None = None  # "a FIFO (named pipe)", ...: not a regular file, never read

    @property
    def broken(self) -> bool:
        return self.broken_reason is not None


@dataclass(slots=True)
class LooseWalk:
    refs: dict[str, LooseRef] = field(default_factory=dict)
    lock_files: list[tuple[str, float]] = field(default_factory=list)  # (relative path, mtime)
    empty_dirs: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (relative path, message)


_PLAIN_LOOSE = {40: re.compile(rb"[0-9a-f]{40}\n"), 64: re.compile(rb"[0-9a-f]{64}\n")}


def parse_loose_contents(data: bytes, hex_width: int = 40) -> LooseRef:
    """Parse a loose ref file's bytes exactly as git's ``parse_loose_ref_contents``."""
    plain = _PLAIN_LOOSE.get(hex_width)
    if plain is not None and plain.fullmatch(data):
        return LooseRef(value=data[:hex_width].decode("ascii"))  # what git itself writes
    text = data.decode("utf-8", "surrogateescape").rstrip()  # git: strbuf_rtrim
    if text.startswith("ref:"):
        target = text[4:].lstrip()
        if not target or any(c.isspace() or ord(c) < 0x20 for c in target):
            return LooseRef(broken_reason=f"invalid symbolic ref target {target!r}")
        return LooseRef(symbolic_target=target)
    head = text[:hex_width]
    rest = text[hex_width : hex_width + 1]
    # git: parse_oid_hex must succeed, then end of data or whitespace (FETCH_HEAD style).
    if len(head) == hex_width and not (set(head) - _HEX) and (rest == "" or rest.isspace()):
        return LooseRef(value=head.lower())
    if not data:
        return LooseRef(broken_reason="empty file (0 bytes)")
    return LooseRef(broken_reason=f"not an object id: {text[:50]!r}")


def read_loose_file(
    path: str, hex_width: int = 40, missing_ok: bool = False, *, listed_regular: bool = False
) -> LooseRef | None:
    """One loose ref file. ``missing_ok``: return None instead of a broken ref if absent.

    Opened so that it cannot block and read only if it is a regular file: git itself hangs on
    a FIFO here and reads a link to /dev/zero without end; a special file is reported as such.
    ``listed_regular``: the directory listing's d_type already says "regular file", so the
    fstat is skipped (8% of ``gitward refs`` on 50,000 loose refs). A file swapped for a FIFO
    or a device after the listing still cannot block (O_NONBLOCK) and is read at most
    ``_READ_SIZE`` bytes; it would read as broken, not as special.
    """
    try:
        if listed_regular:
            fd = open_for_reading(path, follow_symlinks=False)
        else:
            fd, _ = open_regular(path, follow_symlinks=False)
    except SpecialFile as exc:
        return special_loose_ref(exc.kind)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _read_symlink_ref(path, hex_width)
        if missing_ok and exc.errno == errno.ENOENT:
            return None
        return LooseRef(broken_reason=f"unreadable: {exc.strerror}")
    try:
        data = os.read(fd, _READ_SIZE)
    except OSError as exc:
        return LooseRef(broken_reason=f"unreadable: {exc.strerror}")
    finally:
        os.close(fd)
    return parse_loose_contents(data, hex_width)


def special_loose_ref(kind: str) -> LooseRef:
    """A loose ref path that holds ``kind`` (a FIFO, a device, ...): broken, and never read."""
    return LooseRef(broken_reason=f"{kind}, not a regular file: not read", special=kind)


def _read_symlink_ref(path: str, hex_width: int) -> LooseRef:
    # Old-style symbolic refs were symlinks: git treats a link to "refs/..." as a symref
    # and otherwise follows the link.
    try:
        target = os.readlink(path)
    except OSError as exc:
        return LooseRef(broken_reason=f"unreadable symlink: {exc.strerror}")
    if target.startswith("refs/"):
        return LooseRef(symbolic_target=target)
    try:
        fd, _ = open_regular(path)
    except SpecialFile as exc:
        return special_loose_ref(f"a symlink to {target!r}, {exc.kind}")
    except OSError as exc:
        return LooseRef(broken_reason=f"symlink to {target!r}: {exc.strerror}")
    try:
        return parse_loose_contents(os.read(fd, _READ_SIZE), hex_width)
    except OSError as exc:
        return LooseRef(broken_reason=f"symlink to {target!r}: {exc.strerror}")
    finally:
        os.close(fd)


def walk_loose_refs(
    git_dir: str, top: str = "refs", hex_width: int = 40, *, between: tuple[str, str] | None = None
) -> LooseWalk:
    """Walk ``<git_dir>/<top>`` and read every loose ref. Never raises.

    Depth first, each directory in listing order, with an explicit stack: a hostile tree
    thousands of directories deep costs memory, never Python's recursion limit.

    ``between``: (first, last): only the refs whose names lie in that range of git's byte order
    (inclusive), entering only the directories that may hold such names: the first screenful
    of a Gerrit repository's refs needs a few directories, not thousands. The refs it finds are
    exactly those of the full walk in that range.
    """
    low, high = (bytes_key(between[0]), bytes_key(between[1])) if between else (b"", b"")
    walk = LooseWalk()
    plain_pattern = _PLAIN_LOOSE.get(hex_width)
    plain = plain_pattern.fullmatch if plain_pattern is not None else None
    plain_name = _PLAIN_REFNAME.fullmatch  # most names: valid at a glance
    entries = _list_dir(os.path.join(git_dir, top), top, walk, is_top=True)
    if entries is None:
        return walk
    refs = walk.refs
    stack = [(iter(entries), top)]
    while stack:
        remaining, name = stack[-1]
        for entry in remaining:
            entry_name = entry.name
            child = f"{name}/{entry_name}"
            if entry_name.endswith(".lock"):
                try:
                    walk.lock_files.append((child, entry.stat(follow_symlinks=False).st_mtime))
                except OSError:
                    pass  # vanished: the lock holder finished
                continue
            if entry_name.startswith("."):
                continue  # git ignores these (and so must we, to agree with it)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)  # d_type: no extra syscall
            except OSError as exc:
                walk.errors.append((child, exc.strerror or str(exc)))
                continue
            if is_dir:
                if between and not _may_hold(bytes_key(child + "/"), low, high):
                    continue
                child_entries = _list_dir(entry.path, child, walk)
                if child_entries is not None:
                    stack.append((iter(child_entries), child))
                    break  # descend now; this directory's iterator resumes after the child
            elif between and not low <= bytes_key(child) <= high:
                continue
            elif plain_name(child) is None and invalid_refname(child):
                # git skips such files ("ignoring ref with broken name"); show them as broken.
                refs[child] = LooseRef(broken_reason="invalid ref name: git ignores this file")
            elif entry.is_file(follow_symlinks=False):
                # The common case inline (a host scan reads ~5 files per repository, and three
                # calls per file were a third of the walk): a listed regular file holding what
                # git writes. Anything else, or any error, is read again by read_loose_file.
                path = entry.path
                try:
                    fd = os.open(path, READ_NOFOLLOW_FLAGS)  # never blocks, never follows
                except OSError:
                    refs[child] = read_loose_file(path, hex_width, listed_regular=True)
                    continue
                try:
                    data = os.read(fd, _READ_SIZE)
                except OSError:
                    data = None
                finally:
                    os.close(fd)
                if data is not None and plain is not None and plain(data):
                    refs[child] = LooseRef(data[:hex_width].decode("ascii"))
                elif data is not None:
                    refs[child] = parse_loose_contents(data, hex_width)
                else:
                    refs[child] = read_loose_file(path, hex_width, listed_regular=True)
            else:
                refs[child] = read_loose_file(entry.path, hex_width)
        else:
            stack.pop()  # every entry of this directory is done
    return walk


def _may_hold(directory: bytes, low: bytes, high: bytes) -> bool:
    """Can a name under ``directory`` (ending in "/") lie in [low, high]? Such names sort from
    the directory itself up to, not including, the directory with "0" (the byte after "/")."""
    return directory <= high and directory[:-1] + b"0" > low


def _list_dir(path: str, name: str, walk: LooseWalk, is_top: bool = False) -> list[os.DirEntry] | None:
    """The entries of one ref directory; None (and an error in ``walk``) when it cannot be listed."""
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        if not is_top:  # a directory that vanished between listing and reading
            walk.errors.append((name, "directory vanished during the scan"))
        return None
    except NotADirectoryError:
        walk.errors.append((name, "not a directory"))
        return None
    except OSError as exc:
        walk.errors.append((name, f"cannot list directory: {exc.strerror}"))
        return None
    if not entries and not is_top:
        walk.empty_dirs.append(name)
    return entries


def start_loose_walk_in_child(git_dir: str, top: str = "refs", hex_width: int = 40):
    """Walk the loose refs in a forked child while this process does something else.

    Returns a function that waits for the child and gives its ``LooseWalk``. On a Gerrit
    repository the walk (thousands of directories and files) and the parse of a large
    packed-refs take about as long each: on two cores they overlap. Only for processes with
    a single thread (the CLI): forking a threaded process can deadlock the child. If the
    child fails for any reason the walk is simply done again here.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: walk, send, leave without running any parent cleanup
        status = 1
        try:
            os.close(read_end)
            payload = marshal.dumps(_walk_to_tuples(walk_loose_refs(git_dir, top, hex_width)))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view):]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)

    def result() -> LooseWalk:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status == 0:
            try:
                return _walk_from_tuples(marshal.loads(payload))
            except (EOFError, ValueError, TypeError):
                pass
        return walk_loose_refs(git_dir, top, hex_width)

    return result


def _walk_to_tuples(walk: LooseWalk) -> tuple:
    refs = walk.refs
    return (
        list(refs),
        [(r.value, r.symbolic_target, r.broken_reason, r.special) for r in refs.values()],
        walk.lock_files,
        walk.empty_dirs,
        walk.errors,
    )


def _walk_from_tuples(data: tuple) -> LooseWalk:
    names, fields, lock_files, empty_dirs, errors = data
    refs = dict(zip(names, (LooseRef(*f) for f in fields)))
    return LooseWalk(refs=refs, lock_files=lock_files, empty_dirs=empty_dirs, errors=errors)
