"""Compare a replica with its source, repository by repository and ref by ref. Never writes.

Entry point: ``compare(source, replica, ...)`` with each side a ``Side`` (``open_side(spec)``: a
directory root, a manifest file, or ``ssh://[user@]host[:port]/path``). It takes a cancel
``threading.Event`` and a ``progress(done, total, name)`` callback so a console worker can drive
it, and returns a ``Comparison``: per repository a ``RepoComparison`` with ``Finding``s, each of
one ``Kind``.

Ancestry (behind / ahead / diverged) is asked of the replica's object store when it holds both
commits, else of the source's when the source is a local directory; otherwise the answer is
``unknown``: never a guess.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from tui.core.compare.manifest import ManifestLine, RepoManifest, read_repo, select
from tui.core.model import Ref, Severity, Source
from tui.core.compare.objectstore import ObjectStore
from tui.core.refstore import RefSnapshot, ref_for


class Kind(StrEnum):
    """What differs. Listed worst first; ``severity`` decides the exit code and ``--fail-on``."""

    REPO_ONLY_ON_SOURCE = "repo-only-on-source"
    REPLICA_STALE_LOOSE = "replica-stale-loose"  # the migration incident
    MISSING_OBJECT = "missing-object"
    MISSING_ON_REPLICA = "missing-on-replica"
    REPLICA_BEHIND = "replica-behind"
    DIVERGED = "diverged"
    ALTERNATE_MISSING = "alternate-missing"
    UNREADABLE = "unreadable"
    REPO_ONLY_ON_REPLICA = "repo-only-on-replica"
    EXTRA_ON_REPLICA = "extra-on-replica"
    REPLICA_AHEAD = "replica-ahead"
    SYMREF_DIFFERS = "symref-differs"
    UNKNOWN = "unknown"  # values differ; ancestry cannot be decided from what was read
    LOOSE_ONLY_ON_REPLICA = "loose-only-on-replica"  # same value; rsync --delete would remove it
    TEMP_FILE = "temp-file"  # a lock or temp file on the replica (copied mid-write)
    CONFIG_DIFFERS = "config-differs"
    HOOK_DIFFERS = "hook-differs"
    WORKTREE_PATH_MISSING = "worktree-path-missing"
    STORAGE_ONLY = "storage-only"  # same value, stored differently
    MOVING = "moving"  # the source changed during the run: transient, re-run

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self]

    @property
    def rank(self) -> int:
        """Position in the worst-first order (0 = worst)."""
        return _ORDER[self]


_ERRORS = {
    Kind.REPO_ONLY_ON_SOURCE, Kind.REPLICA_STALE_LOOSE, Kind.MISSING_OBJECT, Kind.MISSING_ON_REPLICA,
    Kind.REPLICA_BEHIND, Kind.DIVERGED, Kind.ALTERNATE_MISSING, Kind.UNREADABLE,
}
_INFOS = {Kind.STORAGE_ONLY, Kind.MOVING}
_SEVERITY = {k: Severity.ERROR if k in _ERRORS else Severity.INFO if k in _INFOS else Severity.WARNING for k in Kind}
_ORDER = {k: i for i, k in enumerate(Kind)}

# Findings about a ref's value: the ones re-read from the source at the end ("moving").
REF_KINDS = frozenset({
    Kind.REPLICA_STALE_LOOSE, Kind.MISSING_OBJECT, Kind.MISSING_ON_REPLICA, Kind.REPLICA_BEHIND, Kind.DIVERGED,
    Kind.EXTRA_ON_REPLICA, Kind.REPLICA_AHEAD, Kind.SYMREF_DIFFERS, Kind.UNKNOWN,
})


def threshold(name: str) -> Severity:
    """``--fail-on``: a severity (error, warning, info) or a kind (its severity)."""
    try:
        return Severity(name)
    except ValueError:
        return Kind(name).severity


@dataclass(slots=True)
class Finding:
    kind: Kind
    subject: str  # a ref name, a file relative to the git dir, a config key, or "" (the repo)
    source_value: str | None = None
    replica_value: str | None = None
    source_storage: str | None = None  # "loose", "packed", "both", "-> target" (symref) or None
    replica_storage: str | None = None
    detail: str = ""

    def to_json(self) -> dict:
        return {
            "kind": self.kind.value,
            "severity": self.kind.severity.value,
            "subject": self.subject,
            "source_value": self.source_value,
            "replica_value": self.replica_value,
            "source_storage": self.source_storage,
            "replica_storage": self.replica_storage,
            "detail": self.detail,
        }


@dataclass(slots=True)
class RepoComparison:
    name: str
    source_path: str | None  # None: not on that side
    replica_path: str | None
    replica_git_dir: str | None = None
    replica_local: bool = False
    same_refs: bool = False  # the storage checksums are equal: no per-ref work was done
    source_checksum: str | None = None  # Gitaly's CalculateChecksum, on each side
    replica_checksum: str | None = None
    findings: list[Finding] = field(default_factory=list)
    source_packed_refs_stat: tuple[int, int, int] | None = None  # for a cheap re-read (not in JSON)
    # For a local replica with stale loose refs: what 'git gc' there would throw away (GcPreview.to_json()).
    gc_preview: dict | None = None

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in sorted(self.findings, key=lambda f: f.kind.rank):
            counts[finding.kind.value] = counts.get(finding.kind.value, 0) + 1
        return counts

    @property
    def worst(self) -> Kind | None:
        return min((f.kind for f in self.findings), key=lambda k: k.rank, default=None)

    def of_kind(self, *kinds: Kind) -> list[Finding]:
        return [f for f in self.findings if f.kind in kinds]

    def to_json(self) -> dict:
        worst = self.worst
        return {
            "name": self.name,
            "source_path": self.source_path,
            "replica_path": self.replica_path,
            "same_refs": self.same_refs,
            "source_checksum": self.source_checksum,
            "replica_checksum": self.replica_checksum,
            "worst": worst.value if worst else None,
            "counts": self.counts(),
            "findings": [f.to_json() for f in sorted(self.findings, key=lambda f: (f.kind.rank, f.subject))],
            "gc_preview": self.gc_preview,
        }


@dataclass(slots=True)
class Comparison:
    source: str  # how each side was given
    replica: str
    source_roots: list[str] = field(default_factory=list)
    replica_roots: list[str] = field(default_factory=list)
    started: float = 0.0
    duration: float = 0.0
    repos: list[RepoComparison] = field(default_factory=list)
    source_reread: bool = False  # refs that differed were read again from the source
    cancelled: bool = False

    @property
    def moving(self) -> int:
        return sum(1 for repo in self.repos for f in repo.findings if f.kind is Kind.MOVING)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {k.value: 0 for k in Kind}
        for repo in self.repos:
            for finding in repo.findings:
                counts[finding.kind.value] += 1
        return counts

    def fails(self, at_least: Severity) -> bool:
        return any(f.kind.severity.rank >= at_least.rank for repo in self.repos for f in repo.findings)

    def sorted_repos(self) -> list[RepoComparison]:
        """Worst first, then by name; equal repositories last."""
        last = len(Kind)
        return sorted(self.repos, key=lambda r: (r.worst.rank if r.worst else last, r.name))

    def to_json(self) -> dict:
        counts = self.counts()
        return {
            "format": "gitward-compare",
            "version": 1,
            "source": self.source,
            "replica": self.replica,
            "source_roots": self.source_roots,
            "replica_roots": self.replica_roots,
            "started": self.started,
            "duration_seconds": round(self.duration, 3),
            "source_reread": self.source_reread,
            "moving": self.moving,
            "cancelled": self.cancelled,
            "summary": {
                "repos": len(self.repos),
                "repos_differing": sum(1 for r in self.repos if r.findings),
                "by_kind": {k: v for k, v in counts.items() if v},
            },
            "repos": [r.to_json() for r in self.sorted_repos()],
        }


# --- one repository ------------------------------------------------------------------------------


def _storage(ref: Ref | None) -> str | None:
    if ref is None:
        return None
    if ref.symbolic_target:
        return f"-> {ref.symbolic_target}"
    return ref.source.value


def _lookup(snapshot: RefSnapshot, name: str) -> Ref | None:
    if name == "HEAD":
        return ref_for(snapshot, "HEAD") if snapshot.head is not None else None
    if name in snapshot.loose.refs:
        return ref_for(snapshot, name)
    packed_value = snapshot.packed.get(name)
    return ref_for(snapshot, name, packed_value) if packed_value is not None else None


def _names_to_compare(source: RefSnapshot, replica: RefSnapshot) -> list[str]:
    """Every name whose files may differ: packed entries that differ, and every loose name."""
    names: set[str] = {"HEAD"}
    src_packed = source.packed.values
    rep_packed = replica.packed.values
    if src_packed != rep_packed:
        names.update(name for name, _ in src_packed.items() ^ rep_packed.items())
    names.update(source.loose.refs)
    names.update(replica.loose.refs)
    return sorted(names)


class Ancestry:
    """Answers "is A an ancestor of B" from whichever local object store holds both."""

    def __init__(self, replica: ObjectStore | None, source: ObjectStore | None) -> None:
        self.replica = replica
        self.source = source

    def relation(self, source_value: str, replica_value: str) -> tuple[Kind, str]:
        for store, where in ((self.replica, "replica"), (self.source, "source")):
            if store is None or not (store.has(source_value) and store.has(replica_value)):
                continue
            relation = store.relation(replica_value, source_value)
            kind = {"descends": Kind.REPLICA_BEHIND, "ancestor": Kind.REPLICA_AHEAD, "diverged": Kind.DIVERGED,
                    "same": Kind.STORAGE_ONLY}.get(relation)  # "same": two tags on one commit
            if kind is None:
                return Kind.UNKNOWN, f"not commits, or a shallow history, in the {where}'s object store"
            return kind, f"decided in the {where}'s object store"
        if self.replica is None and self.source is None:
            return Kind.UNKNOWN, "no object store on this machine holds both commits"
        return Kind.UNKNOWN, "no object store read here holds both commits; cannot tell which is newer"


def compare_refs(source: RefSnapshot, replica: RefSnapshot, replica_objects: ObjectStore | None,
                 ancestry: Ancestry) -> list[Finding]:
    findings: list[Finding] = []
    add = findings.append
    for name in _names_to_compare(source, replica):
        s = _lookup(source, name)
        r = _lookup(replica, name)
        if s is None and r is None:
            continue
        if r is None:
            add(Finding(Kind.MISSING_ON_REPLICA, name, s.value, None, _storage(s), None))
            continue
        if s is None:
            loose = r.source is not Source.PACKED
            detail = "a loose file only on the replica: 'rsync --delete' would have removed it" if loose else ""
            add(Finding(Kind.EXTRA_ON_REPLICA, name, None, r.value, None, _storage(r), detail))
            continue
        finding = _compare_ref(name, s, r, replica_objects, ancestry)
        if finding is not None:
            add(finding)
    return findings


def _compare_ref(name: str, s: Ref, r: Ref, replica_objects: ObjectStore | None, ancestry: Ancestry) -> Finding | None:
    def make(kind: Kind, detail: str = "") -> Finding:
        return Finding(kind, name, s.value, r.value, _storage(s), _storage(r), detail)

    if s.symbolic_target != r.symbolic_target:
        return make(Kind.SYMREF_DIFFERS, f"source: {s.symbolic_target or 'not symbolic'}; replica: {r.symbolic_target or 'not symbolic'}")
    if s.symbolic_target is not None:
        return None  # same target: the target ref is compared on its own
    sv, rv = s.value, r.value
    replica_loose = r.source is not Source.PACKED and not r.symbolic_target
    source_loose = s.source is not Source.PACKED
    if sv == rv and sv is not None:
        if replica_objects is not None and replica_objects.readable and not replica_objects.has(rv):
            return make(Kind.MISSING_OBJECT, "the replica's value is not in its object store")
        if replica_loose and not source_loose:
            return make(Kind.LOOSE_ONLY_ON_REPLICA, "same value; the loose file exists only on the replica "
                        "('rsync --delete' would have removed it; the next change on the source makes it stale)")
        if s.source is not r.source:
            return make(Kind.STORAGE_ONLY, "same value, stored differently")
        return None
    if r.source is Source.BOTH and r.packed_value is not None and r.packed_value == sv:
        how = "broken loose file" if r.broken_reason else "older loose file"
        if not r.broken_reason and replica_objects is not None and r.loose_value:
            older = replica_objects.is_ancestor(r.loose_value, r.packed_value)
            if older is False:
                how = "loose file on another history"
            elif older is None:
                how = "loose file (ancestry unknown)"
        return make(Kind.REPLICA_STALE_LOOSE, f"the replica's {how} hides its own packed-refs value, which is the source's")
    if rv is None:
        return make(Kind.UNKNOWN, f"the replica's ref does not resolve: {r.broken_reason or 'dangling'}")
    if sv is None:
        return make(Kind.UNKNOWN, f"the source's ref does not resolve: {s.broken_reason or 'dangling'}")
    if replica_objects is not None and replica_objects.readable and not replica_objects.has(rv):
        return make(Kind.MISSING_OBJECT, "the replica's value is not in its object store")
    kind, detail = ancestry.relation(sv, rv)
    return make(kind, detail)


def compare_files(source: RepoManifest, replica: RepoManifest) -> list[Finding]:
    findings: list[Finding] = []
    src_temp = {t.path for t in source.temp_files}
    for temp in replica.temp_files:
        also = "also on the source (copied mid-write)" if temp.path in src_temp else "not on the source"
        findings.append(Finding(Kind.TEMP_FILE, temp.path, detail=f"{temp.kind}, {round(temp.age_seconds)} s old; {also}"))
    for key in sorted(set(source.config) | set(replica.config)):
        a, b = source.config.get(key), replica.config.get(key)
        if a != b:
            findings.append(Finding(Kind.CONFIG_DIFFERS, key, _join(a), _join(b), detail="config"))
    for name in sorted(set(source.hooks) | set(replica.hooks)):
        a, b = source.hooks.get(name), replica.hooks.get(name)
        if a != b:
            findings.append(Finding(Kind.HOOK_DIFFERS, f"hooks/{name}", _hook(a), _hook(b), detail="hook content or executable bit"))
    # A path missing on the replica is a copy problem only where the source has it.
    source_alternates = {a.path: a.exists for a in source.alternates}
    for alternate in replica.alternates:
        if not alternate.exists and source_alternates.get(alternate.path, True):
            findings.append(Finding(Kind.ALTERNATE_MISSING, "objects/info/alternates", replica_value=alternate.path,
                                    detail=f"points to {alternate.resolved}, which does not exist on the replica"))
    source_worktrees = {w.id: w.exists for w in source.worktrees}
    for worktree in replica.worktrees:
        if not worktree.exists and source_worktrees.get(worktree.id, True):
            locked = " (locked)" if worktree.locked else ""
            findings.append(Finding(Kind.WORKTREE_PATH_MISSING, f"worktrees/{worktree.id}", replica_value=worktree.path,
                                    detail=f"the worktree's path does not exist on the replica{locked}"))
    return findings


def _join(values: list[str] | None) -> str | None:
    return None if values is None else ", ".join(values)


def _hook(hook) -> str | None:
    if hook is None:
        return None
    return f"{(hook.sha256 or 'unreadable')[:12]}{' +x' if hook.executable else ' -x'}"


def compare_repo(name: str, source: RepoManifest | None, replica: RepoManifest | None,
                 source_objects: ObjectStore | None = None, replica_objects: ObjectStore | None = None) -> RepoComparison:
    result = RepoComparison(
        name=name,
        source_path=source.path if source else None,
        replica_path=replica.path if replica else None,
        replica_git_dir=replica.git_dir if replica else None,
        replica_local=bool(replica and replica.local),
        source_checksum=source.gitaly_checksum if source else None,
        replica_checksum=replica.gitaly_checksum if replica else None,
        source_packed_refs_stat=source.packed_refs_stat if source else None,
    )
    if replica is None:
        result.findings.append(Finding(Kind.REPO_ONLY_ON_SOURCE, "", detail="the repository is missing on the replica"))
        return result
    if source is None:
        result.findings.append(Finding(Kind.REPO_ONLY_ON_REPLICA, "", detail="the repository is not on the source"))
        return result
    for side, manifest in (("source", source), ("replica", replica)):
        for error in manifest.errors:
            result.findings.append(Finding(Kind.UNREADABLE, "", detail=f"{side}: {error}"))
    if source.snapshot is not None and replica.snapshot is not None:
        if source.storage_checksum is not None and source.storage_checksum == replica.storage_checksum:
            result.same_refs = True
        else:
            ancestry = Ancestry(replica_objects, source_objects)
            result.findings.extend(compare_refs(source.snapshot, replica.snapshot, replica_objects, ancestry))
    result.findings.extend(compare_files(source, replica))
    if replica.local and result.of_kind(Kind.REPLICA_STALE_LOOSE):
        result.gc_preview = _gc_preview(replica.git_dir)
    return result


def _gc_preview(git_dir: str) -> dict | None:
    # lazy (import cost): core.compare.gcpreview loads on first use, not with this module
    from tui.core.compare.gcpreview import gc_preview
    from tui.core.refstore import RefsUnavailable

    try:
        return gc_preview(git_dir, limit=20).to_json()
    except (OSError, RefsUnavailable):
        return None


# --- two hosts -------------------------------------------------------------------------------------


class Side:
    """One side of a comparison: repository names, and each repository read on demand."""

    description: str = ""
    roots: list[str]

    def names(self) -> list[str]:
        raise NotImplementedError

    def load(self, name: str, twin: RepoManifest | None = None) -> RepoManifest:
        """``twin``: the same repository read on the other side, whose Gitaly line checksum a
        local read may reuse (``read_repo``); a manifest already holds its checksums."""
        raise NotImplementedError

    def worker_ref(self, name: str):
        """A picklable handle a worker process can read ``name`` from: a local ``Candidate`` or a
        ``ManifestLine`` (None: only this process can read it)."""
        return None

    def discovered_lazily(self) -> Iterator | None:
        """Discovery's items as it finds them (``discover_lazily``: a ``Candidate``, later a
        ``Superseded`` taking one back), for workers to start on before it ends; ``names()`` is
        complete once they are consumed. None: this side has its names already."""
        return None

    def reload(self, names: list[str]) -> dict[str, RepoManifest] | None:
        """The repositories read again (for "moving"); None when this side cannot be re-read."""
        return None

    def reread_refs(self, name: str, findings: list[Finding],
                    packed_stat: tuple[int, int, int] | None) -> dict[str, str | None] | None:
        """The current source value of each finding's ref, read cheaply; None: do a full re-read."""
        return None

    def close(self) -> None:
        pass


def objects_for(manifest: RepoManifest | None) -> ObjectStore | None:
    if manifest is None or not manifest.local:
        return None
    return ObjectStore(manifest.git_dir)


# Below this many repositories a process pool costs more than it saves (as for scan).
PARALLEL_THRESHOLD = 48


def compare(
    source: Side,
    replica: Side,
    *,
    repo_globs: list[str] | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    reread: bool = True,
    jobs: int | None = None,
) -> Comparison:
    """Compare every repository of ``source`` with the same-named one of ``replica``.

    ``jobs``: processes for two local directories (default: the CPU count; 1 from a threaded
    caller such as the console, since forking a threaded process is unsafe).
    """
    started = time.time()
    result = Comparison(source=source.description, replica=replica.description, source_roots=list(source.roots),
                        replica_roots=list(replica.roots), started=started)
    if jobs is None:
        # Forking a process that runs other threads (a console worker) can deadlock the child.
        jobs = (os.cpu_count() or 1) if threading.active_count() == 1 else 1
    if jobs > 1 and _compared_while_discovering(source, replica, repo_globs, jobs, result, cancel, progress):
        if reread and not result.cancelled:
            result.source_reread = mark_moving(result, source)
        result.duration = time.time() - started
        return result
    source_names = set(select(source.names(), repo_globs))
    replica_names = set(select(replica.names(), repo_globs))
    names = sorted(source_names | replica_names)
    pairs = None
    if jobs > 1 and len(names) >= PARALLEL_THRESHOLD:
        pairs = [(n, source.worker_ref(n) if n in source_names else None,
                  replica.worker_ref(n) if n in replica_names else None) for n in names]
        if any((n in source_names and s is None) or (n in replica_names and r is None) for n, s, r in pairs):
            pairs = None  # a manifest or ssh side: read in this process
    if pairs is not None:
        # deferred: only a run with several processes needs the process pool
        from tui.core.compare.pool import compare_in_processes

        compare_in_processes(pairs, _compare_chunk, jobs, result, cancel, progress)
    else:
        for index, name in enumerate(names):
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                break
            src = source.load(name) if name in source_names else None
            rep = replica.load(name, twin=src) if name in replica_names else None
            result.repos.append(compare_repo(name, src, rep, objects_for(src), objects_for(rep)))
            if progress is not None:
                progress(index + 1, len(names), name)
    if reread and not result.cancelled:
        result.source_reread = mark_moving(result, source)
    result.duration = time.time() - started
    return result


def _compared_while_discovering(source: Side, replica: Side, repo_globs, jobs: int, result: Comparison, cancel,
                                progress) -> bool:
    """Two local directories not discovered yet: workers compare while this process discovers."""
    source_found = source.discovered_lazily()
    replica_found = replica.discovered_lazily()
    if source_found is None or replica_found is None:
        return False
    # deferred: only a run with several processes needs the process pool
    from tui.core.compare.pool import compare_while_discovering

    return compare_while_discovering(source_found, replica_found, _compare_chunk, repo_globs, jobs, PARALLEL_THRESHOLD,
                                     result, cancel, progress)


def _compare_chunk(pairs: list) -> list[RepoComparison]:
    """A worker process's part: (name, source handle, replica handle) -> the comparison."""
    results = []
    for name, source_ref, replica_ref in pairs:
        src = _read_ref(source_ref)
        rep = _read_ref(replica_ref, src)
        results.append(compare_repo(name, src, rep, objects_for(src), objects_for(rep)))
    return results


def _read_ref(ref, twin: RepoManifest | None = None) -> RepoManifest | None:
    if ref is None:
        return None
    if isinstance(ref, ManifestLine):
        return ref.load()
    return read_repo(ref, twin=twin)


def mark_moving(result: Comparison, source: Side) -> bool:
    """Read the source again for repositories whose refs differ; a ref whose source value changed
    since is ``moving``. Returns whether the source could be re-read."""
    differing = [r for r in result.repos if any(f.kind in REF_KINDS for f in r.findings)]
    if not differing:
        return True
    full = []
    for repo in differing:
        findings = [f for f in repo.findings if f.kind in REF_KINDS]
        current = source.reread_refs(repo.name, findings, repo.source_packed_refs_stat)
        if current is None:
            full.append(repo)
            continue
        for finding in findings:
            _mark_if_moved(finding, current.get(finding.subject), finding.source_storage)
    if not full:
        return True
    again = source.reload([r.name for r in full])
    if again is None:
        return False
    for repo in full:
        fresh = again.get(repo.name)
        snapshot = fresh.snapshot if fresh is not None else None
        for finding in repo.findings:
            if finding.kind not in REF_KINDS:
                continue
            now = _lookup(snapshot, finding.subject) if snapshot is not None else None
            _mark_if_moved(finding, now.value if now is not None else None, _storage(now))
    return True


def _mark_if_moved(finding: Finding, now_value: str | None, now_storage: str | None) -> None:
    if now_value != finding.source_value or (finding.kind is Kind.SYMREF_DIFFERS and now_storage != finding.source_storage):
        finding.detail = (f"was {finding.kind.value}; the source changed during the run "
                          f"({_short(finding.source_value)} -> {_short(now_value)}): re-run")
        finding.kind = Kind.MOVING


def _short(value: str | None) -> str:
    return value[:12] if value else "-"
