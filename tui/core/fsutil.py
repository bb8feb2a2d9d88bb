"""Small file reads a hostile tree cannot hang or bloat, and durable directory updates.

Shared by the read side (``worktrees``) and the write side (``locking`` and the modules built
on it), so both open files the same way: O_NONBLOCK so a FIFO planted where a small file
belongs cannot hang us (git itself would block there), O_NOCTTY so a terminal device never becomes ours, and a byte limit so
a device or a runaway file cannot eat memory.
"""

from __future__ import annotations

import errno
import os
import stat

READ_LIMIT = 1 << 20
_CHUNK = 1 << 16

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def open_for_reading(path: str) -> int:
    """A read-only descriptor for ``path``, opened so that a FIFO or tty cannot block or adopt us."""
    return os.open(path, _READ_FLAGS)


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

    ``regular_only``: anything but a regular file (after following symlinks) is an
    ``OSError(EINVAL)``; without it a FIFO reads as empty and a directory fails as read(2) does.
    """
    fd = open_for_reading(path)
    try:
        if regular_only and not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        return read_up_to(fd, limit)
    finally:
        os.close(fd)


def read_bytes(path: str, limit: int = READ_LIMIT) -> bytes:
    """A small regular file's bytes, without following a final symlink into a FIFO or device."""
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
