"""When a repository last fetched *successfully*, and whether the newest fetch failed.

"last fetch" used to be ``FETCH_HEAD``'s mtime, which lies: git truncates ``FETCH_HEAD`` when a
fetch starts and fills it when the fetch ends, so a fetch that was cancelled or failed leaves an
empty file with a fresh mtime and read as "fetched 53 seconds ago". Two sources, combined:

- gitward's own record of each sync (``<state dir>/syncs/<digest>.json``, one small file per
  repository, named after the real path of its git dir): the last outcome and the last
  successful one. Written by ``tui.core.sync.record`` when a sync ends, whoever ran it (the CLI
  and the console both run syncs through ``tui.core.sync.jobs``).
- ``FETCH_HEAD`` for fetches gitward did not run (cron, git-sync, an operator): non-empty means
  a fetch completed then; empty means one started then and did not complete (or fetched
  nothing: an empty upstream; a gitward record that ended after it says which).

Read side: the scan asks ``fetch_status(git_dir)`` for every repository, so it costs one
``stat`` of the store per repository until gitward has synced anything on this host.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass

from tui.core import paths
from tui.core.fsutil import read_bytes, replacing
from tui.core.model import FetchFailure

__all__ = ["OK", "SYNC_STORE_DIR", "FetchStatus", "SyncOutcome", "fetch_status", "read_outcomes", "write_outcome"]

SYNC_STORE_DIR = "syncs"  # under gitward's state dir
OK = "ok"
# An empty FETCH_HEAD newer than any success: git started a fetch there that did not complete.
INCOMPLETE = "incomplete"
_MAX_STORE_FILE = 64 * 1024


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """How one sync ended, as the store keeps it (no ref list: that is in the journal)."""

    state: str  # ok | failed | cancelled | timed-out
    ended: float  # epoch seconds
    started: float | None = None
    exit_code: int | None = None
    error: str | None = None
    changed_refs: int = 0
    journal_id: str | None = None

    def to_json(self) -> dict:
        return {
            "state": self.state,
            "ended": self.ended,
            "started": self.started,
            "exit_code": self.exit_code,
            "error": self.error,
            "changed_refs": self.changed_refs,
            "journal_id": self.journal_id,
        }

    @classmethod
    def from_json(cls, data: dict) -> SyncOutcome:
        return cls(
            state=str(data["state"]),
            ended=float(data["ended"]),
            started=None if data.get("started") is None else float(data["started"]),
            exit_code=data.get("exit_code"),
            error=data.get("error"),
            changed_refs=int(data.get("changed_refs") or 0),
            journal_id=data.get("journal_id"),
        )


@dataclass(frozen=True, slots=True)
class FetchStatus:
    last_ok: float | None  # the last successful fetch, epoch seconds; None: none known
    failure: FetchFailure | None  # the newest fetch, when it did not succeed


def store_dir(state_dir: str | None = None) -> str:
    return os.path.join(state_dir or paths.state_dir(), SYNC_STORE_DIR)


def store_path(repo_key: str, state_dir: str | None = None) -> str:
    """``repo_key``: the real path of the repository's git dir (``SyncPlan.repo_key``)."""
    return os.path.join(store_dir(state_dir), _record_name(repo_key))


def _record_name(repo_key: str) -> str:
    return hashlib.sha256(os.fsencode(repo_key)).hexdigest()[:32] + ".json"


def read_outcomes(repo_key: str, state_dir: str | None = None) -> tuple[SyncOutcome | None, SyncOutcome | None]:
    """(the last outcome, the last successful one) gitward recorded for the repository."""
    try:
        data = json.loads(read_bytes(store_path(repo_key, state_dir), _MAX_STORE_FILE))
        if data.get("repo") != repo_key:
            return None, None  # a digest collision, or a file from elsewhere: not this repository
        last = SyncOutcome.from_json(data["last"]) if data.get("last") else None
        last_ok = SyncOutcome.from_json(data["last_ok"]) if data.get("last_ok") else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, None  # no record (or one that cannot be read): FETCH_HEAD alone decides
    return last, last_ok


def write_outcome(repo_key: str, outcome: SyncOutcome, state_dir: str | None = None) -> None:
    """Record how a sync of the repository ended (atomically; the last writer wins)."""
    _, last_ok = read_outcomes(repo_key, state_dir)
    if outcome.state == OK:
        last_ok = outcome
    data = {
        "version": 1,
        "repo": repo_key,
        "last": outcome.to_json(),
        "last_ok": None if last_ok is None else last_ok.to_json(),
    }
    os.makedirs(store_dir(state_dir), mode=0o700, exist_ok=True)
    with replacing(store_path(repo_key, state_dir)) as handle:
        handle.write(json.dumps(data, sort_keys=True).encode() + b"\n")


_UNLISTED = object()  # fetch_status(records=...) not given: look at the store now


def fetch_status(
    git_dir: str,
    *,
    fetch_head_listed: bool = True,
    state_dir: str | None = None,
    real_dirs: dict[str, str] | None = None,
    records=_UNLISTED,
) -> FetchStatus:
    """The truth about the repository's fetches (module notes). ``fetch_head_listed``: False when
    the caller listed the git dir and saw no ``FETCH_HEAD`` (saves a stat). ``real_dirs``: a
    cache of directories' real paths the caller keeps for a batch of repositories (see
    ``real_path``). ``records``: ``store_records(state_dir)`` when the caller looked for a batch
    of repositories (a stat of the store per repository otherwise)."""
    head = _fetch_head(git_dir) if fetch_head_listed else None
    last = last_ok = None
    if records is _UNLISTED:
        records = store_records(state_dir)
    if records is None or records:
        repo_key = real_path(git_dir, real_dirs)
        if records is None or _record_name(repo_key) in records:
            last, last_ok = read_outcomes(repo_key, state_dir)
    ok_times = [t for t in (last_ok.ended if last_ok else None, head[0] if head and head[1] else None) if t is not None]
    newest_ok = max(ok_times, default=None)
    failure = None
    if last is not None and last.state != OK and (newest_ok is None or last.ended > newest_ok):
        failure = FetchFailure(last.ended, last.state, last.error, last.exit_code)
    elif head is not None and not head[1] and (newest_ok is None or head[0] > newest_ok):
        failure = FetchFailure(head[0], INCOMPLETE, "FETCH_HEAD is empty: a fetch started then and did not complete")
    return FetchStatus(newest_ok, failure)


def _fetch_head(git_dir: str) -> tuple[float, int] | None:
    try:
        st = os.stat(os.path.join(git_dir, "FETCH_HEAD"))
    except OSError:
        return None
    return st.st_mtime, st.st_size


# store dir -> (its mtime_ns, the names of its records; None: it cannot be listed)
_listing_cache: dict[str, tuple[int, frozenset[str] | None]] = {}


def store_records(state_dir: str | None) -> frozenset[str] | None:
    """The record files in the store (empty: none, or no store); None when it cannot be listed
    (look per repository instead). One stat per call; the listing only when the store changed
    since the last look: every record is written by a rename, which changes the dir's mtime."""
    directory = store_dir(state_dir)
    try:
        mtime = os.stat(directory).st_mtime_ns
    except OSError:
        return frozenset()
    cached = _listing_cache.get(directory)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        names = frozenset(name for name in os.listdir(directory) if name.endswith(".json"))
    except OSError:
        names = None
    _listing_cache[directory] = (mtime, names)
    return names


def real_path(path: str, real_dirs: dict[str, str] | None = None) -> str:
    """``os.path.realpath(path)``, cheaply for many paths in few directories.

    realpath costs an lstat per path component (the record store is keyed by the real path
    of each git dir, so a scan asked it for every repository). With ``real_dirs`` (a cache the
    caller keeps for one batch, never longer: links can change), a path whose last component
    is not a symlink is its parent's real path plus that component: one lstat.
    """
    if real_dirs is None:
        return os.path.realpath(path)
    parent, name = os.path.split(path)
    if not parent or name in ("", ".", ".."):
        return os.path.realpath(path)
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            return os.path.realpath(path)
    except OSError:
        return os.path.realpath(path)
    real_parent = real_dirs.get(parent)
    if real_parent is None:
        real_parent = real_dirs[parent] = os.path.realpath(parent)
    return os.path.join(real_parent, name)
