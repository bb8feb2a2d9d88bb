"""Every sync is recorded in the core: its outcome ("last fetch" tells the truth) and a journal
entry with the refs it changed, old -> new, marked not undoable. Real upstreams and mirrors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gitrepo import for_each_ref, git
from sync_support import WAIT, add_commits, behind_slow_upstream, upstream_and_mirror, wait_for_line

from tui.core.discovery import repository_at
from tui.core.fetch_status import fetch_status, read_outcomes
from tui.core.scan import scan_repo
from tui.core.sync import JobRunner, JobState, SyncRequest, run_sync
from tui.core.sync.record import JOURNAL_KIND, NOT_UNDOABLE
from tui.core.write.journal import Journal
from tui.core.write.undo import undo
from tui.core.write.errors import WriteError

WORKTREE = Path(__file__).resolve().parents[2]


@pytest.fixture
def mirror(tmp_path) -> tuple[Path, Path]:
    return upstream_and_mirror(tmp_path)


def report_of(path: Path):
    return scan_repo(repository_at(str(path)))


def sync_entries() -> list:
    return [entry for entry in Journal().entries() if entry.kind == JOURNAL_KIND]


def test_an_ok_sync_is_journaled_with_the_refs_it_changed_old_to_new(mirror):
    upstream, mirror_path = mirror
    before = for_each_ref(mirror_path)
    add_commits(upstream)
    git(upstream, "branch", "extra", "main")
    job = run_sync(SyncRequest(str(mirror_path)), timeout=60)
    assert job.state is JobState.OK, job.error
    after = for_each_ref(mirror_path)
    (entry,) = sync_entries()
    assert entry.id == job.journal_id and entry.status == "done" and entry.repo == str(mirror_path)
    assert NOT_UNDOABLE in entry.summary and "2 refs changed" in entry.summary
    changed = {item["ref"]: (item["old"], item["new"]) for item in entry.intent}
    assert changed == {
        name: (before.get(name), after.get(name)) for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    }
    with pytest.raises(WriteError):
        undo(Journal(), entry.id)  # a fetch has no before-image to restore
    assert for_each_ref(mirror_path) == after


def test_gitward_journal_lists_the_sync_and_says_it_is_not_undoable(mirror):
    upstream, mirror_path = mirror
    add_commits(upstream)
    job = run_sync(SyncRequest(str(mirror_path)), timeout=60)
    assert job.state is JobState.OK, job.error
    listing = subprocess.run(
        [sys.executable, "-m", "tui", "journal"], cwd=WORKTREE, capture_output=True, text=True, timeout=60
    )
    assert listing.returncode == 0, listing.stderr
    (line,) = [line for line in listing.stdout.splitlines() if job.journal_id in line]
    assert " sync " in line and NOT_UNDOABLE in line and "refs/heads/main" in line
    shown = subprocess.run(
        [sys.executable, "-m", "tui", "journal", job.journal_id, "--json"],
        cwd=WORKTREE, capture_output=True, text=True, timeout=60,
    )
    items = json.loads(shown.stdout)["items"]
    assert [(i["ref"], i["new"]) for i in items] == [("refs/heads/main", git(upstream, "rev-parse", "main").strip())]


def test_a_cancelled_fetch_reads_as_cancelled_not_as_a_fresh_fetch(tmp_path, mirror):
    upstream, mirror_path = mirror
    first = run_sync(SyncRequest(str(mirror_path)), timeout=60)
    assert first.state is JobState.OK, first.error
    _, recorded_ok = read_outcomes(os.path.realpath(mirror_path))
    slow, _ = behind_slow_upstream(mirror, tmp_path / "wrappers")
    runner = JobRunner(timeout=60)
    try:
        job = runner.submit(SyncRequest(str(mirror_path)))
        assert wait_for_line(job, slow.hello)
        job.cancel()
        assert job.wait(WAIT) and job.state is JobState.CANCELLED
    finally:
        assert runner.shutdown(timeout=5)
    report = report_of(mirror_path)
    assert report.last_fetch == recorded_ok.ended  # the last *successful* fetch
    failure = report.last_fetch_failure
    assert failure is not None and failure.state == "cancelled" and failure.at >= report.last_fetch
    assert report.to_json()["last_fetch_failure"]["state"] == "cancelled"
    (entry,) = [e for e in sync_entries() if e.id == job.journal_id]
    assert entry.status == "failed" and "cancelled" in entry.summary and NOT_UNDOABLE in entry.summary


def test_a_failed_sync_keeps_the_last_good_fetch_and_a_later_success_clears_it(mirror):
    upstream, mirror_path = mirror
    assert run_sync(SyncRequest(str(mirror_path)), timeout=60).state is JobState.OK
    good = report_of(mirror_path).last_fetch
    moved = upstream.with_name("moved.git")
    upstream.rename(moved)
    failed = run_sync(SyncRequest(str(mirror_path)), timeout=60)
    assert failed.state is JobState.FAILED
    report = report_of(mirror_path)
    assert report.last_fetch == good
    assert report.last_fetch_failure.state == "failed" and report.last_fetch_failure.exit_code == failed.exit_code
    moved.rename(upstream)
    assert run_sync(SyncRequest(str(mirror_path)), timeout=60).state is JobState.OK
    report = report_of(mirror_path)
    assert report.last_fetch_failure is None and report.last_fetch > good


def test_a_fetch_gitward_did_not_run_is_judged_by_fetch_head(mirror):
    """cron's `git fetch`: a completed one writes FETCH_HEAD; one that did not complete leaves it
    empty (git truncates it first), which is not a fetch, whatever its mtime says."""
    upstream, mirror_path = mirror
    git(mirror_path, "fetch", "-q")
    fetch_head = mirror_path / "FETCH_HEAD"
    three_days_ago = time.time() - 3 * 86400
    os.utime(fetch_head, (three_days_ago, three_days_ago))
    status = fetch_status(str(mirror_path))
    assert status.last_ok == pytest.approx(three_days_ago) and status.failure is None
    result = subprocess.run(["git", "-C", str(mirror_path), "fetch", "-q", str(upstream.with_name("gone.git"))], capture_output=True)
    assert result.returncode != 0 and fetch_head.stat().st_size == 0  # git emptied it
    report = report_of(mirror_path)
    assert report.last_fetch is None
    assert report.last_fetch_failure.state == "incomplete"


def test_an_up_to_date_sync_is_not_journaled_but_counts_as_a_fetch(mirror):
    _, mirror_path = mirror
    git(mirror_path, "fetch", "-q")  # up to date
    job = run_sync(SyncRequest(str(mirror_path)), timeout=60)
    assert job.state is JobState.OK and job.changed_refs == [] and job.journal_id is None
    assert sync_entries() == []
    last, last_ok = read_outcomes(os.path.realpath(mirror_path))
    assert last == last_ok and last.state == "ok"
    assert report_of(mirror_path).last_fetch == last_ok.ended


def test_the_host_scan_finds_each_record_by_real_path_through_symlinks(tmp_path):
    """The store is keyed by each git dir's real path; the scan resolves it through a cache of
    parent directories (one lstat a repository): a root reached through a symlink, and a
    repository that is itself a symlink, still find their records, and a record written after
    one scan is seen by the next (the store's listing is cached until the store changes)."""
    from gitrepo import init_bare

    from tui.core.fetch_status import SyncOutcome, write_outcome
    from tui.core.scan import scan_host

    real_root = tmp_path / "srv"
    plain = init_bare(real_root / "group" / "plain.git")
    elsewhere = init_bare(tmp_path / "elsewhere" / "target.git")
    (real_root / "group" / "linked.git").symlink_to(elsewhere)
    (tmp_path / "root-link").symlink_to(real_root)
    write_outcome(os.path.realpath(plain), SyncOutcome("ok", ended=1_000.0))

    def last_fetches() -> dict[str, float | None]:
        host = scan_host([str(tmp_path / "root-link")], jobs=1)
        return {report.name: report.last_fetch for report in host.repos}

    assert last_fetches() == {"group/linked.git": None, "group/plain.git": 1_000.0}
    write_outcome(os.path.realpath(elsewhere), SyncOutcome("ok", ended=2_000.0))
    assert last_fetches() == {"group/linked.git": 2_000.0, "group/plain.git": 1_000.0}
