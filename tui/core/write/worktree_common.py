"""What the worktree edits share: the repository and finding a worktree in it as git does,
the journal-and-locks frame of a change, small file helpers, and git's ``--expire`` dates.

The edits themselves: ``worktree_lock.py`` (lock, unlock), ``worktree_prune.py`` (prune),
``worktree_repair.py`` (repair); ``worktree_edit.py`` is their one entry point.
"""

from __future__ import annotations

import base64
import errno
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from tui.core.fsutil import read_bytes
from tui.core.model import Layout, Worktree
from tui.core.worktrees import TIME_MAX, list_worktrees
from tui.core.write.errors import RefusedError, WriteError
from tui.core.write.journal import Journal, JournalEntry, run_journaled
from tui.core.write.locking import HeldLock, LockSet, make_marker, new_nonce
from tui.core.write.ownership import check_owned
from tui.core.write.recovery import recover_interrupted

__all__ = ["WorktreeRepo", "find_worktree", "parse_expire"]


# --------------------------------------------------------------------------- the repository


@dataclass(frozen=True)
class WorktreeRepo:
    """A repository with worktrees: its common dir and how git names its main worktree."""

    common_dir: str
    main_path: str | None = None
    bare: bool = False

    @classmethod
    def from_candidate(cls, candidate) -> WorktreeRepo:
        """From a discovery.Candidate (or anything with path, git_dir, layout)."""
        bare = candidate.layout is Layout.BARE or (
            candidate.layout is Layout.GIT_SYNC and candidate.path == candidate.git_dir
        )
        return cls(candidate.git_dir, candidate.git_dir if bare else candidate.path, bare)

    def list(self, expire: float | None = None) -> list[Worktree]:
        return list_worktrees(self.common_dir, main_path=self.main_path, bare=self.bare, expire=expire)

    def admin_dir(self, worktree_id: str) -> str:
        return os.path.join(self.common_dir, "worktrees", worktree_id)


def find_worktree(worktrees: list[Worktree], arg: str, cwd: str | None = None) -> Worktree:
    """worktree.c find_worktree() (a unique path suffix, then the real path), or an admin id.

    Refuses when the id names one worktree and git's rules another.
    """
    by_git = _find_by_suffix(worktrees, arg) or _find_by_path(worktrees, arg, cwd)
    wanted_id = arg.removeprefix("worktrees/")
    by_id = next((w for w in worktrees if w.id is not None and w.id == wanted_id), None)
    if by_git is not None and by_id is not None and by_git is not by_id:
        raise RefusedError(
            f"'{arg}' is ambiguous: it is the id of worktrees/{by_id.id} and names the worktree "
            f"at {by_git.path}; give the full path"
        )
    found = by_git or by_id
    if found is None:
        raise RefusedError(f"'{arg}' is not a working tree")  # builtin/worktree.c
    return found


def _find_by_suffix(worktrees: list[Worktree], suffix: str) -> Worktree | None:
    if not suffix:
        return None
    found = [
        w
        for w in worktrees
        if w.listed
        and w.path.endswith(suffix)
        and (len(w.path) == len(suffix) or w.path[len(w.path) - len(suffix) - 1] == "/")
    ]
    return found[0] if len(found) == 1 else None


def _find_by_path(worktrees: list[Worktree], arg: str, cwd: str | None) -> Worktree | None:
    path = os.path.realpath(os.path.join(cwd or os.getcwd(), arg))
    for wt in worktrees:
        if wt.listed and wt.path and os.path.realpath(wt.path) == path:
            return wt
    return None


# --------------------------------------------------------------------------- the frame of a change


def check_applicable(plan, journal: Journal) -> None:
    """Before any plan is applied: not in read-only mode, and no refusal in the plan."""
    journal.check_writable()
    if plan.refusals:
        raise plan.refusals[0]


def owner_refusals(paths: list[str], what: str) -> list[RefusedError]:
    try:
        check_owned(paths, what=what)
    except RefusedError as exc:
        return [exc]
    return []


def begin_with_locks(journal, kind, repo, summary, intent, targets, undo_of):
    """Journal the intent, naming the <target>.lock files about to be created."""
    nonce = new_nonce()
    marker = make_marker(nonce)
    planned = [{"path": target + ".lock", "marker": marker.decode()} for target in targets]
    entry = journal.begin(kind, repo.common_dir, summary, intent, locks=planned, nonce=nonce, undo_of=undo_of)
    return entry, LockSet(marker, repo=repo.common_dir)


def run_journaled_change(entry: JournalEntry, journal: Journal, locks: LockSet | None, work) -> None:
    """``journal.run_journaled`` with what a failed worktree edit tells the operator."""
    run_journaled(
        entry,
        journal,
        locks,
        work,
        done_point=f"{entry.kind}:finished",
        advice=f"; 'gitward undo {entry.id}' restores what was changed",
        reraise=(WriteError,),  # a refusal or a failure that already says what happened
    )


def empty_undo(journal, repo, entry, summary) -> JournalEntry:
    """The undo of an entry interrupted before its change: recorded, nothing to restore."""
    recover_interrupted(journal, repo.common_dir)
    undo = journal.begin(entry.kind, repo.common_dir, summary + " (nothing had changed)", [], undo_of=entry.id)
    journal.record_before(undo, [])
    journal.mark_done(undo)
    return undo


def meta_of(path: str) -> list[int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [st.st_mode, st.st_uid, st.st_gid]


def planned_lock_record(lock: HeldLock, content: bytes | None) -> dict:
    record = lock.record()
    if content is not None:
        record["planned_b64"] = opt_b64(content)
    return record


def read_optional(path: str) -> bytes | None:
    try:
        return read_bytes(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # not a regular file
            return None
        raise


# Worktree before-images record an absent file as None (not as empty bytes).
def opt_b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def opt_unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def opt_text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- --expire


_UNITS = {
    "second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1,
    "minute": 60, "minutes": 60, "min": 60, "mins": 60, "m": 60,
    "hour": 3600, "hours": 3600, "h": 3600,
    "day": 86400, "days": 86400, "d": 86400,
    "week": 7 * 86400, "weeks": 7 * 86400, "w": 7 * 86400,
    "month": 30 * 86400, "months": 30 * 86400,
    "year": 365 * 86400, "years": 365 * 86400,
}


def parse_expire(text: str, now: float | None = None) -> float:
    """git's --expire values that operators use: "now"/"all", "never", "<n>.<unit>[.ago]",
    "<n> <unit> [ago]", "@<epoch>", ISO dates. Epoch seconds; raise ValueError otherwise."""
    now = time.time() if now is None else now
    value = text.strip().lower()
    if value in ("now", "all"):
        return TIME_MAX  # parse_expiry_date(): everything expires
    if value in ("never", "false"):
        return 0.0
    if value.startswith("@") and value[1:].isdigit():
        return float(value[1:])
    match = re.fullmatch(r"(\d+)[. ]+([a-z]+)(?:[. ]+ago)?", value)
    if match and match.group(2) in _UNITS:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"cannot parse --expire {text!r} (try '2.weeks.ago', 'now', 'never', or a date)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
