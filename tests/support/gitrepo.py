"""Build real repositories with the git CLI, and ask git what it thinks of them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git(cwd: str | os.PathLike, *args: str, input: bytes | None = None, check: bool = True) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8", "surrogateescape")


def init_bare(path: Path) -> Path:
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(path)], check=True)
    return path


def init_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(path)], check=True)
    return path


def commit_chain(repo: Path, count: int, branch: str = "main", message: str = "c") -> list[str]:
    """Make ``count`` commits on ``branch`` with fast-import; return their ids, oldest first."""
    lines = []
    for i in range(count):
        lines.append(f"commit refs/heads/{branch}\nmark :{i + 1}\n"
                     f"committer T <t@example.com> {1700000000 + i} +0000\n"
                     f"data <<EOM\n{message}{i}\nEOM\n")
        if i:
            lines.append(f"from :{i}\n")
        lines.append(f"M 644 inline file.txt\ndata <<EOM\n{message}{i}\nEOM\n\n")
    git(repo, "fast-import", "--quiet", "--force", input="".join(lines).encode())
    out = git(repo, "rev-list", "--reverse", f"refs/heads/{branch}")
    return out.split()


def write_loose(git_dir: Path, name: str, value: str | bytes) -> None:
    path = git_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(value if isinstance(value, bytes) else (value + "\n").encode())


def git_dir_of(repo: Path) -> Path:
    return repo / ".git" if (repo / ".git").is_dir() else repo


def for_each_ref(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    result = {}
    for line in out.splitlines():
        name, value = line.rsplit(" ", 1)
        result[name] = value
    return result


def rev_parse(repo: Path, name: str) -> str | None:
    result = subprocess.run(["git", "rev-parse", "--verify", "--quiet", name], cwd=repo, capture_output=True)
    return result.stdout.decode().strip() or None if result.returncode == 0 else None


def init_with_worktrees(path: Path, *worktrees: str, commits: int = 1, detach: bool = True) -> Path:
    """A repository at ``path`` with ``commits`` commits checked out on main, and one linked
    worktree per ``git worktree add -q [--detach] WORKTREE`` (relative to ``path``)."""
    init_repo(path)
    commit_chain(path, commits)
    git(path, "checkout", "-q", "main")
    for worktree in worktrees:
        git(path, "worktree", "add", "-q", *(["--detach"] if detach else []), worktree)
    return path
