"""Discovery and whole-repo scans on real host layouts, cross-checked with git."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from gitrepo import commit_chain, git, init_bare, init_repo, write_loose

from tui.core.discovery import Candidate, classify, discover, discover_lazily
from tui.core.model import Layout, Problem, Severity
from tui.core.scan import PARALLEL_THRESHOLD, iter_host_scan, scan_host, scan_repo


def codes(report) -> set[str]:
    return {p.code for p in report.problems}


@pytest.fixture
def host(tmp_path) -> Path:
    """A small host: bare, non-bare, gitfile repo, a linked worktree, nested dirs."""
    root = tmp_path / "host"
    bare = init_bare(root / "gerrit" / "a.git")
    commits = commit_chain(bare, 3)
    work = init_repo(root / "work" / "b")
    commit_chain(work, 2)
    git(work, "worktree", "add", "--quiet", str(root / "work" / "b-wt"), "-b", "wtb")
    separate = root / "sep-gitdir.git"
    git(root, "init", "--quiet", "--separate-git-dir", str(separate), str(root / "work" / "c"))
    (root / "plain" / "docs").mkdir(parents=True)
    (root / "gerrit" / "a.git" / "objects" / "notarepo").mkdir(exist_ok=True)
    return root


def test_discovery_finds_each_repository_once(host):
    found = [c for c in discover([str(host)]) if isinstance(c, Candidate)]
    by_name = {c.name: c for c in found}
    # The separate git dir of work/c is found twice (as itself and via work/c/.git): once.
    assert sorted(by_name) == ["gerrit/a.git", "work/b", "work/c"]
    assert by_name["gerrit/a.git"].layout is Layout.BARE
    assert by_name["work/b"].layout is Layout.NON_BARE
    assert by_name["work/c"].git_dir == str(host / "sep-gitdir.git")
    # The linked worktree is not a repository of its own: it is listed under work/b.
    assert "work/b-wt" not in by_name
    report = scan_repo(by_name["work/b"])
    assert [w.path for w in report.worktrees] == [str(host / "work" / "b"), str(host / "work" / "b-wt")]


def test_symlink_loop_is_a_problem_not_a_hang(host):
    (host / "plain" / "loop").symlink_to(host / "plain")
    (host / "plain" / "self").symlink_to("self")
    items = list(discover([str(host)]))
    problems = [p for p in items if isinstance(p, Problem)]
    assert any(p.code == "symlink-loop" for p in problems)


def test_missing_root_is_a_clear_problem(tmp_path):
    items = list(discover([str(tmp_path / "nope")]))
    assert len(items) == 1 and items[0].code == "unreadable" and "does not exist" in items[0].message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads directories regardless of their mode")
def test_unreadable_directory_is_a_problem(host):
    os.chmod(host / "plain", 0)
    try:
        problems = [p for p in discover([str(host)]) if isinstance(p, Problem)]
        assert any(p.code == "unlistable-dir" and "permission denied" in p.message for p in problems)
    finally:
        os.chmod(host / "plain", 0o755)


def test_repo_vanishing_between_discovery_and_scan(host):
    """A blinking volume: the repo is gone when we read it. Problems, not a crash."""
    candidate = classify(str(host / "gerrit" / "a.git"), str(host))
    shutil.rmtree(host / "gerrit" / "a.git")
    report = scan_repo(candidate)
    assert report.problems
    assert all(p.severity in (Severity.ERROR, Severity.WARNING) for p in report.problems)


def test_reftable_repo_is_not_misread(tmp_path):
    repo = init_bare(tmp_path / "rt.git")
    commit_chain(repo, 1)
    git(repo, "config", "core.repositoryformatversion", "1")
    git(repo, "config", "extensions.refStorage", "reftable")
    report = scan_repo(classify(str(repo), str(tmp_path)))
    assert "reftable-unsupported" in codes(report)
    assert report.refs.total == 0 and report.ref_storage == "reftable"


def test_refs_heads_regular_file_means_other_storage(tmp_path):
    repo = init_bare(tmp_path / "rt.git")
    shutil.rmtree(repo / "refs" / "heads")
    (repo / "refs" / "heads").write_text("this repository uses the reftable format\n")
    report = scan_repo(classify(str(repo), str(tmp_path)))
    assert "reftable-unsupported" in codes(report)


def test_stale_loose_problem_warns_about_gc_and_prune(tmp_path):
    repo = init_bare(tmp_path / "g.git")
    commits = commit_chain(repo, 4)
    git(repo, "update-ref", "refs/changes/01/1/meta", commits[3])
    git(repo, "pack-refs", "--all")
    write_loose(repo, "refs/changes/01/1/meta", commits[1])
    report = scan_repo(classify(str(repo), str(tmp_path)))
    problem = next(p for p in report.problems if p.code == "stale-loose-ref")
    assert problem.severity is Severity.ERROR
    assert "git gc" in problem.message and "git pack-refs" in problem.message and "git prune" in problem.message
    assert report.refs.shadows == {"stale-loose": 1}


def test_locks_with_ages_and_grace_periods(tmp_path):
    repo = init_bare(tmp_path / "l.git")
    commits = commit_chain(repo, 1)
    now = time.time()
    for name, age in [("packed-refs.lock", 7200), ("packed-refs.new", 60), ("HEAD.lock", 3600), ("config.lock", 10)]:
        (repo / name).write_text("")
        os.utime(repo / name, (now - age, now - age))
    write_loose(repo, "refs/heads/feature.lock", commits[0])
    os.utime(repo / "refs/heads/feature.lock", (now - 5400, now - 5400))
    report = scan_repo(classify(str(repo), str(tmp_path)), now=now)
    stale = {lock.path for lock in report.locks if lock.stale}
    assert stale == {"packed-refs.lock", "HEAD.lock", "refs/heads/feature.lock"}
    assert {lock.path for lock in report.locks} >= {"packed-refs.new", "config.lock"}
    messages = [p.message for p in report.problems if p.code == "stale-lock"]
    assert any("2 hours" in m and "packed-refs.lock" in m for m in messages)


def test_broken_and_garbage_inputs_become_problems(tmp_path):
    repo = init_bare(tmp_path / "b.git")
    commits = commit_chain(repo, 2)
    git(repo, "pack-refs", "--all")
    write_loose(repo, "refs/heads/main", b"")
    with open(repo / "packed-refs", "ab") as handle:
        handle.write(b"garbage line\n")
    (repo / "refs" / "heads" / "empty").mkdir()
    report = scan_repo(classify(str(repo), str(tmp_path)))
    assert {"broken-loose-ref", "packed-refs-anomaly", "empty-ref-dirs"} <= codes(report)
    anomaly = next(p for p in report.problems if p.code == "packed-refs-anomaly")
    assert "line 3" in anomaly.message


def test_loose_backlog_is_info(tmp_path):
    repo = init_bare(tmp_path / "busy.git")
    commits = commit_chain(repo, 1)
    for i in range(40):
        write_loose(repo, f"refs/heads/b{i}", commits[0])
    report = scan_repo(classify(str(repo), str(tmp_path)))
    backlog = next(p for p in report.problems if p.code == "loose-ref-backlog")
    assert backlog.severity is Severity.INFO and "41 loose refs" in backlog.message


def test_host_scan_parallel_equals_serial(tmp_path):
    root = tmp_path / "many"
    template = init_bare(tmp_path / "template.git")
    commits = commit_chain(template, 3)
    for i in range(60):
        repo = root / f"g{i // 10}" / f"r{i:02d}.git"
        shutil.copytree(template, repo)
        if i % 7 == 0:
            git(repo, "pack-refs", "--all")
            write_loose(repo, "refs/heads/main", commits[0])  # stale-loose
    now = time.time()
    serial = scan_host([str(root)], jobs=1, now=now).to_json()
    parallel = scan_host([str(root)], jobs=2, now=now).to_json()
    for data in (serial, parallel):
        data["summary"].pop("duration_seconds")
    assert serial == parallel
    assert serial["summary"]["repos"] == 60
    assert sum(r["refs"]["shadows"]["stale-loose"] for r in serial["repos"]) == 9


def test_scan_runs_no_repository_programs(tmp_path):
    """Scanning never runs hooks, fsmonitor or filters configured in the repository."""
    marker = tmp_path / "ran"
    repo = init_repo(tmp_path / "evil")
    commit_chain(repo, 1)
    hook = f"#!/bin/sh\ntouch {marker}\n"
    for name in ("post-checkout", "reference-transaction", "pre-commit"):
        (repo / ".git" / "hooks" / name).write_text(hook)
        (repo / ".git" / "hooks" / name).chmod(0o755)
    (tmp_path / "fsmon").write_text(hook)
    (tmp_path / "fsmon").chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(tmp_path / "fsmon"))
    scan_host([str(tmp_path)])
    assert not marker.exists()


@pytest.mark.parametrize("jobs", [1, 2])
def test_json_encoded_in_workers_equals_the_object_path(tmp_path, jobs):
    """scan --json splices worker-encoded repos: the document must be exactly HostScan.to_json()."""
    import json

    from tui.demo import build_demo
    from tui.core.scan import PARALLEL_THRESHOLD, scan_host_json

    host = build_demo(str(tmp_path / "demo"))
    template = init_bare(tmp_path / "t.git")
    commit_chain(template, 2)
    for i in range(PARALLEL_THRESHOLD):  # enough repos for the process pool
        shutil.copytree(template, Path(host) / "many" / f"r{i:02d}.git")
    now = time.time()
    text, severities = scan_host_json([host, str(tmp_path / "missing")], jobs=jobs, now=now)
    ours = json.loads(text)
    theirs = scan_host([host, str(tmp_path / "missing")], jobs=jobs, now=now).to_json()
    for doc in (ours, theirs):
        doc["summary"].pop("duration_seconds")
    assert ours == theirs
    assert list(ours) == ["roots", "summary", "problems", "repos"]
    repo_severities = [p["severity"] for r in theirs["repos"] for p in r["problems"]]
    assert sorted(severities) == sorted(repo_severities + ["error"])  # + the missing root


@pytest.mark.parametrize("jobs", [1, 2])
def test_streamed_scan_lists_a_separate_git_dir_once_past_the_pool_threshold(host, tmp_path, jobs):
    """Discovery streams into the scan; the separate git dir (found first as a bare directory,
    then through work/c/.git) is still one repository, in the process pool too."""
    from tui.core.scan import PARALLEL_THRESHOLD, iter_host_scan

    template = init_bare(tmp_path / "t.git")
    commit_chain(template, 2)
    for i in range(PARALLEL_THRESHOLD + 40):
        shutil.copytree(template, host / "many" / f"r{i:03d}.git")
    listed = [item for item in iter_host_scan([str(host)], jobs=jobs) if not isinstance(item, Problem)]
    names = sorted(report.name for report in listed)
    assert len(names) == len(set(names)) == PARALLEL_THRESHOLD + 40 + 3
    assert "sep-gitdir.git" not in names
    by_name = {report.name: report for report in listed}
    assert by_name["work/c"].git_dir == str(host / "sep-gitdir.git")
    assert by_name["work/c"].layout is Layout.NON_BARE


def test_scanning_starts_before_discovery_ends(host):
    """A repository created after the first report arrived is still found: discovery had not
    finished when scanning began (before, every repository was discovered first)."""
    from tui.core.scan import iter_host_scan

    (host / "zz-late").mkdir()  # listed with the root; its own entries are read when it is reached
    scan = iter_host_scan([str(host)], jobs=1)
    first = next(item for item in scan if not isinstance(item, Problem))
    assert first.name == "work/b"  # gerrit/a.git and sep-gitdir.git are BARE: held to the end
    late = init_repo(host / "zz-late" / "repo")
    commit_chain(late, 1)
    rest = [item.name for item in scan if not isinstance(item, Problem)]
    assert sorted(rest) == ["gerrit/a.git", "work/c", "zz-late/repo"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_unheld_scan_shows_bare_repositories_at_once_and_retracts_a_separate_git_dir(host, tmp_path, jobs):
    """hold_bare=False (the console): a bare repository's report is not held until discovery
    ends; the separate git dir, reported first as a bare repository if its report was ready,
    is then retracted by a Superseded item, and its work tree's report comes too. What is left
    once the retractions are applied is exactly what the held scan lists."""
    from tui.core.discovery import Superseded
    from tui.core.scan import PARALLEL_THRESHOLD, iter_host_scan

    template = init_bare(tmp_path / "t.git")
    commit_chain(template, 2)
    for i in range(PARALLEL_THRESHOLD + 40):
        shutil.copytree(template, host / "many" / f"r{i:03d}.git")
    shown: dict[str, object] = {}
    retracted_after_shown = []
    for item in iter_host_scan([str(host)], jobs=jobs, hold_bare=False):
        if isinstance(item, Superseded):
            if shown.pop(item.candidate.path, None) is not None:
                retracted_after_shown.append(item.candidate.name)
        elif not isinstance(item, Problem):
            assert item.path not in shown  # each repository once
            shown[item.path] = item
    held = [item for item in iter_host_scan([str(host)], jobs=jobs) if not isinstance(item, Problem)]
    assert sorted(shown) == sorted(report.path for report in held)
    assert str(host / "sep-gitdir.git") not in shown
    assert shown[str(host / "work" / "c")].git_dir == str(host / "sep-gitdir.git")
    if jobs == 1:
        # Scanned as soon as found ("sep-gitdir.git" sorts before "work"): shown, then retracted.
        assert retracted_after_shown == ["sep-gitdir.git"]


def test_unheld_scan_yields_the_first_bare_repository_before_discovery_reaches_the_next(host):
    """Without holding, the first report can be a bare repository's, and a repository created
    after it arrived is still found (discovery had not ended)."""
    from tui.core.scan import iter_host_scan

    (host / "zz-late").mkdir()
    scan = iter_host_scan([str(host)], jobs=1, hold_bare=False)
    first = next(item for item in scan if not isinstance(item, Problem))
    assert first.name == "gerrit/a.git" and first.layout is Layout.BARE
    late = init_repo(host / "zz-late" / "repo")
    commit_chain(late, 1)
    rest = [getattr(item, "name", None) for item in scan if not isinstance(item, Problem)]
    assert "zz-late/repo" in rest


def _niceness_of_the_worker(chunk, now):
    """A chunk worker that reports the nice value of the process it ran in, once per repository."""
    return [os.nice(0)] * len(chunk)


@pytest.mark.parametrize("niceness", [0, 5])
def test_scan_workers_run_as_much_nicer_as_asked(tmp_path, niceness):
    """The console asks for nicer workers (its event loop shares the cores with them); the
    scan's own process keeps its priority, and 0 leaves the workers alone."""
    template = init_bare(tmp_path / "template.git")
    for i in range(PARALLEL_THRESHOLD + 12):  # past the threshold: worker processes
        shutil.copytree(template, tmp_path / "host" / f"r{i:02d}.git")
    own = os.nice(0)
    seen = list(
        iter_host_scan(
            [str(tmp_path / "host")], jobs=2, chunk_worker=_niceness_of_the_worker, hold_bare=False, worker_niceness=niceness
        )
    )
    assert len(seen) == PARALLEL_THRESHOLD + 12
    assert set(seen) == {min(own + niceness, 19)}
    assert os.nice(0) == own


def _discovery_then_the_walkers_pid(roots, max_depth):
    """The real walk, then a note of the process it ran in."""
    yield from discover_lazily(roots, max_depth)
    yield Problem("walked-in", Severity.INFO, str(os.getpid()))


def _discovery_that_fails(roots, max_depth):
    yield from discover_lazily(roots, max_depth)
    raise PermissionError("a directory that cannot be listed")


@pytest.mark.parametrize("hold_bare", [False, True])
def test_discovery_walked_in_a_child_process_gives_what_the_walk_here_gives(host, tmp_path, monkeypatch, hold_bare):
    """The console walks the tree apart from its event loop (discover_in_child): the same
    reports, problems and retractions, and the walk ran in another process."""
    import multiprocessing

    from tui.core import scan
    from tui.core.discovery import Superseded

    template = init_bare(tmp_path / "t.git")
    commit_chain(template, 2)
    for i in range(PARALLEL_THRESHOLD + 40):
        shutil.copytree(template, host / "many" / f"r{i:03d}.git")
    monkeypatch.setattr(scan, "discover_lazily", _discovery_then_the_walkers_pid)

    def outcome(**options):
        shown: dict[str, object] = {}
        notes = []
        for item in iter_host_scan([str(host)], jobs=2, hold_bare=hold_bare, now=1_780_000_000.0, **options):
            if isinstance(item, Superseded):
                shown.pop(item.candidate.path, None)
            elif isinstance(item, Problem):
                notes.append(item)
            else:
                shown[item.path] = item.to_json()
        return shown, [note for note in notes if note.code != "walked-in"], [note.message for note in notes if note.code == "walked-in"]

    here, problems_here, walkers_here = outcome()
    apart, problems_apart, walkers_apart = outcome(discover_in_child=True)
    assert apart == here and len(apart) == PARALLEL_THRESHOLD + 40 + 3
    assert problems_apart == problems_here
    assert walkers_here == [str(os.getpid())]
    assert walkers_apart != walkers_here and len(walkers_apart) == 1
    assert not [child for child in multiprocessing.active_children() if child.name == "gitward-discovery"]


def test_a_walk_in_a_child_process_that_fails_fails_the_scan(host, tmp_path, monkeypatch):
    from tui.core import scan

    template = init_bare(tmp_path / "t.git")
    for i in range(PARALLEL_THRESHOLD + 4):
        shutil.copytree(template, host / "many" / f"r{i:03d}.git")
    monkeypatch.setattr(scan, "discover_lazily", _discovery_that_fails)
    with pytest.raises(PermissionError, match="cannot be listed"):
        list(iter_host_scan([str(host)], jobs=2, hold_bare=False, discover_in_child=True))


def test_a_scan_closed_early_stops_its_discovery_process(host, tmp_path):
    import multiprocessing

    template = init_bare(tmp_path / "t.git")
    for i in range(PARALLEL_THRESHOLD + 200):
        shutil.copytree(template, host / "many" / f"r{i:03d}.git")
    scan = iter_host_scan([str(host)], jobs=2, hold_bare=False, discover_in_child=True)
    next(item for item in scan if not isinstance(item, Problem))
    scan.close()
    assert not [child for child in multiprocessing.active_children() if child.name == "gitward-discovery"]
