"""Syncing mirrors and clones with the real git: file:// and git daemon upstreams, live output,
cancel and timeout within a second, credentials that never leak, prompts that never hang."""

from __future__ import annotations

import http.server
import os
import threading
import time
from pathlib import Path

import pytest
from gitrepo import commit_chain, for_each_ref, git, write_loose
from sync_support import (
    WAIT,
    add_commits,
    behind_slow_upstream,
    chatty_upload_pack,
    clone_of,
    flooding_upload_pack,
    free_port,
    fsck_ok,
    git_daemon,  # noqa: F401  (fixture)
    lock_files,
    log_texts,
    make_upstream,
    mirror_of,
    process_gone,
    slow_upstream,
    wait_for_line,
)

from tui.core import paths
from tui.core.sync import JobRunner, JobState, SyncError, SyncKind, SyncRequest, git_environment, plan_sync, preflight, run_sync
from tui.core.sync.plan import LOCAL_HOST, host_key


@pytest.fixture
def runner():
    job_runner = JobRunner(timeout=60)
    yield job_runner
    assert job_runner.shutdown(timeout=5)


@pytest.fixture
def mirror(tmp_path) -> tuple[Path, Path]:
    upstream = tmp_path / "up.git"
    make_upstream(upstream, 3)
    return upstream, mirror_of(upstream, tmp_path / "mirror.git")


def finished(job, timeout: float = WAIT):
    assert job.wait(timeout), f"job still {job.state}: {log_texts(job)[-5:]}"
    return job


# --------------------------------------------------------------------------- plans


def test_plan_tells_mirrors_from_clones_and_picks_the_remote(tmp_path, mirror):
    upstream, mirror_path = mirror
    clone = clone_of(upstream, tmp_path / "clone")
    assert plan_sync(SyncRequest(str(mirror_path))).kind is SyncKind.MIRROR
    plan = plan_sync(SyncRequest(str(clone)))
    assert (plan.kind, plan.remote, plan.host) == (SyncKind.CLONE, "origin", LOCAL_HOST)
    git(clone, "remote", "add", "other", "https://git.example.com/x.git")
    assert plan_sync(SyncRequest(str(clone), remote="other")).host == "git.example.com"
    with pytest.raises(SyncError, match="no remote named 'nope'"):
        plan_sync(SyncRequest(str(clone), remote="nope"))
    git(clone, "remote", "remove", "origin")
    assert plan_sync(SyncRequest(str(clone))).remote == "other"  # the only one


def test_plan_refuses_what_it_cannot_sync(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(SyncError, match="not a git repository"):
        plan_sync(SyncRequest(str(tmp_path / "plain")))
    with pytest.raises(SyncError, match="no such directory"):
        plan_sync(SyncRequest(str(tmp_path / "absent")))
    (tmp_path / "a-file").write_text("not a repository\n")
    with pytest.raises(SyncError, match="a-file: not a directory"):
        plan_sync(SyncRequest(str(tmp_path / "a-file")))
    lonely = tmp_path / "lonely.git"
    git(tmp_path, "init", "-q", "--bare", str(lonely))
    with pytest.raises(SyncError, match="no remote is configured"):
        plan_sync(SyncRequest(str(lonely)))
    with pytest.raises(SyncError, match="timeout"):
        plan_sync(SyncRequest(str(lonely), timeout=0))


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://user:pw@Git.Example.com:8443/x.git", "git.example.com"),
        ("ssh://git@gerrit.example.com:29418/p", "gerrit.example.com"),
        ("git@github.com:org/repo.git", "github.com"),
        ("git://127.0.0.1:9418/x", "127.0.0.1"),
        ("file:///srv/git/x.git", LOCAL_HOST),
        ("/srv/git/x.git", LOCAL_HOST),
        ("../relative.git", LOCAL_HOST),
    ],
)
def test_host_keys(url, host):
    assert host_key(url) == host


# --------------------------------------------------------------------------- the environment


def test_git_never_prompts_but_keeps_the_operators_ssh_command():
    env, notes = git_environment({"GIT_DIR": "/elsewhere", "SSH_ASKPASS": "/usr/bin/ksshaskpass", "PATH": "/bin"})
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_ASKPASS"] == ""  # set and empty: git skips core.askPass and SSH_ASKPASS
    assert "SSH_ASKPASS" not in env and "GIT_DIR" not in env
    assert env["GIT_SSH_COMMAND"] == "ssh -o BatchMode=yes"
    env, _ = git_environment({"GIT_SSH_COMMAND": "ssh -i /etc/keys/mirror -F /etc/ssh/mirror.conf"})
    assert env["GIT_SSH_COMMAND"] == "ssh -i /etc/keys/mirror -F /etc/ssh/mirror.conf -o BatchMode=yes"
    env, _ = git_environment({}, ssh_command="ssh -p 29418")  # core.sshCommand from the repo's config
    assert env["GIT_SSH_COMMAND"] == "ssh -p 29418 -o BatchMode=yes"
    env, notes = git_environment({"GIT_SSH": "/usr/local/bin/plink"})
    assert "GIT_SSH_COMMAND" not in env and notes


def test_core_ssh_command_from_the_repository_config_is_extended(tmp_path, mirror, runner):
    _, mirror_path = mirror
    marker = tmp_path / "ssh-was-run"
    fake_ssh = tmp_path / "fake-ssh"
    fake_ssh.write_text(f'#!/bin/sh\necho "$@" > {marker}\necho "fake-ssh: no route" >&2\nexit 255\n')
    fake_ssh.chmod(0o755)
    git(mirror_path, "config", "core.sshCommand", f"{fake_ssh} -p 2222")
    git(mirror_path, "config", "remote.origin.url", "ssh://git@unreachable.example.com/x.git")
    job = finished(runner.submit(SyncRequest(str(mirror_path))))
    assert job.state is JobState.FAILED
    args = marker.read_text()
    assert args.startswith("-p 2222 -o BatchMode=yes ")  # the operator's command, extended
    assert "fake-ssh: no route" in log_texts(job)


# --------------------------------------------------------------------------- fetching


def test_mirror_sync_brings_new_commits_and_prunes(mirror, runner):
    upstream, mirror_path = mirror
    git(upstream, "branch", "doomed", "main~1")
    assert finished(runner.submit(SyncRequest(str(mirror_path)))).state is JobState.OK
    old_main = for_each_ref(mirror_path)["refs/heads/main"]
    tip = add_commits(upstream, 2)
    git(upstream, "branch", "-D", "doomed")
    git(upstream, "tag", "v1", tip)
    job = finished(runner.submit(SyncRequest(str(mirror_path))))
    assert job.state is JobState.OK and job.exit_code == 0
    assert for_each_ref(mirror_path) == for_each_ref(upstream)
    changes = {c.name: (c.old, c.new, c.kind) for c in job.changed_refs}
    assert changes == {
        "refs/heads/main": (old_main, tip, "updated"),
        "refs/heads/doomed": (changes["refs/heads/doomed"][0], None, "deleted"),
        "refs/tags/v1": (None, tip, "new"),
    }
    assert any("[deleted]" in t or "deleted" in t for t in log_texts(job))
    assert job.log_path and os.path.dirname(job.log_path) == paths.log_dir()
    assert "main" in Path(job.log_path).read_text()
    assert fsck_ok(mirror_path)


def test_clone_sync_uses_its_own_refspecs(tmp_path, runner):
    upstream = tmp_path / "up.git"
    make_upstream(upstream, 2)
    clone = clone_of(upstream, tmp_path / "clone")
    tip = add_commits(upstream)
    job = finished(runner.submit(SyncRequest(str(clone))))
    assert job.state is JobState.OK
    assert [(c.name, c.new) for c in job.changed_refs] == [("refs/remotes/origin/main", tip)]
    assert git(clone, "rev-parse", "main").strip() != tip  # a fetch, not a pull


def test_sync_through_a_real_git_daemon(tmp_path, git_daemon, runner):
    upstream = git_daemon.base / "lib.git"
    make_upstream(upstream, 3)
    mirror_path = tmp_path / "lib-mirror.git"
    git(tmp_path, "clone", "--quiet", "--mirror", git_daemon.url("lib.git"), str(mirror_path))
    tip = add_commits(upstream, 3)
    job = finished(runner.submit(SyncRequest(str(mirror_path))))
    assert job.state is JobState.OK, log_texts(job)
    assert job.host == "127.0.0.1"
    assert for_each_ref(mirror_path)["refs/heads/main"] == tip
    assert any(git_daemon.url("lib.git") in t for t in log_texts(job))  # "From git://..."


def test_a_failed_fetch_reports_gits_error_line(tmp_path, mirror, runner):
    _, mirror_path = mirror
    git(mirror_path, "config", "remote.origin.url", str(tmp_path / "no-such-upstream.git"))
    job = finished(runner.submit(SyncRequest(str(mirror_path))))
    assert job.state is JobState.FAILED
    assert job.exit_code == 128
    assert job.error.startswith("fatal:") and "no-such-upstream" in job.error


# --------------------------------------------------------------------------- live, cancel, timeout


def test_output_is_live_and_the_log_shows_the_first_lines_before_the_fetch_ends(tmp_path, mirror, runner):
    upstream, mirror_path = mirror
    tip = add_commits(upstream)
    slow = slow_upstream(tmp_path / "wrappers")
    slow.use(mirror_path)
    job = runner.submit(SyncRequest(str(mirror_path)))
    assert wait_for_line(job, slow.hello)
    assert job.state is JobState.RUNNING  # the line arrived while git was still fetching
    line = next(line for line in job.log.lines() if slow.hello in line.text)
    assert line.time <= time.time()
    slow.release()
    assert finished(job).state is JobState.OK
    assert for_each_ref(mirror_path)["refs/heads/main"] == tip


def test_cancel_ends_the_process_group_within_a_second_and_leaves_refs_intact(tmp_path, mirror, runner, record_property):
    _, mirror_path = mirror
    slow, refs_before = behind_slow_upstream(mirror, tmp_path / "wrappers")
    job = runner.submit(SyncRequest(str(mirror_path)))
    assert wait_for_line(job, slow.hello)
    wrapper_pid = slow.pid()
    asked = time.monotonic()
    job.cancel()
    assert job.wait(WAIT)
    latency = time.monotonic() - asked
    record_property("cancel_latency_seconds", round(latency, 3))
    print(f"\ncancel latency: {latency * 1000:.0f} ms")
    assert job.state is JobState.CANCELLED
    assert latency < 1.0
    assert process_gone(wrapper_pid)  # the grandchild too: the whole group went
    assert for_each_ref(mirror_path) == refs_before
    assert lock_files(mirror_path) == []
    assert fsck_ok(mirror_path)
    assert "cancelled" in log_texts(job)[-1]


def test_timeout_ends_it_within_a_second_as_timed_out(tmp_path, mirror, runner, record_property):
    _, mirror_path = mirror
    slow, refs_before = behind_slow_upstream(mirror, tmp_path / "wrappers")
    job = runner.submit(SyncRequest(str(mirror_path), timeout=1.0))
    assert job.wait(WAIT)
    overrun = job.duration - 1.0
    record_property("timeout_overrun_seconds", round(overrun, 3))
    assert job.state is JobState.TIMED_OUT
    assert 0 <= overrun < 1.0
    assert job.error == "timed out after 1 s"
    assert process_gone(slow.pid())
    assert for_each_ref(mirror_path) == refs_before
    assert lock_files(mirror_path) == [] and fsck_ok(mirror_path)


def test_a_flood_of_output_stays_bounded_and_complete_on_disk(tmp_path, mirror):
    upstream, mirror_path = mirror
    tip = add_commits(upstream)
    wrapper = flooding_upload_pack(tmp_path / "wrappers", lines=30_000, progress=20_000)
    git(mirror_path, "config", "remote.origin.uploadpack", str(wrapper))
    flood_runner = JobRunner(buffer_lines=1000)
    try:
        started = time.monotonic()
        job = finished(flood_runner.submit(SyncRequest(str(mirror_path))), timeout=60)
        elapsed = time.monotonic() - started
    finally:
        flood_runner.shutdown()
    assert job.state is JobState.OK and for_each_ref(mirror_path)["refs/heads/main"] == tip
    assert len(job.log.lines()) == 1000 and job.log.dropped == job.log.total - 1000
    on_disk = Path(job.log_path).read_text()
    assert "flood line 1\n" in on_disk and "flood line 30000\n" in on_disk
    assert "flood progress 1%" not in on_disk  # redraws never reach the file, only final lines
    print(f"\nflood: {job.log.total} lines through a real git in {elapsed:.2f} s")


# --------------------------------------------------------------------------- credentials and prompts


def test_a_password_in_the_url_never_reaches_the_log_the_file_or_the_job(tmp_path, mirror, runner):
    _, mirror_path = mirror
    port = free_port()  # closed: connection refused, and git names the URL in its error
    git(mirror_path, "config", "remote.origin.url", f"http://alice:s3cret@127.0.0.1:{port}/x.git")
    job = finished(runner.submit(SyncRequest(str(mirror_path))))
    assert job.state is JobState.FAILED
    everything = "\n".join(log_texts(job)) + Path(job.log_path).read_text() + repr(job.to_json())
    assert "s3cret" not in everything
    assert f"127.0.0.1:{port}" in job.error
    assert f"http://alice:***@127.0.0.1:{port}/x.git" in log_texts(job)[0]  # the header, redacted


def test_credentials_printed_by_the_remote_are_redacted_in_log_and_file(tmp_path, mirror, runner):
    _, mirror_path = mirror
    chatty_upload_pack(
        mirror_path,
        tmp_path,
        "echo 'remote: proxy https://dave:pa55word@proxy.example.com:3128 said hello' >&2",
        "echo 'remote: see https://gitlab.example.com/api?private_token=glpat-abcdefghij1234567890' >&2",
    )
    job = finished(runner.submit(SyncRequest(str(mirror_path))))
    assert job.state is JobState.OK
    everything = "\n".join(log_texts(job)) + Path(job.log_path).read_text()
    assert "pa55word" not in everything and "glpat-abcdefghij1234567890" not in everything
    assert "https://dave:***@proxy.example.com:3128" in everything


class _AuthWanted(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_remote_that_wants_a_password_fails_fast_with_a_clear_message(mirror, runner):
    _, mirror_path = mirror
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthWanted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        git(mirror_path, "config", "remote.origin.url", f"http://127.0.0.1:{server.server_port}/x.git")
        job = finished(runner.submit(SyncRequest(str(mirror_path))))
    finally:
        server.shutdown()
        server.server_close()
    assert job.state is JobState.FAILED
    assert "terminal prompts disabled" in job.error
    assert "credential helper" in job.hint
    assert job.duration < 5


# --------------------------------------------------------------------------- preflight


@pytest.fixture
def stale_replica(tmp_path) -> tuple[Path, Path, list[str]]:
    upstream = tmp_path / "up.git"
    commits = make_upstream(upstream, 4)
    replica = mirror_of(upstream, tmp_path / "replica.git")
    git(replica, "pack-refs", "--all")
    write_loose(replica, "refs/heads/main", commits[1])  # the rsync-without---delete leftover
    return upstream, replica, commits


def test_preflight_warns_about_stale_loose_shadows(stale_replica, mirror):
    _, replica, _ = stale_replica
    (warning,) = preflight(plan_sync(SyncRequest(str(replica))))
    assert warning.code == "stale-loose-shadows" and warning.refs == ("refs/heads/main",)
    assert "overwrite" in warning.message
    assert preflight(plan_sync(SyncRequest(str(mirror[1])))) == []


def test_an_unconfirmed_sync_of_a_stale_replica_refuses_and_changes_nothing(stale_replica, runner):
    _, replica, commits = stale_replica
    job = finished(runner.submit(SyncRequest(str(replica))))
    assert job.state is JobState.FAILED and job.error.startswith("refused until confirmed")
    assert [w.code for w in job.preflight_warnings] == ["stale-loose-shadows"]
    assert (replica / "refs/heads/main").read_text().strip() == commits[1]
    forced = finished(runner.submit(SyncRequest(str(replica), force=True)))
    assert forced.state is JobState.OK
    assert git(replica, "rev-parse", "refs/heads/main").strip() == commits[-1]


# --------------------------------------------------------------------------- synchronous use


def test_run_sync_in_the_calling_thread(mirror):
    upstream, mirror_path = mirror
    tip = add_commits(upstream)
    seen = []
    job = run_sync(SyncRequest(str(mirror_path)), listener=lambda j: seen.append(j.state))
    assert job.state is JobState.OK and for_each_ref(mirror_path)["refs/heads/main"] == tip
    assert seen[0] is JobState.RUNNING and seen[-1] is JobState.OK


def test_commit_chain_helper_and_upstreams_agree(tmp_path):
    upstream = tmp_path / "u.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(upstream))
    commits = commit_chain(upstream, 2)
    assert add_commits(upstream) not in commits


def test_the_sync_core_never_imports_textual_and_loads_pygit2_lazily():
    from test_import_hygiene import unwanted_imports

    sync_modules = ["tui.core.sync.git", "tui.core.sync.plan", "tui.core.sync.gitsync", "tui.core.sync.synclog", "tui.core.sync.jobs", "tui.core.sync.runner", "tui.core.sync.lock", "tui.cli.sync"]
    assert unwanted_imports(sync_modules, ("textual", "rich", "pygit2")) == ""
