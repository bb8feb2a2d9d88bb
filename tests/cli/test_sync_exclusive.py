"""A sync of one repository at a time across processes, hooks off unless asked, and a
repository owned by another user refused up front (issue 8, item 7)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asuser import adversary_user, chown_tree, run_cli_as, shared_dir
from gitrepo import for_each_ref, git
from sync_support import WAIT, upstream_and_mirror, add_commits, behind_slow_upstream, make_upstream, mirror_of, process_gone

from tui.cli import sync as cli_sync
from tui.core.sync.jobs import JobRunner, JobState, run_sync
from tui.core.sync.plan import SyncRequest

WORKTREE = Path(cli_sync.__file__).resolve().parents[2]


@pytest.fixture
def mirror(tmp_path):
    return upstream_and_mirror(tmp_path)


def start_cli_sync(*argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "sync", *argv, "--yes"], cwd=WORKTREE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_output(process: subprocess.Popen, needle: str) -> None:
    for line in process.stdout:  # the log is live on stdout
        if needle in line:
            return
    raise AssertionError(f"{needle!r} never appeared; stderr: {process.stderr.read()}")


def test_a_second_sync_of_one_repository_is_refused_across_processes(mirror, tmp_path):
    upstream, mirror_path = mirror
    slow, refs_before = behind_slow_upstream(mirror, tmp_path / "w")
    first = start_cli_sync(str(mirror_path), "--timeout", "60")
    try:
        wait_for_output(first, slow.hello)  # the first sync holds the lock, its fetch hangs
        # Another process: refused at once, naming the holder.
        second = subprocess.run(
            [sys.executable, "-m", "tui", "sync", str(mirror_path), "--yes"], cwd=WORKTREE,
            capture_output=True, text=True, timeout=WAIT,
        )
        assert second.returncode == 1, second
        last = second.stderr.splitlines()[-1]
        assert "another gitward sync of" in last and f"pid {first.pid}" in last, last
        assert "since" in last and f"sync {mirror_path}" in last
        # The console's job runner (this process), the same repository by another path: refused.
        runner = JobRunner()
        try:
            job = runner.submit(SyncRequest(str(mirror_path) + "/.", force=True))
            assert job.wait(WAIT) and job.state is JobState.FAILED
            assert f"pid {first.pid}" in job.error
        finally:
            assert runner.shutdown()
        assert for_each_ref(mirror_path) == refs_before  # neither refused sync fetched
        slow.release()
        out, err = first.communicate(timeout=WAIT)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    # Released when the holder ended: the next sync runs.
    assert run_sync(SyncRequest(str(mirror_path))).state is JobState.OK


def test_a_killed_gitward_keeps_the_lock_while_its_git_runs_then_leaves_none(mirror, tmp_path):
    upstream, mirror_path = mirror
    slow, refs_before = behind_slow_upstream(mirror, tmp_path / "w")
    first = start_cli_sync(str(mirror_path), "--timeout", "60")
    try:
        wait_for_output(first, slow.hello)
        first.kill()  # kill -9: gitward is gone, its fetch (own session) is not
        first.communicate(timeout=WAIT)
    finally:
        if first.poll() is None:
            first.kill()
    job = run_sync(SyncRequest(str(mirror_path)), timeout=WAIT)
    assert job.state is JobState.FAILED
    assert f"pid {first.pid}" in job.error and "a git it started still runs" in job.error
    assert for_each_ref(mirror_path) == refs_before
    # The orphaned fetch ends (here: killed with its process group); the kernel drops the lock.
    orphan = slow.pid()
    os.killpg(os.getpgid(orphan), signal.SIGKILL)
    assert process_gone(orphan, within=WAIT)
    slow.release()
    job = wait_until_synced(mirror_path)
    assert job.state is JobState.OK, job.error


def wait_until_synced(repo: Path):
    """The orphan's group may take a moment to close its descriptors after the wrapper died."""
    deadline = time.monotonic() + WAIT
    while True:
        job = run_sync(SyncRequest(str(repo)), timeout=WAIT)
        if job.state is JobState.OK or "another gitward sync" not in (job.error or "") or time.monotonic() > deadline:
            return job


def marker_hook(repo: Path, marker: Path) -> None:
    hook = repo / "hooks" / "reference-transaction"
    hook.write_text(f"#!/bin/sh\necho \"$1\" >> {marker}\n")
    hook.chmod(0o755)


def test_the_fetch_runs_no_hook_unless_asked(capsys, mirror, tmp_path):
    upstream, mirror_path = mirror
    marker = tmp_path / "hook-ran"
    marker_hook(mirror_path, marker)
    tip = add_commits(upstream)
    job = run_sync(SyncRequest(str(mirror_path)))
    assert job.state is JobState.OK and for_each_ref(mirror_path)["refs/heads/main"] == tip
    assert not marker.exists()
    assert "hooks off" in job.log.lines()[0].text
    add_commits(upstream)
    job = run_sync(SyncRequest(str(mirror_path), hooks=True))
    assert job.state is JobState.OK
    assert "committed" in marker.read_text()


def test_cli_hooks_flag_runs_them(capsys, mirror, tmp_path):
    upstream, mirror_path = mirror
    marker = tmp_path / "hook-ran"
    marker_hook(mirror_path, marker)
    add_commits(upstream)
    result = subprocess.run(
        [sys.executable, "-m", "tui", "sync", str(mirror_path), "--hooks", "--yes"], cwd=WORKTREE,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert marker.is_file()


def test_a_git_sync_root_runs_no_hook_either(tmp_path):
    upstream = tmp_path / "up.git"
    make_upstream(upstream, 2)
    root = tmp_path / "root"
    assert run_sync(SyncRequest(str(root), url=upstream.as_uri())).state is JobState.OK
    marker = tmp_path / "hook-ran"
    marker_hook(root / ".git", marker)
    add_commits(upstream)
    job = run_sync(SyncRequest(str(root)))
    assert job.state is JobState.OK, job.error
    assert not marker.exists()


def test_a_repository_owned_by_another_user_is_refused_up_front(monkeypatch):
    user = adversary_user()
    with shared_dir(user) as place:
        for name in ("config", "state", "log"):
            (place / name).mkdir()
            monkeypatch.setenv(f"GITWARD_{name.upper()}_DIR", str(place / name))
        chown_tree(place, user)
        upstream = place / "up.git"
        make_upstream(upstream, 2)
        mirror_path = mirror_of(upstream, place / "mirror.git")  # built by root: root's
        add_commits(upstream)
        before = for_each_ref(mirror_path)
        result = run_cli_as(user, "sync", str(mirror_path), "--timeout", "60", "--yes")
        assert result.code == 1, result
        last = result.stderr.splitlines()[-1]
        assert f"{mirror_path} belongs to root (uid 0)" in last and "sudo -u root" in last, last
        assert "dubious ownership" not in result.stdout + result.stderr
        assert for_each_ref(mirror_path) == before
