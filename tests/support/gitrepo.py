"""The suite's one way to run git: one environment (GIT_ENV), one ``git()``, and the builders
and questions the tests share (build real repositories with the git CLI, ask git about them).

Every call passes its environment explicitly instead of trusting conftest.py to have set
os.environ: module- and session-scoped fixtures, forked children (asuser.call_as) and the
benchmark fixtures run git too.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# The git variables of every git the suite runs: no system or global config, a fixed identity
# and date (commit ids are reproducible), no prompt, English messages.
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",  # git's messages (and strerror texts) in English
}


def git_environ() -> dict[str, str]:
    """The whole environment for a child that runs git (git itself, the CLI, a benchmark):
    the caller's, with GIT_ENV over it. A git variable a test set on purpose (GIT_SSH_COMMAND)
    stays; conftest.py has already removed the ones inherited from whoever runs the suite."""
    return {**os.environ, **GIT_ENV}


def run_git(
    cwd: str | os.PathLike | None, *args: str, input: bytes | None = None, text: bool = False
) -> subprocess.CompletedProcess:
    """Run git and return what happened (for a test that asserts on a failure or on stderr):
    bytes, or with ``text`` str (undecodable bytes kept as surrogates)."""
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=git_environ(),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        check=False,
        text=text,
        errors="surrogateescape" if text else None,
    )


def git(cwd: str | os.PathLike | None, *args: str, input: bytes | None = None) -> str:
    """Run git, fail loudly, return stdout."""
    result = run_git(cwd, *args, input=input)
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace")
        raise AssertionError(f"git {' '.join(args)} failed: {stderr}")
    return result.stdout.decode("utf-8", "surrogateescape")


def init_bare(path: Path) -> Path:
    git(None, "init", "--quiet", "--bare", "-b", "main", str(path))
    return path


def init_repo(path: Path) -> Path:
    git(None, "init", "--quiet", "-b", "main", str(path))
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


def for_each_ref(repo: Path, *patterns: str) -> dict[str, str]:
    """{ref name: object id} as ``git for-each-ref`` lists them."""
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", *patterns)
    result = {}
    for line in out.splitlines():
        name, value = line.rsplit(" ", 1)
        result[name] = value
    return result


def rev_parse(repo: Path, name: str) -> str | None:
    result = run_git(repo, "rev-parse", "--verify", "--quiet", name)
    return result.stdout.decode().strip() or None if result.returncode == 0 else None


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    """git's answer; an object missing from ``repo`` (exit 128) counts as no."""
    return run_git(repo, "merge-base", "--is-ancestor", older, newer).returncode == 0


def init_with_worktrees(path: Path, *worktrees: str, commits: int = 1, detach: bool = True) -> Path:
    """A repository at ``path`` with ``commits`` commits checked out on main, and one linked
    worktree per ``git worktree add -q [--detach] WORKTREE`` (relative to ``path``)."""
    init_repo(path)
    commit_chain(path, commits)
    git(path, "checkout", "-q", "main")
    for worktree in worktrees:
        git(path, "worktree", "add", "-q", *(["--detach"] if detach else []), worktree)
    return path
