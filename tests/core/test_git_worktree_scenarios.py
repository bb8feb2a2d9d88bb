"""git's own worktree scenarios, ported, with git 2.39 as the judge of gitward's CLI.

Read from git's t/t2401-worktree-prune.sh, t2402-worktree-list.sh, t2403-worktree-move.sh
(lock, unlock, and the move/remove cases whose outcome gitward reads) and
t2406-worktree-repair.sh at v2.39.5; the tests are our own. Each scenario is built with the git
CLI and run through gitward as an operator runs it (``gitward worktrees REPO --json``,
``worktree prune [--dry-run]``, ``worktree repair``, ``worktree lock/unlock``), then compared
with what git says about the same tree. When the action writes, the scenario is built twice
from the same recipe (``twins``): git acts on one copy, gitward on the other, and both trees
must end the same (paths compared with the copy's base replaced).

Test names start with the git script they port. ``test_*_differs_*`` assert a deliberate
difference and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from asuser import adversary_user, call_as, chown_tree, run_cli_as, shared_dir
from gitutil import (
    PorcelainEntry,
    git,
    prune_dry_run,
    run_git,
    worktree_list,
)

ROOT = Path(__file__).resolve().parents[2]
NOT_EXISTING = "gitdir file points to non-existent location"


# --------------------------------------------------------------------------- gitward and git


def gitward(*argv: str | os.PathLike, cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess[str]:
    """``gitward ARGV`` as a subprocess, as operators run it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "tui", *map(str, argv)],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def listing(repo_arg: str | os.PathLike) -> list[dict]:
    result = gitward("worktrees", repo_arg, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def as_porcelain(entry: dict) -> PorcelainEntry:
    """What `git worktree list --porcelain` prints for one entry of `gitward worktrees --json`."""
    bare = entry["bare"]
    return PorcelainEntry(
        path=entry["path"],
        head=None if bare else entry["head"],
        branch=None if bare else entry["branch"],
        detached=False if bare else entry["detached"],
        bare=bare,
        locked=entry["locked"],
        lock_reason=entry["lock_reason"],
        prunable_reason=entry["prunable_reason"],
    )


def assert_list_agrees(repo_arg: str | os.PathLike, git_cwd: str | os.PathLike | None = None) -> list[dict]:
    """gitward's listing (the entries git lists) is git's porcelain, entry for entry, in order."""
    ours = listing(repo_arg)
    theirs = worktree_list(git_cwd or repo_arg)
    assert [as_porcelain(e) for e in ours if e["listed"]] == theirs
    return ours


def gitward_prune_plan(repo_arg: str | os.PathLike, *extra: str) -> dict:
    result = gitward("worktree", "prune", repo_arg, "--dry-run", "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_prune_agrees(repo: str | os.PathLike, *extra: str) -> dict[str, str]:
    """`gitward worktree prune --dry-run` names what `git worktree prune -n -v` names, in git's words."""
    expected = prune_dry_run(repo, *extra)
    plan = gitward_prune_plan(repo, *extra)
    assert {item["id"]: item["reason"] for item in plan["removes"]} == expected
    return expected


def new_repo(path: Path, *, bare: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if bare:
        git(path.parent, "init", "--quiet", "--bare", "-b", "main", str(path))
        return path
    git(path.parent, "init", "--quiet", "-b", "main", str(path))
    git(path, "commit", "--quiet", "--allow-empty", "-m", "init")
    return path


def add(repo: Path, path: str, *args: str) -> Path:
    git(repo, "worktree", "add", "--quiet", *(args or ("--detach",)), path)
    return (repo / path).resolve()


def by_name(entries: list[PorcelainEntry]) -> dict[str, PorcelainEntry]:
    return {Path(e.path).name: e for e in entries}


# --------------------------------------------------------------------------- twins


def tree_state(base: Path) -> dict[str, str]:
    """Every file git's worktree code reads or writes under ``base`` (admin files, .git files,
    worktrees/ entries), with ``base`` replaced so that two twins compare equal."""
    state: dict[str, str] = {}
    prefix = str(base)
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if {"objects", "logs", "refs", "hooks", "info"} & set(rel.parts):
            continue
        key = str(rel)
        if path.is_symlink():
            state[key] = "-> " + os.readlink(path).replace(prefix, "<base>")
        elif path.parent.name == "worktrees" and path.is_dir():
            state[key] = "<admin dir>"
        elif path.is_file() and (path.name in ("gitdir", "locked", "commondir", ".git") or path.parent.name == "worktrees"):
            state[key] = path.read_bytes().decode("utf-8", "surrogateescape").replace(prefix, "<base>")
    return state


def git_view(repo: Path, base: Path) -> tuple[str, dict[str, str]]:
    """`git worktree list --porcelain` and `git worktree prune -n -v` on a twin, base replaced."""
    listed = git(repo, "worktree", "list", "--porcelain").replace(str(base), "<base>")
    return listed, prune_dry_run(repo)


def twins(tmp_path: Path, build: Callable[[Path], Path]) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    """The same scenario twice: ((base, repo) for git, (base, repo) for gitward)."""
    pairs = []
    for name in ("by-git", "by-gitward"):
        base = tmp_path / name
        base.mkdir(parents=True)
        pairs.append((base, build(base)))
    return pairs[0], pairs[1]


def assert_twins_agree(by_git: tuple[Path, Path], by_gitward: tuple[Path, Path]) -> None:
    (git_base, git_repo), (gw_base, gw_repo) = by_git, by_gitward
    assert tree_state(gw_base) == tree_state(git_base)
    assert git_view(gw_repo, gw_base) == git_view(git_repo, git_base)


def git_says(repo: Path, *args: str) -> tuple[int, str]:
    result = run_git(repo, *args)
    return result.returncode, result.stderr.decode("utf-8", "surrogateescape")


# =========================================================================== t2401: prune


def prune_both(tmp_path: Path, build: Callable[[Path], Path], *extra: str) -> dict[str, str]:
    """Dry runs agree; then git prunes one twin, gitward the other, and the trees end the same."""
    by_git, by_gitward = twins(tmp_path, build)
    expected = assert_prune_agrees(by_git[1], *extra)
    assert_prune_agrees(by_gitward[1], *extra)
    code, err = git_says(by_git[1], "worktree", "prune", "-v", *extra)
    assert code == 0, err
    result = gitward("worktree", "prune", by_gitward[1], *extra, "--yes")
    assert result.returncode == 0, result.stderr
    for worktree_id, reason in expected.items():
        assert f"Removed worktrees/{worktree_id}: {reason}" in result.stdout
        assert f"Removing worktrees/{worktree_id}: {reason}" in err
    assert_twins_agree(by_git, by_gitward)
    return expected


def test_t2401_prune_on_normal_repo(tmp_path: Path) -> None:
    assert prune_both(tmp_path, lambda base: new_repo(base / "repo")) == {}


def test_t2401_prune_files_inside_worktrees_dir(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = new_repo(base / "repo")
        (repo / ".git/worktrees").mkdir()
        (repo / ".git/worktrees/abc").write_bytes(b"")
        return repo

    assert prune_both(tmp_path, build) == {"abc": "not a valid directory"}
    for name in ("by-git", "by-gitward"):
        assert not (tmp_path / name / "repo/.git/worktrees").exists()  # removed once empty


def t2401_def(base: Path, gitdir: bytes | None) -> Path:
    """t2401's hand-made worktrees/def (holding a directory abc), gitdir file ``gitdir``."""
    repo = new_repo(base / "repo")
    admin = repo / ".git/worktrees/def"
    (admin / "abc").mkdir(parents=True)
    if gitdir is not None:
        (admin / "gitdir").write_bytes(gitdir)
    return repo


def test_t2401_prune_directories_without_gitdir(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2401_def(base, None)
        (repo / ".git/worktrees/def/def").write_bytes(b"")
        return repo

    assert prune_both(tmp_path, build) == {"def": "gitdir file does not exist"}


def test_t2401_prune_directories_with_invalid_gitdir(tmp_path: Path) -> None:
    assert prune_both(tmp_path, lambda base: t2401_def(base, b"")) == {"def": "invalid gitdir file"}


def test_t2401_prune_directories_with_gitdir_pointing_to_nowhere(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        return t2401_def(base, f"{base}/nowhere\n".encode())

    assert prune_both(tmp_path, build) == {"def": NOT_EXISTING}


def test_t2401_not_prune_locked_checkout(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = new_repo(base / "repo")
        (repo / ".git/worktrees/ghi").mkdir(parents=True)
        (repo / ".git/worktrees/ghi/locked").write_bytes(b"")
        return repo

    assert prune_both(tmp_path, build) == {}
    assert (tmp_path / "by-gitward/repo/.git/worktrees/ghi/locked").exists()


def test_t2401_not_prune_recent_checkouts(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = new_repo(base / "repo")
        shutil.rmtree(add(repo, "jlm"))
        return repo

    assert prune_both(tmp_path, build, "--expire=1.day.ago") == {}  # the index is a second old
    assert prune_both(tmp_path / "now", build, "--expire=now") == {"jlm": NOT_EXISTING}


def test_t2401_not_prune_proper_checkouts(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = new_repo(base / "repo")
        add(repo, "nop", "-b", "nop")
        return repo

    assert prune_both(tmp_path, build) == {}


def test_t2401_prune_duplicate_linked_linked(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = new_repo(base / "repo")
        add(repo, "../w1")
        add(repo, "../w2")
        gitdir = repo / ".git/worktrees/w2/gitdir"
        gitdir.write_text(gitdir.read_text().replace("w2", "w1"))
        return repo

    assert prune_both(tmp_path, build) == {"w2": "duplicate entry"}


def test_t2401_prune_duplicate_main_linked(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = new_repo(base / "repo")
        add(repo, "../wt")
        shutil.rmtree(base / "wt")
        repo.rename(base / "wt")
        return base / "wt"

    assert prune_both(tmp_path, build) == {"wt": "duplicate entry"}


def test_t2401_prune_relative_gitdir_as_git_2_39(tmp_path: Path) -> None:
    # issue 8 item 4: git 2.39 resolves a relative gitdir where it runs (the main worktree),
    # not in the admin dir, so `../../../rel/.git` points nowhere and the entry is pruned.
    def build(base: Path) -> Path:
        repo = new_repo(base / "sub" / "repo")
        add(repo, "rel")  # from worktrees/rel/, ../../../rel/.git leads here (git 2.48's reading)
        (repo / ".git/worktrees/rel/gitdir").write_text("../../../rel/.git\n")
        return repo

    assert prune_both(tmp_path, build) == {"rel": NOT_EXISTING}


def test_t2401_relative_gitdir_existing_from_the_main_worktree_is_kept(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = new_repo(base / "repo")
        add(repo, "../wt")
        (repo / ".git/worktrees/wt/gitdir").write_text("../wt/.git\n")  # right from repo/
        return repo

    assert prune_both(tmp_path, build) == {}
    entry = next(e for e in listing(tmp_path / "by-gitward/repo") if e["id"] == "wt")
    # Deliberate difference: git 2.39 lists the raw text ("../wt"); gitward the path it means.
    assert entry["path"] == str(tmp_path / "by-gitward/wt")
    assert worktree_list(tmp_path / "by-git/repo")[1].path == "../wt"


def gitward_dirs_in(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gitward's config, state (journal), log and data dirs where the test user can reach them."""
    for name in ("CONFIG", "STATE", "LOG", "DATA"):
        path = shared / "gitward" / name.lower()
        path.mkdir(parents=True)
        monkeypatch.setenv(f"GITWARD_{name}_DIR", str(path))


def adversary_repo(base: Path) -> Path:
    """t2401's worktrees/def with a gitdir file its owner cannot read (SANITY: not as root)."""
    repo = t2401_def(base, b"")
    gitdir = repo / ".git/worktrees/def/gitdir"
    gitdir.write_bytes(b"/nowhere/.git\n")
    return repo


def test_t2401_differs_unreadable_gitdir_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git prunes an entry whose gitdir it cannot read; gitward keeps it: unknown is not gone
    (issue 8 item 7). Both the dry run and the prune say so in one line, and keep it."""
    user = adversary_user()
    with shared_dir(user) as shared:
        gitward_dirs_in(shared, monkeypatch)
        git_repo = adversary_repo(shared / "by-git")
        gw_repo = adversary_repo(shared / "by-gitward")
        chown_tree(shared, user)
        for repo in (git_repo, gw_repo):
            (repo / ".git/worktrees/def/gitdir").chmod(0)

        git_dry = call_as(user, run_git, git_repo, "worktree", "prune", "-n", "-v")
        reason = "unable to read gitdir file (Permission denied)"
        assert git_dry.stderr.decode() == f"Removing worktrees/def: {reason}\n"

        # Listing: git skips the entry (it cannot read the path); gitward says so, with git's reason.
        theirs = call_as(user, run_git, git_repo, "worktree", "list", "--porcelain")
        assert theirs.stdout.decode().count("worktree ") == 1
        listed = run_cli_as(user, "worktrees", str(gw_repo), "--json")
        entry = json.loads(listed.stdout)[1]
        assert (entry["id"], entry["listed"], entry["prunable_reason"]) == ("def", False, reason)

        kept = f"Kept worktrees/def: its gitdir file could not be read ({reason}): unknown is not gone"
        dry = run_cli_as(user, "worktree", "prune", str(gw_repo), "--dry-run")
        assert dry.code == 0, dry.stderr
        assert dry.stdout.startswith(kept) and len(dry.stdout.splitlines()) == 1
        assert "Would remove" not in dry.stdout
        applied = run_cli_as(user, "worktree", "prune", str(gw_repo), "--yes")
        assert (applied.code, applied.stderr) == (0, "")
        assert applied.stdout.startswith(kept) and len(applied.stdout.splitlines()) == 1
        assert (gw_repo / ".git/worktrees/def/gitdir").exists()

        # git, as the same user, removes it.
        assert call_as(user, run_git, git_repo, "worktree", "prune").returncode == 0
        assert not (git_repo / ".git/worktrees/def").exists()


def test_t2401_prune_copy_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file in a prunable admin dir that cannot be copied into the journal: one clear line,
    nothing pruned (it used to print shutil's raw list of tuples)."""
    user = adversary_user()
    with shared_dir(user) as shared:
        gitward_dirs_in(shared, monkeypatch)
        repo = new_repo(shared / "repo")
        shutil.rmtree(add(repo, "gone"))
        stray = repo / ".git/worktrees/gone/ORIG_HEAD"
        stray.write_text("x\n")
        chown_tree(shared, user)
        stray.chmod(0)
        git_dry = call_as(user, run_git, repo, "worktree", "prune", "-n", "-v")
        assert git_dry.stderr.decode() == f"Removing worktrees/gone: {NOT_EXISTING}\n"

        result = run_cli_as(user, "worktree", "prune", str(repo), "--yes")
        assert result.code == 2
        assert result.stderr.count("\n") == 1 and "[(" not in result.stderr
        assert f"cannot copy {stray} into the journal: " in result.stderr
        assert "Permission denied" in result.stderr and "nothing was pruned" in result.stderr
        assert (repo / ".git/worktrees/gone").is_dir()


# =========================================================================== t2402: list


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return new_repo(tmp_path / "repo")


def test_t2402_list_from_main_and_from_linked(repo: Path) -> None:
    here = add(repo, "here", "-b", "topic")
    ours = assert_list_agrees(repo)
    assert [e["path"] for e in ours] == [str(repo), str(here)]
    # git run from the linked worktree lists the same worktrees (REPO is always the main one).
    assert worktree_list(here) == worktree_list(repo)


def test_t2402_list_porcelain_locked_and_reasons(repo: Path) -> None:
    for name in ("locked1", "locked2", "unlocked"):
        add(repo, name)
    git(repo, "worktree", "lock", "locked1")
    git(repo, "worktree", "lock", "locked2", "--reason", "with reason")
    ours = {Path(e["path"]).name: e for e in assert_list_agrees(repo)}
    assert (ours["locked1"]["locked"], ours["locked1"]["lock_reason"]) == (True, None)
    assert ours["locked2"]["lock_reason"] == "with reason"
    assert not ours["unlocked"]["locked"]


def test_t2402_list_locked_reason_with_newlines(repo: Path) -> None:
    add(repo, "locked_lf")
    add(repo, "locked_crlf")
    git(repo, "worktree", "lock", "locked_lf", "--reason", "locked\nreason")
    git(repo, "worktree", "lock", "locked_crlf", "--reason", "locked\r\nreason")
    porcelain = git(repo, "worktree", "list", "--porcelain")
    assert 'locked "locked\\nreason"' in porcelain and 'locked "locked\\r\\nreason"' in porcelain
    ours = {Path(e["path"]).name: e for e in assert_list_agrees(repo)}
    assert ours["locked_crlf"]["lock_reason"] == "locked\r\nreason"
    # The text table keeps one worktree on one line: a newline in a reason cannot forge a row.
    table = gitward("worktrees", repo).stdout
    assert len(table.splitlines()) == 4 and "locked: locked\\nreason" in table


def test_t2402_list_prunable_consistent_with_prune(repo: Path) -> None:
    shutil.rmtree(add(repo, "prunable"))
    add(repo, "unprunable")
    ours = {Path(e["path"]).name: e for e in assert_list_agrees(repo)}
    assert ours["prunable"]["prunable_reason"] == NOT_EXISTING and ours["prunable"]["missing"]
    assert not ours["unprunable"]["prunable"]
    assert assert_prune_agrees(repo) == {"prunable": NOT_EXISTING}


def test_t2402_list_detached_branch_and_missing_branch(repo: Path) -> None:
    add(repo, "det")
    add(repo, "br", "-b", "br")
    git(repo / "br", "symbolic-ref", "HEAD", "refs/heads/no-such-branch")
    ours = {Path(e["path"]).name: e for e in assert_list_agrees(repo)}
    assert ours["det"]["detached"] and ours["br"]["branch"] == "refs/heads/no-such-branch"
    assert ours["br"]["head"] is None


def bare_with_linked(tmp_path: Path) -> tuple[Path, Path]:
    source = new_repo(tmp_path / "source")
    bare = tmp_path / "bare1"
    git(tmp_path, "clone", "--quiet", "--bare", str(source), str(bare))
    git(bare, "worktree", "add", "--quiet", "--detach", "../there", "main")
    return bare, tmp_path / "there"


def test_t2402_list_from_bare_main(tmp_path: Path) -> None:
    bare, there = bare_with_linked(tmp_path)
    ours = assert_list_agrees(bare)
    assert ours[0]["bare"] and ours[0]["path"] == str(bare)
    assert worktree_list(there) == worktree_list(bare)  # and from the linked one


def test_t2402_broken_main_worktree_still_at_the_top(repo: Path) -> None:
    linked = add(repo, "linked", "-b", "linked")
    (repo / ".git/HEAD").write_text("ref: .broken\n")
    ours = assert_list_agrees(repo, git_cwd=linked)  # git cannot start in the broken main
    assert ours[0]["main"] and ours[0]["head"] is None


def test_t2402_linked_worktrees_are_sorted(tmp_path: Path) -> None:
    main = new_repo(tmp_path / "sorted" / "main")
    add(main, "../second", "-b", "second")
    add(main, "../first", "-b", "first")
    ours = assert_list_agrees(main)
    assert [Path(e["path"]).name for e in ours] == ["main", "first", "second"]


def test_t2402_called_in_dot_git_directory(repo: Path) -> None:
    add(repo, "wt")
    ours = assert_list_agrees(repo / ".git", git_cwd=repo / ".git")
    assert ours == listing(repo)
    assert ours[0]["path"] == str(repo) and not ours[0]["bare"]
    assert worktree_list(repo / ".git") == worktree_list(repo)


def test_t2402_dot_git_directory_for_every_command(repo: Path) -> None:
    add(repo, "wt")
    dot_git = repo / ".git"
    refs = gitward("refs", dot_git, "--json")
    assert refs.returncode == 0 and json.loads(refs.stdout) == json.loads(gitward("refs", repo, "--json").stdout)
    scan = json.loads(gitward("scan", dot_git, "--json").stdout)
    (report,) = scan["repos"]
    assert report["path"] == str(repo) and report["layout"] == "non-bare"
    locked = gitward("worktree", "lock", dot_git, "wt", "--reason", "via .git")
    assert locked.returncode == 0, locked.stderr
    assert worktree_list(repo)[1].lock_reason == "via .git"
    assert gitward("worktree", "unlock", dot_git, "wt").returncode == 0
    assert not worktree_list(repo)[1].locked


def test_t2402_differs_dot_git_of_a_bare_configured_repo_is_its_git_dir(repo: Path) -> None:
    # core.bare = true: git lists the main worktree as bare (at REPO), and so does gitward's
    # listing of REPO/.git; its path is the git dir (deliberate: a bare repository is its git dir).
    git(repo, "config", "core.bare", "true")
    ours = listing(repo / ".git")
    theirs = worktree_list(repo / ".git")
    assert ours[0]["bare"] and theirs[0].bare
    assert theirs[0].path == str(repo) and ours[0]["path"] == str(repo / ".git")


# =========================================================================== t2403: lock, unlock, move, remove


@pytest.fixture
def t2403(tmp_path: Path) -> Path:
    repo = new_repo(tmp_path / "repo")
    add(repo, "source", "-b", "source")
    add(repo, "plain", "-b", "plain")
    return repo


def test_t2403_lock_main_worktree(t2403: Path) -> None:
    code, err = git_says(t2403, "worktree", "lock", ".")
    result = gitward("worktree", "lock", t2403, str(t2403))
    assert code != 0 and result.returncode != 0
    assert "The main working tree cannot be locked or unlocked" in err
    assert "The main working tree cannot be locked or unlocked" in result.stderr


def test_t2403_lock_linked_worktree(t2403: Path) -> None:
    result = gitward("worktree", "lock", t2403, "source", "--reason", "hahaha")
    assert result.returncode == 0, result.stderr
    assert (t2403 / ".git/worktrees/source/locked").read_text() == "hahaha\n"  # git writes this
    assert_list_agrees(t2403)


def test_t2403_lock_linked_worktree_from_another_worktree(t2403: Path) -> None:
    result = gitward("worktree", "lock", t2403, "../plain", "--reason", "oops", cwd=t2403 / "source")
    assert result.returncode == 0, result.stderr
    assert by_name(worktree_list(t2403))["plain"].lock_reason == "oops"


def test_t2403_lock_worktree_twice(t2403: Path) -> None:
    git(t2403, "worktree", "lock", "source", "--reason", "first")
    code, err = git_says(t2403, "worktree", "lock", "source")
    result = gitward("worktree", "lock", t2403, "source")
    assert code != 0 and "'source' is already locked, reason: first" in err
    assert result.returncode != 0 and "'source' is already locked, reason: first" in result.stderr
    assert (t2403 / ".git/worktrees/source/locked").read_text() == "first\n"


def test_t2403_unlock_main_worktree(t2403: Path) -> None:
    result = gitward("worktree", "unlock", t2403, str(t2403))
    assert result.returncode != 0 and "The main working tree cannot be locked or unlocked" in result.stderr


def test_t2403_unlock_linked_worktree_and_twice(t2403: Path) -> None:
    git(t2403, "worktree", "lock", "source")
    assert gitward("worktree", "unlock", t2403, "source").returncode == 0
    assert not (t2403 / ".git/worktrees/source/locked").exists()
    again = gitward("worktree", "unlock", t2403, "source")
    code, err = git_says(t2403, "worktree", "unlock", "source")
    assert code != 0 and "'source' is not locked" in err
    assert again.returncode != 0 and "'source' is not locked" in again.stderr


def test_t2403_move_locked_worktree_is_refused_by_git(t2403: Path) -> None:
    assert gitward("worktree", "lock", t2403, "source", "--reason", "on nfs").returncode == 0
    code, err = git_says(t2403, "worktree", "move", "source", "destination")
    assert code != 0 and "cannot move a locked working tree, lock reason: on nfs" in err
    assert_list_agrees(t2403)


def test_t2403_move_worktree_then_list(t2403: Path) -> None:
    git(t2403, "worktree", "move", "source", "destination")
    ours = assert_list_agrees(t2403)
    assert str(t2403 / "destination") in [e["path"] for e in ours]


def test_t2403_remove_locked_worktree_is_refused_by_git(t2403: Path) -> None:
    assert gitward("worktree", "lock", t2403, "plain").returncode == 0
    code, err = git_says(t2403, "worktree", "remove", "plain")
    assert code != 0 and "cannot remove a locked working tree" in err
    assert (t2403 / "plain").is_dir()


def test_t2403_remove_missing_worktree(t2403: Path) -> None:
    shutil.rmtree(t2403 / "plain")
    assert_list_agrees(t2403)
    assert assert_prune_agrees(t2403) == {"plain": NOT_EXISTING}
    git(t2403, "worktree", "remove", "plain")
    assert_list_agrees(t2403)
    assert gitward_prune_plan(t2403)["removes"] == []


def test_t2403_not_remove_missing_but_locked_worktree(t2403: Path) -> None:
    assert gitward("worktree", "lock", t2403, "plain").returncode == 0
    shutil.rmtree(t2403 / "plain")
    code, _err = git_says(t2403, "worktree", "remove", "plain")
    assert code != 0
    assert assert_prune_agrees(t2403) == {}  # locked: neither git nor gitward prunes it
    entry = {Path(e["path"]).name: e for e in assert_list_agrees(t2403)}["plain"]
    assert entry["locked"] and entry["missing"] and not entry["prunable"]
    result = gitward("worktree", "prune", t2403, "--yes")
    assert result.returncode == 0 and (t2403 / ".git/worktrees/plain/locked").exists()


def test_t2403_proper_error_when_worktree_not_found(t2403: Path) -> None:
    for arg in ("foo", "./foo", "foo/bar"):
        code, err = git_says(t2403, "worktree", "lock", arg)
        result = gitward("worktree", "lock", t2403, arg, cwd=t2403)
        assert code != 0 and f"'{arg}' is not a working tree" in err
        assert result.returncode != 0 and f"'{arg}' is not a working tree" in result.stderr


def test_t2403_prune_cleans_up_worktrees_dir_when_empty(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = new_repo(base / "repo")
        shutil.rmtree(add(repo, "tmp"))
        return repo

    assert prune_both(tmp_path, build) == {"tmp": NOT_EXISTING}
    assert not (tmp_path / "by-gitward/repo/.git/worktrees").exists()


# =========================================================================== t2406: repair


def repair_both(
    tmp_path: Path, build: Callable[[Path], Path], *paths: str, git_cwd: str = "", gitward_repo: str = ""
) -> tuple[tuple[int, str], subprocess.CompletedProcess[str]]:
    """git repairs one twin (`git -C REPO/GIT_CWD worktree repair PATHS`), gitward the other
    (`gitward worktree repair REPO/GITWARD_REPO PATHS`, run in REPO); both trees must end the same."""
    by_git, by_gitward = twins(tmp_path, build)
    git_result = git_says(by_git[1] / git_cwd, "worktree", "repair", *paths)
    result = gitward("worktree", "repair", by_gitward[1] / gitward_repo, *paths, cwd=by_gitward[1])
    assert_twins_agree(by_git, by_gitward)
    return git_result, result


def messages(text: str) -> list[str]:
    """git's `repair: MSG: PATH` / `error: MSG: PATH` lines, paths cut to their last part."""
    lines = []
    for line in text.splitlines():
        if line.startswith(("repair: ", "error: ")):
            head, _, path = line.rpartition(": ")
            lines.append(f"{head}: {Path(path).name}")
    return sorted(lines)


def assert_same_report(git_result: tuple[int, str], result: subprocess.CompletedProcess[str]) -> None:
    code, err = git_result
    assert (code == 0) == (result.returncode == 0), (err, result.stderr)
    assert messages(result.stdout + result.stderr) == messages(err)


def t2406_repo(base: Path) -> Path:
    return new_repo(base / "repo")


def test_t2406_skip_missing_worktree(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        shutil.rmtree(add(repo, "missing"))
        return repo

    git_result, result = repair_both(tmp_path, build)
    assert git_result == (0, "") and (result.stdout, result.stderr) == ("", "")


def test_t2406_worktree_path_not_directory(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        shutil.rmtree(add(repo, "notdir"))
        (repo / "notdir").write_bytes(b"")
        return repo

    git_result, result = repair_both(tmp_path, build)
    assert_same_report(git_result, result)
    assert messages(result.stderr) == ["error: not a directory: notdir"]


def test_t2406_do_not_clobber_a_git_repo(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        shutil.rmtree(add(repo, "repo2"))
        new_repo(repo / "repo2")
        return repo

    assert_same_report(*repair_both(tmp_path, build))


def corrupt(base: Path, butcher: Callable[[Path], None]) -> Path:
    repo = t2406_repo(base)
    add(repo, "corrupt")
    butcher(repo)
    return repo


def test_t2406_repair_missing_gitfile(tmp_path: Path) -> None:
    git_result, result = repair_both(tmp_path, lambda b: corrupt(b, lambda r: (r / "corrupt/.git").unlink()))
    assert_same_report(git_result, result)
    assert messages(result.stdout) == ["repair: .git file broken: corrupt"]


def test_t2406_repair_bogus_gitfile(tmp_path: Path) -> None:
    def butcher(repo: Path) -> None:
        (repo / "corrupt/.git").write_text("gitdir: /nowhere\n")

    assert_same_report(*repair_both(tmp_path, lambda b: corrupt(b, butcher)))


def test_t2406_repair_incorrect_gitfile_pointing_at_another_repo(tmp_path: Path) -> None:
    def butcher(repo: Path) -> None:
        other = new_repo(repo.parent / "other")
        (repo / "corrupt/.git").write_text(f"gitdir: {other}/.git\n")

    git_result, result = repair_both(tmp_path, lambda b: corrupt(b, butcher))
    assert_same_report(git_result, result)
    assert messages(result.stdout) == ["repair: .git file incorrect: corrupt"]


def side1_side2(base: Path) -> Path:
    """side1/.git points at side2's admin dir (issue 8 item 4)."""
    repo = t2406_repo(base)
    add(repo, "side1")
    add(repo, "side2")
    (repo / "side1/.git").write_text(f"gitdir: {repo}/.git/worktrees/side2\n")
    return repo


def test_t2406_repair_incorrect_gitfile_pointing_at_a_sibling(tmp_path: Path) -> None:
    (_, result) = repair_both(tmp_path, side1_side2, ".", "side1", "side2")
    assert result.returncode == 0, result.stderr
    repo = tmp_path / "by-gitward/repo"
    listed = worktree_list(repo)
    assert [e.path for e in listed] == [str(repo), str(repo / "side1"), str(repo / "side2")]
    assert prune_dry_run(repo) == {}
    assert_list_agrees(repo)


def test_t2406_differs_sibling_repair_reports_net_changes(tmp_path: Path) -> None:
    """git reports every step: side2's gitdir rewritten to side1 (step "side1"), then back (step
    "side2"), then side1's .git. gitward journals and reports each file once, with its net
    change: side2's gitdir ends as it was, so it is not touched at all."""
    (code, err), result = repair_both(tmp_path, side1_side2, ".", "side1", "side2")
    assert code == 0
    assert messages(err) == [
        "repair: .git file incorrect: side1",
        "repair: gitdir incorrect: gitdir",
        "repair: gitdir incorrect: gitdir",
    ]
    assert messages(result.stdout) == ["repair: .git file incorrect: side1"]


def test_t2406_repair_gitfile_of_a_relative_gitdir_wherever_gitward_runs(tmp_path: Path) -> None:
    # git 2.39 reads worktrees/<id>/gitdir "../wt/.git" from the main worktree, where it runs.
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        wt = add(repo, "../wt")
        (repo / ".git/worktrees/wt/gitdir").write_text("../wt/.git\n")
        (wt / ".git").unlink()
        return repo

    by_git, by_gitward = twins(tmp_path, build)
    code, err = git_says(by_git[1], "worktree", "repair")
    result = gitward("worktree", "repair", by_gitward[1], cwd=tmp_path)  # not from REPO
    assert code == 0 and result.returncode == 0, result.stderr
    assert messages(result.stdout) == messages(err) == ["repair: .git file broken: wt"]
    assert_twins_agree(by_git, by_gitward)


def test_t2406_repair_gitfile_from_main_dot_git(tmp_path: Path) -> None:
    build = lambda b: corrupt(b, lambda r: (r / "corrupt/.git").unlink())  # noqa: E731
    git_result, result = repair_both(tmp_path, build, git_cwd=".git", gitward_repo=".git")
    assert_same_report(git_result, result)
    assert messages(result.stdout) == ["repair: .git file broken: corrupt"]


def test_t2406_differs_repair_from_linked_worktree(tmp_path: Path) -> None:
    """`git -C other worktree repair` repairs from a linked worktree; gitward's REPO may name a
    linked worktree too, and means its repository: the same repair as run on REPO."""
    def build(base: Path) -> Path:
        repo = corrupt(base, lambda r: (r / "corrupt/.git").unlink())
        add(repo, "other")
        return repo

    by_git, by_gitward = twins(tmp_path, build)
    code, err = git_says(by_git[1] / "other", "worktree", "repair")
    result = gitward("worktree", "repair", by_gitward[1] / "other")
    assert code == 0 and result.returncode == 0, result.stderr
    assert messages(result.stdout) == messages(err) == ["repair: .git file broken: corrupt"]
    assert_twins_agree(by_git, by_gitward)


def test_t2406_repair_gitfile_from_bare_repo(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        source = t2406_repo(base)
        bare = base / "bare.git"
        git(base, "clone", "--quiet", "--bare", str(source), str(bare))
        git(bare, "worktree", "add", "--quiet", "--detach", "../corrupt")
        (base / "corrupt/.git").unlink()
        return bare

    git_result, result = repair_both(tmp_path, build)
    assert_same_report(git_result, result)
    assert git(tmp_path / "by-gitward/corrupt", "rev-parse", "--absolute-git-dir").strip() == str(
        tmp_path / "by-gitward/bare.git/worktrees/corrupt"
    )


def test_t2406_invalid_worktree_path(tmp_path: Path) -> None:
    git_result, result = repair_both(tmp_path, t2406_repo, "/notvalid")
    assert_same_report(git_result, result)
    assert messages(result.stderr) == ["error: not a valid path: notvalid"]


def test_t2406_repo_not_found_dot_git_not_a_file(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        new_repo(repo / "not-a-worktree")
        return repo

    git_result, result = repair_both(tmp_path, build, "not-a-worktree")
    assert_same_report(git_result, result)


def test_t2406_repo_not_found_dot_git_not_referencing_repo(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        side = add(repo, "side")
        text = (side / ".git").read_text()
        (side / ".git").write_text(text.replace(".git/worktrees/side", "not-a-repo"))
        (repo / "not-a-repo").mkdir()
        return repo

    git_result, result = repair_both(tmp_path, build, "side")
    assert_same_report(git_result, result)
    assert "does not reference a repository" in result.stderr


def test_t2406_repo_not_found_dot_git_broken(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        orig = add(repo, "orig")
        (orig / ".git").write_text("/invalid\n")
        orig.rename(repo / "moved")
        return repo

    git_result, result = repair_both(tmp_path, build, "moved")
    assert_same_report(git_result, result)
    assert "unable to locate repository; .git file broken" in result.stderr


def test_t2406_repair_broken_gitdir(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        orig = add(repo, "orig")
        (repo / ".git/worktrees/orig/gitdir").unlink()
        orig.rename(repo / "moved")
        return repo

    git_result, result = repair_both(tmp_path, build, "moved")
    assert_same_report(git_result, result)
    assert messages(result.stdout) == ["repair: gitdir unreadable: gitdir"]


def test_t2406_repair_incorrect_gitdir(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        add(repo, "orig").rename(repo / "moved")
        return repo

    git_result, result = repair_both(tmp_path, build, "moved")
    assert_same_report(git_result, result)
    assert messages(result.stdout) == ["repair: gitdir incorrect: gitdir"]


def test_t2406_unable_to_repair_gitdir_implicitly_from_main(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        add(repo, "orig").rename(repo / "moved")
        return repo

    git_result, result = repair_both(tmp_path, build)
    assert git_result == (0, "") and (result.returncode, result.stdout) == (0, "")


def test_t2406_repair_multiple_gitdir_files(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        repo = t2406_repo(base)
        add(repo, "orig1").rename(repo / "moved1")
        add(repo, "orig2").rename(repo / "moved2")
        return repo

    git_result, result = repair_both(tmp_path, build, "moved1", "moved2")
    assert_same_report(git_result, result)
    assert len(messages(result.stdout)) == 2


def test_t2406_repair_moved_main_and_linked_worktrees(tmp_path: Path) -> None:
    def build(base: Path) -> Path:
        main = new_repo(base / "main")
        git(main, "worktree", "add", "--quiet", "--detach", "../side")
        main.rename(base / "mainmoved")
        (base / "side").rename(base / "sidemoved")
        return base / "mainmoved"

    git_result, result = repair_both(tmp_path, build, "../sidemoved")
    assert_same_report(git_result, result)
    assert git(tmp_path / "by-gitward/sidemoved", "rev-parse", "--absolute-git-dir").strip() == str(
        tmp_path / "by-gitward/mainmoved/.git/worktrees/side"
    )
