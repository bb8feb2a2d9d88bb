"""The objects gitward reports: repos, refs by storage source, worktrees, locks, problems.

Plain dataclasses with a ``to_json()`` each. The JSON field names are a contract
(documented in the README); add fields, never rename them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tui.core.severity import Severity  # noqa: F401  (defined apart, see there; part of this module's API)


class Source(StrEnum):
    LOOSE = "loose"
    PACKED = "packed"
    BOTH = "both"


class Verdict(StrEnum):
    """What a ref that is both loose and packed means."""

    IDENTICAL = "identical"  # same value in both places
    DEAD_PACKED = "dead-packed"  # loose descends from packed: a normal update
    STALE_LOOSE = "stale-loose"  # packed descends from loose: the migration incident
    DIVERGED = "diverged"  # neither descends from the other
    BROKEN_LOOSE = "broken-loose"  # unparseable loose file hides the packed value
    MISSING_OBJECT = "missing-object"  # one of the two values is not in the object store
    UNDECIDABLE = "undecidable"  # differing values that are not both commits


# Iterating an Enum is slow; this runs once per repo in every JSON document.
_VERDICT_VALUES = tuple(v.value for v in Verdict)


class Layout(StrEnum):
    BARE = "bare"
    NON_BARE = "non-bare"
    GIT_SYNC = "git-sync"


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    severity: Severity
    message: str
    subject: str = ""  # what it is about: a ref name, a worktree id, a file; "" = the repo

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "subject": self.subject,
        }


@dataclass(slots=True)
class Ref:
    name: str
    source: Source
    value: str | None  # what git resolves the name to (None: broken loose file)
    loose_value: str | None = None
    packed_value: str | None = None
    peeled: str | None = None  # from packed-refs ``^`` lines
    symbolic_target: str | None = None  # "ref: refs/heads/x" loose files
    verdict: Verdict | None = None  # only for source == both
    broken_reason: str | None = None  # why a loose file could not be parsed

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "value": self.value,
            "source": self.source.value,
            "loose_value": self.loose_value,
            "packed_value": self.packed_value,
            "peeled": self.peeled,
            "symbolic_target": self.symbolic_target,
            "verdict": self.verdict.value if self.verdict else None,
            "broken_reason": self.broken_reason,
        }


@dataclass(slots=True)
class Worktree:
    id: str | None  # None for the main worktree
    path: str
    head: str | None = None  # commit id, None when unreadable
    branch: str | None = None  # "refs/heads/x" when on a branch
    detached: bool = False
    main: bool = False
    bare: bool = False
    locked: bool = False
    lock_reason: str | None = None
    prunable: bool = False
    prunable_reason: str | None = None
    current: bool = False  # the git-sync link points here
    missing: bool = False  # its directory does not exist
    problems: list[Problem] = field(default_factory=list)
    # False: an admin dir under worktrees/ that `git worktree list` skips (gitdir file missing,
    # empty or unreadable); its path is then "" and only prune/lock facts are known.
    listed: bool = True

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "path": self.path,
            "head": self.head,
            "branch": self.branch,
            "detached": self.detached,
            "main": self.main,
            "bare": self.bare,
            "locked": self.locked,
            "lock_reason": self.lock_reason,
            "prunable": self.prunable,
            "prunable_reason": self.prunable_reason,
            "current": self.current,
            "missing": self.missing,
            "listed": self.listed,
        }


@dataclass(frozen=True, slots=True)
class LockFile:
    path: str  # relative to the git dir it lives in, e.g. "refs/heads/main.lock"
    kind: str  # "packed-refs.lock", "packed-refs.new", "ref", "HEAD.lock", "config.lock", ...
    age_seconds: float
    grace_seconds: float
    worktree: str | None = None  # worktree id for per-worktree locks

    @property
    def stale(self) -> bool:
        return self.age_seconds > self.grace_seconds

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "kind": self.kind,
            "age_seconds": round(self.age_seconds, 1),
            "grace_seconds": self.grace_seconds,
            "stale": self.stale,
            "worktree": self.worktree,
        }


@dataclass(slots=True)
class RefCounts:
    total: int = 0
    loose: int = 0
    packed: int = 0
    both: int = 0
    broken: int = 0
    symbolic: int = 0
    shadows: dict[str, int] = field(default_factory=dict)  # verdict -> count

    def to_json(self) -> dict:
        return {
            "total": self.total,
            "loose": self.loose,
            "packed": self.packed,
            "both": self.both,
            "broken": self.broken,
            "symbolic": self.symbolic,
            "shadows": {v: self.shadows.get(v, 0) for v in _VERDICT_VALUES},
        }


@dataclass(slots=True)
class Remote:
    name: str
    url: str  # already redacted
    mirror: bool = False
    fetch: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"name": self.name, "url": self.url, "mirror": self.mirror, "fetch": list(self.fetch)}


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """The newest fetch of a repository did not succeed (and is newer than the last that did)."""

    at: float  # epoch seconds: when it ended (or, for an empty FETCH_HEAD, when it started)
    state: str  # failed | cancelled | timed-out | incomplete (an empty FETCH_HEAD)
    error: str | None = None
    exit_code: int | None = None

    def to_json(self) -> dict:
        return {"at": self.at, "state": self.state, "error": self.error, "exit_code": self.exit_code}


@dataclass(slots=True)
class RepoReport:
    """Everything one scan knows about one repository."""

    path: str  # absolute path of the repo (work tree for non-bare, git dir for bare)
    root: str  # the scan root it was found under
    name: str  # path relative to its root
    layout: Layout
    git_dir: str
    ref_storage: str = "files"
    head: str | None = None  # resolved commit
    head_target: str | None = None  # symbolic HEAD target
    remotes: list[Remote] = field(default_factory=list)
    refs: RefCounts = field(default_factory=RefCounts)
    worktrees: list[Worktree] = field(default_factory=list)
    locks: list[LockFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    packed_refs_size: int | None = None
    last_fetch: float | None = None  # the last successful fetch, epoch seconds (tui.core.fetch_status)
    last_fetch_failure: FetchFailure | None = None  # the newest fetch, when it did not succeed
    sync_link: str | None = None  # git-sync: the link path
    sync_link_target: str | None = None  # git-sync: what it points to

    @property
    def worst(self) -> Severity | None:
        if not self.problems:
            return None
        return max((p.severity for p in self.problems), key=lambda s: s.rank)

    def worst_problem(self) -> Problem | None:
        if not self.problems:
            return None
        return max(self.problems, key=lambda p: p.severity.rank)

    def to_json(self) -> dict:
        locked = sum(1 for w in self.worktrees if w.locked)
        prunable = sum(1 for w in self.worktrees if w.prunable)
        return {
            "path": self.path,
            "root": self.root,
            "name": self.name,
            "layout": self.layout.value,
            "git_dir": self.git_dir,
            "ref_storage": self.ref_storage,
            "head": self.head,
            "head_target": self.head_target,
            "remotes": [r.to_json() for r in self.remotes],
            "refs": self.refs.to_json(),
            "worktrees": {
                "total": len(self.worktrees),
                "locked": locked,
                "prunable": prunable,
                "items": [w.to_json() for w in self.worktrees],
            },
            "locks": [lock.to_json() for lock in self.locks],
            "problems": [p.to_json() for p in self.problems],
            "packed_refs_size": self.packed_refs_size,
            "last_fetch": self.last_fetch,
            "last_fetch_failure": None if self.last_fetch_failure is None else self.last_fetch_failure.to_json(),
            "sync_link": self.sync_link,
            "sync_link_target": self.sync_link_target,
        }
