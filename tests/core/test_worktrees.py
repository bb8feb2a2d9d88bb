"""tui.core.worktrees against the real git CLI (2.39): same worktrees, same verdicts.

Every scenario is built with git in a temporary directory and, where git can answer, checked
against ``git worktree list --porcelain`` and ``git worktree prune --dry-run``.
Scenarios port git's t2401 (prune), t2402 (list) and t2406 (repair/move).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from gitrepo import git, run_git
from gitworktree import PorcelainEntry, common_dir, prune_dry_run, worktree_list
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.core.model import Severity, Worktree
from tui.core.gitsync_layout import git_sync_view, is_git_sync_root
from tui.core.worktrees import linked_worktree_entries
from tui.core.worktrees import list_worktrees as full_listing

NOT_EXISTING = "gitdir file points to non-existent location"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_SKIP = (
    "running as root: root reads files whatever their mode, so chmod 0 cannot make one unreadable"
)


# --------------------------------------------------------------------------- helpers


def list_worktrees(common: str, **kwargs) -> list[Worktree]:
    """``list_worktrees``, and every scenario here also checks the manifest's lean listing
    (``linked_worktree_entries``): the same linked entries, in the same order, with the same
    id, path, listed, locked, lock reason and missing."""
    found = full_listing(common, **kwargs)
    lean = linked_worktree_entries(common, main_path=kwargs.get("main_path"))

    def facts(wt: Worktree) -> tuple:
        return (wt.id, wt.path, wt.listed, wt.locked, wt.lock_reason, wt.missing)

    assert [facts(wt) for wt in lean] == [facts(wt) for wt in found if not wt.main]
    return found


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    git(tmp_path, "init", "--quiet", "-b", "main", str(path))
    git(path, "commit", "--quiet", "--allow-empty", "-m", "init")
    return path


def add(repo: Path, path: str | Path, *args: str) -> Path:
    """`git worktree add --detach` unless args say otherwise; returns the absolute path."""
    if not args:
        args = ("--detach",)
    git(repo, "worktree", "add", "--quiet", *args, str(path))
    return (repo / path).resolve() if not Path(path).is_absolute() else Path(path)


def admin(repo: Path, wt_id: str) -> Path:
    return common_dir(repo) / "worktrees" / wt_id


def as_porcelain(wt: Worktree) -> PorcelainEntry:
    """What `git worktree list --porcelain` would print for this worktree."""
    return PorcelainEntry(
        path=wt.path,
        head=None if wt.bare else wt.head,
        branch=None if wt.bare else wt.branch,
        detached=False if wt.bare else wt.detached,
        bare=wt.bare,
        locked=wt.locked,
        lock_reason=wt.lock_reason,
        prunable_reason=wt.prunable_reason,
    )


def prune_view(worktrees: list[Worktree]) -> dict[str, str]:
    """What our worktrees say `git worktree prune` will remove, in git's words."""
    removed = {wt.id: wt.prunable_reason for wt in worktrees if wt.prunable}
    for wt in worktrees:
        if any(p.code == "duplicate-worktree" for p in wt.problems):
            removed[wt.id] = "duplicate entry"
    return removed


def check(
    repo: Path, *, bare: bool = False, expire: int | None = None, run_from: Path | None = None
) -> list[Worktree]:
    """list_worktrees must agree with git's list and with git's prune dry-run.

    ``run_from``: where to run git, when the main worktree is too broken for git to start there.
    """
    repo = run_from or repo
    extra = (f"--expire=@{expire}",) if expire is not None else ()
    theirs = worktree_list(repo, *extra)
    ours = list_worktrees(
        str(common_dir(repo)), main_path=theirs[0].path, bare=bare, expire=expire
    )
    listed = [as_porcelain(wt) for wt in ours if wt.listed]
    assert [e.path for e in listed] == [e.path for e in theirs]
    # Entries with the same path (duplicates) come in an unspecified order from git's qsort.
    assert sorted(map(repr, listed)) == sorted(map(repr, theirs))
    assert prune_view(ours) == prune_dry_run(repo, *extra)
    return ours


def by_id(worktrees: list[Worktree]) -> dict[str | None, Worktree]:
    return {wt.id: wt for wt in worktrees}


def codes(wt: Worktree) -> set[str]:
    return {p.code for p in wt.problems}


def head_of(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


# --------------------------------------------------------------------------- t2402: list


def test_main_and_linked_worktrees(repo: Path) -> None:
    add(repo, "../detached")
    add(repo, "../onbranch", "-b", "topic")
    wts = check(repo)
    main, detached, onbranch = wts
    assert main.main and main.id is None and main.branch == "refs/heads/main"
    assert main.path == str(repo.resolve())
    assert detached.detached and detached.head == head_of(repo) and detached.branch is None
    assert onbranch.branch == "refs/heads/topic" and not onbranch.detached
    assert all(not wt.problems for wt in wts)


def test_main_path_derived_like_git(repo: Path) -> None:
    theirs = worktree_list(repo)
    ours = list_worktrees(str(common_dir(repo)), main_path=None, bare=False)
    assert ours[0].path == theirs[0].path


def test_linked_worktrees_sorted_by_path_as_git_sorts(repo: Path) -> None:
    # Added out of order; '-' < '.' < '/' in bytes; non-ASCII and non-UTF-8 names sort as bytes.
    for name in ("second", "first", "wt.b", "wt-a", "wt/c", "\u00e9t\u00e9", os.fsdecode(b"z\xff")):
        add(repo, f"../{name}")
    wts = check(repo)
    paths = [os.fsencode(wt.path) for wt in wts[1:]]
    assert paths == sorted(paths)


def test_locked_with_and_without_reason(repo: Path) -> None:
    add(repo, "../locked1")
    add(repo, "../locked2")
    add(repo, "../unlocked")
    git(repo, "worktree", "lock", "locked1")
    git(repo, "worktree", "lock", "locked2", "--reason", "with reason")
    wts = by_id(check(repo))
    assert wts["locked1"].locked and wts["locked1"].lock_reason is None
    assert wts["locked2"].locked and wts["locked2"].lock_reason == "with reason"
    assert not wts["unlocked"].locked
    assert all(not wt.problems for wt in wts.values())


def test_lock_reason_with_newlines_survives_intact(repo: Path) -> None:
    add(repo, "../locked_lf")
    add(repo, "../locked_crlf")
    git(repo, "worktree", "lock", "locked_lf", "--reason", "locked\nreason")
    git(repo, "worktree", "lock", "locked_crlf", "--reason", "locked\r\nreason")
    wts = by_id(check(repo))
    assert wts["locked_lf"].lock_reason == "locked\nreason"
    assert wts["locked_crlf"].lock_reason == "locked\r\nreason"


def test_lock_reason_trimmed_with_gits_isspace(repo: Path) -> None:
    add(repo, "../a")
    add(repo, "../b")
    # git's isspace() is space, \t, \n, \r only: \v and \f stay; non-ASCII is kept.
    (admin(repo, "a") / "locked").write_bytes(b"\v\f reason \xc3\xa9 \n\t\r\n")
    (admin(repo, "b") / "locked").write_bytes(b" \t\r\n")
    wts = by_id(check(repo))
    assert wts["a"].lock_reason == "\v\f reason \u00e9"
    assert wts["b"].locked and wts["b"].lock_reason is None


def test_prunable_annotation(repo: Path) -> None:
    gone = add(repo, "../prunable")
    add(repo, "../unprunable")
    shutil.rmtree(gone)
    wts = by_id(check(repo))
    wt = wts["prunable"]
    assert wt.prunable and wt.prunable_reason == NOT_EXISTING and wt.missing
    problem = next(p for p in wt.problems if p.code == "prunable-worktree")
    assert problem.severity is Severity.WARNING
    assert "git worktree prune" in problem.message and "lock" in problem.message
    assert "repair" in problem.message
    assert not wts["unprunable"].prunable and not wts["unprunable"].problems


def test_bare_main_with_linked_worktrees(tmp_path: Path, repo: Path) -> None:
    bare = tmp_path / "bare1.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(repo), str(bare))
    git(bare, "worktree", "add", "--quiet", "--detach", "../there", "main")
    git(bare, "worktree", "add", "--quiet", "../onmain", "main")
    wts = check(bare, bare=True)
    assert wts[0].bare and wts[0].main and wts[0].path == str(bare)
    assert wts[0].branch == "refs/heads/main"  # we read it even though git does not print it
    assert by_id(wts)["onmain"].branch == "refs/heads/main"
    ours = list_worktrees(str(bare), main_path=None, bare=True)
    assert ours[0].path == str(bare)


def test_broken_main_head_still_at_the_top(repo: Path) -> None:
    linked = add(repo, "../linked")
    (repo / ".git" / "HEAD").write_text("ref: .broken\n")
    main = check(repo, run_from=linked)[0]  # git no longer starts in the main worktree
    assert main.main and main.head is None and main.branch is None and not main.detached
    assert "broken-head" in codes(main)


# --------------------------------------------------------------------------- HEAD resolution


def test_head_states(repo: Path) -> None:
    for name in ("missing", "garbage", "unborn", "packed", "upper"):
        add(repo, f"../{name}")
    git(repo, "branch", "packedbranch")
    git(repo, "pack-refs", "--all")  # refs/heads/* now only in packed-refs
    (admin(repo, "missing") / "HEAD").unlink()
    (admin(repo, "garbage") / "HEAD").write_text("garbage\n")
    (admin(repo, "unborn") / "HEAD").write_text("ref: refs/heads/nothing-yet\n")
    (admin(repo, "packed") / "HEAD").write_text("ref:   refs/heads/packedbranch  \n")
    (admin(repo, "upper") / "HEAD").write_text(head_of(repo).upper() + " trailing words\n")
    wts = by_id(check(repo))
    assert wts["missing"].detached and wts["missing"].head is None
    assert wts["garbage"].head is None and wts["garbage"].branch is None
    assert not wts["garbage"].detached and "broken-head" in codes(wts["garbage"])
    assert wts["unborn"].branch == "refs/heads/nothing-yet" and wts["unborn"].head is None
    assert wts["packed"].branch == "refs/heads/packedbranch"
    assert wts["packed"].head == head_of(repo)
    assert wts["upper"].head == head_of(repo) and wts["upper"].detached


def test_head_loose_ref_shadows_packed(repo: Path) -> None:
    add(repo, "../wt", "-b", "topic")
    first = head_of(repo)
    git(repo, "pack-refs", "--all")
    git(repo / "../wt", "commit", "--quiet", "--allow-empty", "-m", "second")
    wt = by_id(check(repo))["wt"]
    assert wt.head != first and wt.head == git(repo, "rev-parse", "topic").strip()


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_packed_refs_search_across_chunk_boundaries(
    repo: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Enough branches that the one we want sits anywhere relative to a chunk boundary.
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "second")
    for i in range(40):
        git(repo, "branch", f"b{i:02d}", "HEAD~1" if i % 2 else "HEAD")
    git(repo, "tag", "-a", "-m", "peeled", "annotated")  # adds a ^peeled line
    git(repo, "pack-refs", "--all")
    for name in ("b00", "b17", "b39"):
        add(repo, f"../wt-{name}")
        (admin(repo, f"wt-{name}") / "HEAD").write_text(f"ref: refs/heads/{name}\n")
    monkeypatch.setattr("tui.core.worktree_head._PACKED_CHUNK", chunk)
    wts = by_id(check(repo))
    assert wts["wt-b17"].head == git(repo, "rev-parse", "b17").strip()
    assert wts["wt-b00"].head != wts["wt-b17"].head


def test_commondir_missing_means_refs_looked_up_in_admin_dir(repo: Path) -> None:
    add(repo, "../wt", "-b", "topic")
    (admin(repo, "wt") / "commondir").unlink()
    wt = by_id(check(repo))["wt"]
    assert wt.branch == "refs/heads/topic" and wt.head is None
    assert "broken-commondir" in codes(wt)


def test_sha256_repository(tmp_path: Path) -> None:
    repo = tmp_path / "r256"
    git(tmp_path, "init", "--quiet", "--object-format=sha256", "-b", "main", str(repo))
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "init")
    add(repo, "../wt256")
    wts = check(repo)
    assert len(wts[1].head or "") == 64


# --------------------------------------------------------------------------- t2401: prune reasons


def test_prune_file_inside_worktrees_dir(repo: Path) -> None:
    (repo / ".git" / "worktrees").mkdir()
    (repo / ".git" / "worktrees" / "abc").write_bytes(b"")
    wt = by_id(check(repo))["abc"]
    assert not wt.listed and wt.path == ""
    assert wt.prunable_reason == "not a valid directory"
    assert "prunable-worktree" in codes(wt)


def t2401_admin_dir(repo: Path, gitdir: bytes | None) -> Path:
    """t2401's hand-made admin dir ``worktrees/def`` (holding a directory ``abc``), with a gitdir
    file of ``gitdir`` (None: no gitdir file)."""
    admin_dir = repo / ".git" / "worktrees" / "def"
    (admin_dir / "abc").mkdir(parents=True)
    if gitdir is not None:
        (admin_dir / "gitdir").write_bytes(gitdir)
    return admin_dir


def test_prune_directory_without_gitdir(repo: Path) -> None:
    (t2401_admin_dir(repo, None) / "def").write_bytes(b"")
    wt = by_id(check(repo))["def"]
    assert not wt.listed and wt.prunable_reason == "gitdir file does not exist"


@pytest.mark.skipif(IS_ROOT, reason=ROOT_SKIP)
def test_prune_unreadable_gitdir(repo: Path) -> None:
    gitdir = t2401_admin_dir(repo, b"") / "gitdir"
    gitdir.chmod(0)
    try:
        wt = by_id(check(repo))["def"]
    finally:
        gitdir.chmod(0o644)
    assert wt.prunable_reason == "unable to read gitdir file (Permission denied)"
    assert "unreadable" in codes(wt)


def test_prune_gitdir_that_cannot_be_read_even_by_root(repo: Path) -> None:
    # A directory stats fine and opens fine, but read() fails with EISDIR: works as root too.
    add(repo, "../wt")
    gitdir = admin(repo, "wt") / "gitdir"
    gitdir.unlink()
    gitdir.mkdir()
    wt = by_id(check(repo))["wt"]
    assert not wt.listed
    assert wt.prunable_reason == "unable to read gitdir file (Is a directory)"
    assert "unreadable" in codes(wt)


def test_prune_invalid_gitdir(repo: Path) -> None:
    t2401_admin_dir(repo, b"")
    wt = by_id(check(repo))["def"]
    assert not wt.listed and wt.prunable_reason == "invalid gitdir file"


def test_prune_gitdir_pointing_to_nowhere(repo: Path) -> None:
    t2401_admin_dir(repo, f"{repo}/nowhere\n".encode())
    wt = by_id(check(repo))["def"]
    assert wt.listed and wt.path == f"{repo}/nowhere" and wt.missing
    assert wt.prunable_reason == NOT_EXISTING


def test_short_read(repo: Path) -> None:
    sysfs = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not sysfs.exists() or sysfs.stat().st_size == len(sysfs.read_bytes()):
        pytest.skip("needs a sysfs file whose size lies (st_size 4096, fewer bytes readable)")
    add(repo, "../wt")
    gitdir = admin(repo, "wt") / "gitdir"
    gitdir.unlink()
    gitdir.symlink_to(sysfs)
    ours = list_worktrees(str(common_dir(repo)), main_path=None, bare=False)
    size, content = sysfs.stat().st_size, sysfs.read_bytes()
    reason = f"short read (expected {size} bytes, read {len(content)})"
    assert by_id(ours)["wt"].prunable_reason == reason
    # git 2.39 prints the (relative, nonsense) gitdir content as the path; we resolve relative
    # contents against the admin dir like git 2.48+, so compare everything but the path.
    assert [e.prunable_reason for e in worktree_list(repo)] == [None, reason]
    assert prune_view(ours) == prune_dry_run(repo) == {"wt": reason}


def test_gitdir_trailing_space_lists_fine_but_is_prunable(repo: Path) -> None:
    # Listing rtrims all whitespace; prune only strips CR/LF and looks for ".git " on disk.
    path = add(repo, "../wt")
    (admin(repo, "wt") / "gitdir").write_text(f"{path}/.git \n")
    wt = by_id(check(repo))["wt"]
    assert wt.path == str(path) and not wt.missing
    assert wt.prunable_reason == NOT_EXISTING


def test_gitdir_without_dotgit_suffix(repo: Path) -> None:
    path = add(repo, "../wt")
    (admin(repo, "wt") / "gitdir").write_text(f"{path}\n")
    wt = by_id(check(repo))["wt"]
    assert wt.path == str(path) and not wt.prunable


def test_locked_is_never_prunable(repo: Path) -> None:
    (repo / ".git" / "worktrees" / "ghi").mkdir(parents=True)
    (repo / ".git" / "worktrees" / "ghi" / "locked").write_bytes(b"")
    gone = add(repo, "../gone")
    git(repo, "worktree", "lock", "--reason", "on nfs", str(gone))
    shutil.rmtree(gone)
    wts = by_id(check(repo))
    assert wts["ghi"].locked and not wts["ghi"].prunable and not wts["ghi"].listed
    assert "unlisted-worktree" in codes(wts["ghi"])
    locked_gone = wts["gone"]
    assert locked_gone.missing and locked_gone.locked and not locked_gone.prunable
    problem = next(p for p in locked_gone.problems if p.code == "missing-worktree")
    assert problem.severity is Severity.INFO
    assert "locked" in problem.message and "on nfs" in problem.message


def test_recent_checkouts_honour_expire(repo: Path) -> None:
    gone = add(repo, "../jlm")
    shutil.rmtree(gone)
    index = admin(repo, "jlm") / "index"
    stamp = 1_700_000_000
    os.utime(index, (stamp, stamp))
    assert not by_id(check(repo, expire=stamp - 1))["jlm"].prunable  # index newer: kept
    assert by_id(check(repo, expire=stamp))["jlm"].prunable  # mtime <= expire: prunable
    assert by_id(check(repo))["jlm"].prunable  # default: TIME_MAX, as git worktree list
    kept = by_id(list_worktrees(str(common_dir(repo)), main_path=None, bare=False,
                                expire=stamp - 1, now=stamp + 60))["jlm"]
    problem = next(p for p in kept.problems if p.code == "missing-worktree")
    assert problem.severity is Severity.WARNING and "60 s ago" in problem.message
    index.unlink()  # no index: prunable whatever the expiry
    assert by_id(check(repo, expire=0))["jlm"].prunable


def test_proper_checkouts_are_not_prunable(repo: Path) -> None:
    add(repo, repo.parent / "nop")
    wts = check(repo)
    assert not any(wt.prunable or wt.problems for wt in wts)


def test_duplicate_linked_linked(repo: Path) -> None:
    add(repo, "../w1")
    add(repo, "../w2")
    gitdir = admin(repo, "w2") / "gitdir"
    gitdir.write_text(gitdir.read_text().replace("w2", "w1"))
    wts = by_id(check(repo))
    assert "duplicate-worktree" in codes(wts["w2"])
    assert "duplicate-worktree" not in codes(wts["w1"])
    assert wts["w1"].path == wts["w2"].path


def test_duplicate_main_linked(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    git(tmp_path, "init", "--quiet", "-b", "main", str(repo))
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "x")
    add(repo, "../wt")
    shutil.rmtree(tmp_path / "wt")
    repo.rename(tmp_path / "wt")
    wt = by_id(check(tmp_path / "wt"))["wt"]
    assert "duplicate-worktree" in codes(wt) and "main worktree" in next(
        p.message for p in wt.problems if p.code == "duplicate-worktree"
    )


def test_locked_duplicates_are_kept(repo: Path) -> None:
    add(repo, "../w1")
    add(repo, "../w2")
    gitdir = admin(repo, "w2") / "gitdir"
    gitdir.write_text(gitdir.read_text().replace("w2", "w1"))
    # Both now claim path w1, so `git worktree lock w1` is ambiguous: lock by hand.
    (admin(repo, "w1") / "locked").write_text("")  # should_prune returns before reading gitdir
    wts = by_id(check(repo))
    assert not any("duplicate-worktree" in codes(wt) for wt in wts.values())


# --------------------------------------------------------------------------- t2406: moved, repaired


def test_worktree_moved_by_hand_then_repaired(repo: Path) -> None:
    old = add(repo, "../wt")
    new = old.parent / "moved"
    old.rename(new)
    wt = by_id(check(repo))["wt"]
    assert wt.missing and wt.prunable and wt.path == str(old)
    assert "repair" in next(p.message for p in wt.problems if p.code == "prunable-worktree")
    git(repo, "worktree", "repair", str(new))
    wt = by_id(check(repo))["wt"]
    assert wt.path == str(new) and not wt.problems


def test_worktree_moved_with_git(repo: Path) -> None:
    old = add(repo, "../wt")
    git(repo, "worktree", "move", str(old), str(old.parent / "elsewhere"))
    wt = by_id(check(repo))["wt"]
    assert wt.path == str(old.parent / "elsewhere") and not wt.problems


def test_main_repo_moved_breaks_backlinks(tmp_path: Path, repo: Path) -> None:
    add(repo, "../wt")
    moved = tmp_path / "moved-repo"
    repo.rename(moved)
    wt = by_id(check(moved))["wt"]
    assert not wt.prunable  # the worktree and its .git file are still there
    assert "broken-worktree-gitfile" in codes(wt)  # but it points to the old repo location


# --------------------------------------------------------------------------- .git file checks


def test_deleted_dotgit_file(repo: Path) -> None:
    path = add(repo, "../wt")
    (path / ".git").unlink()
    wt = by_id(check(repo))["wt"]
    assert not wt.missing and wt.prunable and wt.prunable_reason == NOT_EXISTING
    assert {"prunable-worktree", "broken-worktree-gitfile"} <= codes(wt)
    assert "git worktree repair" in " ".join(p.message for p in wt.problems)


def test_dotgit_pointing_elsewhere(repo: Path) -> None:
    path = add(repo, "../wt")
    add(repo, "../other")
    (path / ".git").write_text(f"gitdir: {admin(repo, 'other')}\n")
    wt = by_id(check(repo))["wt"]
    assert not wt.prunable and codes(wt) == {"broken-worktree-gitfile"}


def test_dotgit_is_a_directory_or_not_a_gitfile(repo: Path) -> None:
    a = add(repo, "../a")
    b = add(repo, "../b")
    (a / ".git").unlink()
    (a / ".git").mkdir()
    (b / ".git").write_text("not a gitfile\n")
    wts = by_id(check(repo))
    assert codes(wts["a"]) == {"broken-worktree-gitfile"}
    assert codes(wts["b"]) == {"broken-worktree-gitfile"}


def test_relative_gitdir_and_dotgit_paths_with_relative_worktrees_extension(repo: Path) -> None:
    # git >= 2.48 (worktree.useRelativePaths) writes these, and always sets
    # extensions.relativeWorktrees with them: resolve against worktrees/<id>/ as that git does.
    path = add(repo, "../wt")
    admin_dir = admin(repo, "wt")
    git(repo, "config", "core.repositoryformatversion", "1")
    git(repo, "config", "extensions.relativeWorktrees", "true")
    rel = os.path.relpath(path / ".git", admin_dir)
    (admin_dir / "gitdir").write_text(rel + "\n")
    (path / ".git").write_text(f"gitdir: {os.path.relpath(admin_dir, path)}\n")
    wt = by_id(list_worktrees(str(repo / ".git"), main_path=None, bare=False))["wt"]
    assert wt.path == str(path) and not wt.prunable and not wt.missing and not wt.problems
    # git 2.39 refuses to open such a repository at all: no cross-check here.
    assert run_git(repo, "worktree", "list").returncode != 0


def test_relative_gitdir_without_the_extension_follows_git_2_39(repo: Path) -> None:
    # git 2.39 hands a relative gitdir to file_exists() as it is: relative to where git runs
    # (the main worktree for `git -C REPO`), not to the admin dir.
    path = add(repo, "../wt")
    rel = os.path.relpath(path / ".git", admin(repo, "wt"))  # right from the admin dir only
    (admin(repo, "wt") / "gitdir").write_text(rel + "\n")
    wt = by_id(list_worktrees(str(common_dir(repo)), main_path=str(repo), bare=False))["wt"]
    assert wt.prunable_reason == NOT_EXISTING
    assert prune_dry_run(repo) == {"wt": NOT_EXISTING}
    # Deliberate difference: git lists the raw text, we the path git looked at.
    assert [e.path for e in worktree_list(repo)][1] == rel.removesuffix("/.git")
    assert wt.path == os.path.realpath(repo / rel.removesuffix("/.git"))


# --------------------------------------------------------------------------- never raise


def test_worktrees_dir_vanished_before_scan(repo: Path) -> None:
    add(repo, "../wt")
    shutil.rmtree(repo / ".git" / "worktrees")
    wts = check(repo)
    assert len(wts) == 1 and not wts[0].problems


def test_worktrees_dir_vanishing_mid_scan(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add(repo, "../a")
    add(repo, "../b")
    real_listdir = os.listdir

    def listdir_then_vanish(path):  # the directory goes away right after it was listed
        names = real_listdir(path)
        if str(path).endswith("worktrees"):
            shutil.rmtree(path)
        return names

    monkeypatch.setattr(os, "listdir", listdir_then_vanish)
    # The full listing alone: the directory is gone after it, a second (lean) listing sees none.
    wts = full_listing(str(common_dir(repo)), main_path=None, bare=False)
    # What git itself would say at that instant: the admin dirs are not valid directories.
    assert {wt.id: wt.prunable_reason for wt in wts[1:]} == {
        "a": "not a valid directory",
        "b": "not a valid directory",
    }


def test_worktrees_dir_symlink_loop(repo: Path) -> None:
    add(repo, "../wt")
    worktrees = repo / ".git" / "worktrees"
    shutil.rmtree(worktrees)
    worktrees.symlink_to("worktrees")  # ELOOP: unreadable even for root
    wts = check(repo)  # git quietly lists only the main worktree
    assert len(wts) == 1
    problem = next(p for p in wts[0].problems if p.code == "unreadable")
    assert "Too many levels of symbolic links" in problem.message


@pytest.mark.skipif(IS_ROOT, reason=ROOT_SKIP)
def test_worktrees_dir_unreadable(repo: Path) -> None:
    add(repo, "../wt")
    worktrees = repo / ".git" / "worktrees"
    worktrees.chmod(0)
    try:
        wts = list_worktrees(str(common_dir(repo)), main_path=None, bare=False)
    finally:
        worktrees.chmod(0o755)
    assert len(wts) == 1 and "unreadable" in codes(wts[0])


def test_unreadable_lock_file_still_means_locked(repo: Path) -> None:
    add(repo, "../wt")
    (admin(repo, "wt") / "locked").mkdir()  # exists, but read() fails (git dies here)
    wt = by_id(list_worktrees(str(common_dir(repo)), main_path=None, bare=False))["wt"]
    assert wt.locked and wt.lock_reason is None and not wt.prunable
    assert "unreadable" in codes(wt)


def test_fifo_and_nul_bytes_do_not_hang_or_raise(repo: Path) -> None:
    add(repo, "../fifo")
    add(repo, "../nul")
    gitdir = admin(repo, "fifo") / "gitdir"
    gitdir.unlink()
    os.mkfifo(gitdir)  # git itself would block forever here: no git cross-check
    (admin(repo, "nul") / "gitdir").write_bytes(b"/nowhere\0/x/.git\n")
    (admin(repo, "nul") / "HEAD").write_bytes(b"ref: refs/heads/\0x\n")
    wts = by_id(list_worktrees(str(common_dir(repo)), main_path=None, bare=False))
    assert not wts["fifo"].listed and wts["fifo"].prunable_reason == "invalid gitdir file"
    assert wts["nul"].path == "/nowhere" and wts["nul"].prunable_reason == NOT_EXISTING


def test_missing_common_dir(tmp_path: Path) -> None:
    wts = list_worktrees(str(tmp_path / "nothing"), main_path=str(tmp_path / "nothing"), bare=True)
    assert len(wts) == 1 and wts[0].missing and wts[0].head is None


# --------------------------------------------------------------------------- git-sync


@pytest.fixture
def sync_root(tmp_path: Path) -> tuple[Path, list[str]]:
    """A root laid out like git-sync v4: repo at root, .worktrees/<sha>, relative link."""
    root = tmp_path / "git"
    git(tmp_path, "init", "--quiet", "-b", "git-sync", str(root))
    git(root, "commit", "--quiet", "--allow-empty", "-m", "one")
    first = head_of(root)
    git(root, "commit", "--quiet", "--allow-empty", "-m", "two")
    second = head_of(root)
    for sha in (first, second):
        git(root, "worktree", "add", "--quiet", "--force", "--detach", f".worktrees/{sha}", sha)
        # configureWorktree(): a relative gitdir so the volume can be mounted elsewhere
        (root / ".worktrees" / sha / ".git").write_text(f"gitdir: ../../.git/worktrees/{sha}\n")
    (root / "current").symlink_to(f".worktrees/{second}")
    return root, [first, second]


def test_git_sync_root_current_worktree(sync_root: tuple[Path, list[str]]) -> None:
    root, (first, second) = sync_root
    wts = check(root)
    assert all(not wt.problems for wt in wts)
    assert is_git_sync_root(str(root))
    link, target, problems = git_sync_view(str(root), wts)
    assert link == str(root / "current")
    assert target == str(root / ".worktrees" / second)
    assert problems == []
    current = [wt.id for wt in wts if wt.current]
    assert current == [second]
    assert by_id(wts)[second].head == second and by_id(wts)[second].detached


def test_git_sync_link_to_missing_worktree(sync_root: tuple[Path, list[str]]) -> None:
    root, (_, second) = sync_root
    shutil.rmtree(root / ".worktrees" / second)
    wts = check(root)
    _, target, problems = git_sync_view(str(root), wts)
    assert target == str(root / ".worktrees" / second)
    missing = [p for p in problems if p.code == "link-to-missing-worktree"]
    assert len(missing) == 1 and missing[0].severity is Severity.ERROR


def test_git_sync_stray_entries(sync_root: tuple[Path, list[str]]) -> None:
    root, _ = sync_root
    (root / ".worktrees" / "leftover.txt").write_text("x")
    (root / ".worktrees" / "half-made").mkdir()
    wts = check(root)
    _, _, problems = git_sync_view(str(root), wts)
    stray = {p.subject: p.severity for p in problems if p.code == "stray-worktree-entry"}
    assert stray == {"leftover.txt": Severity.INFO, "half-made": Severity.WARNING}


def test_git_sync_served_worktree_unknown_to_git(sync_root: tuple[Path, list[str]]) -> None:
    root, (_, second) = sync_root
    shutil.rmtree(root / ".git" / "worktrees" / second)
    wts = check(root)
    _, _, problems = git_sync_view(str(root), wts)
    assert [p.code for p in problems] == ["link-to-unregistered-worktree"]
    assert not any(wt.current for wt in wts)


def test_git_sync_volume_mounted_elsewhere(
    tmp_path: Path, sync_root: tuple[Path, list[str]]
) -> None:
    root, (_, second) = sync_root
    mounted = tmp_path / "host-view"
    root.rename(mounted)  # same volume, another mount path: admin gitdir files point nowhere
    wts = check(mounted)
    assert all(wt.prunable for wt in wts[1:])
    link, _, problems = git_sync_view(str(mounted), wts)
    assert link == str(mounted / "current")
    assert by_id(wts)[second].current
    assert {p.code for p in problems} == {"worktree-path-mismatch"}
    assert all("do not run `git worktree prune`" in p.message for p in problems)


def test_git_sync_current_worktree_prunable(sync_root: tuple[Path, list[str]]) -> None:
    root, (_, second) = sync_root
    (root / ".worktrees" / second / ".git").unlink()
    wts = check(root)
    _, _, problems = git_sync_view(str(root), wts)
    assert any(p.code == "current-worktree-prunable" and p.severity is Severity.ERROR
               for p in problems)


def test_git_sync_tmp_link_and_no_link(sync_root: tuple[Path, list[str]]) -> None:
    root, (first, _) = sync_root
    (root / "current").unlink()
    (root / "tmp-link").symlink_to(f".worktrees/{first}")
    wts = check(root)
    link, target, problems = git_sync_view(str(root), wts)
    assert (link, target) == (None, None)
    assert {p.code for p in problems} == {"stale-tmp-link", "no-sync-link"}
    assert is_git_sync_root(str(root))


def test_not_git_sync_roots(tmp_path: Path, repo: Path) -> None:
    assert not is_git_sync_root(str(repo))
    assert not is_git_sync_root(str(tmp_path / "does-not-exist"))
    (repo / ".worktrees" / "notes").mkdir(parents=True)
    assert not is_git_sync_root(str(repo))
    link, target, problems = git_sync_view(str(repo), list_worktrees(
        str(repo / ".git"), main_path=None, bare=False))
    assert (link, target) == (None, None)
    assert {p.code for p in problems} == {"stray-worktree-entry", "no-sync-link"}


# --------------------------------------------------------------------------- property: vs git

GITDIR_STATES = ["ok", "ok-no-newline", "trailing-space", "no-suffix", "empty", "absent",
                 "directory", "same-as-previous", "main", "nowhere", "nul-junk"]
TREE_STATES = ["present", "no-dotgit", "absent"]
LOCK_STATES = [None, "", " reason ", "a\nb", "\tx\r\n", "\u00e9\v"]
HEAD_STATES = ["detached", "main", "unborn", "garbage", "absent", "nul-main", "nul-detached"]
INDEX_STATES = ["absent", "older", "equal", "newer"]
EXPIRE = 1_700_000_000

worktree_state = st.tuples(
    st.sampled_from(GITDIR_STATES),
    st.sampled_from(TREE_STATES),
    st.sampled_from(LOCK_STATES),
    st.sampled_from(HEAD_STATES),
    st.sampled_from(INDEX_STATES),
    st.booleans(),  # commondir file present
)


@pytest.fixture(scope="module")
def property_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("property")
    repo = base / "repo"
    git(base, "init", "--quiet", "-b", "main", str(repo))
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "init")
    return repo, head_of(repo)


def build_worktree(
    repo: Path, commit: str, index: int, state: tuple, previous: Path | None
) -> Path:
    """Write one worktree's admin dir and tree by hand, in the given state."""
    gitdir_state, tree_state, lock, head, index_state, has_commondir = state
    wt_id = f"w{index}"
    tree = repo.parent / "trees" / wt_id
    admin_dir = repo / ".git" / "worktrees" / wt_id
    admin_dir.mkdir(parents=True)
    dotgit = tree / ".git"
    gitdir = admin_dir / "gitdir"
    contents = {
        "ok": f"{dotgit}\n",
        "ok-no-newline": f"{dotgit}",
        "trailing-space": f"{dotgit} \n",
        "no-suffix": f"{tree}\n",
        "empty": "",
        "same-as-previous": f"{previous or dotgit}\n",
        "main": f"{repo / '.git'}\n",
        "nowhere": f"{repo.parent / 'nowhere' / '.git'}\n",
        "nul-junk": f"{dotgit}\0junk\n",  # C code stops at the NUL
    }
    if gitdir_state == "directory":
        gitdir.mkdir()
    elif gitdir_state != "absent":
        gitdir.write_text(contents[gitdir_state])
    if tree_state != "absent":
        tree.mkdir(parents=True)
        if tree_state == "present":
            dotgit.write_text(f"gitdir: {admin_dir}\n")
    if lock is not None:
        (admin_dir / "locked").write_text(lock)
    heads = {
        "detached": commit + "\n",
        "main": "ref: refs/heads/main\n",
        "unborn": "ref: refs/heads/unborn\n",
        "garbage": "nonsense\n",
        "nul-main": "ref: refs/heads/main\0junk\n",
        "nul-detached": commit + "\0junk\n",
    }
    if head in heads:
        (admin_dir / "HEAD").write_text(heads[head])
    if has_commondir:
        (admin_dir / "commondir").write_text("../..\n")
    if index_state != "absent":
        (admin_dir / "index").write_bytes(b"")
        mtime = EXPIRE + {"older": -1, "equal": 0, "newer": 1}[index_state]
        os.utime(admin_dir / "index", (mtime, mtime))
    return dotgit


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(states=st.lists(worktree_state, max_size=4), use_expire=st.booleans())
def test_random_worktrees_agree_with_git(
    property_repo: tuple[Path, str], states: list, use_expire: bool
) -> None:
    repo, commit = property_repo
    shutil.rmtree(repo / ".git" / "worktrees", ignore_errors=True)
    shutil.rmtree(repo.parent / "trees", ignore_errors=True)
    previous = None
    for index, state in enumerate(states):
        previous = build_worktree(repo, commit, index, state, previous)
    check(repo, expire=EXPIRE if use_expire else None)


def test_scan_is_fast_and_read_only(repo: Path) -> None:
    for i in range(30):
        add(repo, f"../wt{i}")
    before = {p: p.stat().st_mtime_ns for p in (repo / ".git").rglob("*")}
    started = time.perf_counter()
    wts = list_worktrees(str(common_dir(repo)), main_path=None, bare=False)
    assert time.perf_counter() - started < 2.0  # generous: shared CI machines
    assert len(wts) == 31
    after = {p: p.stat().st_mtime_ns for p in (repo / ".git").rglob("*")}
    assert before == after
