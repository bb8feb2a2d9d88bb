"""worktree lock/unlock/prune/repair; git (2.39) is the judge.

Ports of git's t2403-worktree-move.sh (lock/unlock), t2401-worktree-prune.sh and
t2406-worktree-repair.sh, run through gitward, then checked with `git worktree list
--porcelain`, `git worktree prune -n -v` and `git fsck`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gitrepo import commit_chain, git, init_repo, init_with_worktrees
from gitutil import prune_dry_run, worktree_list
from refedit_support import fsck_errors, run_cli
from tui.core.write import worktree_edit
from tui.core.write.journal import Journal
from tui.core.write.locking import RefusedError
from tui.core.write.worktree_edit import WorktreeRepo


@pytest.fixture
def repo(tmp_path) -> Path:
    return init_with_worktrees(tmp_path / "main", "source", commits=2, detach=False)


def wt_repo(path: Path) -> WorktreeRepo:
    return WorktreeRepo(str(path / ".git"), str(path), False)


def porcelain(path: Path) -> dict[str, object]:
    return {Path(entry.path).name: entry for entry in worktree_list(path)}


def locked_file(repo: Path, worktree_id: str) -> Path:
    return repo / ".git/worktrees" / worktree_id / "locked"


# --------------------------------------------------------------------------- t2403: lock, unlock


def test_lock_main_worktree_fails(repo):
    for arg, cwd in ((".", repo), (str(repo), None)):
        result = run_cli("worktree", "lock", repo, arg, cwd=cwd)
        assert result.returncode == 1
        assert result.stderr.strip() == "gitward: The main working tree cannot be locked or unlocked"


def test_lock_writes_the_reason_as_git_does(repo):
    result = run_cli("worktree", "lock", repo, "source", "--reason", "hahaha")
    assert result.returncode == 0, result.stderr
    assert locked_file(repo, "source").read_bytes() == b"hahaha\n"
    entry = porcelain(repo)["source"]
    assert entry.locked and entry.lock_reason == "hahaha"
    assert "source" not in prune_dry_run(repo)


def test_lock_without_reason_is_an_empty_file(repo):
    assert run_cli("worktree", "lock", repo, "source").returncode == 0
    assert locked_file(repo, "source").read_bytes() == b""
    entry = porcelain(repo)["source"]
    assert entry.locked and entry.lock_reason is None


def test_lock_from_another_worktree_by_relative_path(repo):
    git(repo, "worktree", "add", "-q", "elsewhere")
    result = run_cli("worktree", "lock", repo, "../source", "--reason", "hahaha", cwd=repo / "elsewhere")
    assert result.returncode == 0, result.stderr
    assert locked_file(repo, "source").read_bytes() == b"hahaha\n"


def test_lock_twice_fails_and_keeps_the_file(repo):
    assert run_cli("worktree", "lock", repo, "source", "--reason", "hahaha").returncode == 0
    again = run_cli("worktree", "lock", repo, "source", "--reason", "other")
    assert again.returncode == 1
    assert again.stderr.strip() == "gitward: 'source' is already locked, reason: hahaha"
    from_inside = run_cli("worktree", "lock", repo, ".", cwd=repo / "source")
    assert from_inside.returncode == 1 and "'.' is already locked" in from_inside.stderr
    assert locked_file(repo, "source").read_bytes() == b"hahaha\n"


def test_unlock(repo):
    assert run_cli("worktree", "unlock", repo, ".").returncode == 1  # main: refused
    assert run_cli("worktree", "lock", repo, "source").returncode == 0
    result = run_cli("worktree", "unlock", repo, "source")
    assert result.returncode == 0, result.stderr
    assert not locked_file(repo, "source").exists()
    assert not porcelain(repo)["source"].locked
    twice = run_cli("worktree", "unlock", repo, "source")
    assert twice.returncode == 1 and twice.stderr.strip() == "gitward: 'source' is not locked"
    assert not locked_file(repo, "source").exists()


def test_unknown_worktree_is_not_a_working_tree(repo):
    for arg in ("noodle", "noodle/bork"):
        result = run_cli("worktree", "lock", repo, arg)
        assert result.returncode == 1 and f"'{arg}' is not a working tree" in result.stderr


def test_lock_by_id_and_by_absolute_path(repo):
    git(repo, "worktree", "add", "-q", str(repo.parent / "far" / "deep"))
    assert run_cli("worktree", "lock", repo, "deep", "--reason", "by id").returncode == 0
    assert porcelain(repo)["deep"].lock_reason == "by id"
    assert run_cli("worktree", "unlock", repo, str(repo / "source")).returncode == 1  # not locked
    assert run_cli("worktree", "lock", repo, str(repo / "source")).returncode == 0


def test_missing_but_locked_worktree_is_not_pruned(repo):
    assert run_cli("worktree", "lock", repo, "source", "--reason", "on NFS").returncode == 0
    shutil.rmtree(repo / "source")
    assert prune_dry_run(repo) == {}  # git keeps it
    result = run_cli("worktree", "prune", repo, "--yes")
    assert result.returncode == 0 and "source" not in result.stdout
    assert (repo / ".git/worktrees/source").is_dir()
    assert porcelain(repo)["source"].locked


def test_lock_refuses_for_another_owner(repo):
    admin = repo / ".git/worktrees/source"
    os.chown(admin, 12345, 12345)
    result = run_cli("worktree", "lock", repo, "source")
    assert result.returncode == 1 and "uid 12345" in result.stderr
    assert not locked_file(repo, "source").exists()


def test_lock_reason_is_escaped_like_git(repo):
    reason = "line one\ttab \"quoted\""
    assert run_cli("worktree", "lock", repo, "source", "--reason", reason).returncode == 0
    assert porcelain(repo)["source"].lock_reason == reason


# --------------------------------------------------------------------------- t2401: prune


def prune_and_compare(repo: Path, *extra: str) -> dict[str, str]:
    """gitward's plan must name exactly what `git worktree prune -n -v` names, with git's words."""
    expected = prune_dry_run(repo, *extra)
    expire = None
    if extra:
        expire = worktree_edit.parse_expire(extra[0].split("=", 1)[1])
    plan = worktree_edit.plan_prune(wt_repo(repo), expire=expire)
    assert {item.id: item.reason for item in plan.items} == expected
    result = run_cli("worktree", "prune", repo, *extra, "--yes")
    assert result.returncode == 0, result.stderr
    for worktree_id, reason in expected.items():
        assert f"Removed worktrees/{worktree_id}: {reason}" in result.stdout
    assert prune_dry_run(repo, *extra) == {}  # nothing left for git to prune
    worktree_list(repo)  # and git can list what is left
    return expected


def test_prune_files_inside_worktrees_dir(repo):
    git(repo, "worktree", "remove", "source")
    (repo / ".git/worktrees").mkdir()
    (repo / ".git/worktrees/abc").write_bytes(b"")
    assert prune_and_compare(repo) == {"abc": "not a valid directory"}
    assert not (repo / ".git/worktrees").exists()  # delete_worktrees_dir_if_empty()


def test_prune_directories_without_gitdir(repo):
    git(repo, "worktree", "remove", "source")
    (repo / ".git/worktrees/def/abc").mkdir(parents=True)
    (repo / ".git/worktrees/def/def").write_bytes(b"")
    assert prune_and_compare(repo) == {"def": "gitdir file does not exist"}
    assert not (repo / ".git/worktrees").exists()


def test_prune_directories_with_invalid_gitdir(repo):
    (repo / ".git/worktrees/def/abc").mkdir(parents=True)
    (repo / ".git/worktrees/def/gitdir").write_bytes(b"")
    assert prune_and_compare(repo) == {"def": "invalid gitdir file"}
    assert (repo / ".git/worktrees/source").is_dir()


def test_prune_directories_with_gitdir_pointing_to_nowhere(repo):
    (repo / ".git/worktrees/def").mkdir(parents=True)
    (repo / ".git/worktrees/def/gitdir").write_text(f"{repo}/nowhere\n")
    assert prune_and_compare(repo) == {"def": "gitdir file points to non-existent location"}


def test_not_prune_locked_checkout(repo):
    (repo / ".git/worktrees/ghi").mkdir()
    (repo / ".git/worktrees/ghi/locked").write_bytes(b"")
    assert prune_and_compare(repo) == {}
    assert (repo / ".git/worktrees/ghi").is_dir()


def test_not_prune_recent_checkouts(repo):
    git(repo, "worktree", "add", "-q", "jlm", "HEAD")
    shutil.rmtree(repo / "jlm")
    assert prune_and_compare(repo, "--expire=2.days.ago") == {}
    assert (repo / ".git/worktrees/jlm").is_dir()
    assert prune_and_compare(repo) == {"jlm": "gitdir file points to non-existent location"}


def test_not_prune_proper_checkouts(repo):
    assert prune_and_compare(repo) == {}
    assert (repo / ".git/worktrees/source").is_dir()


def test_prune_duplicate_linked_linked(repo):
    git(repo, "worktree", "add", "-q", "--detach", "w1")
    git(repo, "worktree", "add", "-q", "--detach", "w2")
    gitdir = repo / ".git/worktrees/w2/gitdir"
    gitdir.write_text(gitdir.read_text().replace("w2", "w1"))
    assert prune_and_compare(repo) == {"w2": "duplicate entry"}
    assert (repo / ".git/worktrees/w1").is_dir() and not (repo / ".git/worktrees/w2").exists()


def test_prune_duplicate_main_linked(tmp_path):
    init_with_worktrees(tmp_path / "repo", "../wt")
    shutil.rmtree(tmp_path / "wt")
    (tmp_path / "repo").rename(tmp_path / "wt")
    moved = tmp_path / "wt"
    assert prune_and_compare(moved) == {"wt": "duplicate entry"}
    assert not (moved / ".git/worktrees/wt").exists()


def test_prune_dry_run_and_json(repo):
    shutil.rmtree(repo / "source")
    dry = run_cli("worktree", "prune", repo, "--dry-run")
    assert dry.returncode == 0
    assert dry.stdout.strip() == "Would remove worktrees/source: gitdir file points to non-existent location"
    assert (repo / ".git/worktrees/source").is_dir()
    import json

    report = json.loads(run_cli("worktree", "prune", repo, "--json", "--yes").stdout)
    assert [item["id"] for item in report["removes"]] == ["source"] and report["journal_entry"]


def test_prune_keeps_what_it_cannot_check(repo, tmp_path):
    # git's file_exists() turns "cannot tell" into "gone"; gitward keeps the entry.
    git(repo, "worktree", "add", "-q", str(tmp_path / "vol" / "wt"))
    os.chmod(tmp_path / "vol", 0o000)
    try:
        from refedit_support import WITHOUT_DAC_OVERRIDE

        result = run_cli("worktree", "prune", repo, "--yes", wrap=WITHOUT_DAC_OVERRIDE)
    finally:
        os.chmod(tmp_path / "vol", 0o755)
    assert result.returncode == 0, result.stderr
    assert "Kept worktrees/wt: cannot tell whether" in result.stdout and "Permission denied" in result.stdout
    assert (repo / ".git/worktrees/wt").is_dir()


def test_prune_refuses_when_the_entry_changed(repo):
    shutil.rmtree(repo / "source")
    plan = worktree_edit.plan_prune(wt_repo(repo))
    (repo / ".git/worktrees/source/locked").write_bytes(b"")  # locked meanwhile
    with pytest.raises(RefusedError, match="changed since the plan"):
        worktree_edit.apply(plan, Journal(str(repo.parent / "journal")))
    assert (repo / ".git/worktrees/source").is_dir()


# --------------------------------------------------------------------------- t2406: repair


def corrupt_then_repair(repo: Path, butcher, problem: str, *paths: str) -> None:
    git(repo, "worktree", "add", "-q", "--detach", "corrupt")
    expect = git(repo / "corrupt", "rev-parse", "--absolute-git-dir")
    butcher()
    result = run_cli("worktree", "repair", repo, *paths)
    assert result.returncode == 0, result.stderr
    assert f"repair: {problem}: " in result.stdout
    assert git(repo / "corrupt", "rev-parse", "--absolute-git-dir") == expect


def test_repair_skips_missing_worktree(repo):
    shutil.rmtree(repo / "source")
    result = run_cli("worktree", "repair", repo)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_repair_worktree_path_not_directory(repo):
    shutil.rmtree(repo / "source")
    (repo / "source").write_bytes(b"")
    result = run_cli("worktree", "repair", repo)
    assert result.returncode == 1 and result.stdout == ""
    assert "error: not a directory: " in result.stderr


def test_repair_does_not_clobber_a_git_repo(repo):
    shutil.rmtree(repo / "source")
    init_repo(repo / "source")
    result = run_cli("worktree", "repair", repo)
    assert result.returncode == 1 and "error: .git is not a file" in result.stderr
    assert (repo / "source/.git").is_dir()


def test_repair_missing_gitfile(repo):
    corrupt_then_repair(repo, lambda: (repo / "corrupt/.git").unlink(), ".git file broken")


def test_repair_bogus_gitfile(repo):
    corrupt_then_repair(repo, lambda: (repo / "corrupt/.git").write_text("gitdir: /nowhere\n"), ".git file broken")


def test_repair_incorrect_gitfile(repo, tmp_path):
    other = init_repo(tmp_path / "other")
    corrupt_then_repair(repo, lambda: (repo / "corrupt/.git").write_text(f"gitdir: {other}/.git\n"), ".git file incorrect")


def test_repair_gitfile_of_a_bare_repository(tmp_path):
    source = init_repo(tmp_path / "src")
    commit_chain(source, 1)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(source), str(bare))
    git(bare, "worktree", "add", "-q", "--detach", "../corrupt")
    expect = git(tmp_path / "corrupt", "rev-parse", "--absolute-git-dir")
    (tmp_path / "corrupt/.git").unlink()
    assert run_cli("worktree", "repair", bare).returncode == 0
    assert git(tmp_path / "corrupt", "rev-parse", "--absolute-git-dir") == expect


def test_repair_invalid_worktree_path(repo):
    result = run_cli("worktree", "repair", repo, "/notvalid")
    assert result.returncode == 1 and result.stdout == ""
    assert "error: not a valid path: /notvalid" in result.stderr


def test_repair_repo_not_found_gitfile_not_a_file(repo):
    init_repo(repo / "not-a-worktree")
    result = run_cli("worktree", "repair", repo, "not-a-worktree", cwd=repo)
    assert result.returncode == 1 and ".git is not a file" in result.stderr


def test_repair_gitfile_not_referencing_a_repo(repo):
    git(repo, "worktree", "add", "-q", "--detach", "side")
    gitfile = repo / "side/.git"
    gitfile.write_text(gitfile.read_text().replace(".git/worktrees/side", "not-a-repo"))
    (repo / "not-a-repo").mkdir()
    result = run_cli("worktree", "repair", repo, "side", cwd=repo)
    assert result.returncode == 1 and ".git file does not reference a repository" in result.stderr


def test_repair_broken_and_incorrect_gitdir(repo):
    for name, butcher, problem in (
        ("orig1", lambda p: p.unlink(), "gitdir unreadable"),
        ("orig2", lambda p: None, "gitdir incorrect"),
    ):
        git(repo, "worktree", "add", "-q", "--detach", name)
        gitdir = repo / ".git/worktrees" / name / "gitdir"
        expect = gitdir.read_text().replace(f"{name}/.git", f"moved-{name}/.git")
        butcher(gitdir)
        (repo / name).rename(repo / f"moved-{name}")
        result = run_cli("worktree", "repair", repo, f"moved-{name}", cwd=repo)
        assert result.returncode == 0, result.stderr
        assert gitdir.read_text() == expect
        assert f"repair: {problem}: {gitdir}" in result.stdout


def test_repair_without_paths_cannot_find_moved_worktree(repo):
    gitdir = repo / ".git/worktrees/source/gitdir"
    before = gitdir.read_bytes()
    (repo / "source").rename(repo / "moved")
    result = run_cli("worktree", "repair", repo)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert gitdir.read_bytes() == before


def test_repair_moved_main_and_linked_worktrees(tmp_path):
    # The host migration: both the repository and its worktrees live under a new root.
    main = init_with_worktrees(tmp_path / "main", "../side")
    expect_gitdir = (main / ".git/worktrees/side/gitdir").read_text().replace("side/.git", "sidemoved/.git")
    expect_gitfile = (tmp_path / "side/.git").read_text().replace("main/.git/worktrees/side", "mainmoved/.git/worktrees/side")
    (tmp_path / "main").rename(tmp_path / "mainmoved")
    (tmp_path / "side").rename(tmp_path / "sidemoved")
    moved = tmp_path / "mainmoved"
    assert prune_dry_run(moved) == {"side": "gitdir file points to non-existent location"}  # looks prunable
    result = run_cli("worktree", "repair", moved, "../sidemoved", cwd=moved)
    assert result.returncode == 0, result.stderr
    assert (moved / ".git/worktrees/side/gitdir").read_text() == expect_gitdir
    assert (tmp_path / "sidemoved/.git").read_text() == expect_gitfile
    assert prune_dry_run(moved) == {}
    assert [Path(e.path).name for e in worktree_list(moved)] == ["mainmoved", "sidemoved"]
    assert git(tmp_path / "sidemoved", "rev-parse", "--absolute-git-dir").strip() == str(moved / ".git/worktrees/side")
    assert fsck_errors(moved) == ""


def test_repair_copied_main_and_linked_never_touches_the_original(tmp_path):
    orig = tmp_path / "orig"
    main = init_repo(orig / "main")
    commit_chain(main, 1)
    git(main, "checkout", "-q", "main")
    git(main, "worktree", "add", "-q", "../linked")
    orig_gitdir = (main / ".git/worktrees/linked/gitdir").read_bytes()
    orig_gitfile = (orig / "linked/.git").read_bytes()
    shutil.copytree(orig, tmp_path / "dup", symlinks=True)
    dup = tmp_path / "dup"
    result = run_cli("worktree", "repair", dup / "main", "../linked", cwd=dup / "main")
    assert result.returncode == 0, result.stderr
    assert (main / ".git/worktrees/linked/gitdir").read_bytes() == orig_gitdir
    assert (orig / "linked/.git").read_bytes() == orig_gitfile
    assert (dup / "main/.git/worktrees/linked/gitdir").read_text() == f"{dup}/linked/.git\n"
    assert (dup / "linked/.git").read_text() == f"gitdir: {dup}/main/.git/worktrees/linked\n"


def test_repair_keeps_file_mode(repo):
    gitdir = repo / ".git/worktrees/source/gitdir"
    os.chmod(gitdir, 0o600)
    (repo / "source").rename(repo / "moved")
    assert run_cli("worktree", "repair", repo, "moved", cwd=repo).returncode == 0
    assert os.stat(gitdir).st_mode & 0o777 == 0o600


def test_parse_expire():
    now = 1_000_000.0
    assert worktree_edit.parse_expire("2.days.ago", now) == now - 2 * 86400
    assert worktree_edit.parse_expire("3 hours ago", now) == now - 3 * 3600
    assert worktree_edit.parse_expire("never", now) == 0.0
    assert worktree_edit.parse_expire("now", now) > now + 1e9
    assert worktree_edit.parse_expire("@1234", now) == 1234.0
    with pytest.raises(ValueError):
        worktree_edit.parse_expire("someday", now)


def test_ambiguous_id_and_path_is_refused(repo, tmp_path):
    for path in ("d1/x", "d3/x", "d2/x1"):  # ids: x, x1, x11
        git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / path))
    assert sorted(p.name for p in (repo / ".git/worktrees").iterdir()) == ["source", "x", "x1", "x11"]
    # "x1" is the id of d3/x and, by git's suffix rule, names d2/x1: refuse rather than guess
    result = run_cli("worktree", "lock", repo, "x1")
    assert result.returncode == 1 and "ambiguous" in result.stderr
    # "x" is a suffix of two paths (git finds none), and the id of d1/x: that one
    assert run_cli("worktree", "lock", repo, "x", "--reason", "by id").returncode == 0
    assert (repo / ".git/worktrees/x/locked").read_text() == "by id\n"


def test_prune_keeps_a_gitdir_it_could_not_read_whole(repo):
    # should_prune_worktree(): "short read" when the file yields fewer bytes than stat() said
    # (a file changing under git, or a sysfs file). git prunes; what it says is unknown: kept.
    sysfs = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not sysfs.exists() or sysfs.stat().st_size == len(sysfs.read_bytes()):
        pytest.skip("needs a sysfs file whose size lies (st_size 4096, fewer bytes readable)")
    gitdir = repo / ".git/worktrees/source/gitdir"
    gitdir.unlink()
    gitdir.symlink_to(sysfs)
    reason = f"short read (expected {sysfs.stat().st_size} bytes, read {len(sysfs.read_bytes())})"
    assert prune_dry_run(repo) == {"source": reason}
    result = run_cli("worktree", "prune", repo, "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Kept worktrees/source: its gitdir file could not be read ({reason})")
    assert (repo / ".git/worktrees/source").is_dir()
