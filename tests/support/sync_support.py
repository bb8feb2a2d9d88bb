"""Helpers for the sync tests (upstreams, slow and flooding wrappers, git daemon), and their own tests.

Everything is real: git repositories built with the git CLI, a real ``git daemon``, wrapper
scripts that git runs as ``remote.<name>.uploadpack``. Tests wait on conditions (log lines,
job states) with timeouts, never on sleeps.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from gitrepo import commit_chain, for_each_ref, git, init_bare, run_git

WAIT = 10.0  # generous upper bound for conditions that normally hold within milliseconds


def make_upstream(path: Path, commits: int = 3, branch: str = "main") -> list[str]:
    """A bare upstream with a linear history on ``branch`` (HEAD points at it)."""
    init_bare(path)
    return commit_chain(path, commits, branch=branch)


def add_commits(upstream: Path, count: int = 1, branch: str = "main", message: str = "next") -> str:
    """``count`` more commits on ``branch``; returns the new tip."""
    tip = git(upstream, "rev-parse", f"refs/heads/{branch}").strip()
    new = tip
    for i in range(count):
        tree = git(upstream, "rev-parse", f"{new}^{{tree}}").strip()
        new = git(upstream, "commit-tree", tree, "-p", new, "-m", f"{message} {i}").strip()
    git(upstream, "update-ref", f"refs/heads/{branch}", new, tip)
    return new


def upstream_and_mirror(tmp_path: Path) -> tuple[Path, Path]:
    """An upstream with two commits and a mirror of it, side by side in ``tmp_path``."""
    upstream = tmp_path / "up.git"
    make_upstream(upstream, 2)
    return upstream, mirror_of(upstream, tmp_path / "mirror.git")


def mirror_of(upstream: Path, path: Path) -> Path:
    git(path.parent, "clone", "--quiet", "--mirror", upstream.as_uri(), str(path))
    return path


def clone_of(upstream: Path, path: Path) -> Path:
    git(path.parent, "clone", "--quiet", upstream.as_uri(), str(path))
    return path


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@dataclass
class SlowUpstream:
    """An upload-pack wrapper that says hello on stderr, then waits for its gate file.

    Install with ``use(repo)``: sets ``remote.origin.uploadpack`` of that repository. ``release()``
    creates the gate; until then the fetch hangs (the wrapper polls: it is the slow server, the
    test itself never sleeps). The wrapper's pid is written to ``pid_file``.
    """

    script: Path
    gate: Path
    pid_file: Path
    hello: str = "slow-upstream: waiting for the gate"

    def use(self, repo: Path, remote: str = "origin") -> None:
        git(repo, "config", f"remote.{remote}.uploadpack", f"{self.script} {self.gate} {self.pid_file}")

    def release(self) -> None:
        self.gate.touch()

    def pid(self) -> int:
        return int(self.pid_file.read_text().strip())


def slow_upstream(directory: Path, name: str = "slow") -> SlowUpstream:
    directory.mkdir(parents=True, exist_ok=True)
    script = _executable(
        directory / f"{name}-upload-pack.sh",
        "#!/bin/sh\n"
        'gate=$1; pidfile=$2; shift 2\n'
        'echo $$ > "$pidfile"\n'
        'echo "slow-upstream: waiting for the gate" >&2\n'
        'while [ ! -e "$gate" ]; do sleep 0.05; done\n'
        'echo "slow-upstream: gate open" >&2\n'
        'exec git-upload-pack "$@"\n',
    )
    return SlowUpstream(script, directory / f"{name}.gate", directory / f"{name}.pid")


def behind_slow_upstream(mirror: tuple[Path, Path], directory: Path) -> tuple[SlowUpstream, dict[str, str]]:
    """A new commit upstream that the mirror can only fetch through a slow upstream (installed).

    ``mirror``: (upstream, mirror path), as the ``mirror`` fixtures give it. Returns the wrapper
    and the mirror's refs before any fetch.
    """
    upstream, mirror_path = mirror
    add_commits(upstream)
    refs_before = for_each_ref(mirror_path)
    slow = slow_upstream(directory)
    slow.use(mirror_path)
    return slow, refs_before


def chatty_upload_pack(repo: Path, directory: Path, *stderr_lines: str) -> Path:
    """Install, as ``repo``'s origin upload-pack, a wrapper that runs ``stderr_lines`` (shell
    commands that write to stderr, as a remote's messages do), then serves."""
    directory.mkdir(parents=True, exist_ok=True)
    script = _executable(
        directory / "chatty-upload-pack.sh",
        "#!/bin/sh\n" + "".join(line + "\n" for line in stderr_lines) + 'exec git-upload-pack "$@"\n',
    )
    git(repo, "config", "remote.origin.uploadpack", str(script))
    return script


def flooding_upload_pack(directory: Path, lines: int, progress: int = 0) -> Path:
    """A wrapper that prints ``lines`` lines (and ``progress`` \\r updates) to stderr, then serves."""
    directory.mkdir(parents=True, exist_ok=True)
    return _executable(
        directory / "flood-upload-pack.sh",
        "#!/bin/sh\n"
        f"awk 'BEGIN {{ for (i = 1; i <= {lines}; i++) printf \"flood line %d\\n\", i > \"/dev/stderr\";"
        f" for (i = 1; i <= {progress}; i++) printf \"flood progress %d%%\\r\", i > \"/dev/stderr\";"
        ' printf "flood done\\n" > "/dev/stderr" }\'\n'
        'exec git-upload-pack "$@"\n',
    )


def process_gone(pid: int, within: float = 1.0) -> bool:
    """Whether ``pid`` is dead or a zombie within ``within`` seconds.

    The sync sends SIGKILL to the whole group before the job ends, but the kernel delivers it
    when each process next runs: on a loaded 2-core CI machine a wrapper shell has been seen
    still "S" a few milliseconds after the job finished. A process that ignores the kill stays
    alive past the deadline and fails the test. A zombie counts as gone: a container's pid 1
    may be slow to reap orphans.
    """
    deadline = time.monotonic() + within
    while True:
        if _dead_or_zombie(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _dead_or_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("State:"):
                    return "Z" in line.split()[1]
    except FileNotFoundError:
        return True
    return False


def lock_files(git_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(git_dir)) for p in git_dir.rglob("*.lock"))


def fsck_ok(repo: Path) -> bool:
    return run_git(repo, "fsck", "--no-progress").returncode == 0


def log_texts(job) -> list[str]:
    return [line.text for line in job.log.lines()]


def wait_for_line(job, needle: str, timeout: float = WAIT) -> bool:
    return job.log.wait_for(lambda lines: any(needle in line.text for line in lines), timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def git_daemon_path() -> str | None:
    exec_path = git(None, "--exec-path").strip()
    path = os.path.join(exec_path, "git-daemon")
    return path if os.access(path, os.X_OK) else None


@dataclass
class GitDaemon:
    base: Path
    port: int
    process: subprocess.Popen

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"


def start_git_daemon(base: Path) -> GitDaemon:
    """``git daemon`` on 127.0.0.1 and an ephemeral port; returns once it said it is ready."""
    for _attempt in range(3):  # the port was free a moment ago; another process may take it
        port = free_port()
        process = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}", "--listen=127.0.0.1",
             f"--port={port}", "--verbose", str(base)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        ready = threading.Event()

        def watch(stream=process.stderr) -> None:
            for raw in stream:
                if b"Ready to rumble" in raw:
                    ready.set()
            ready.set()  # stderr closed: it exited

        threading.Thread(target=watch, daemon=True).start()
        ready.wait(WAIT)
        if process.poll() is None:
            return GitDaemon(base, port, process)
    raise RuntimeError("git daemon did not start")


def stop_git_daemon(daemon: GitDaemon) -> None:
    daemon.process.terminate()
    try:
        daemon.process.wait(5)
    except subprocess.TimeoutExpired:
        daemon.process.kill()
        daemon.process.wait(5)


@pytest.fixture
def git_daemon(tmp_path):
    if git_daemon_path() is None:
        pytest.skip("git-daemon is not installed (no git-daemon in `git --exec-path`)")
    base = tmp_path / "served"
    base.mkdir()
    daemon = start_git_daemon(base)
    try:
        yield daemon
    finally:
        stop_git_daemon(daemon)


# --------------------------------------------------------------------------- the helpers' own tests


def test_slow_upstream_blocks_until_released(tmp_path):
    upstream = tmp_path / "up.git"
    make_upstream(upstream)
    slow = slow_upstream(tmp_path / "wrappers")
    process = subprocess.Popen(
        ["git", "ls-remote", f"--upload-pack={slow.script} {slow.gate} {slow.pid_file}", upstream.as_uri()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    first = process.stderr.readline().decode()
    assert "waiting for the gate" in first
    assert process.poll() is None
    slow.release()
    out, _ = process.communicate(timeout=WAIT)
    assert process.returncode == 0
    assert b"refs/heads/main" in out


def test_git_daemon_serves(git_daemon):
    upstream = git_daemon.base / "lib.git"
    tip = make_upstream(upstream)[-1]
    out = git(git_daemon.base, "ls-remote", git_daemon.url("lib.git"))
    assert f"{tip}\trefs/heads/main" in out
    assert for_each_ref(upstream)["refs/heads/main"] == tip
