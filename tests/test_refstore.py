"""Refs by storage source, cross-checked with git on the same repositories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gitrepo import commit_chain, for_each_ref, git, init_bare, rev_parse, write_loose

from tui.core.model import Source, Verdict
from tui.core.refstore import iter_refs, judge_shadows, read_snapshot


def refs_by_name(repo: Path, **kwargs):
    snapshot = read_snapshot(str(repo))
    judge_shadows(snapshot)
    return snapshot, {ref.name: ref for ref in iter_refs(snapshot, **kwargs)}


@pytest.fixture
def repo(tmp_path) -> tuple[Path, list[str]]:
    path = init_bare(tmp_path / "r.git")
    commits = commit_chain(path, 6)
    return path, commits


def test_values_and_sources_match_git(repo):
    path, commits = repo
    git(path, "branch", "b1", commits[1])
    git(path, "tag", "t1", commits[2])
    git(path, "tag", "-a", "-m", "annotated", "t2", commits[3])
    git(path, "pack-refs", "--all")
    git(path, "update-ref", "refs/heads/b1", commits[4])  # loose over packed: dead-packed
    git(path, "update-ref", "refs/heads/new", commits[5])  # loose only
    _, refs = refs_by_name(path)
    expected = for_each_ref(path)
    assert {n: r.value for n, r in refs.items() if n != "HEAD"} == expected
    assert refs["refs/heads/b1"].source is Source.BOTH
    assert refs["refs/heads/b1"].verdict is Verdict.DEAD_PACKED
    assert refs["refs/heads/new"].source is Source.LOOSE
    assert refs["refs/tags/t1"].source is Source.PACKED
    assert refs["refs/tags/t2"].peeled == rev_parse(path, "t2^{}")
    assert refs["HEAD"].symbolic_target == "refs/heads/main"
    assert refs["HEAD"].value == rev_parse(path, "HEAD")


def test_stale_loose_is_the_migration_incident(repo):
    """Packed descends from loose: git shows the older loose value."""
    path, commits = repo
    git(path, "update-ref", "refs/changes/01/1001/meta", commits[5])
    git(path, "pack-refs", "--all")
    write_loose(path, "refs/changes/01/1001/meta", commits[2])  # the stale copy
    _, refs = refs_by_name(path)
    ref = refs["refs/changes/01/1001/meta"]
    assert ref.source is Source.BOTH
    assert ref.verdict is Verdict.STALE_LOOSE
    assert ref.value == rev_parse(path, "refs/changes/01/1001/meta") == commits[2]
    assert ref.loose_value == commits[2] and ref.packed_value == commits[5]


def test_identical_and_diverged(repo):
    path, commits = repo
    other = commit_chain(path, 2, branch="side", message="other")
    git(path, "update-ref", "refs/heads/same", commits[3])
    git(path, "update-ref", "refs/heads/split", other[1])
    git(path, "pack-refs", "--all")
    write_loose(path, "refs/heads/same", commits[3])
    write_loose(path, "refs/heads/split", commits[4])
    _, refs = refs_by_name(path, shadowed_only=True)
    assert refs["refs/heads/same"].verdict is Verdict.IDENTICAL
    assert refs["refs/heads/split"].verdict is Verdict.DIVERGED
    assert set(refs) == {"refs/heads/same", "refs/heads/split"}


def test_broken_loose_hides_packed_value_like_git(repo):
    path, commits = repo
    git(path, "update-ref", "refs/heads/victim", commits[3])
    git(path, "pack-refs", "--all")
    write_loose(path, "refs/heads/victim", b"")  # 0-byte file, as after a crash on NFS
    write_loose(path, "refs/heads/garbage", b"not a sha\n")
    _, refs = refs_by_name(path)
    assert refs["refs/heads/victim"].verdict is Verdict.BROKEN_LOOSE
    assert refs["refs/heads/victim"].value is None
    assert "empty" in refs["refs/heads/victim"].broken_reason
    assert refs["refs/heads/garbage"].value is None
    # git does not fall back to the packed value either.
    assert rev_parse(path, "refs/heads/victim") is None
    assert "refs/heads/victim" not in for_each_ref(path)


def test_missing_object_and_undecidable(repo):
    path, commits = repo
    git(path, "tag", "-a", "-m", "one", "ta", commits[1])
    git(path, "update-ref", "refs/heads/gone", commits[2])
    git(path, "pack-refs", "--all")
    write_loose(path, "refs/heads/gone", "1" * 40)
    other_tag = git(path, "mktag", input=(
        f"object {commits[2]}\ntype commit\ntag ta\ntagger T <t@e> 1700000000 +0000\n\nother\n"
    ).encode()).strip()
    write_loose(path, "refs/tags/ta", other_tag)
    _, refs = refs_by_name(path)
    assert refs["refs/heads/gone"].verdict is Verdict.MISSING_OBJECT
    assert refs["refs/tags/ta"].verdict is Verdict.UNDECIDABLE


def test_lock_and_dot_files_are_not_refs(repo):
    path, commits = repo
    write_loose(path, "refs/heads/main.lock", commits[0])
    write_loose(path, "refs/heads/.hidden", commits[0])
    snapshot, refs = refs_by_name(path)
    assert "refs/heads/main.lock" not in refs and "refs/heads/.hidden" not in refs
    assert [p for p, _ in snapshot.loose.lock_files] == ["refs/heads/main.lock"]
    assert {n for n in refs if n != "HEAD"} == set(for_each_ref(path))


def test_loose_file_with_trailing_data_is_valid_like_git(repo):
    path, commits = repo
    write_loose(path, "refs/heads/fetchheadish", f"{commits[1]}\tbranch 'x' of somewhere\n".encode())
    write_loose(path, "refs/heads/upper", commits[2].upper())
    _, refs = refs_by_name(path)
    assert refs["refs/heads/fetchheadish"].value == rev_parse(path, "refs/heads/fetchheadish") == commits[1]
    assert refs["refs/heads/upper"].value == rev_parse(path, "refs/heads/upper") == commits[2]


def test_stale_packed_entry_covered_by_loose_is_not_an_error_t1408(repo):
    """t1408: a packed entry pointing to a missing object, covered by a valid loose ref."""
    path, commits = repo
    packed = path / "packed-refs"
    packed.write_text(f"# pack-refs with: peeled fully-peeled sorted \n{'2' * 40} refs/heads/covered\n")
    write_loose(path, "refs/heads/covered", commits[1])
    _, refs = refs_by_name(path)
    assert refs["refs/heads/covered"].value == rev_parse(path, "refs/heads/covered") == commits[1]
    assert refs["refs/heads/covered"].verdict is Verdict.MISSING_OBJECT  # flagged, but git works
    assert git(path, "for-each-ref")  # git is fine with it


def test_unicode_names_sort_bytewise_like_git(repo):
    path, commits = repo
    for name in ["refs/heads/z", "refs/heads/é", "refs/heads/Z", "refs/heads/a-b", "refs/heads/a/b", "refs/heads/ä"]:
        git(path, "update-ref", name, commits[1])
    git(path, "pack-refs", "--all")
    git(path, "update-ref", "refs/heads/ö", commits[2])
    _, refs = refs_by_name(path)
    ours = [n for n in refs if n != "HEAD"]
    theirs = git(path, "for-each-ref", "--format=%(refname)").splitlines()
    assert ours == theirs


def test_empty_directory_does_not_fool_lookups_t0600(repo):
    path, commits = repo
    git(path, "update-ref", "refs/heads/foo", commits[1])
    git(path, "pack-refs", "--all")
    (path / "refs/heads/bar/baz").mkdir(parents=True)
    snapshot, refs = refs_by_name(path)
    assert refs["refs/heads/foo"].source is Source.PACKED
    assert "refs/heads/bar/baz" in snapshot.loose.empty_dirs
    assert {n for n in refs if n != "HEAD"} == set(for_each_ref(path))


def test_per_worktree_and_symbolic_refs(repo):
    path, commits = repo
    git(path, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    git(path, "update-ref", "refs/bisect/bad", commits[2])
    _, refs = refs_by_name(path)
    assert refs["refs/heads/alias"].symbolic_target == "refs/heads/main"
    assert refs["refs/heads/alias"].value == rev_parse(path, "refs/heads/alias")
    assert refs["refs/bisect/bad"].value == commits[2]


def test_prefix_filter(repo):
    path, commits = repo
    git(path, "update-ref", "refs/changes/01/1/1", commits[1])
    git(path, "update-ref", "refs/changes/01/1/meta", commits[2])
    _, refs = refs_by_name(path, prefix="refs/changes/")
    assert set(refs) == {"refs/changes/01/1/1", "refs/changes/01/1/meta"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of their mode")
def test_unreadable_loose_file_is_broken_not_a_crash(repo):
    path, commits = repo
    write_loose(path, "refs/heads/secret", commits[1])
    os.chmod(path / "refs/heads/secret", 0)
    _, refs = refs_by_name(path)
    assert refs["refs/heads/secret"].broken_reason.startswith("unreadable")


def test_vanished_refs_directory_is_not_a_crash(repo):
    path, _ = repo
    import shutil

    shutil.rmtree(path / "refs")
    snapshot, refs = refs_by_name(path)
    assert [n for n in refs if n != "HEAD"] == []


def test_reading_never_writes(repo):
    path, commits = repo
    git(path, "pack-refs", "--all")
    write_loose(path, "refs/heads/main", commits[1])
    before = {p: p.stat().st_mtime_ns for p in path.rglob("*")}
    refs_by_name(path)
    after = {p: p.stat().st_mtime_ns for p in path.rglob("*")}
    assert before == after
    subprocess.run(["git", "fsck", "--no-progress"], cwd=path, check=True, capture_output=True)


def test_unrelated_histories_in_a_shallow_clone_are_undecidable_not_diverged(tmp_path):
    source = init_bare(tmp_path / "src.git")
    commits = commit_chain(source, 5)
    clone = tmp_path / "shallow.git"
    git(tmp_path, "clone", "--quiet", "--bare", "--depth", "1", source.as_uri(), str(clone))
    git(source, "update-ref", "refs/heads/old", commits[1])
    git(clone, "fetch", "--quiet", "--depth", "1", source.as_uri(), "refs/heads/old:refs/heads/old")
    git(clone, "pack-refs", "--all")
    write_loose(clone, "refs/heads/old", commits[4])  # history between them is cut off
    _, refs = refs_by_name(clone)
    assert refs["refs/heads/old"].verdict is Verdict.UNDECIDABLE
