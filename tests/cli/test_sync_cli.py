"""``gitward sync``: the log on stdout, exit codes, git's error as the last line, ctrl-c, refusals."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gitrepo import for_each_ref, git, write_loose
from sync_support import (
    WAIT,
    add_commits,
    behind_slow_upstream,
    chatty_upload_pack,
    free_port,
    make_upstream,
    mirror_of,
    process_gone,
    slow_upstream,
)

from tui.cli import sync as cli_sync


def gitward(capsys, *argv: str) -> tuple[int, str, str]:
    """The way tui/cli.py wires it: register on the subparsers, dispatch the parsed args.
    With --yes: without a terminal a mirror's fetch --prune needs it (test_cli_confirm.py)."""
    parser = argparse.ArgumentParser(prog="gitward")
    cli_sync.register(parser.add_subparsers(dest="command", required=True))
    code = cli_sync.dispatch(parser.parse_args([*argv, "--yes"]))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def mirror(tmp_path):
    upstream = tmp_path / "up.git"
    make_upstream(upstream, 2)
    return upstream, mirror_of(upstream, tmp_path / "mirror.git")


def test_dispatch_ignores_other_commands():
    assert cli_sync.dispatch(argparse.Namespace(command="scan")) is None


def test_sync_streams_the_log_and_exits_zero(capsys, mirror):
    upstream, mirror_path = mirror
    tip = add_commits(upstream)
    code, out, err = gitward(capsys, "sync", str(mirror_path))
    assert code == 0, err
    assert for_each_ref(mirror_path)["refs/heads/main"] == tip
    lines = out.splitlines()
    assert "» $ git fetch --prune --progress --no-auto-gc origin" in lines[1]
    assert any("main       -> main" in line for line in lines)
    assert "» ok in" in lines[-1]
    assert lines[0][2] == ":" and lines[0][8] == "."  # HH:MM:SS.mmm on every line


def test_failure_exits_non_zero_with_gits_error_as_the_last_line(capsys, tmp_path):
    upstream = tmp_path / "up.git"
    make_upstream(upstream)
    root = tmp_path / "root"
    assert gitward(capsys, "sync", str(root), "--url", upstream.as_uri())[0] == 0
    link = os.readlink(root / "up.git")
    code, out, err = gitward(capsys, "sync", str(root), "--ref", "refs/heads/nope")
    assert code == 1
    assert err.splitlines()[-1] == "gitward: sync failed: fatal: couldn't find remote ref refs/heads/nope"
    assert os.readlink(root / "up.git") == link


def test_not_a_repository_is_exit_2(capsys, tmp_path):
    code, _, err = gitward(capsys, "sync", str(tmp_path))
    assert code == 2 and "not a git repository" in err


def test_stale_loose_shadows_refuse_unless_forced(capsys, mirror):
    _, mirror_path = mirror
    old = git(mirror_path, "rev-parse", "main~1").strip()
    git(mirror_path, "pack-refs", "--all")
    write_loose(mirror_path, "refs/heads/main", old)
    code, out, err = gitward(capsys, "sync", str(mirror_path))
    assert code == 1 and out == ""
    assert "stale-loose" in err and "--force" in err.splitlines()[-1]
    assert git(mirror_path, "rev-parse", "main").strip() == old
    code, _, err = gitward(capsys, "sync", str(mirror_path), "--force")
    assert code == 0, err
    assert git(mirror_path, "rev-parse", "main").strip() != old


def test_passwords_never_reach_stdout_or_stderr(capsys, mirror):
    _, mirror_path = mirror
    git(mirror_path, "config", "remote.origin.url", f"http://bob:s3cret@127.0.0.1:{free_port()}/x.git")
    code, out, err = gitward(capsys, "sync", str(mirror_path))
    assert code == 1
    assert "s3cret" not in out + err
    assert f"http://bob:***@127.0.0.1" in out  # the header names the remote, redacted
    assert err.splitlines()[-1].startswith("gitward: sync failed: fatal: unable to access")


def test_credentials_git_or_the_remote_print_are_redacted_on_stdout(capsys, mirror, tmp_path):
    _, mirror_path = mirror
    chatty_upload_pack(
        mirror_path,
        tmp_path,
        "echo 'remote: mirror of https://carol:hunter2@upstream.example.com/x.git' >&2",
        "printf 'Authorization: Bearer tok3n-value\\r\\n' >&2",
    )
    code, out, err = gitward(capsys, "sync", str(mirror_path))
    assert code == 0, err
    assert "hunter2" not in out + err and "tok3n-value" not in out + err
    assert "https://carol:***@upstream.example.com/x.git" in out


def test_timeout_exits_124(capsys, mirror, tmp_path):
    upstream, mirror_path = mirror
    add_commits(upstream)
    slow_upstream(tmp_path / "w").use(mirror_path)
    code, _, err = gitward(capsys, "sync", str(mirror_path), "--timeout", "0.5")
    assert code == 124 and err.splitlines()[-1] == "gitward: sync timed-out: timed out after 0.5 s"


def test_read_only_refuses(capsys, mirror):
    code, out, err = gitward(capsys, "sync", str(mirror[1]), "--read-only")
    assert code == 1 and "read-only" in err and out == ""


def test_ctrl_c_cancels_within_a_second_and_exits_130(mirror, tmp_path):
    _, mirror_path = mirror
    slow, refs_before = behind_slow_upstream(mirror, tmp_path / "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli.sync", "sync", str(mirror_path), "--yes"],
        cwd=str(Path(cli_sync.__file__).resolve().parents[2]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        for line in process.stdout:  # the log is live on stdout: wait for the upstream's hello
            if slow.hello in line:
                break
        pressed = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=WAIT)
        elapsed = time.monotonic() - pressed
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert elapsed < 1.5  # cancel within a second, plus the interpreter's exit
    assert process_gone(slow.pid())
    assert err.splitlines()[-1] == "gitward: sync cancelled: cancelled"
    assert for_each_ref(mirror_path) == refs_before
