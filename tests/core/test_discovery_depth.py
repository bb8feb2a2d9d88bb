"""Deep trees and unreadable directories never abort a host scan and are never skipped in silence.

- a ref directory 1,500 levels deep is walked (git reads it too) and the rest of the host is scanned;
- one deeper than PATH_MAX is the repository's problem, not the host's crash;
- discovery's depth limit is ``--max-depth N`` and names each directory it did not descend into;
- directories the scanning user cannot list (or a ``.git`` it cannot read) are "unknown" problems.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from asuser import adversary_user, chown_tree, run_cli_as, shared_dir
from gitrepo import commit_chain, for_each_ref, git, init_bare, init_repo

from tui.app.testing import wait_for_scan
from tui.cli.main import main
from tui.core.discovery import DEFAULT_MAX_DEPTH, discover
from tui.core.model import Problem

TIMEOUT = 120


def gitward(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *argv], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT
    )


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def make_deep_dirs(top: Path, depth: int, name: str) -> None:
    """``top/name/name/...`` ``depth`` levels deep, made with relative paths (it may pass PATH_MAX)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)


def remove_deep_dirs(top: Path, depth: int, name: str) -> None:
    """Undo ``make_deep_dirs`` (and what was put at its bottom) bottom up: shutil.rmtree, and so pytest's
    cleanup of old temporary directories, recurses once per level and fails on such a tree."""
    fds = [os.open(top, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for _ in range(depth):
            try:
                fds.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
            except FileNotFoundError:
                break
        bottom = fds[-1]
        for entry in os.listdir(bottom):  # the leaf ref, or a repository made down there
            if os.path.isdir(f"/proc/self/fd/{bottom}/{entry}"):
                shutil.rmtree(entry, dir_fd=bottom)
            else:
                os.unlink(entry, dir_fd=bottom)
        while len(fds) > 1:
            os.close(fds.pop())
            os.rmdir(name, dir_fd=fds[-1])
    finally:
        for fd in fds:
            os.close(fd)


@pytest.fixture
def deep_dirs():
    """``make_deep_dirs``, removed again after the test."""
    made = []

    def make(top: Path, depth: int, name: str) -> None:
        made.append((top, depth, name))
        make_deep_dirs(top, depth, name)

    yield make
    for top, depth, name in made:
        remove_deep_dirs(top, depth, name)


def write_deep_ref(top: Path, depth: int, name: str, value: str) -> None:
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, (value + "\n").encode())
        os.close(leaf)
    finally:
        os.close(fd)


@pytest.fixture
def host(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(root, deep, plain): two repositories under root; 'deep' will get the deep ref dir."""
    root = tmp_path / "root"
    deep = init_repo(root / "deep")
    commit_chain(deep, 2)
    plain = init_bare(root / "plain.git")
    commit_chain(plain, 1)
    return root, deep, plain


# --- the loose walk: iterative -----------------------------------------------------------------


def test_a_1500_deep_ref_directory_is_walked_and_the_host_scan_goes_on(host, deep_dirs):
    root, deep, plain = host
    main_value = git(deep, "rev-parse", "main").strip()
    deep_dirs(deep / ".git/refs/heads", 1500, "d")
    write_deep_ref(deep / ".git/refs/heads", 1500, "d", main_value)
    deep_name = "refs/heads/" + "d/" * 1500 + "leaf"
    assert for_each_ref(deep)[deep_name] == main_value  # git reads it

    scan = gitward("scan", str(root), "--json", "--fail-on", "error")
    refs = gitward("refs", str(deep), "--json")

    assert scan.returncode == 0, scan.stderr[-2000:]
    data = json.loads(scan.stdout)
    by_name = {repo["name"]: repo for repo in data["repos"]}
    assert sorted(by_name) == ["deep", "plain.git"]
    assert by_name["deep"]["refs"]["total"] == len(for_each_ref(deep))
    assert refs.returncode == 0, refs.stderr[-2000:]
    listed = {ref["name"]: ref["value"] for ref in json.loads(refs.stdout) if ref["name"] != "HEAD"}
    assert listed == for_each_ref(deep)


def test_a_ref_directory_deeper_than_path_max_is_the_repos_problem_not_an_abort(host, deep_dirs):
    root, deep, plain = host
    deep_dirs(deep / ".git/refs/heads", 1500, "ddd")  # 6,000 bytes of path: past PATH_MAX

    result = gitward("scan", str(root), "--json", "--fail-on", "error")

    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    by_name = {repo["name"]: repo for repo in data["repos"]}
    assert sorted(by_name) == ["deep", "plain.git"]
    unreadable = [p for p in by_name["deep"]["problems"] if p["code"] == "unreadable"]
    assert len(unreadable) == 1
    assert unreadable[0]["subject"].startswith("refs/heads/ddd/ddd/")
    assert "File name too long" in unreadable[0]["message"]
    assert by_name["plain.git"]["problems"] == []


def test_a_repository_that_crashes_the_reader_is_its_own_problem(host, monkeypatch):
    import tui.core.scan

    root, deep, plain = host
    fill_report = tui.core.scan._fill_report

    def fill_or_crash(report, candidate, *args):
        if candidate.name == "deep":
            raise RecursionError("maximum recursion depth exceeded")
        return fill_report(report, candidate, *args)

    monkeypatch.setattr(tui.core.scan, "_fill_report", fill_or_crash)

    code, out, err = run("scan", str(root), "--json", "--jobs", "1", "--fail-on", "warning")

    assert code == 1, err  # a finding: the failed repository is an error problem
    by_name = {repo["name"]: repo for repo in json.loads(out)["repos"]}
    (problem,) = by_name["deep"]["problems"]
    assert problem["code"] == "scan-failed" and problem["severity"] == "error"
    assert "RecursionError" in problem["message"]
    assert by_name["plain.git"]["problems"] == []


def test_a_bug_exits_2_not_1(host, monkeypatch):
    import tui.core.scan

    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(tui.core.scan, "scan_host_json_pieces", crash)

    code, out, err = run("scan", str(host[0]), "--json", "--fail-on", "error")

    assert code == 2  # 1 means findings: cron must not read a crash as one
    assert err.rstrip().splitlines()[-1] == "gitward: internal error: RuntimeError: a bug"


# --- discovery: --max-depth ----------------------------------------------------------------------


@pytest.fixture
def nested(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(root, at_limit, below): a repo at the default limit's depth and one level below it."""
    root = tmp_path / "root"
    levels = [f"l{i}" for i in range(1, DEFAULT_MAX_DEPTH)]
    at_limit = init_bare(root.joinpath(*levels, "at-limit.git"))  # depth 8: found
    commit_chain(at_limit, 1)
    below = init_bare(root.joinpath(*levels, "l8", "below.git"))  # depth 9: below the limit
    commit_chain(below, 1)
    return root, at_limit, below


def test_a_repo_below_the_depth_limit_is_named_not_skipped_in_silence(nested):
    root, at_limit, below = nested

    code, out, err = run("scan", str(root), "--json")

    assert code == 0, err
    data = json.loads(out)
    assert [repo["path"] for repo in data["repos"]] == [str(at_limit)]
    (problem,) = data["problems"]
    assert problem["code"] == "depth-limit" and problem["severity"] == "warning"
    assert problem["subject"] == str(below.parent)
    assert "--max-depth" in problem["message"]


def test_max_depth_finds_it(nested):
    root, at_limit, below = nested

    code, out, err = run("scan", str(root), "--json", "--max-depth", "9")

    assert code == 0, err
    data = json.loads(out)
    assert sorted(repo["path"] for repo in data["repos"]) == sorted([str(at_limit), str(below)])
    assert data["problems"] == []


def test_max_depth_smaller_than_a_repo_names_the_directory(nested):
    root, at_limit, below = nested

    code, out, err = run("scan", str(root), "--max-depth", "2", "--fail-on", "warning")

    assert code == 1  # the limit is a warning: "not looked at" is not "nothing there"
    assert "[depth-limit]" in out and str(root / "l1" / "l2") in out
    assert "0 repositories scanned" in out


def test_max_depth_must_not_be_negative(nested):
    code, out, err = run("scan", str(nested[0]), "--max-depth", "-1")
    assert code == 2 and "--max-depth must be 0 or more" in err


def test_a_thousand_levels_of_directories_are_discovered_without_recursion(tmp_path, deep_dirs):
    root = tmp_path / "root"
    root.mkdir()
    deep_dirs(root, 1000, "d")
    repo = init_bare(Path(str(root) + "/d" * 1000) / "r.git")
    commit_chain(repo, 1)

    found = list(discover([str(root)], max_depth=1001))

    assert [item.path for item in found if not isinstance(item, Problem)] == [str(repo)]
    assert [item for item in found if isinstance(item, Problem)] == []


def test_the_console_without_a_terminal_takes_max_depth(nested):
    root, at_limit, below = nested

    result = gitward("--max-depth", "9", str(root))  # stdout is a pipe: the console prints the scan

    assert result.returncode == 0, result.stderr
    assert "below.git" in result.stdout and "at-limit.git" in result.stdout


async def test_the_console_scans_to_max_depth(nested):
    from tui.app.app import create_app

    root, at_limit, below = nested
    app = create_app([str(root)], config=None, jobs=1, max_depth=9)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        assert sorted(report.path for report in app.host_screen.table.rows) == sorted([str(at_limit), str(below)])


# --- discovery: directories the user cannot list ---------------------------------------------------


def test_unlistable_directories_are_unknown_problems_never_skipped_in_silence():
    user = adversary_user()
    with shared_dir(user) as top:
        root = top / "root"
        commit_chain(init_repo(root / "readable"), 1)
        commit_chain(init_repo(root / "closed" / "inside"), 1)  # closed: mode 000
        commit_chain(init_repo(root / "git-closed"), 1)  # git-closed/.git: mode 000
        commit_chain(init_bare(root / "bare-closed.git"), 1)  # readable names, not searchable
        commit_chain(init_repo(root / "no-search" / "inside"), 1)  # no-search: mode 0644
        chown_tree(top, user)
        os.chmod(root / "closed", 0)
        os.chmod(root / "git-closed" / ".git", 0)
        os.chmod(root / "bare-closed.git", 0o644)
        os.chmod(root / "no-search", 0o644)

        result = run_cli_as(user, "scan", str(root), "--json")

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [repo["name"] for repo in data["repos"]] == ["readable"]
    unknown = {p["subject"]: p for p in data["problems"]}
    assert set(unknown) == {
        str(root / "closed"),
        str(root / "git-closed" / ".git"),
        str(root / "bare-closed.git"),
        str(root / "no-search" / "inside"),
    }
    for problem in unknown.values():
        assert problem["code"] == "unlistable-dir" and problem["severity"] == "warning"
        assert "permission denied" in problem["message"] and "unknown" in problem["message"]
