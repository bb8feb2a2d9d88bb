"""One sync of a repository at a time, across gitward processes: an advisory lock in the state dir."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import time

from tui.core import paths
from tui.core.redact import redact_text
from tui.core.sync.git import SyncError
from tui.core.sync.plan import SyncPlan
from tui.core.write.ownership import user_label

__all__ = ["RepoSyncLock", "SYNC_LOCK_DIR"]

SYNC_LOCK_DIR = "sync-locks"  # under gitward's state dir


class RepoSyncLock:
    """One sync of a repository at a time across processes (two operators, cron and the console):
    an advisory ``flock`` on a file in gitward's state dir, named after the repository's real
    path; never a file in the repository. The holder writes who it is into the file, so a
    refused sync can say who holds it. Every git the sync runs inherits the descriptor, so the
    lock is held until gitward *and* its git are gone: a killed gitward whose fetch still runs
    keeps it (and the next sync says so); then the kernel drops it, nothing is left behind.
    The small file stays (removing it would race)."""

    def __init__(self, plan: SyncPlan, state_dir: str | None = None) -> None:
        self.plan = plan
        directory = os.path.join(state_dir or paths.state_dir(), SYNC_LOCK_DIR)
        digest = hashlib.sha256(os.fsencode(plan.repo_key)).hexdigest()[:32]
        self.path = os.path.join(directory, digest + ".lock")
        self._fd: int | None = None

    def acquire(self) -> int:
        """Take it now (returns the descriptor holding it) or raise SyncError naming the
        holder; never waits."""
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise SyncError(
                f"cannot take the sync lock {self.path}: {exc.strerror or exc}; without it another sync "
                "could run at the same time, so nothing was changed (GITWARD_STATE_DIR names a writable "
                "state dir)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise SyncError(
                f"another gitward sync of {self.plan.path} is running ({holder}); nothing was changed. "
                "Wait for it, or stop it"
            ) from None
        os.ftruncate(fd, 0)
        record = {
            "pid": os.getpid(),
            "user": user_label(os.geteuid()),
            "command": redact_text(" ".join(["gitward", *sys.argv[1:]]) if sys.argv[1:] else "gitward console"),
            "since": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "repo": self.plan.repo_key,
        }
        os.pwrite(fd, json.dumps(record).encode() + b"\n", 0)
        self._fd = fd
        return fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # no stale "who" for the next reader
        finally:
            os.close(fd)  # closing drops the flock


def _read_holder(fd: int) -> str:
    try:
        record = json.loads(os.pread(fd, 4096, 0) or b"{}")
        pid = int(record["pid"])
        who = (
            f"pid {pid}, user {record['user']}, since {record['since']}: "
            f"{str(record['command'])[:200]}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "its holder has not written who it is yet"
    if not _alive(pid):
        who += "; that gitward has ended, but a git it started still runs and holds the lock"
    return who


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
