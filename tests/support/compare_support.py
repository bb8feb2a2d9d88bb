"""Build source/replica pairs for the compare tests with the real git and rsync."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from gitrepo import commit_chain, git, init_bare

from tui.cli.main import main


def advance(repo: Path, ref: str, count: int = 1, message: str = "next") -> str:
    """``count`` new commits on ``ref``, each the child of the last (as a push would add)."""
    tip = git(repo, "rev-parse", ref).strip()
    tree = git(repo, "rev-parse", f"{tip}^{{tree}}").strip()
    for i in range(count):
        tip = git(repo, "commit-tree", tree, "-p", tip, "-m", f"{message} {i}").strip()
    git(repo, "update-ref", ref, tip)
    return tip


def rsync(source: Path, replica: Path, *extra: str) -> None:
    """rsync --archive SOURCE/ REPLICA/ (no --delete unless given): how the incident's copies ran."""
    replica.mkdir(parents=True, exist_ok=True)
    subprocess.run(["rsync", "--archive", *extra, f"{source}/", f"{replica}/"], check=True)


def make_incident(tmp_path: Path) -> tuple[Path, Path, dict]:
    """Incident 1 step by step: seed copy, new pushes, git gc on the source, final copy without --delete.

    Returns (source root, replica root, facts) where facts names the refs that went stale.
    """
    source = tmp_path / "source"
    replica = tmp_path / "replica"
    repo = init_bare(source / "gerrit" / "app.git")
    commit_chain(repo, 3)
    git(repo, "update-ref", "refs/changes/01/1/meta", "main")
    git(repo, "update-ref", "refs/heads/stable", "main~1")
    other = init_bare(source / "gerrit" / "quiet.git")
    commit_chain(other, 2)
    # 1. the seed copy, while every ref is still a loose file on the source
    rsync(source, replica)
    # 2. users keep pushing to the source; review comments land in NoteDB
    advance(repo, "refs/heads/main", 2, "merged")
    advance(repo, "refs/changes/01/1/meta", 1, "review comment")
    # 3. housekeeping on the source packs every ref and deletes the loose files
    git(repo, "gc", "--quiet")
    git(other, "gc", "--quiet")
    # 4. the final copy, without --delete
    rsync(source, replica)
    facts = {
        "repo": "gerrit/app.git",
        "stale": ["refs/changes/01/1/meta", "refs/heads/main"],
        "leftover": ["refs/heads/stable"],
    }
    return source, replica, facts


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def plan_commands(plan_output: str, program: str = "gitward") -> list[list[str]]:
    """The command lines of ``--plan`` output that start with ``program`` (comments skipped)."""
    return [shlex.split(line) for line in plan_output.splitlines() if line.startswith(program + " ")]


def stat_tree(*roots: Path) -> dict[str, tuple]:
    """Every path under the roots with what a write would change: type, size, mode, mtime, ctime,
    atime, inode, and a file's bytes."""
    found = {}
    for root in roots:
        for top, dirs, files in os.walk(root):
            for name in [*dirs, *files]:
                path = os.path.join(top, name)
                st = os.lstat(path)
                content = None
                if os.path.isfile(path) and not os.path.islink(path):
                    with open(path, "rb") as handle:
                        content = handle.read()
                # atime only where the mount promises not to touch it: under relatime a read may.
                atime = st.st_atime_ns if _noatime(path) else None
                found[path] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, atime, st.st_ino, content)
    return found


def _noatime(path: str) -> bool:
    best, options = "", ""
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            mount_point = fields[1]
            if path.startswith(mount_point.rstrip("/") + "/") and len(mount_point) > len(best):
                best, options = mount_point, fields[3]
    return "noatime" in options.split(",")
