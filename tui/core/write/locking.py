"""The write primitives every gitward change is built from: errors, git's lock files, fault points.

Lock files follow git's ``lockfile.c``/``tempfile.c``: ``<path>.lock`` is created with
``O_CREAT|O_EXCL`` (the lock *is* the file's existence), a held lock is retried with git's
quadratic backoff until a timeout, and a lock is released by unlinking it, or committed by
renaming it over ``<path>``. Two additions, both invisible to git (git never reads another
process's lock file):

- A lock is gitward's from the instant it exists: the marker (one line naming gitward, the
  process and the entry's nonce, journaled *before* the lock is taken) is written to a staging
  file ``<target>.gitward-<nonce>.lock`` first, and the lock is created by ``link(2)`` of that
  file to ``<target>.lock``, which, like ``O_CREAT|O_EXCL``, fails when the lock exists. So no
  kill leaves an empty lock file that nobody can prove is ours (git's own locks are empty or
  hold a value while they are written, so emptiness proves nothing). Both names end in
  ``.lock``, which git and JGit skip when they list refs. A commit lock is then rewritten with
  the planned content. The journal records each lock's device and inode, so a lock left by a
  killed gitward can later be proven ours and removed (``lock_left_by``); a lock gitward did
  not create is never deleted. On a file system without hard links the lock is created with
  ``O_EXCL`` and the marker written next (the old, git-like way).
- ``fault_point(name)``: with ``GITWARD_FAULT=<name>`` (or ``<name>@<n>`` for the n-th time a
  step is reached) the process SIGKILLs itself there; with ``GITWARD_FAULT_TRACE=<file>`` it
  appends every step it reaches. The crash-safety tests use both to kill gitward at every step.
"""

from __future__ import annotations

import errno
import os
import random
import secrets
import signal
import socket
import stat
import time
from dataclasses import dataclass, field

from tui.core.fsutil import fsync_dir, read_bytes

LOCK_SUFFIX = ".lock"

# git's defaults: core.packedRefsTimeout (refs/packed-backend.c) and core.filesRefLockTimeout
# (refs/files-backend.c), in milliseconds.
PACKED_REFS_TIMEOUT_MS = 1000
FILES_REF_LOCK_TIMEOUT_MS = 100

# lockfile.c: first backoff ~1 ms, growing quadratically up to 1000x.
_INITIAL_BACKOFF_MS = 1
_BACKOFF_MAX_MULTIPLIER = 1000


# --------------------------------------------------------------------------- errors


class WriteError(Exception):
    """Anything that stops a change. ``str(error)`` is one line an operator can act on."""

    exit_code = 2


class RefusedError(WriteError):
    """A precondition does not hold; nothing was changed."""

    exit_code = 1


class ReadOnlyError(RefusedError):
    """gitward runs in read-only mode."""


class UnsupportedError(RefusedError):
    """The repository holds something gitward does not fully understand (reftable, a damaged
    packed-refs, a leftover packed-refs.new, unknown admin files)."""


class StateChangedError(RefusedError):
    """Compare-and-swap failed: the files moved on since the plan was made. Rescan."""


class OwnershipError(RefusedError):
    """The running user is not the owner of a file the change would replace."""

    def __init__(self, message: str, owner_uid: int, owner_name: str | None) -> None:
        super().__init__(message)
        self.owner_uid = owner_uid
        self.owner_name = owner_name


class LockHeldError(RefusedError):
    """Someone else holds a lock we need, past the retry time."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


class PermissionRefusedError(RefusedError):
    """The operating system refused the first write (nothing was changed)."""


class ApplyError(WriteError):
    """A change failed half-way. Each file is at its old or its new state; the journal entry
    is marked failed and ``gitward undo`` can restore the rest."""

    def __init__(self, message: str, entry_id: str | None = None) -> None:
        super().__init__(message)
        self.entry_id = entry_id


def error_text(exc: BaseException) -> str:
    """What went wrong, in one line: "path: strerror" for an OS error, else the message."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename or ''}: {exc.strerror}".lstrip(": ")
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- fault points

_fault_counts: dict[str, int] = {}


def fault_point(name: str) -> None:
    """A named step of an action, where the crash tests kill the process (see module doc)."""
    wanted = os.environ.get("GITWARD_FAULT")
    trace = os.environ.get("GITWARD_FAULT_TRACE")
    if not wanted and not trace:
        return
    count = _fault_counts[name] = _fault_counts.get(name, 0) + 1
    key = f"{name}@{count}"
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(key + "\n")
    if wanted == key or (wanted == name and count == 1):
        # SIGKILL: no finally blocks, no atexit handlers, no flushing: as close to a power cut
        # as a process can get without losing the page cache.
        os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- process identity


def new_nonce() -> str:
    return secrets.token_hex(8)


def hostname() -> str:
    return socket.gethostname()


def process_start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` (Linux: /proc/<pid>/stat field 22), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, start_ticks: int | None) -> bool:
    """Is the process that wrote a journal entry (pid + start time) still running here?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if start_ticks is None:
        return True
    current = process_start_ticks(pid)
    return current is None or current == start_ticks


# --------------------------------------------------------------------------- small file helpers


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_durably(fd: int, data: bytes, like: os.stat_result | None = None) -> None:
    """Write all of ``data`` to ``fd``, give the file ``like``'s mode, owner and group, fsync it."""
    write_all(fd, data)
    if like is not None:
        from tui.core.write.ownership import copy_metadata  # ownership imports this module

        copy_metadata(fd, like)
    os.fsync(fd)


def unlink_if_exists(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


# --------------------------------------------------------------------------- lock files


def _lock_held_message(lock_path: str, repo: str | None) -> str:
    # git's unable_to_lock_message() (lockfile.c, 2.39), on one line, plus what to do here.
    return (
        f"Unable to create '{lock_path}': File exists. Another git process seems to be running "
        "in this repository; if none is (check with fuser/lsof), a process crashed: "
        f"'{clear_lock_command(repo, lock_path)}' removes it once it is past its grace period "
        "(at once when an interrupted gitward left it)"
    )


def clear_lock_command(repo: str | None, lock_path: str) -> str:
    """The ``gitward locks clear`` command line for ``lock_path``, ready to paste: the real
    repository path and the lock relative to it (as scans list it), shell-quoted."""
    # lazy (import cost): shlex loads on first use, not with this module
    import shlex

    lock_path = os.path.abspath(lock_path)
    if repo is None:
        return f"gitward locks clear REPO {shlex.quote(lock_path)}"
    real_repo = os.path.realpath(repo)
    real_lock = os.path.join(os.path.realpath(os.path.dirname(lock_path)), os.path.basename(lock_path))
    relpath = os.path.relpath(real_lock, real_repo)
    if relpath.startswith(".."):
        relpath = real_lock  # outside the git dir (a worktree's own dir): the command takes absolute paths
    return f"gitward locks clear {shlex.quote(real_repo)} {shlex.quote(relpath)}"


def staging_lock_path(lock_path: str, nonce: str) -> str:
    """Where ``acquire_lock`` writes the marker before linking it to ``lock_path``: named with
    the nonce the journal recorded, so a staging file left by a kill is provably ours."""
    base = lock_path[: -len(LOCK_SUFFIX)] if lock_path.endswith(LOCK_SUFFIX) else lock_path
    return f"{base}.gitward-{nonce}{LOCK_SUFFIX}"


def marker_nonce(marker: bytes) -> str:
    """The nonce a marker made by ``make_marker`` carries."""
    for word in marker.decode("utf-8", "replace").split():
        if word.startswith("nonce="):
            return word[len("nonce=") :]
    raise ValueError("not a gitward lock marker")


@dataclass
class HeldLock:
    """A ``<target>.lock`` this process created and still holds."""

    target: str
    path: str
    marker: bytes
    dev: int
    ino: int
    committed: bool = False
    released: bool = False

    def record(self) -> dict:
        """What the journal keeps to recognise this lock after a crash."""
        return {"path": self.path, "dev": self.dev, "ino": self.ino, "marker": self.marker.decode()}

    def still_ours(self) -> bool:
        try:
            st = os.lstat(self.path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == (self.dev, self.ino)

    def commit(self, data: bytes, like: os.stat_result | None, on_written=None, *, replace: bool = True) -> None:
        """git's commit_lock_file(): the lock's content becomes ``target`` by rename.

        ``like``: the file being replaced; its mode, owner and group are kept. ``on_written``
        runs after the content is durable and before the rename (a fault point).
        ``replace=False``: create ``target`` only if it does not exist (link(2), which fails
        with EEXIST instead of clobbering a file another process just created).
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            write_durably(fd, data, like)
        finally:
            os.close(fd)
        if on_written is not None:
            on_written()
        if replace:
            os.rename(self.path, self.target)
        else:
            link_no_replace(self.path, self.target)
        self.committed = True
        fsync_dir(os.path.dirname(self.target))

    def release(self) -> None:
        """git's rollback_lock_file(): unlink the lock, but only the one we created."""
        if self.committed or self.released:
            return
        self.released = True
        if self.still_ours():
            unlink_if_exists(self.path)


def link_no_replace(source: str, target: str) -> None:
    """Move ``source`` to ``target`` atomically, failing (FileExistsError) if target exists."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        # No hard links on this file system: check, then rename (a tiny window, as git has).
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "File exists", target) from None
        os.rename(source, target)
        return
    os.unlink(source)


def acquire_lock(target: str, *, timeout_ms: int, marker: bytes, owner_hint: str = "", repo: str | None = None) -> HeldLock:
    """Create ``<target>.lock`` exclusively, retrying a held lock as git does for ``timeout_ms``.

    The lock holds ``marker`` from the instant it exists (see the module doc). Raises
    LockHeldError (held past the timeout) or PermissionRefusedError (EACCES/EPERM).
    ``owner_hint`` is appended to a permission error ("run as git (uid 998)"); ``repo`` (the git
    dir) makes the held-lock message name a ``gitward locks clear`` command that works.
    """
    lock_path = target + LOCK_SUFFIX
    staging = staging_lock_path(lock_path, marker_nonce(marker))
    try:
        fd = os.open(staging, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except PermissionError as exc:
        hint = f"; {owner_hint}" if owner_hint else ""
        raise PermissionRefusedError(
            f"Unable to create '{os.path.abspath(lock_path)}': {exc.strerror}; nothing was changed{hint}"
        ) from None
    try:
        try:
            write_all(fd, marker)
            st = os.fstat(fd)
        finally:
            # Closed at once, as git closes ref locks: a transaction over 10,000 refs must not
            # hold 10,000 descriptors.
            os.close(fd)
        fault_point("lock:staged")
        if _retry_held(lambda: os.link(staging, lock_path), lock_path, timeout_ms, repo):
            fault_point("lock:linked")
            return HeldLock(target=target, path=lock_path, marker=marker, dev=st.st_dev, ino=st.st_ino)
    finally:
        unlink_if_exists(staging)
    # No hard links here: O_EXCL, then the marker (a kill in between leaves an empty lock that
    # is reported, never removed: it could as well be git's).
    holder: list[int] = []

    def create() -> None:
        holder.append(os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))

    _retry_held(create, lock_path, timeout_ms, repo)
    (fd,) = holder
    try:
        write_all(fd, marker)
        st = os.fstat(fd)
    except BaseException:
        unlink_if_exists(lock_path)
        raise
    finally:
        os.close(fd)
    return HeldLock(target=target, path=lock_path, marker=marker, dev=st.st_dev, ino=st.st_ino)


def _retry_held(create, lock_path: str, timeout_ms: int, repo: str | None) -> bool:
    """Run ``create`` until it does not fail with EEXIST, with lockfile.c's backoff.

    False: the file system has no hard links (``create`` is a link(2)); the caller falls back.
    """
    remaining = timeout_ms
    multiplier, n = 1, 1
    rng = random.Random(os.getpid())
    while True:
        try:
            create()
            return True
        except FileExistsError:
            if timeout_ms >= 0 and remaining <= 0:
                raise LockHeldError(_lock_held_message(os.path.abspath(lock_path), repo), lock_path) from None
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
                return False
            raise
        backoff = multiplier * _INITIAL_BACKOFF_MS
        wait_ms = (750 + rng.randrange(500)) * backoff / 1000
        time.sleep(wait_ms / 1000)
        remaining -= wait_ms
        multiplier += 2 * n + 1
        if multiplier > _BACKOFF_MAX_MULTIPLIER:
            multiplier = _BACKOFF_MAX_MULTIPLIER
        else:
            n += 1


@dataclass
class LockSet:
    """Locks taken in order and released in reverse order, also when an action fails."""

    marker: bytes
    held: list[HeldLock] = field(default_factory=list)
    repo: str | None = None  # the git dir, for the message about a held lock

    def acquire(self, target: str, *, timeout_ms: int, owner_hint: str = "") -> HeldLock:
        lock = acquire_lock(target, timeout_ms=timeout_ms, marker=self.marker, owner_hint=owner_hint, repo=self.repo)
        self.held.append(lock)
        return lock

    def records(self) -> list[dict]:
        return [lock.record() for lock in self.held]

    def release_all(self) -> None:
        errors = []
        for lock in reversed(self.held):
            try:
                lock.release()
            except OSError as exc:  # keep releasing the others
                errors.append(exc)
        self.held.clear()
        if errors:
            raise errors[0]

    def __enter__(self) -> LockSet:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release_all()


def make_marker(nonce: str) -> bytes:
    return f"gitward lock nonce={nonce} pid={os.getpid()} host={hostname()}\n".encode()


def lock_left_by(record: dict, planned: bytes | None = None) -> bool:
    """Is the file at ``record['path']`` the lock a (now dead) gitward process recorded?

    Same device and inode, and content that is the marker, or (for a commit lock) the planned
    content or a prefix of it (killed while writing). Anything else is somebody else's lock.
    """
    path = record["path"]
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if (st.st_dev, st.st_ino) != (record["dev"], record["ino"]) or not stat.S_ISREG(st.st_mode):
        return False
    try:
        content = read_bytes(path)
    except OSError:
        return False
    if content == record["marker"].encode():
        return True
    return planned is not None and planned.startswith(content)


def timeout_from_config(config, key: str, default: int) -> int:
    """A lock timeout in ms from git config (``core.packedRefsTimeout`` etc.), else git's default."""
    raw = config.get("core", None, key) if config is not None else None
    if raw is None:
        return default
    try:
        return int(raw.strip(), 0)
    except ValueError:
        return default
