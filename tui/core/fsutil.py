"""Small file reads a hostile tree cannot hang or bloat, and durable directory updates.

Shared by the read side (``worktrees``) and the write side (``locking`` and the modules built
on it), so both open files the same way: O_NONBLOCK so a FIFO planted where a small file
belongs cannot hang us (git itself would block there), O_NOCTTY so a terminal device never becomes ours, and a byte limit so
a device or a runaway file cannot eat memory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator

TYPE_CHECKING = False  # typing's own flag, without importing typing on the read side's start path
if TYPE_CHECKING:
    from typing import BinaryIO

READ_LIMIT = 1 << 20
_CHUNK = 1 << 16

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
# open_for_reading(follow_symlinks=False), for a hot loop that calls os.open itself (loose.py).
READ_NOFOLLOW_FLAGS = _READ_FLAGS | os.O_NOFOLLOW


def open_for_reading(path: str, *, follow_symlinks: bool = True) -> int:
    """A read-only descriptor for ``path``, opened so that a FIFO or tty cannot block or adopt us.

    ``follow_symlinks=False``: a final symlink fails with ELOOP instead of being followed.
    """
    return os.open(path, _READ_FLAGS if follow_symlinks else READ_NOFOLLOW_FLAGS)


# What a non-regular file is, in the words a problem message uses.
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symlink"),
)


def file_kind(mode: int) -> str:
    """``st_mode`` in words: "a regular file", "a FIFO (named pipe)", "a directory", ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "a special file"


NOT_REGULAR = "not a regular file"  # the end of every SpecialFile message


class SpecialFile(OSError):
    """A file read from a repository is not a regular file (a FIFO, device, socket, directory).

    An OSError (EINVAL), so callers that treat any OSError as "unreadable" stay correct; callers
    that report special files as such catch it first. ``kind`` says what it is (``file_kind``).
    """

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"{kind}, {NOT_REGULAR}", path)
        self.kind = kind


def open_regular(path: str, *, follow_symlinks: bool = True) -> tuple[int, os.stat_result]:
    """A descriptor and its fstat for the regular file ``path``; anything else is ``SpecialFile``.

    The open cannot block (O_NONBLOCK) and the type is checked on the opened descriptor, so a
    file swapped for a FIFO or a device between a listing and the open is still refused.
    """
    try:
        fd = open_for_reading(path, follow_symlinks=follow_symlinks)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP):
            # A socket (or a device without a driver) cannot be opened at all: say what it is.
            try:
                mode = (os.stat if follow_symlinks else os.lstat)(path).st_mode
            except OSError:
                raise exc from None
            if not stat.S_ISREG(mode):
                raise SpecialFile(path, file_kind(mode)) from exc
        raise
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise SpecialFile(path, file_kind(st.st_mode))
    return fd, st


def special_kind(path: str) -> str | None:
    """What ``path`` is when it exists (after symlinks) and is not a regular file; else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else file_kind(mode)


def read_up_to(fd: int, size: int) -> bytes:
    """git's ``read_in_full``: read up to ``size`` bytes, stopping early only at EOF."""
    chunks: list[bytes] = []
    total = 0
    while total < size:
        chunk = os.read(fd, min(_CHUNK, size - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_file(path: str, limit: int = READ_LIMIT, *, regular_only: bool = False) -> bytes:
    """The first ``limit`` bytes of ``path`` (git's ``strbuf_read_file``, bounded).

    ``regular_only``: anything but a regular file (after following symlinks) is a
    ``SpecialFile`` error; without it a FIFO reads as empty and a directory fails as read(2) does.
    """
    if regular_only:
        fd, _ = open_regular(path)
    else:
        fd = open_for_reading(path)
    try:
        return read_up_to(fd, limit)
    finally:
        os.close(fd)


def read_bytes(path: str, limit: int = READ_LIMIT) -> bytes:
    """A small regular file's bytes; a FIFO, device, socket or directory is ``SpecialFile``."""
    return read_file(path, limit, regular_only=True)


def fsync_dir(path: str) -> None:
    """Make a rename or unlink in ``path`` durable (git does this only with core.fsync)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync directories; the rename is still atomic
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path: str, *, mode: int | None = None) -> Iterator[BinaryIO]:
    """Write a new ``path`` whole or not at all: a temp file in the same directory, fsync, rename,
    fsync the directory. ``mode``: the new file's permissions (mkstemp makes it 0600).

    The temp name starts with a dot and ends in ``.tmp``, so readers that glob for the real names
    (node_exporter's ``*.prom``) never see it. On any error it is removed and ``path`` is untouched.
    """
    # deferred: tempfile (with shutil and random) costs ~8 ms at start; only writers need it
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(directory)
