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


def _walk_as_data(walk):
    return (
        {name: (r.value, r.symbolic_target, r.broken_reason) for name, r in walk.refs.items()},
        sorted(walk.lock_files), sorted(walk.empty_dirs), sorted(walk.errors),
    )


@pytest.fixture
def messy_repo(repo):
    """Loose refs of every kind: plain, symbolic, broken, a lock file, an empty directory."""
    path, commits = repo
    for i in range(40):
        git(path, "update-ref", f"refs/changes/{i:02d}/10{i:02d}/1", commits[i % 6])
    git(path, "pack-refs", "--all")
    for i in range(0, 40, 3):
        write_loose(path, f"refs/changes/{i:02d}/10{i:02d}/1", commits[(i + 1) % 6])
    git(path, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    write_loose(path, "refs/heads/broken", b"")
    write_loose(path, "refs/heads/busy.lock", commits[0])
    (path / "refs/empty/dir").mkdir(parents=True)
    return path, commits


def test_loose_walk_in_a_child_process_matches_the_walk_here(messy_repo):
    from tui.core.loose import start_loose_walk_in_child, walk_loose_refs

    path, _ = messy_repo
    in_child = start_loose_walk_in_child(str(path))()
    assert _walk_as_data(in_child) == _walk_as_data(walk_loose_refs(str(path)))
    assert in_child.refs["refs/heads/broken"].broken_reason and in_child.lock_files


def test_forked_snapshot_gives_the_same_refs_as_git(messy_repo, monkeypatch):
    from tui.core import refstore

    path, _ = messy_repo
    monkeypatch.setattr(refstore, "FORK_WALK_MIN_PACKED_BYTES", 0)  # this small repo forks too
    forked = refstore.load_snapshot(str(path), may_fork=True)
    judge_shadows(forked)
    here = refstore.load_snapshot(str(path))
    judge_shadows(here)
    assert _walk_as_data(forked.loose) == _walk_as_data(here.loose)
    listed = {r.name: r.value for r in iter_refs(forked, include_head=False) if r.value}
    assert listed == for_each_ref(path)
    assert forked.verdicts == here.verdicts and Verdict.DEAD_PACKED in forked.verdicts.values()


def test_loose_refs_are_read_only_after_packed_refs_is_in_memory(repo):
    """git pack-refs renames packed-refs into place, then deletes the loose files: a reader that
    took its packed-refs bytes before looking at loose files never misses a ref."""
    from tui.core.packed import read_packed_refs

    path, commits = repo
    git(path, "pack-refs", "--all")
    original_size = (path / "packed-refs").stat().st_size
    git(path, "update-ref", "refs/heads/moving", commits[1])
    seen = []

    def concurrent_pack_refs(size: int) -> None:
        seen.append(size)
        git(path, "pack-refs", "--all")  # moves refs/heads/moving into packed-refs now

    before = read_packed_refs(str(path), after_read=concurrent_pack_refs)
    assert seen == [original_size]  # called once, with the bytes already read
    assert "refs/heads/moving" not in before and before.get("refs/heads/main") == commits[-1]
    assert not (path / "refs/heads/moving").exists()  # the concurrent pack-refs did run
    after = read_packed_refs(str(path), after_read=seen.append)
    assert after.get("refs/heads/moving") == commits[1] and seen[-1] > original_size
