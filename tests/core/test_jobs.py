"""The job runner with real git processes against slow upstreams: at most N per host, never two
syncs of one repository at once, queued jobs cancellable, updates coalesced for a UI."""

from __future__ import annotations

import threading
import time

import pytest
from gitrepo import git
from sync_support import (
    WAIT,
    add_commits,
    git_daemon,  # noqa: F401  (fixture)
    log_texts,
    make_upstream,
    mirror_of,
    slow_upstream,
    wait_for_line,
)

from tui.core.config import Config, SyncConfig
from tui.core.sync import JobRunner, JobState, SyncError, SyncRequest


@pytest.fixture
def mirrors(tmp_path):
    """Four mirrors of one upstream, each behind its own slow upload-pack (own gate)."""
    upstream = tmp_path / "up.git"
    make_upstream(upstream, 2)
    result = []
    for i in range(4):
        mirror = mirror_of(upstream, tmp_path / f"m{i}.git")
        slow = slow_upstream(tmp_path / "wrappers", name=f"slow{i}")
        slow.use(mirror)
        result.append((mirror, slow))
    add_commits(upstream)
    return result


class Watcher:
    """Records the most jobs seen running at once, from the runner's listener."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.peak = 0
        self._lock = threading.Lock()
        runner.add_listener(self.seen)

    def seen(self, _job) -> None:
        with self._lock:
            running = sum(1 for j in self.runner.jobs() if j.state is JobState.RUNNING)
            self.peak = max(self.peak, running)


def states(jobs) -> list[str]:
    return [job.state.value for job in jobs]


def test_at_most_n_syncs_per_host_the_rest_queued_in_order(mirrors):
    runner = JobRunner(max_per_host=2)
    watcher = Watcher(runner)
    try:
        jobs = [runner.submit(SyncRequest(str(mirror))) for mirror, _ in mirrors]
        assert wait_for_line(jobs[0], "slow-upstream") and wait_for_line(jobs[1], "slow-upstream")
        assert states(jobs) == ["running", "running", "queued", "queued"]
        assert jobs[2].log.total == 0 and jobs[2].started_at is None
        assert runner.counts() == {"queued": 2, "running": 2}
        mirrors[0][1].release()
        assert jobs[0].wait(WAIT) and jobs[0].state is JobState.OK
        assert wait_for_line(jobs[2], "slow-upstream")  # the next in line took the free place
        assert states(jobs[1:]) == ["running", "running", "queued"]
        for _, slow in mirrors:
            slow.release()
        for job in jobs:
            assert job.wait(WAIT) and job.state is JobState.OK, log_texts(job)
        assert watcher.peak == 2
    finally:
        assert runner.shutdown()


def test_never_two_syncs_of_one_repository_at_once(mirrors):
    (mirror, slow), *_ = mirrors
    runner = JobRunner(max_per_host=3)
    try:
        first = runner.submit(SyncRequest(str(mirror)))
        assert runner.submit(SyncRequest(str(mirror))) is first  # the same request: the same job
        second = runner.submit(SyncRequest(str(mirror), timeout=30))  # other options: waits
        assert wait_for_line(first, "slow-upstream")
        assert second.state is JobState.QUEUED  # although the host has room
        assert runner.active_for(str(mirror)) is first
        slow.release()
        assert first.wait(WAIT) and second.wait(WAIT)
        assert first.ended_at <= second.started_at
        assert (first.state, second.state) == (JobState.OK, JobState.OK)
        assert second.changed_refs == []  # the first one already brought everything
    finally:
        assert runner.shutdown()


def test_hosts_do_not_share_a_limit(tmp_path, mirrors, git_daemon):
    (local_mirror, slow), *_ = mirrors
    served = git_daemon.base / "lib.git"
    make_upstream(served, 2)
    remote_mirror = tmp_path / "remote-mirror.git"
    git(tmp_path, "clone", "-q", "--mirror", git_daemon.url("lib.git"), str(remote_mirror))
    add_commits(served)
    runner = JobRunner(max_per_host=1)
    try:
        blocked = runner.submit(SyncRequest(str(local_mirror)))
        assert wait_for_line(blocked, "slow-upstream")
        other_host = runner.submit(SyncRequest(str(remote_mirror)))
        assert other_host.wait(WAIT) and other_host.state is JobState.OK, log_texts(other_host)
        assert blocked.state is JobState.RUNNING
        slow.release()
        assert blocked.wait(WAIT) and blocked.state is JobState.OK
    finally:
        assert runner.shutdown()


def test_a_queued_job_cancelled_never_starts(mirrors):
    (first_mirror, first_slow), (second_mirror, _), *_ = mirrors
    runner = JobRunner(max_per_host=1)
    try:
        running = runner.submit(SyncRequest(str(first_mirror)))
        queued = runner.submit(SyncRequest(str(second_mirror)))
        assert wait_for_line(running, "slow-upstream")
        queued.cancel()
        assert queued.wait(0) and queued.state is JobState.CANCELLED
        assert queued.started_at is None and queued.log.total == 0
        first_slow.release()
        assert running.wait(WAIT) and running.state is JobState.OK
        assert runner.counts() == {"queued": 0, "running": 0}
    finally:
        assert runner.shutdown()


def test_shutdown_cancels_running_and_queued_jobs_quickly(mirrors):
    runner = JobRunner(max_per_host=2)
    jobs = [runner.submit(SyncRequest(str(mirror))) for mirror, _ in mirrors]
    assert wait_for_line(jobs[0], "slow-upstream") and wait_for_line(jobs[1], "slow-upstream")
    started = time.monotonic()
    assert runner.shutdown(timeout=5)
    assert time.monotonic() - started < 2.0
    assert states(jobs) == ["cancelled"] * 4
    with pytest.raises(SyncError, match="shut down"):
        runner.submit(SyncRequest(str(mirrors[0][0])))


def test_updates_are_coalesced_per_job_for_a_ui(mirrors):
    (mirror, slow), *_ = mirrors
    runner = JobRunner()
    try:
        job = runner.submit(SyncRequest(str(mirror)))
        assert wait_for_line(job, "slow-upstream")
        news = runner.updates.drain(timeout=WAIT)
        assert news == [job]  # however many lines and state changes came before
        slow.release()
        assert job.wait(WAIT)
        assert runner.updates.drain(timeout=WAIT) == [job]
        assert runner.updates.drain(timeout=0) == []
        chunk = job.log.read(0)
        assert chunk.lines[-1].text.startswith("ok in")
        assert job.log.read(chunk.version).lines == []
        data = job.to_json()
        assert data["state"] == "ok" and data["kind"] == "mirror" and data["host"] == "local"
        assert "refs changed" in job.summary() or "ref changed" in job.summary()
    finally:
        assert runner.shutdown()


def test_the_runner_takes_its_limits_from_the_config(tmp_path):
    config = Config(sync=SyncConfig(timeout_seconds=12.5, max_per_host=5, log_buffer_lines=77, log_dir_max_bytes=1 << 20))
    runner = JobRunner.from_config(config)
    assert (runner.timeout, runner.max_per_host, runner.buffer_lines) == (12.5, 5, 77)
    upstream = tmp_path / "up.git"
    make_upstream(upstream)
    mirror = mirror_of(upstream, tmp_path / "m.git")
    assert runner.plan(SyncRequest(str(mirror))).timeout == 12.5
    assert runner.submit(SyncRequest(str(mirror))).log.max_lines == 77
    assert runner.shutdown()
