"""``gitward sync REPO --json``: the outcome for scripts and Ansible, stdout holding JSON alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gitrepo import for_each_ref, git
from sync_support import add_commits, upstream_and_mirror

from tui.core.write.journal import Journal

WORKTREE = Path(__file__).resolve().parents[2]


def gitward(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", *argv], cwd=WORKTREE, capture_output=True, text=True, timeout=120)


def test_sync_json_prints_the_outcome_with_the_refs_changed_old_to_new(tmp_path):
    upstream, mirror = upstream_and_mirror(tmp_path)
    before = for_each_ref(mirror)
    new = add_commits(upstream)
    result = gitward("sync", str(mirror), "--yes", "--json")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)  # stdout is the JSON alone; the live log went to stderr
    assert "$ git fetch" in result.stderr
    assert outcome["state"] == "ok" and outcome["exit_code"] == 0 and outcome["duration_seconds"] >= 0
    assert outcome["changed_refs"] == [
        {"name": "refs/heads/main", "old": before["refs/heads/main"], "new": new, "kind": "updated"}
    ]
    assert for_each_ref(mirror)["refs/heads/main"] == new
    assert Path(outcome["log_path"]).is_file()
    assert outcome["journal_id"] in {entry.id for entry in Journal().entries()}


def test_a_failed_sync_json_says_why_and_exits_non_zero(tmp_path):
    upstream, mirror = upstream_and_mirror(tmp_path)
    git(mirror, "remote", "set-url", "origin", "https://user:s3cret@127.0.0.1:9/nothing.git")
    result = gitward("sync", str(mirror), "--yes", "--json", "--timeout", "60")
    assert result.returncode == 1
    outcome = json.loads(result.stdout)
    assert outcome["state"] == "failed" and outcome["exit_code"] == 128 and outcome["error"]
    assert "s3cret" not in result.stdout and "s3cret" not in result.stderr
