"""git's own ref-storage scenarios, ported: t3210 (git 2.39's pack-refs tests; t0601 and
pack-refs-tests.sh in later git), t1409 (avoid packing refs) and t0600 (reffiles backend).

Only the scenarios that touch what gitward reads are ported: loose and packed values, shadows,
deletion of packed refs, broken loose refs, symrefs, peeled tags, directories under refs/.
Each builds the state with git, then ``agrees_with_git`` holds gitward's view of every ref
against git's: ``for-each-ref`` for the listing, ``rev-parse --verify`` for every name.
The scripts were read, not copied; the setups are ours.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from gitrepo import git, init_repo, rev_parse

from tui.core.model import Source, Verdict
from tui.core.refstore import iter_refs, judge_shadows, read_snapshot


def gitward_refs(repo: Path) -> tuple[dict, list[str]]:
    snapshot = read_snapshot(str(repo / ".git"))
    judge_shadows(snapshot)
    refs = {ref.name: ref for ref in iter_refs(snapshot)}
    return refs, [str(a) for a in snapshot.packed.anomalies]


def agrees_with_git(repo: Path) -> dict:
    """gitward's refs, after checking each against git; returns them by name."""
    refs, _ = gitward_refs(repo)
    listing = subprocess.run(
        ["git", "for-each-ref", "--format=%(objectname) %(refname)"], cwd=repo, capture_output=True
    )
    assert listing.returncode == 0, listing.stderr
    listed = dict(reversed(line.split(" ", 1)) for line in listing.stdout.decode().splitlines())
    for name, value in listed.items():
        assert name in refs and refs[name].value == value, (name, refs.get(name))
    for name, ref in refs.items():
        assert ref.value == rev_parse(repo, name), (name, ref)
        if name not in listed and name != "HEAD":
            # git's listing skips broken refs and refs to missing objects, with a warning.
            assert ref.value is None or rev_parse(repo, f"{ref.value}^{{object}}") is None, name
    return refs


@pytest.fixture
def repo(tmp_path) -> Path:
    path = init_repo(tmp_path / "t")
    git(path, "config", "core.logallrefupdates", "true")
    for message in ("Initial", "Second", "Third"):
        git(path, "commit", "-q", "--allow-empty", "-m", message)
    return path


def ids(repo: Path) -> tuple[str, str, str]:
    return tuple(rev_parse(repo, f"HEAD~{n}") for n in (2, 1, 0))  # type: ignore[return-value]


# --------------------------------------------------------------------------- t3210 / t0601


def test_t3210_loose_then_packed_then_pruned(repo):
    """show-ref works; a branch still exists when packed; --prune removes files and empty dirs."""
    c, _, _ = ids(repo)
    git(repo, "branch", "a")
    assert agrees_with_git(repo)["refs/heads/a"].source is Source.LOOSE
    git(repo, "branch", "b")
    git(repo, "pack-refs", "--all")
    (repo / ".git/refs/heads/b").unlink(missing_ok=True)  # pack-refs prunes by default since git 1.5.x
    assert agrees_with_git(repo)["refs/heads/b"].source is Source.PACKED
    git(repo, "branch", "r/s/t")
    git(repo, "pack-refs", "--all", "--prune")
    assert not (repo / ".git/refs/heads/r").exists()
    refs = agrees_with_git(repo)
    assert refs["refs/heads/r/s/t"].source is Source.PACKED


def test_t3210_branch_d_f_conflicts_and_deletions(repo):
    """g/h packed then deleted, g created; k/l, k/lm, k/l/m dance; n/o/p after prune."""
    git(repo, "branch", "g/h")
    git(repo, "pack-refs", "--all", "--prune")
    git(repo, "branch", "-d", "g/h")
    git(repo, "branch", "g")
    git(repo, "pack-refs", "--all")
    refs = agrees_with_git(repo)
    assert "refs/heads/g/h" not in refs and refs["refs/heads/g"].source is Source.PACKED
    git(repo, "update-ref", "refs/heads/g", "HEAD~1")  # a rewind, written loose over the packed value
    assert agrees_with_git(repo)["refs/heads/g"].verdict is Verdict.STALE_LOOSE  # same shape as incident 1
    git(repo, "branch", "-d", "g")
    for step in (("branch", "n/o"), ("branch", "n/op"), ("branch", "-d", "n/o"), ("branch", "n/o/p"),
                 ("branch", "-d", "n/op"), ("pack-refs", "--all", "--prune"), ("branch", "-d", "n/o/p"), ("branch", "n")):
        git(repo, *step)
    refs = agrees_with_git(repo)
    assert "refs/heads/g" not in refs and refs["refs/heads/n"].source is Source.LOOSE


def test_t3210_up_to_date_packed_ref_is_preserved(repo):
    git(repo, "branch", "q")
    git(repo, "pack-refs", "--all", "--prune")
    git(repo, "update-ref", "refs/heads/q", "refs/heads/q")
    assert agrees_with_git(repo)["refs/heads/q"].source is Source.PACKED


def test_t3210_pack_prune_and_repack(repo):
    git(repo, "tag", "foo")
    git(repo, "pack-refs", "--all", "--prune")
    before = agrees_with_git(repo)
    git(repo, "pack-refs")
    after = agrees_with_git(repo)
    assert {n: r.value for n, r in before.items()} == {n: r.value for n, r in after.items()}


def test_t3210_dangling_packed_refs(repo):
    """A packed ref to a pruned commit: git's listing skips it, rev-parse still answers."""
    git(repo, "checkout", "-q", "-b", "lamb")
    git(repo, "commit", "-q", "--allow-empty", "-m", "future garbage")
    garbage = rev_parse(repo, "HEAD")
    git(repo, "pack-refs", "--all")
    git(repo, "reset", "-q", "--hard", "HEAD^")
    git(repo, "checkout", "-q", "main")
    git(repo, "reflog", "expire", "--expire=all", "--all")
    git(repo, "prune", "--expire=all")
    refs = agrees_with_git(repo)
    # The loose file now holds the older commit; the packed entry is dangling.
    assert refs["refs/heads/lamb"].source is Source.BOTH
    assert refs["refs/heads/lamb"].packed_value == garbage
    assert refs["refs/heads/lamb"].verdict is Verdict.MISSING_OBJECT
    git(repo, "branch", "-d", "lamb")
    assert "refs/heads/lamb" not in agrees_with_git(repo)


def test_t3210_ref_directly_below_refs_and_bisect(repo):
    git(repo, "update-ref", "refs/top", "HEAD")
    git(repo, "update-ref", "refs/bisect/local", "HEAD")
    git(repo, "pack-refs", "--all", "--prune")
    refs = agrees_with_git(repo)
    assert refs["refs/top"].source is Source.PACKED
    assert refs["refs/bisect/local"].source is Source.LOOSE  # git never packs refs/bisect


def test_t3210_packed_foo_bar_baz_and_d_f_conflicts(repo):
    git(repo, "branch", "foo/bar/baz")
    git(repo, "pack-refs", "--all", "--prune")
    for name in ("foo", "foo/bar", "foo/bar/baz/extra"):
        assert subprocess.run(["git", "branch", name], cwd=repo, capture_output=True).returncode != 0
    refs = agrees_with_git(repo)
    assert refs["refs/heads/foo/bar/baz"].source is Source.PACKED
    assert not {"refs/heads/foo", "refs/heads/foo/bar"} & set(refs)


@pytest.mark.parametrize(
    "tail", [b"%s refs/zzzzz", b"bogus content\n", b"%.7s refs/zzzzz\n"],
    ids=["unterminated-line", "junk", "short-sha1"],
)
def test_t3210_rejected_packed_refs(repo, tail):
    """git dies on these files; gitward says so, and keeps the well-formed values."""
    head = rev_parse(repo, "HEAD")
    git(repo, "branch", "keep")
    git(repo, "pack-refs", "--all", "--prune")
    text = tail.replace(b"%.7s", head[:7].encode()).replace(b"%s", head.encode())
    with open(repo / ".git/packed-refs", "ab") as handle:
        handle.write(text)
    assert subprocess.run(["git", "for-each-ref"], cwd=repo, capture_output=True).returncode != 0
    refs, anomalies = gitward_refs(repo)
    assert any("git refuses" in a for a in anomalies), anomalies
    # Deliberate: git dies on the file; gitward keeps the well-formed values under the error
    # anomaly, and gives none to the bad line (an unterminated line may be a torn write).
    assert refs["refs/heads/keep"].value == head
    assert "refs/zzzzz" not in refs


def test_t3210_symlinked_packed_refs(repo):
    git(repo, "update-ref", "refs/heads/lossy", "refs/heads/main")
    git(repo, "pack-refs", "--all", "--prune")
    before = agrees_with_git(repo)
    os.rename(repo / ".git/packed-refs", repo / ".git/my-deviant-packed-refs")
    os.symlink("my-deviant-packed-refs", repo / ".git/packed-refs")
    after = agrees_with_git(repo)
    assert {n: r.value for n, r in before.items()} == {n: r.value for n, r in after.items()}
    assert any("symlink" in a for a in gitward_refs(repo)[1])


def test_t0601_packed_refs_with_broken_ref(repo):
    """No header, a ref to a missing commit: rev-parse still gives the packed value."""
    recoverable = rev_parse(repo, "HEAD~1")
    missing = "1" * 40
    os.unlink(repo / ".git/refs/heads/main")
    (repo / ".git/packed-refs").write_text(f"{missing} refs/heads/main\n{recoverable} refs/heads/other\n")
    refs = agrees_with_git(repo)
    assert refs["refs/heads/main"].value == missing and refs["HEAD"].value == missing


def test_t0601_invalid_peeled_tag_value_is_shown_as_git_stored_it(repo):
    """A tag claiming a commit but pointing at a blob. Later git (2.46) stores no '^' line for
    it; git 2.39 stores the blob as the peeled value. gitward shows what the file says."""
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"garbage\n").strip()
    tag = git(
        repo, "hash-object", "-w", "-t", "tag", "--stdin", "--literally",
        input=f"object {blob}\ntype commit\ntag bad-tag\ntagger C O Mitter <c@example.com> 1112354055 +0200\n\nannotated\n".encode(),
    ).strip()
    git(repo, "update-ref", "refs/tags/bad-tag", tag)
    git(repo, "pack-refs", "--all")
    lines = (repo / ".git/packed-refs").read_text().splitlines()
    stored = next((line[1:] for line in lines if line.startswith("^")), None)
    assert stored in (blob, None)  # git 2.39: blob; git >= 2.46: none
    refs = agrees_with_git(repo)
    assert refs["refs/tags/bad-tag"].value == tag and refs["refs/tags/bad-tag"].peeled == stored


def test_t3210_peeled_tags_match_git(repo):
    git(repo, "tag", "-a", "-m", "annotated", "v1", "HEAD~1")
    git(repo, "tag", "light", "HEAD")
    git(repo, "pack-refs", "--all", "--prune")
    refs = agrees_with_git(repo)
    assert refs["refs/tags/v1"].peeled == rev_parse(repo, "v1^{}")
    assert refs["refs/tags/light"].peeled is None


# --------------------------------------------------------------------------- t1409


def test_t1409_marked_header_reads_the_same(repo):
    """An extra header trait 'shouldn't upset readers': values agree; gitward flags the trait
    (deliberately: it refuses to rewrite a file whose header it does not fully understand)."""
    git(repo, "branch", "foo")
    git(repo, "pack-refs", "--all")
    before = agrees_with_git(repo)
    path = repo / ".git/packed-refs"
    first, rest = path.read_bytes().split(b"\n", 1)
    path.write_bytes(first + b" t1409 \n" + rest)
    after = agrees_with_git(repo)
    assert {n: r.value for n, r in before.items()} == {n: r.value for n, r in after.items()}
    assert any("unknown header traits" in a for a in gitward_refs(repo)[1])


@pytest.mark.parametrize(
    "operation, source, verdict",
    [
        (lambda r, a, b: git(r, "update-ref", "refs/heads/x", b), Source.BOTH, Verdict.DEAD_PACKED),
        (lambda r, a, b: git(r, "update-ref", "refs/heads/x", b, a), Source.BOTH, Verdict.DEAD_PACKED),
        (lambda r, a, b: git(r, "update-ref", "--stdin", input=f"verify refs/heads/x {a}\n".encode()), Source.PACKED, None),
        (lambda r, a, b: git(r, "update-ref", "-d", "refs/heads/x"), None, None),
    ],
    ids=["update-of-packed", "checked-update-of-packed", "verify-of-packed", "delete-of-packed"],
)
def test_t1409_operations_on_a_packed_ref(repo, operation, source, verdict):
    a, b, _ = ids(repo)
    git(repo, "update-ref", "refs/heads/x", a)
    git(repo, "pack-refs", "--all", "--prune")
    operation(repo, a, b)
    refs = agrees_with_git(repo)
    if source is None:
        assert "refs/heads/x" not in refs
    else:
        assert refs["refs/heads/x"].source is source and refs["refs/heads/x"].verdict is verdict


@pytest.mark.parametrize("delete", [False, True], ids=["update-of-loose", "delete-of-loose"])
def test_t1409_operations_on_a_loose_ref(repo, delete):
    a, b, _ = ids(repo)
    git(repo, "pack-refs", "--all")
    git(repo, "update-ref", "refs/heads/y", a)
    git(repo, *(("update-ref", "-d", "refs/heads/y") if delete else ("update-ref", "refs/heads/y", b)))
    refs = agrees_with_git(repo)
    assert ("refs/heads/y" in refs) is not delete
    if not delete:
        assert refs["refs/heads/y"].source is Source.LOOSE


# --------------------------------------------------------------------------- t0600


def test_t0600_empty_directory_does_not_fool_reads(repo):
    c, _, _ = ids(repo)
    git(repo, "update-ref", "refs/e-rev-parse/foo", c)
    git(repo, "pack-refs", "--all")
    (repo / ".git/refs/e-rev-parse/foo/bar/baz").mkdir(parents=True)
    refs = agrees_with_git(repo)
    assert refs["refs/e-rev-parse/foo"].source is Source.PACKED and refs["refs/e-rev-parse/foo"].value == c


def test_t0600_broken_reference_and_indirect(repo):
    git(repo, "symbolic-ref", "refs/broken-indirect/symref", "refs/broken-indirect/foo")
    (repo / ".git/refs/broken-create").mkdir()
    (repo / ".git/refs/broken-create/foo").write_text("gobbledigook\n")
    (repo / ".git/refs/broken-indirect/foo").write_text("gobbledigook\n")
    refs = agrees_with_git(repo)
    assert refs["refs/broken-create/foo"].broken_reason and refs["refs/broken-create/foo"].value is None
    assert refs["refs/broken-indirect/symref"].symbolic_target == "refs/broken-indirect/foo"
    assert refs["refs/broken-indirect/symref"].value is None


def test_t0600_loose_over_packed_while_delete_is_blocked(repo):
    """'no bogus intermediate values' / 'delete fails cleanly if packed-refs is locked or
    packed-refs.new exists': the visible value stays the loose one, as git shows."""
    c, d, _ = ids(repo)
    for blocker in ("packed-refs.lock", "packed-refs.new"):
        git(repo, "update-ref", "refs/slow/foo", c)
        git(repo, "pack-refs", "--all")
        git(repo, "update-ref", "refs/slow/foo", d)
        (repo / ".git" / blocker).write_bytes(b"")
        failed = subprocess.run(["git", "-c", "core.packedrefstimeout=0", "update-ref", "-d", "refs/slow/foo"],
                                cwd=repo, capture_output=True)
        assert failed.returncode != 0
        refs = agrees_with_git(repo)
        assert refs["refs/slow/foo"].value == d and refs["refs/slow/foo"].verdict is Verdict.DEAD_PACKED
        os.unlink(repo / ".git" / blocker)
        git(repo, "update-ref", "-d", "refs/slow/foo")
        assert "refs/slow/foo" not in agrees_with_git(repo)


def test_t0600_broken_symlink_ref(repo):
    os.symlink("does-not-exist", repo / ".git/refs/heads/broken")
    refs = agrees_with_git(repo)
    assert refs.get("refs/heads/broken") is None or refs["refs/heads/broken"].value is None


def test_t0600_bogus_head_hash_and_symref(tmp_path):
    empty = init_repo(tmp_path / "empty")
    (empty / ".git/refs/heads/main").write_text("1234abcd\n")
    refs = agrees_with_git(empty)
    assert refs["refs/heads/main"].broken_reason and refs["HEAD"].value is None
    other = init_repo(tmp_path / "other")
    (other / ".git/HEAD").write_text("ref: refs/heads/invalid.lock\n")
    refs, _ = gitward_refs(other)
    assert refs["HEAD"].value is None and rev_parse(other, "HEAD") is None


def test_t0600_directories_after_deleting_packed_and_loose_refs(repo):
    """'empty directory removal', 'directory not created deleting packed ref'."""
    git(repo, "branch", "d1/d2/r1", "HEAD")
    git(repo, "branch", "d1/r2", "HEAD")
    git(repo, "branch", "-d", "d1/d2/r1")
    assert not (repo / ".git/refs/heads/d1/d2").exists()
    git(repo, "branch", "p1/p2/r1", "HEAD")
    git(repo, "pack-refs", "--all")
    git(repo, "update-ref", "-d", "refs/heads/p1/p2/r1")
    assert not (repo / ".git/refs/heads/p1").exists()
    refs = agrees_with_git(repo)
    assert "refs/heads/d1/r2" in refs and "refs/heads/d1/d2/r1" not in refs and "refs/heads/p1/p2/r1" not in refs
