"""The benchmark fixtures contain what they claim, checked with git and libgit2 (quick sizes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import fixtures  # noqa: E402
from gitrepo import for_each_ref, git, git_environ, is_ancestor  # noqa: E402

SIZES = fixtures.QUICK


def loose_ref_files(git_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(git_dir).as_posix(): p.read_text().strip() for p in (git_dir / "refs").rglob("*") if p.is_file()
    }


def packed_ref_lines(git_dir: Path) -> dict[str, str]:
    lines = (git_dir / "packed-refs").read_text().splitlines()
    return {name: oid for oid, name in (line.split(" ", 1) for line in lines if not line.startswith(("#", "^")))}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fixtures")


def test_f1_starred(cache: Path) -> None:
    fixture = fixtures.ensure(SIZES.f1, cache=cache)
    repo, claim = fixture.path, fixture.manifest
    refs = for_each_ref(repo)
    assert len(refs) == claim["refs"] == SIZES.f1.refs
    assert set(refs.values()) == {claim["value"]}
    assert git(repo, "cat-file", "-t", claim["value"]).strip() == "blob"
    assert len(loose_ref_files(repo)) == claim["loose"]
    assert len(packed_ref_lines(repo)) == claim["packed"]
    assert claim["loose"] + claim["packed"] == claim["refs"]


def test_f2_changes_and_stale_loose_shadows(cache: Path) -> None:
    fixture = fixtures.ensure(SIZES.f2, cache=cache)
    repo, claim = fixture.path, fixture.manifest
    assert len(for_each_ref(repo)) == claim["refs"] == SIZES.f2.refs + 1  # + refs/heads/master
    loose, packed = loose_ref_files(repo), packed_ref_lines(repo)
    assert len(loose) == claim["loose"] == SIZES.f2.loose
    assert sorted(set(loose) & set(packed)) == sorted(claim["stale_loose"])
    assert len(claim["stale_loose"]) == SIZES.f2.stale
    for name in claim["stale_loose"]:
        resolved = git(repo, "rev-parse", "--verify", name).strip()
        assert resolved == loose[name] != packed[name]
        assert is_ancestor(repo, loose[name], packed[name])
    assert int(git(repo, "rev-list", "--count", "refs/heads/master")) == SIZES.f2.commits
    git(repo, "fsck", "--connectivity-only", "--no-progress")


@pytest.fixture(scope="module")
def host(cache: Path) -> fixtures.Fixture:
    return fixtures.ensure(SIZES.f3, cache=cache)


def test_f3_repos_and_refs(host: fixtures.Fixture) -> None:
    claim = host.manifest
    repos = [host.resolve(r) for r in claim["repos"]]
    assert len(repos) == SIZES.f3.repos
    assert claim["bare"] + claim["non_bare"] == len(repos)
    for repo in repos:
        assert len(for_each_ref(repo)) == claim["refs_per_repo"], repo
    assert sum(claim["shadows"].values()) == len(repos) * 3 // 4


def test_f3_shadows_resolve_as_claimed(host: fixtures.Fixture) -> None:
    kinds = set()
    for example in host.manifest["shadow_examples"]:
        repo = host.resolve(example["repo"])
        loose, packed = example["loose"], example["packed"]
        assert git(repo, "rev-parse", example["ref"]).strip() == loose
        if example["kind"] == "stale-loose":
            assert loose != packed and is_ancestor(repo, loose, packed)
        elif example["kind"] == "dead-packed":
            assert loose != packed and is_ancestor(repo, packed, loose)
        else:
            assert loose == packed
        kinds.add(example["kind"])
    assert kinds == {"stale-loose", "dead-packed", "identical"}


def test_f3_worktrees_are_locked_and_prunable_as_claimed(host: fixtures.Fixture) -> None:
    locked, prunable, linked = set(), set(), 0
    for relative in host.manifest["repos"]:
        repo = host.resolve(relative)
        if not (repo / ".git").is_dir():
            continue
        blocks = git(repo, "worktree", "list", "--porcelain").strip().split("\n\n")
        assert len(blocks) == 3
        for block in blocks[1:]:
            linked += 1
            fields = dict(line.partition(" ")[::2] for line in block.splitlines())
            path = Path(fields["worktree"]).relative_to(host.directory).as_posix()
            if "locked" in fields:
                locked.add(path)
            if "prunable" in fields:
                assert fields["prunable"] == "gitdir file points to non-existent location"
                prunable.add(path)
    assert linked == 2 * SIZES.f3.non_bare
    assert locked == set(host.manifest["locked_worktrees"]) and locked
    assert prunable == set(host.manifest["prunable_worktrees"]) and prunable


def test_f3_objects_are_readable_by_git_and_libgit2(host: fixtures.Fixture) -> None:
    bare = next(host.resolve(r) for r in host.manifest["repos"] if r.endswith(".git"))
    non_bare = next(host.resolve(r) for r in host.manifest["repos"] if not r.endswith(".git"))
    for repo in (bare, non_bare):
        git(repo, "fsck", "--connectivity-only", "--no-progress")
        opened = pygit2.Repository(str(repo))
        head = opened.revparse_single("HEAD")
        assert head.id == opened.references["refs/heads/main"].target
        assert opened.revparse_single("refs/tags/v1.5").peel(pygit2.Commit).message == "commit 25\n"
    assert sorted(pygit2.Repository(str(non_bare)).list_worktrees()) == ["wt-a", "wt-b"]


def test_cache_is_reused_then_rebuilt_on_request(cache: Path) -> None:
    first = fixtures.ensure(SIZES.f1, cache=cache)
    again = fixtures.ensure(SIZES.f1, cache=cache)
    assert again.build_seconds is None and again.manifest == first.manifest
    (first.directory / fixtures.COMPLETE).unlink()  # an interrupted build
    rebuilt = fixtures.ensure(SIZES.f1, cache=cache)
    assert rebuilt.build_seconds is not None and rebuilt.manifest == first.manifest


def test_run_py_quick_alternates_and_writes_the_markdown_table(cache: Path, tmp_path: Path) -> None:
    # Times nothing meaningful; checks the runner end to end and what the table claims.
    report, table = tmp_path / "bench.json", tmp_path / "results.md"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks/run.py"),
            "--quick",
            "--runs",
            "2",
            "--no-git-loop",
            "--cache",
            str(cache),
            "--json",
            str(report),
            "--markdown",
            str(table),
        ],
        capture_output=True,
        text=True,
        env=git_environ(),
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(report.read_text())
    rows = data["rows"]
    assert [row["fixture"] for row in rows] == ["F3", "F2", "F1", "C3", "C2", "G2"]
    f3, f2, _, c3, c2, g2 = rows
    assert [c["label"] for c in c3["peers"]] == ["two scans"] and c3["met"].keys() == {"two scans"}
    assert [c["label"] for c in c2["peers"]] == ["for-each-ref x2 + diff"]
    assert g2["gitward"][0]["label"] == "gc-preview" and not g2["met"]  # measured, no target
    assert [c["label"] for c in f3["gitward"]] == ["scan", "scan --jobs 1"]
    peers = {c["label"]: c for c in f2["peers"]}
    assert {"git for-each-ref", "git show-ref", "Python floor"} <= set(peers)
    for row in rows:
        for command in row["gitward"] + row["peers"]:
            assert command["error"] is None, command
            assert len(command["samples"]) == 2, command
    # A fast wrong answer is not a win: every answer was checked, floors included.
    assert all(row["answer"].startswith("ok") for row in rows), [row["answer"] for row in rows]
    assert "WRONG" not in f3["answer"] and "floor read 20 repos" in f3["answer"]
    text = table.read_text()
    assert "| fixture | gitward command |" in text and "Load average" in text and "Peak RSS" in text
    assert "refs --shadowed --json, 2,001 refs" in text
    assert "compare, 2 x 20 repos, 1 differing" in text and "gc-preview, 2,001 refs, 20 lost" in text


def test_the_c_floor_reads_what_gitward_reads(host: fixtures.Fixture) -> None:
    """The floor walks like discovery: every repo once, linked worktrees not as repos."""
    from benchmarks import run

    floor = run.build_floor()
    if floor["path"] is None:
        pytest.skip(floor["why"])
    done = subprocess.run([floor["path"], "host", str(host.path)], capture_output=True, text=True, check=True)
    repos, _, files, _, size, _ = done.stdout.split()
    assert int(repos) == SIZES.f3.repos
    python = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks/pyfloor.py"), "host", str(host.path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert python.stdout == done.stdout  # the two floors read the same files, byte for byte
    # Every repo: HEAD, config, packed-refs and its loose refs at least.
    assert int(files) >= 3 * SIZES.f3.repos and int(size) > 0


def test_fixtures_build_in_a_child_process(tmp_path: Path) -> None:
    spec = fixtures.QUICK.f1
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.fixtures", "--cache", str(tmp_path), spec.key],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=git_environ(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[spec.key] is not None  # built now, not cached
    loaded = fixtures.load(spec, cache=tmp_path)
    assert loaded is not None and loaded.manifest["refs"] == spec.refs
    assert fixtures.spec_from_key(spec.key) == spec


def test_scaling_mode_reports_time_per_unit(cache: Path, tmp_path: Path) -> None:
    table = tmp_path / "scale.md"
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks/run.py"), "--scale", "--quick", "--runs", "1",
         "--scan-jobs", "", "--cache", str(cache), "--markdown", str(table)],
        capture_output=True, text=True, env=git_environ(), cwd=REPO_ROOT, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    text = table.read_text()
    assert "Scaling: time per repo or per ref" in text
    for spec in fixtures.QUICK_SCALE_HOSTS:
        assert f", {spec.repos:,} repos |" in text
    for spec in fixtures.QUICK_SCALE_CHANGES:
        assert f", {spec.refs + 1:,} refs |" in text  # + refs/heads/master
    assert text.count("µs/repo") >= 2 * len(fixtures.QUICK_SCALE_HOSTS)  # gitward and the floor
    assert "WRONG" not in text
