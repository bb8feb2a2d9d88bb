"""Scan a host: discover repositories under roots and read each one (in parallel)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from tui.core import paths, problems as analysis
from tui.core.discovery import DEFAULT_MAX_DEPTH, Candidate, Superseded, discover_lazily
from tui.core.discovery_child import STILL_WALKING, discovered_in_child
from tui.core.fetch_status import fetch_status, store_records
from tui.core.fsutil import special_kind
from tui.core.gitconfig import RepoSettings, read_config, read_repo_settings, repo_settings
from tui.core.model import Layout, Problem, RepoReport, Severity, Worktree
from tui.core.refstore import HEX_WIDTH, RefSnapshot, count_refs, judge_shadows, read_snapshot, reftable_in_use
from tui.core.gitsync_layout import git_sync_view
from tui.core.worktrees import list_worktrees

# Below this many repositories a process pool costs more than it saves (measured: see README).
PARALLEL_THRESHOLD = 48
CHUNK_SIZE = 32


@dataclass(slots=True)
class HostScan:
    roots: list[str]
    repos: list[RepoReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # about roots, not repos
    started: float = 0.0
    duration: float = 0.0

    def all_problems(self) -> Iterator[Problem]:
        yield from self.problems
        for repo in self.repos:
            yield from repo.problems

    def to_json(self) -> dict:
        counts = {s.value: 0 for s in Severity}
        for problem in self.all_problems():
            counts[problem.severity.value] += 1
        return {
            "roots": self.roots,
            "summary": {
                "repos": len(self.repos),
                "problems": counts,
                "duration_seconds": round(self.duration, 3),
            },
            "problems": [p.to_json() for p in self.problems],
            "repos": [r.to_json() for r in self.repos],
        }


@dataclass(slots=True)
class ScanBatch:
    """What the scan of a batch of repositories looks up once, and caches for that batch only
    (never longer: links and files change between scans)."""

    state_dir: str = field(default_factory=paths.state_dir)
    real_dirs: dict[str, str] = field(default_factory=dict)  # for fetch_status.real_path
    settings: dict[bytes, RepoSettings] = field(default_factory=dict)  # gitconfig.read_repo_settings
    sync_records: frozenset[str] | None = None  # fetch_status.store_records, looked at once

    def __post_init__(self) -> None:
        self.sync_records = store_records(self.state_dir)


def scan_repo(candidate: Candidate, now: float | None = None, judge: bool = True, *, batch: ScanBatch | None = None) -> RepoReport:
    """Read one repository. Never raises for bad input: problems go into the report.

    ``batch``: the caches of the batch this repository is scanned in (``ScanBatch``).
    """
    now = time.time() if now is None else now
    report = _empty_report(candidate)
    try:
        _fill_report(report, candidate, now, judge, batch or ScanBatch())
    except OSError as exc:
        # The volume blinked or permissions changed mid-read: say so, keep what we have.
        report.problems.append(
            Problem("unreadable", Severity.WARNING, f"{exc.filename or candidate.path}: {exc.strerror or exc}")
        )
    except Exception as exc:  # noqa: BLE001  one repository gitward cannot read must not end the host scan
        report.problems.append(
            Problem(
                "scan-failed",
                Severity.ERROR,
                f"gitward could not finish reading this repository ({type(exc).__name__}: {exc}); what is "
                "shown may be incomplete. This is a bug in gitward: please report it.",
            )
        )
    return report


def worktree_report(candidate: Candidate, now: float | None = None) -> RepoReport:
    """Only what ``gitward worktrees`` needs: the config and the worktrees; no refs, no verdicts."""
    report = _empty_report(candidate)
    settings = repo_settings(read_config(f"{candidate.git_dir}/config")[0])
    _fill_worktrees(report, candidate, settings, time.time() if now is None else now)
    return report


def _empty_report(candidate: Candidate) -> RepoReport:
    return RepoReport(
        path=candidate.path,
        root=candidate.root,
        name=candidate.name,
        layout=candidate.layout,
        git_dir=candidate.git_dir,
    )


def _fill_report(report: RepoReport, candidate: Candidate, now: float, judge: bool, batch: ScanBatch) -> None:
    git_dir = candidate.git_dir
    settings, config_error = read_repo_settings(f"{git_dir}/config", batch.settings)
    if config_error:
        kind = special_kind(f"{git_dir}/config")
        if kind is not None:
            report.problems.append(analysis.special_file_problem("config", kind, "the repository's config"))
        else:
            report.problems.append(Problem("unreadable", Severity.WARNING, f"config: {config_error}", "config"))
    report.remotes = settings.remotes
    report.ref_storage = settings.ref_storage
    if reftable_in_use(git_dir, settings.ref_storage):
        report.ref_storage = settings.ref_storage if settings.ref_storage != "files" else "reftable"
        report.problems.append(
            Problem(
                "reftable-unsupported",
                Severity.WARNING,
                f"this repository stores refs as '{report.ref_storage}'; gitward reads only the files "
                "backend (loose files + packed-refs), so it shows no refs here and will not write. "
                "Use 'git for-each-ref' and 'git refs verify'.",
            )
        )
        _fill_worktrees(report, candidate, settings, now)
        return

    snapshot = read_snapshot(git_dir, settings.object_format)
    shadow_names = snapshot.shadow_names()  # asked twice below: a packed-refs lookup per loose ref
    if judge:
        judge_shadows(snapshot, shadow_names=shadow_names)
    report.refs = count_refs(snapshot, shadow_names)
    report.head_target = snapshot.head.symbolic_target if snapshot.head else None
    report.head = snapshot.resolve("HEAD")
    report.packed_refs_size = snapshot.packed.size if snapshot.packed.exists else None
    # One listing of the git dir answers "is there a FETCH_HEAD?" and "which lock files?".
    git_dir_names = analysis.list_names(git_dir)
    fetched = fetch_status(
        git_dir,
        fetch_head_listed=git_dir_names is None or "FETCH_HEAD" in git_dir_names,
        state_dir=batch.state_dir,
        real_dirs=batch.real_dirs,
        records=batch.sync_records,
    )
    report.last_fetch, report.last_fetch_failure = fetched.last_ok, fetched.failure
    worktree_dirs = _fill_worktrees(
        report, candidate, settings, now, snapshot, admin_dir_listed=git_dir_names is None or "worktrees" in git_dir_names
    )
    report.locks = analysis.collect_locks(git_dir, snapshot.loose, now, worktree_dirs, git_dir_names)
    report.problems.extend(repo_problems(snapshot, report))


def repo_problems(snapshot: RefSnapshot, report: RepoReport) -> list[Problem]:
    problems = []
    problems.extend(analysis.shadow_problems(snapshot))
    problems.extend(analysis.special_file_problems(snapshot))
    problems.extend(analysis.broken_loose_problems(snapshot))
    problems.extend(analysis.packed_refs_problems(snapshot.packed))
    problems.extend(analysis.lock_problems(report.locks))
    for path, message in snapshot.loose.errors:
        problems.append(Problem("unreadable", Severity.WARNING, f"{path}: {message}", path))
    for error in sorted(set(snapshot.verdict_errors)):
        problems.append(Problem("unreadable", Severity.WARNING, error, "objects"))
    if snapshot.head is None:
        problems.append(Problem("unreadable", Severity.ERROR, "HEAD is missing", "HEAD"))
    elif snapshot.head.special:
        pass  # reported by special_file_problems
    elif snapshot.head.broken_reason:
        problems.append(Problem("broken-loose-ref", Severity.ERROR, f"HEAD: {snapshot.head.broken_reason}", "HEAD"))
    problems.extend(
        analysis.backlog_problems(report.refs.loose + report.refs.both, len(snapshot.packed), snapshot.loose.empty_dirs)
    )
    for worktree in report.worktrees:
        problems.extend(worktree.problems)
    return problems


def _fill_worktrees(
    report: RepoReport,
    candidate: Candidate,
    settings,
    now: float,
    snapshot: RefSnapshot | None = None,
    *,
    admin_dir_listed: bool = True,
) -> dict[str, str]:
    bare = candidate.layout is Layout.BARE or (candidate.layout is Layout.GIT_SYNC and candidate.path == candidate.git_dir)
    main_path = candidate.git_dir if bare else candidate.path
    try:
        worktrees: list[Worktree] = list_worktrees(
            candidate.git_dir,
            main_path=main_path,
            bare=bare,
            now=now,
            hex_width=HEX_WIDTH.get(settings.object_format, 40),
            main_head=_main_head(snapshot),
            admin_dir_listed=admin_dir_listed,
        )
    except OSError as exc:
        report.problems.append(Problem("unreadable", Severity.WARNING, f"worktrees: {exc.strerror or exc}"))
        worktrees = []
    report.worktrees = worktrees
    if candidate.layout is Layout.GIT_SYNC:
        link, target, problems = git_sync_view(candidate.path, worktrees)
        report.sync_link, report.sync_link_target = link, target
        report.problems.extend(problems)
    admin = os.path.join(candidate.git_dir, "worktrees")
    return {w.id: os.path.join(admin, w.id) for w in worktrees if w.id}


def _main_head(snapshot: RefSnapshot | None) -> tuple[str | None, str | None] | None:
    """HEAD as the worktree listing needs it, when the snapshot resolved it cleanly."""
    if snapshot is None or snapshot.head is None or snapshot.head.broken_reason:
        return None
    target = snapshot.head.symbolic_target
    if target is not None:
        if not target.startswith("refs/"):
            return None  # unusual: let the worktree reader apply git's exact rules
        resolved = snapshot.loose.refs.get(target)
        if resolved is not None and (resolved.broken_reason or resolved.symbolic_target):
            return None
    return snapshot.resolve("HEAD"), target


def _scan_chunk(candidates: list[Candidate], now: float) -> list[RepoReport]:
    batch = ScanBatch()
    return [scan_repo(candidate, now, batch=batch) for candidate in candidates]


@dataclass(frozen=True, slots=True)
class RepoJson:
    """One repo's report already encoded, as ``scan --json`` needs it."""

    root: str
    name: str
    text: str  # json.dumps(report.to_json()), compact
    severities: tuple[str, ...]  # of its problems, for the summary and --fail-on


def _scan_chunk_json(candidates: list[Candidate], now: float) -> list[RepoJson]:
    # Encoding in the worker processes takes ~0.1 s of serial work off the parent on a
    # 2,200-repo host, and a string pickles faster than a tree of dataclasses.
    encode = json.JSONEncoder(separators=(",", ":")).encode
    batch = ScanBatch()
    results = []
    for candidate in candidates:
        report = scan_repo(candidate, now, batch=batch)
        severities = tuple(p.severity.value for p in report.problems)
        results.append(RepoJson(report.root, report.name, encode(report.to_json()), severities))
    return results


def default_jobs() -> int:
    return os.cpu_count() or 1


def iter_host_scan(
    roots: list[str],
    *,
    jobs: int | None = None,
    now: float | None = None,
    cancel: threading.Event | None = None,
    start_method: str = "fork",
    chunk_worker=_scan_chunk,
    max_depth: int = DEFAULT_MAX_DEPTH,
    hold_bare: bool = True,
    worker_niceness: int = 0,
    discover_in_child: bool = False,
) -> Iterator[RepoReport | Problem | Superseded]:
    """Yield root problems and repo reports as they are ready (not in a stable order).

    Discovery and scanning overlap: repositories are scanned (in worker processes past
    PARALLEL_THRESHOLD of them) while discovery walks on. ``chunk_worker`` turns a list of
    candidates into results (a module-level function, so worker processes can run it):
    ``_scan_chunk`` gives RepoReports, ``_scan_chunk_json`` gives RepoJson. ``max_depth``: how
    many directory levels below a root discovery descends.

    ``hold_bare``: a BARE repository's report waits for the end of discovery, in case a work
    tree found later owns it (a separate git dir), so that what is yielded is final. False (the
    console, which shows rows as they come): every report is yielded when it is ready, and a
    ``Superseded(candidate)`` follows if a work tree turns out to own one; the work tree's own
    report comes too. On a host of bare repositories holding them meant no row until discovery
    ended (30 s at 20,000 repositories, then all at once).

    ``worker_niceness``: added to the worker processes' nice value (the console: its event
    loop shares two cores with two workers, and a key press must not wait for a time slice).

    ``discover_in_child`` (the console, with ``start_method="fork"``): once the host is big
    enough for worker processes, the rest of discovery is walked in a forked child (at the
    caller's priority: tui/core/discovery_child.py), not in the caller's process.
    """
    now = time.time() if now is None else now
    jobs = jobs or default_jobs()
    found = discover_lazily(roots, max_depth)
    results = _Results(hold_bare)
    if jobs > 1:
        # Below the threshold a process pool costs more than it saves: look ahead that far.
        first: list[Candidate] = []
        for item in found:
            if isinstance(item, Candidate):
                first.append(item)
                if len(first) >= PARALLEL_THRESHOLD:
                    break
            elif isinstance(item, Superseded):
                yield from results.superseded(item)
            else:
                yield item
            if cancel is not None and cancel.is_set():
                return
        else:
            # Discovery is over: a small host is scanned here, in discovery order (the first
            # row a screen selects is the first repository), nothing held back.
            for candidate in first:
                if cancel is not None and cancel.is_set():
                    return
                if results.kept(candidate):
                    yield from chunk_worker([candidate], now)
            return
        if discover_in_child and start_method == "fork":
            # deferred: multiprocessing loads with the first pool (as in _scan_in_processes)
            import multiprocessing

            found = discovered_in_child(found, multiprocessing.get_context("fork"))
        yield from _scan_in_processes(first, found, results, jobs, now, cancel, start_method, chunk_worker, worker_niceness)
        return
    for item in found:
        if cancel is not None and cancel.is_set():
            return
        if isinstance(item, Candidate):
            yield from results.add(chunk_worker([item], now), (item,))
        elif isinstance(item, Superseded):
            yield from results.superseded(item)
        else:
            yield item
    yield from results.release()


class _Results:
    """Scan results in, the ones to yield out. With ``hold_bare``, a BARE repository's result
    waits for the end of discovery: a work tree found later may turn out to own it
    (``Superseded``). Without, results go out at once and the ``Superseded`` item follows them."""

    __slots__ = ("_held", "_dropped", "_hold_bare")

    def __init__(self, hold_bare: bool = True) -> None:
        self._held: list[tuple[tuple[str, str], object]] = []
        self._dropped: set[tuple[str, str]] = set()
        self._hold_bare = hold_bare

    def superseded(self, item: Superseded) -> list[Superseded]:
        """Record it; what to yield: the item itself when results were not held back."""
        self._dropped.add((item.candidate.root, item.candidate.name))
        return [] if self._hold_bare else [item]

    def kept(self, candidate: Candidate) -> bool:
        return (candidate.root, candidate.name) not in self._dropped

    def add(self, results: list, candidates: tuple[Candidate, ...] | list[Candidate]) -> list:
        """The results (in ``candidates``' order) that may be yielded now; the rest are held."""
        ready = []
        for candidate, result in zip(candidates, results, strict=True):
            if not self._hold_bare:
                if self.kept(candidate):  # superseded while a worker read it: never shown
                    ready.append(result)
            elif candidate.layout is Layout.BARE:
                self._held.append(((candidate.root, candidate.name), result))
            else:
                ready.append(result)
        return ready

    def release(self) -> list:
        """Discovery is over: the held results, without the superseded ones."""
        held, self._held = self._held, []
        return [result for key, result in held if key not in self._dropped]


def _lower_priority(niceness: int) -> None:
    """A worker's initializer: yield the CPU to the process that started the scan."""
    try:
        os.nice(niceness)
    except OSError:
        pass  # not permitted here (a container's seccomp profile): the scan still runs


def _scan_in_processes(
    first: list[Candidate],
    found: Iterator,
    results: _Results,
    jobs: int,
    now: float,
    cancel: threading.Event | None,
    start_method: str,
    chunk_worker,
    niceness: int = 0,
) -> Iterator:
    """Workers scan chunks while this process discovers the rest and submits them."""
    # lazy (import cost): loaded on first use, not with this module
    import multiprocessing

    context = multiprocessing.get_context(start_method)
    queued: deque[tuple[Future, list[Candidate]]] = deque()  # in submission order

    def harvest(block: bool) -> Iterator:
        # Workers finish chunks about in submission order: looking at the oldest is enough.
        while queued and (block or queued[0][0].done()):
            future, chunk = queued[0]
            if not future.done():
                wait([future], timeout=0.2)  # then look at ``cancel`` again
                return
            queued.popleft()
            yield from results.add(future.result(), chunk)

    initializer, initargs = (_lower_priority, (niceness,)) if niceness > 0 else (None, ())
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=initializer, initargs=initargs) as pool:
        try:
            for i in range(0, len(first), CHUNK_SIZE):
                chunk = first[i : i + CHUNK_SIZE]
                queued.append((pool.submit(chunk_worker, chunk, now), chunk))
            chunk = []
            for item in found:
                if item is STILL_WALKING:
                    pass  # discovery walks on in its own process: collect what is ready
                elif isinstance(item, Candidate):
                    chunk.append(item)
                    if len(chunk) >= CHUNK_SIZE:
                        queued.append((pool.submit(chunk_worker, chunk, now), chunk))
                        chunk = []
                elif isinstance(item, Superseded):
                    yield from results.superseded(item)
                else:
                    yield item
                yield from harvest(block=False)
                if cancel is not None and cancel.is_set():
                    return
            if chunk:
                queued.append((pool.submit(chunk_worker, chunk, now), chunk))
            while queued:
                yield from harvest(block=True)
                if cancel is not None and cancel.is_set():
                    return
            yield from results.release()
        finally:
            for future, _ in queued:
                future.cancel()


def scan_host(
    roots: list[str], *, jobs: int | None = None, now: float | None = None, max_depth: int = DEFAULT_MAX_DEPTH
) -> HostScan:
    """Scan every root and return the repos sorted by (root order, name)."""
    started = time.time()
    result = HostScan(roots=[os.path.abspath(r) for r in roots], started=started)
    for item in iter_host_scan(roots, jobs=jobs, now=now, max_depth=max_depth):
        if isinstance(item, Problem):
            result.problems.append(item)
        else:
            result.repos.append(item)
    order = {root: index for index, root in enumerate(result.roots)}
    result.repos.sort(key=lambda r: (order.get(r.root, len(order)), r.name))
    result.duration = time.time() - started
    return result


def scan_host_json(
    roots: list[str], *, jobs: int | None = None, now: float | None = None, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[str, list[str]]:
    """``scan_host(...).to_json()`` as compact JSON text, encoded in the workers.

    Returns the document and the severities of every problem (for ``--fail-on``).
    """
    pieces, severities = scan_host_json_pieces(roots, jobs=jobs, now=now, max_depth=max_depth)
    return "".join(pieces), severities


def scan_host_json_pieces(
    roots: list[str], *, jobs: int | None = None, now: float | None = None, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[list[str], list[str]]:
    """The document of ``scan_host_json`` as pieces to write one after the other.

    The repositories' texts are the pieces the workers encoded, not copied: at 50,000
    repositories the document is ~70 MB, and joining it (then adding a newline, then escaping
    it) held three more copies at once.
    """
    started = time.time()
    absolute_roots = [os.path.abspath(r) for r in roots]
    root_problems: list[Problem] = []
    repos: list[RepoJson] = []
    for item in iter_host_scan(roots, jobs=jobs, now=now, chunk_worker=_scan_chunk_json, max_depth=max_depth):
        if isinstance(item, Problem):
            root_problems.append(item)
        else:
            repos.append(item)
    order = {root: index for index, root in enumerate(absolute_roots)}
    repos.sort(key=lambda r: (order.get(r.root, len(order)), r.name))
    severities = [p.severity.value for p in root_problems]
    for repo in repos:
        severities.extend(repo.severities)
    counts = {s.value: 0 for s in Severity}
    for severity in severities:
        counts[severity] += 1
    summary = {"repos": len(repos), "problems": counts, "duration_seconds": round(time.time() - started, 3)}
    encode = json.JSONEncoder(separators=(",", ":")).encode
    head = {"roots": absolute_roots, "summary": summary, "problems": [p.to_json() for p in root_problems]}
    # Same keys, same order as HostScan.to_json(): the repos array is spliced in as text.
    pieces = [encode(head)[:-1] + ',"repos":[']
    for index, repo in enumerate(repos):
        if index:
            pieces.append(",")
        pieces.append(repo.text)
    pieces.append("]}")
    return pieces, severities
