"""tui.core.gitfile against git 2.39: each rule of read_gitfile_gently, with git as the judge.

Every case writes one ``.git`` file into a directory and asks ``git rev-parse --git-dir`` there
(with GIT_CEILING_DIRECTORIES, so git cannot wander up into another repository): where git uses
the file, our reader names the same git dir; where git dies, our reader names the same error in
git's words.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gitrepo import git

from tui.core.gitfile import Gitfile, GitfileError, parse_gitfile, read_gitfile


@pytest.fixture
def real(tmp_path: Path) -> Path:
    repo = tmp_path / "real"
    git(tmp_path, "init", "--quiet", str(repo))
    return repo


def ask_git(directory: Path, ceiling: Path) -> tuple[int, str]:
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(ceiling), LC_ALL="C")
    env.pop("GIT_DIR", None)
    result = subprocess.run(
        ["git", "rev-parse", "--git-dir"], cwd=directory, env=env, capture_output=True, text=True, timeout=30
    )
    return result.returncode, (result.stdout if result.returncode == 0 else result.stderr).rstrip("\n")


def gitfile_in(tmp_path: Path, name: str, content: bytes) -> Path:
    directory = tmp_path / name
    directory.mkdir(parents=True)
    (directory / ".git").write_bytes(content)
    return directory


def agree(directory: Path, ceiling: Path) -> Gitfile:
    """Our answer, asserted equal to git's, for the .git file in ``directory``."""
    ours = read_gitfile(str(directory / ".git"))
    code, said = ask_git(directory, ceiling)
    if code == 0:
        assert ours.ok and ours.git_dir == os.path.realpath(directory / said), (ours, said)
    else:
        assert not ours.ok and said == f"fatal: {ours.message}", (ours, said)
    return ours


USABLE = {
    "absolute": lambda real: f"gitdir: {real}/.git\n".encode(),
    "no-newline": lambda real: f"gitdir: {real}/.git".encode(),
    "crlf-and-blank-lines": lambda real: f"gitdir: {real}/.git\r\n\n\r\n".encode(),
    "relative-to-the-file": lambda real: b"gitdir: ../real/.git\n",
    "nul-ends-the-path": lambda real: f"gitdir: {real}/.git\0junk\n".encode(),
}


@pytest.mark.parametrize("case", sorted(USABLE))
def test_git_uses_it_and_so_do_we(tmp_path, real, case):
    ours = agree(gitfile_in(tmp_path, "w", USABLE[case](real)), tmp_path)
    assert ours.git_dir == str(real / ".git")


BROKEN = {
    "no-space-after-colon": (lambda real: f"gitdir:{real}/.git\n".encode(), GitfileError.INVALID_FORMAT),
    "empty-file": (lambda real: b"", GitfileError.INVALID_FORMAT),
    "not-a-gitfile": (lambda real: b"not a gitfile\n", GitfileError.INVALID_FORMAT),
    "no-path": (lambda real: b"gitdir: \r\n", GitfileError.NO_PATH),
    # only CR/LF are trimmed: a space is part of the path, and so is a second line
    "trailing-space": (lambda real: f"gitdir: {real}/.git \n".encode(), GitfileError.NOT_A_REPO),
    "two-spaces": (lambda real: f"gitdir:  {real}/.git\n".encode(), GitfileError.NOT_A_REPO),
    "second-line": (lambda real: f"gitdir: {real}/.git\nmore\n".encode(), GitfileError.NOT_A_REPO),
    "points-nowhere": (lambda real: f"gitdir: {real}/nothing\n".encode(), GitfileError.NOT_A_REPO),
    "too-large": (lambda real: f"gitdir: {real}/.git\n".encode() + b" " * (1 << 20), GitfileError.TOO_LARGE),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_git_refuses_it_and_we_name_the_same_error(tmp_path, real, case):
    content, error = BROKEN[case]
    ours = agree(gitfile_in(tmp_path, "w", content(real)), tmp_path)
    assert ours.error is error and not ours.unknown


def test_a_relative_path_after_a_symlink_is_resolved_by_the_file_system_as_git_does(tmp_path, real):
    # <tmp>/link -> sub/deep; "../../real" from <tmp>/link/.git is <tmp>/real (the kernel follows
    # the link first), while a lexical normpath would say <tmp>/../real.
    deep = gitfile_in(tmp_path, "sub/deep", b"gitdir: ../../real/.git\n")
    (tmp_path / "link").symlink_to(deep.relative_to(tmp_path))
    ours = agree(tmp_path / "link", tmp_path)
    assert ours.git_dir == str(real / ".git")


def test_a_linked_worktree_gitfile_names_its_admin_dir(tmp_path, real):
    git(real, "commit", "--quiet", "--allow-empty", "-m", "one")
    git(real, "worktree", "add", "--quiet", str(tmp_path / "wt"))
    ours = agree(tmp_path / "wt", tmp_path)
    assert ours.git_dir == str(real / ".git" / "worktrees" / "wt")


def test_a_fifo_or_a_directory_is_not_a_file_and_is_never_opened(tmp_path, real):
    fifo_dir = tmp_path / "fifo"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / ".git")
    assert read_gitfile(str(fifo_dir / ".git")).error is GitfileError.NOT_A_FILE  # would hang if opened
    assert read_gitfile(str(real / ".git")).error is GitfileError.NOT_A_FILE
    assert ask_git(fifo_dir, tmp_path)[0] != 0


def test_a_missing_file_is_absent_not_unknown(tmp_path):
    ours = read_gitfile(str(tmp_path / ".git"))
    assert ours.error is GitfileError.STAT_FAILED and not ours.unknown


def test_an_unreadable_file_is_unknown_not_broken():
    from asuser import adversary_user, call_as, shared_dir  # noqa: PLC0415  root only

    user = adversary_user()
    with shared_dir(user) as path:
        git(path, "init", "--quiet", "real")
        directory = gitfile_in(path, "w", f"gitdir: {path}/real/.git\n".encode())
        os.chmod(directory / ".git", 0)  # owned by root: the other user cannot read it
        answer = call_as(user, read_gitfile, str(directory / ".git"))
    assert answer.error is GitfileError.OPEN_FAILED and answer.unknown
    assert "Permission denied" in answer.message


def test_planned_content_parses_like_the_file_on_disk(tmp_path, real):
    (tmp_path / "w").mkdir()  # "w/.." is resolved by the file system, as for git: w must exist
    path = str(tmp_path / "w" / ".git")
    assert parse_gitfile(path, b"gitdir: ../real/.git\n").git_dir == str(real / ".git")
    assert parse_gitfile(path, b"gitdir: ../real\n").error is GitfileError.NOT_A_REPO


@pytest.mark.parametrize("case", sorted(USABLE) + sorted(BROKEN))
def test_every_former_reader_now_answers_as_git_does(tmp_path, real, case):
    """discovery, the git-sync health check and worktree repair used three readers with three
    rules (one accepted "gitdir:path", one stripped spaces, one normalised ".." lexically)."""
    from tui.core.discovery import read_gitfile as discovery_reads
    from tui.core.sync.gitsync import _gitfile_check
    from tui.core.write.worktree_repair import _PlannedFiles

    content = USABLE[case](real) if case in USABLE else BROKEN[case][0](real)
    directory = gitfile_in(tmp_path, "w", content)
    git_uses_it = ask_git(directory, tmp_path)[0] == 0
    dotgit = str(directory / ".git")
    assert (discovery_reads(dotgit) is not None) is git_uses_it
    assert (_gitfile_check(dotgit) is None) is git_uses_it
    assert _PlannedFiles().read_gitfile(dotgit).ok is git_uses_it
