"""``--timeout`` bounds the whole sync, gitward's own reads included (issue 8, item 2): a FIFO
planted where gitward reads must not hang a sync. Each test bounds its own wait, so the code as
it was (which blocked forever) fails instead of hanging the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gitrepo import for_each_ref
from sync_support import WAIT, upstream_and_mirror, add_commits, make_upstream

from tui.cli import sync as cli_sync
from tui.core.sync.jobs import ABANDON_GRACE_SECONDS, JobState, run_sync
from tui.core.sync.plan import SyncRequest

WORKTREE = Path(cli_sync.__file__).resolve().parents[2]
TIMEOUT = 2.0
# The sync must end within its timeout plus the grace for stopping, plus a loaded machine's slack.
BOUND = TIMEOUT + ABANDON_GRACE_SECONDS + WAIT


@pytest.fixture
def mirror(tmp_path):
    return upstream_and_mirror(tmp_path)


def sync_within_bound(repo: Path):
    """The core sync with TIMEOUT, in a thread: its job, or a failure if it outlives BOUND."""
    jobs = []
    thread = threading.Thread(target=lambda: jobs.append(run_sync(SyncRequest(str(repo), timeout=TIMEOUT))), daemon=True)
    thread.start()
    thread.join(BOUND)
    assert jobs, f"the sync did not end within {BOUND} s"
    return jobs[0]


def gitward_sync(*argv: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [sys.executable, "-m", "tui", "sync", *argv, "--yes"], cwd=WORKTREE,
            capture_output=True, text=True, timeout=BOUND,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"gitward sync {' '.join(argv)} did not end within {BOUND} s")


def test_a_fifo_loose_ref_cannot_hang_the_cli_sync(mirror):
    upstream, mirror_path = mirror
    add_commits(upstream)
    os.mkfifo(mirror_path / "refs" / "heads" / "planted")
    started = time.monotonic()
    result = gitward_sync(str(mirror_path), "--timeout", str(TIMEOUT))
    assert time.monotonic() - started < BOUND
    assert result.returncode == 124, result
    assert result.stderr.splitlines()[-1].startswith("gitward: sync timed-out"), result.stderr


def test_a_fifo_loose_ref_cannot_hang_a_job(mirror):
    """The console's path: the job runs its own preflight, in its own thread, under its deadline."""
    upstream, mirror_path = mirror
    add_commits(upstream)
    refs_before = for_each_ref(mirror_path)
    fifo = mirror_path / "refs" / "heads" / "planted"
    os.mkfifo(fifo)
    job = sync_within_bound(mirror_path)
    assert job.state is JobState.TIMED_OUT, job.error
    assert job.duration < BOUND
    assert f"timed out after {TIMEOUT:g} s" in job.error
    # The abandoned work (if gitward's own read blocked, not only git's), unblocked now,
    # changes nothing: past the deadline, every step stops.
    work = [t for t in threading.enumerate() if t.name == f"gitward-sync-{job.id}-work"]
    release_readers(fifo)
    for thread in work:
        thread.join(WAIT)
        assert not thread.is_alive()
    fifo.unlink()
    assert for_each_ref(mirror_path) == refs_before
    assert job.state is JobState.TIMED_OUT and not job.changed_refs


def test_a_fifo_as_the_served_worktrees_gitfile_cannot_hang_a_git_sync(tmp_path):
    upstream = tmp_path / "up.git"
    make_upstream(upstream, 2)
    root = tmp_path / "root"
    assert run_sync(SyncRequest(str(root), url=upstream.as_uri())).state is JobState.OK
    served = root / os.readlink(root / "up.git")
    (served / ".git").unlink()
    os.mkfifo(served / ".git")
    result = gitward_sync(str(root), "--timeout", str(TIMEOUT))
    assert result.returncode == 1, result
    assert "not a regular file" in result.stderr
    assert os.path.exists(served / "file.txt")  # the served worktree is not removed


def release_readers(fifo: Path) -> None:
    """A reader blocked on the FIFO gets EOF; ENXIO: nobody was blocked on it."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def test_the_consoles_preflight_is_bounded_too(mirror, monkeypatch):
    """The console asks ``JobRunner.preflight`` from a worker (holding the object-store lock):
    a read that never returns (a volume that does not answer) must come back as a refusal."""
    from tui.core.sync import jobs
    from tui.core.sync.plan import SyncError

    upstream, mirror_path = mirror
    volume_answers = threading.Event()

    def stuck_preflight(plan):
        volume_answers.wait()
        return []

    monkeypatch.setattr(jobs, "preflight_plan", stuck_preflight)
    runner = jobs.JobRunner(timeout=TIMEOUT)
    errors = []

    def ask() -> None:
        try:
            runner.preflight(SyncRequest(str(mirror_path)))
        except SyncError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(BOUND)
    volume_answers.set()
    assert errors and f"timed out after {TIMEOUT:g} s while reading {mirror_path}" in errors[0], errors


def test_gitwards_own_read_that_never_returns_is_abandoned_at_the_deadline(mirror, monkeypatch):
    """Not git's process, gitward's own read (here: the preflight, stuck as on a dead NFS
    mount): the job still ends at its deadline, and the work, when it comes back, changes nothing."""
    from tui.core.sync import jobs

    upstream, mirror_path = mirror
    add_commits(upstream)
    refs_before = for_each_ref(mirror_path)
    volume_answers = threading.Event()

    def stuck_preflight(plan):
        volume_answers.wait()
        return []

    monkeypatch.setattr(jobs, "preflight_plan", stuck_preflight)
    job = sync_within_bound(mirror_path)
    assert job.state is JobState.TIMED_OUT
    assert "gitward's own work did not return" in job.error and "abandoned" in job.error
    (work,) = [t for t in threading.enumerate() if t.name == f"gitward-sync-{job.id}-work"]
    volume_answers.set()  # the volume answers again: the work goes on to its next step...
    work.join(WAIT)
    assert not work.is_alive()
    assert for_each_ref(mirror_path) == refs_before  # ...which stops: nothing was fetched
    assert job.state is JobState.TIMED_OUT and "abandoned" in job.error  # the outcome stands
