"""The first rows of a listing known before the loose refs are walked in full (the Refs tab
shows them while the rest is read): the same refs, values and order as the full read and git."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import commit_chain, for_each_ref, git, init_bare, write_loose

from tui.core import packed_check
from tui.core.loose import walk_loose_refs
from tui.core.packed import bytes_key, parse_packed_refs, read_packed_refs
from tui.core.refstore import iter_refs, leading_refs, read_snapshot, ref_names

@pytest.fixture(scope="module")
def gerrit_like(tmp_path_factory) -> tuple[Path, list[str]]:
    """Packed changes with loose refs among them: loose-only, loose over packed (stale and
    identical), a loose symbolic ref whose target lies far beyond, and HEAD on a loose branch
    whose packed value is older."""
    path = init_bare(tmp_path_factory.mktemp("leading") / "project.git")
    commits = commit_chain(path, 4)
    lines = [f"update refs/changes/{i % 7:02d}/{i}/{p} {commits[p % 4]}\n" for i in range(1, 60) for p in (1, 2)]
    lines += [f"update refs/heads/{name} {commits[1]}\n" for name in ("a/b", "a0", "zz")]
    git(path, "update-ref", "--stdin", input="".join(lines).encode())
    for i in range(6):  # peeled (^) lines in packed-refs
        git(path, "tag", "-a", "-m", "t", f"v{i}", commits[i % 4])
    git(path, "pack-refs", "--all")
    write_loose(path, "refs/changes/00/14/3", commits[3])  # loose only, among the first rows
    write_loose(path, "refs/changes/00/21/1", commits[0])  # loose over packed
    write_loose(path, "refs/changes/00/28/1", commits[28 % 4])  # the same value loose and packed
    write_loose(path, "refs/changes/00/35/meta", "ref: refs/heads/zz")  # symbolic, target far beyond
    write_loose(path, "refs/heads/zz", commits[3])  # loose over packed: the target's loose value wins
    write_loose(path, "refs/heads/main", commits[2])  # HEAD's branch, loose over packed
    write_loose(path, "refs/changes/03/1000/1", commits[0])  # loose only, beyond the first rows
    return path, commits


@pytest.mark.parametrize("count", [1, 3, 5, 9, 20, 40])
def test_leading_refs_are_the_start_of_the_full_listing(gerrit_like, count):
    path, _ = gerrit_like
    full = list(iter_refs(read_snapshot(str(path))))
    packed = read_packed_refs(str(path))
    leading = leading_refs(str(path), packed, 40, count)
    assert leading is not None
    assert leading == full[: len(leading)]
    # Every name up to the count-th packed one: the loose-only ones among them too.
    cutoff = sorted((n for n in for_each_ref(path) if n in packed), key=bytes_key)[count - 1]
    assert [ref.name for ref in leading] == ["HEAD"] + [n for n in sorted(for_each_ref(path), key=bytes_key) if bytes_key(n) <= bytes_key(cutoff)]


def test_leading_refs_agree_with_git(gerrit_like):
    path, commits = gerrit_like
    leading = leading_refs(str(path), read_packed_refs(str(path)), 40, 20)
    by_name = {ref.name: ref for ref in leading}
    expected = for_each_ref(path)
    assert list(by_name)[1:] == [n for n in expected if n in by_name]  # git's order
    assert {n: r.value for n, r in by_name.items() if n != "HEAD"} == {n: expected[n] for n in by_name if n != "HEAD"}
    assert by_name["HEAD"].value == git(path, "rev-parse", "HEAD").strip() == commits[2]
    assert by_name["refs/changes/00/14/3"].source.value == "loose"
    assert by_name["refs/changes/00/21/1"].source.value == "both"
    # Resolved through the target's loose file, read although it lies beyond the first rows.
    assert by_name["refs/changes/00/35/meta"].value == commits[3] == git(path, "rev-parse", "refs/changes/00/35/meta").strip()


def test_no_leading_refs_from_a_file_that_is_not_canonical(tmp_path):
    path = init_bare(tmp_path / "r.git")
    head = commit_chain(path, 1)[0]
    (path / "packed-refs").write_text(f"{head} refs/heads/b\n{head} refs/heads/a\n")  # no header, unsorted
    assert leading_refs(str(path), read_packed_refs(str(path)), 40, 1) is None
    assert read_packed_refs(str(path)).ordered_names() is None


def test_no_leading_refs_when_fewer_packed_than_asked(gerrit_like):
    path, _ = gerrit_like
    packed = read_packed_refs(str(path))
    assert leading_refs(str(path), packed, 40, len(packed) + 1) is None


def test_ordered_names_are_the_packed_names_in_byte_order(gerrit_like):
    path, _ = gerrit_like
    packed = read_packed_refs(str(path))
    names = packed.ordered_names()
    assert names == sorted(names, key=bytes_key) and packed.ordered_names(5) == names[:5]
    assert set(names) == set(read_packed_refs(str(path)).values)
    assert len(names) == len(packed)


def test_ref_names_from_the_sorted_file_equal_those_from_the_dict(gerrit_like):
    path, _ = gerrit_like
    fast = ref_names(read_snapshot(str(path)))  # packed-refs kept as bytes: its own order
    snapshot = read_snapshot(str(path))
    snapshot.packed.values  # noqa: B018  the dict is built: names come from it, sorted
    assert fast == ref_names(snapshot) == sorted(for_each_ref(path), key=bytes_key)
    assert ref_names(read_snapshot(str(path)), prefix="refs/heads/") == ref_names(snapshot, prefix="refs/heads/")


@pytest.mark.parametrize(
    "first, last",
    [
        ("", "refs/heads/a-b"),
        ("", "refs/heads/a/b"),
        ("refs/heads/a.b", "refs/heads/a/c"),
        ("refs/heads/a/", "refs/heads/a0"),
        ("refs/heads/a", "refs/heads/a"),
        ("refs/heads/é", "refs/heads/é"),
        ("refs/heads/b", "refs/heads/z"),
    ],
)
def test_a_walk_between_two_names_finds_what_the_full_walk_finds_there(tmp_path, first, last):
    """Names whose byte order differs from a walk of the directories: "-" (0x2d) and "."
    (0x2e) sort before "/" (0x2f), "0" right after it; "é" is two bytes above 0x7f."""
    path = init_bare(tmp_path / "r.git")
    head = commit_chain(path, 1)[0]
    for name in ("refs/heads/a-b", "refs/heads/a.b", "refs/heads/a/b", "refs/heads/a/c", "refs/heads/a0", "refs/heads/é"):
        write_loose(path, name, head)
    full = walk_loose_refs(str(path))
    part = walk_loose_refs(str(path), between=(first, last))
    low, high = bytes_key(first), bytes_key(last)
    assert part.refs == {n: r for n, r in full.refs.items() if low <= bytes_key(n) <= high}


def test_validation_in_slices_gives_the_same_answers(gerrit_like, monkeypatch):
    path, _ = gerrit_like
    data = (path / "packed-refs").read_bytes()
    whole = read_packed_refs(str(path))
    monkeypatch.setattr(packed_check, "MATCH_SLICE_BYTES", 100)  # slices end next to ^ lines
    sliced = read_packed_refs(str(path))
    assert sliced.ordered_names() == whole.ordered_names() and not sliced.anomalies
    assert dict(sliced.peeled) == dict(whole.peeled)
    # A bad line far into the file: the same anomaly, the same names kept, whole or in slices.
    broken = data.replace(b"refs/changes/05/40/1\n", b"refs/changes/05/40/1 \n")
    assert broken != data
    sliced = parse_packed_refs(broken)
    monkeypatch.undo()
    whole = parse_packed_refs(broken)
    assert sliced.anomalies and [str(a) for a in sliced.anomalies] == [str(a) for a in whole.anomalies]
    names = whole.ordered_names()
    assert sliced.ordered_names() == names and "refs/changes/05/40/1 " not in names
    assert names == sorted(whole.values, key=bytes_key)
