"""The demo host: every story it tells is cross-checked with the git CLI."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from gitrepo import for_each_ref, git, is_ancestor, run_git

from tui.demo import build_demo

NOW = 1_800_000_000.0  # a fixed "now" so file ages are exact
HOUR = 3600

CLEAN_REPOS = [
    "host/gerrit/project-alpha.git",
    "host/gerrit/All-Users.git",
    "host/gitlab/locked-repo.git",
    "host/mirrors/upstream-lib.git",
    "host/sync/webapp",
    "host/work/tooling",
    "compare/source/project-beta.git",
    "compare/source/project-gamma.git",
    "compare/source/project-delta.git",
    "compare/replica/project-beta.git",
    "compare/replica/project-gamma.git",
]


def rev_parse(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", "--verify", "--end-of-options", ref).strip()


def packed_refs(git_dir: Path) -> dict[str, str]:
    refs = {}
    for line in (git_dir / "packed-refs").read_text().splitlines():
        if line.startswith(("#", "^")):
            continue
        oid, name = line.split(" ", 1)
        refs[name] = oid
    return refs


def loose_refs(git_dir: Path) -> dict[str, str]:
    refs_dir = git_dir / "refs"
    return {
        path.relative_to(git_dir).as_posix(): path.read_text().strip()
        for path in refs_dir.rglob("*")
        if path.is_file() and not path.name.endswith(".lock")
    }


def worktree_porcelain(repo: Path) -> list[dict[str, str]]:
    records = []
    for block in git(repo, "worktree", "list", "--porcelain").strip().split("\n\n"):
        record = {}
        for line in block.splitlines():
            key, _, value = line.partition(" ")
            record[key] = value
        records.append(record)
    return records


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("demo-parent") / "demo"
    started = time.perf_counter()
    host = build_demo(str(target), now=NOW)
    print(f"demo build: {time.perf_counter() - started:.2f} s")
    assert Path(host) == target / "host"
    return target


def test_layout(demo: Path) -> None:
    for repo in CLEAN_REPOS + [
        "host/gitlab/busy-service.git",
        "host/gitlab/corrupt-packed.git",
        "upstreams/upstream-lib.git",
    ]:
        assert (demo / repo).is_dir(), repo
    readme = (demo / "README-demo.txt").read_text()
    for story in (
        "project-alpha",
        "All-Users",
        "busy-service",
        "locked-repo",
        "corrupt-packed",
        "upstream-lib",
        "sync/webapp",
        "work/tooling",
        "compare/",
    ):
        assert story in readme
    # The upstreams stay outside the scanned root.
    assert not list((demo / "host").rglob("upstreams"))


def test_gerrit_refs_are_all_visible_to_git(demo: Path) -> None:
    alpha = demo / "host/gerrit/project-alpha.git"
    refs = for_each_ref(alpha)
    assert {
        "refs/heads/master",
        "refs/heads/stable-1.0",
        "refs/meta/config",
        "refs/tags/v1.0",
        "refs/tags/v1.1",
        "refs/tags/v2.0",
    } <= set(refs)
    assert sum(name.endswith("/meta") for name in refs) == 14
    assert sum(name.startswith("refs/changes/") and not name.endswith("/meta") for name in refs) >= 20
    assert git(alpha, "cat-file", "-t", "refs/tags/v1.1").strip() == "tag"
    assert git(alpha, "cat-file", "-t", "refs/tags/v1.0").strip() == "commit"


def test_stale_loose_refs_hide_newer_packed_values(demo: Path) -> None:
    alpha = demo / "host/gerrit/project-alpha.git"
    packed, loose = packed_refs(alpha), loose_refs(alpha)
    shadowed = sorted(set(packed) & set(loose))
    assert 5 <= len(shadowed) <= 10
    assert "refs/heads/master" in shadowed
    assert sum(name.endswith("/meta") for name in shadowed) >= 3
    for name in shadowed:
        assert loose[name] != packed[name], name
        assert rev_parse(alpha, name) == loose[name], f"git must resolve {name} to the loose value"
        assert is_ancestor(alpha, loose[name], packed[name]), f"{name}: packed must descend from loose"


def test_git_itself_has_lost_the_newer_meta_values(demo: Path) -> None:
    # The danger the tool warns about: the newer NoteDB commits are unreachable for git.
    alpha = demo / "host/gerrit/project-alpha.git"
    packed, loose = packed_refs(alpha), loose_refs(alpha)
    dangling = git(alpha, "fsck", "--no-progress")
    for name in set(packed) & set(loose):
        if name.endswith("/meta"):
            assert f"dangling commit {packed[name]}" in dangling


def test_all_users_starred_changes(demo: Path) -> None:
    all_users = demo / "host/gerrit/All-Users.git"
    starred = for_each_ref(all_users, "refs/starred-changes/")
    assert len(starred) == 3000
    assert len(set(starred.values())) == 1
    assert git(all_users, "cat-file", "-t", next(iter(starred.values()))).strip() == "blob"
    loose = [name for name in loose_refs(all_users) if name.startswith("refs/starred-changes/")]
    assert 0 < len(loose) < len(starred) / 10  # mostly packed, some loose


def test_busy_service_shadows_and_backlog(demo: Path) -> None:
    busy = demo / "host/gitlab/busy-service.git"
    packed, loose = packed_refs(busy), loose_refs(busy)
    verdicts = {"identical": 0, "dead-packed": 0, "other": 0}
    for name in set(packed) & set(loose):
        if loose[name] == packed[name]:
            verdicts["identical"] += 1
        elif is_ancestor(busy, packed[name], loose[name]):
            verdicts["dead-packed"] += 1
            assert rev_parse(busy, name) == loose[name]
        else:
            verdicts["other"] += 1
    assert verdicts["dead-packed"] >= 3
    assert verdicts["identical"] >= 2
    assert verdicts["other"] == 0
    assert len(loose) > 10 * len(packed)  # a loose-ref backlog
    assert len(for_each_ref(busy, "refs/merge-requests/")) == 80


def test_markup_ref_is_a_file_git_ignores(demo: Path) -> None:
    busy = demo / "host/gitlab/busy-service.git"
    name = "refs/heads/[bold red]not-markup"
    assert (busy / name).is_file()
    assert run_git(busy, "check-ref-format", name).returncode != 0
    listing = run_git(busy, "for-each-ref", text=True)
    assert name not in listing.stdout
    assert f"ignoring ref with broken name {name}" in listing.stderr
    # It is the only thing fsck objects to in this repo.
    fsck = run_git(busy, "fsck", "--no-dangling", text=True)
    errors = [line for line in (fsck.stdout + fsck.stderr).splitlines() if line.startswith("error")]
    assert errors and all(name in line for line in errors)


def test_credential_in_remote_url_is_present_for_redaction(demo: Path) -> None:
    busy = demo / "host/gitlab/busy-service.git"
    url = git(busy, "config", "remote.upstream.url").strip()
    assert url.startswith("https://ci-bot:not-a-real-secret@")


def test_git_sync_root(demo: Path) -> None:
    root = demo / "host/sync/webapp"
    link = root / "current"
    target = os.readlink(link)
    assert target.startswith(".worktrees/") and not os.path.isabs(target)
    current_sha = target.rsplit("/", 1)[1]
    assert rev_parse(root, "refs/heads/git-sync") == current_sha
    assert (root / target / ".git").read_text() == f"gitdir: ../../.git/worktrees/{current_sha}\n"

    records = {Path(r["worktree"]).name: r for r in worktree_porcelain(root)[1:]}
    assert len(records) == 3
    locked = [r for r in records.values() if "locked" in r]
    prunable = [r for r in records.values() if "prunable" in r]
    assert [r["locked"] for r in locked] == ["nfs volume"]
    assert [r["prunable"] for r in prunable] == ["gitdir file points to non-existent location"]
    assert not Path(prunable[0]["worktree"]).exists()
    assert "locked" not in records[current_sha] and "prunable" not in records[current_sha]
    assert all(r["HEAD"] == name and "detached" in r for name, r in records.items())
    stray = [p.name for p in (root / ".worktrees").iterdir() if p.is_file()]
    assert stray == [".nfs000000000a1b2c3d00000001"]


def test_tooling_worktrees(demo: Path) -> None:
    tooling = demo / "host/work/tooling"
    records = {Path(r["worktree"]).name: r for r in worktree_porcelain(tooling)}
    assert records["tooling"]["branch"] == "refs/heads/main"
    assert records["release"]["locked"] == "release build on usb disk; [bold red]not-markup[/] must show literally"
    assert records["experiment"]["prunable"] == "gitdir file points to non-existent location"
    assert (tooling / "README.md").is_file()  # the main worktree is checked out
    assert git(tooling, "status", "--porcelain") == ""


def test_mirror_is_behind_its_upstream(demo: Path) -> None:
    mirror = demo / "host/mirrors/upstream-lib.git"
    upstream = demo / "upstreams/upstream-lib.git"
    assert git(mirror, "config", "remote.origin.mirror").strip() == "true"
    assert git(mirror, "config", "remote.origin.fetch").strip() == "+refs/*:refs/*"
    assert git(mirror, "config", "remote.origin.url").strip() == upstream.as_uri()
    ours, theirs = for_each_ref(mirror), for_each_ref(upstream)
    assert ours != theirs
    assert "refs/heads/old-feature" in ours and "refs/heads/old-feature" not in theirs
    assert "refs/tags/v1.2" in theirs and "refs/tags/v1.2" not in ours
    assert is_ancestor(upstream, ours["refs/heads/main"], theirs["refs/heads/main"])
    fetch_head = mirror / "FETCH_HEAD"
    assert fetch_head.stat().st_mtime == pytest.approx(NOW - 72 * HOUR)
    assert f"of {upstream.as_uri().removesuffix('.git')}\n" in fetch_head.read_text()  # git drops ".git"


def test_lock_files_have_ages_relative_to_now(demo: Path) -> None:
    repo = demo / "host/gitlab/locked-repo.git"
    assert (repo / "packed-refs.lock").stat().st_mtime == pytest.approx(NOW - 2 * HOUR)
    assert (repo / "refs/heads/feature.lock").stat().st_mtime == pytest.approx(NOW - 3 * HOUR)
    assert len(for_each_ref(repo)) == 3  # reads still work while the lock is held


def test_corrupt_packed_refs_is_refused_by_git(demo: Path) -> None:
    repo = demo / "host/gitlab/corrupt-packed.git"
    text = (repo / "packed-refs").read_text()  # still readable text
    assert text.startswith("# pack-refs with:") and " sorted " in text.splitlines()[0]
    names = [line.split(" ", 1)[1] for line in text.splitlines()[1:]]
    assert names != sorted(names)
    result = run_git(repo, "for-each-ref", text=True)
    assert result.returncode != 0 and "unexpected line" in result.stderr


@pytest.mark.parametrize("repo", CLEAN_REPOS)
def test_fsck_clean(demo: Path, repo: str) -> None:
    result = run_git(demo / repo, "fsck", "--no-dangling", "--no-progress", text=True)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr


def test_compare_pair(demo: Path) -> None:
    source, replica = demo / "compare/source", demo / "compare/replica"
    assert sorted(p.name for p in source.iterdir()) == [
        "project-beta.git", "project-delta.git", "project-epsilon.git", "project-gamma.git"
    ]
    assert sorted(p.name for p in replica.iterdir()) == [
        "project-beta.git", "project-epsilon.git", "project-gamma.git", "project-zeta.git"
    ]
    assert not loose_refs(source / "project-beta.git")  # the source is fully packed after its gc
    src, rep = source / "project-beta.git", replica / "project-beta.git"
    for name, value in loose_refs(rep).items():
        assert rev_parse(rep, name) == value != rev_parse(src, name)
        assert is_ancestor(rep, value, packed_refs(rep)[name])
    assert set(for_each_ref(source / "project-gamma.git")) - set(for_each_ref(replica / "project-gamma.git")) == {
        "refs/tags/v1.1"
    }


def test_no_file_points_into_the_staging_dir(demo: Path) -> None:
    gitdir_files = list(demo.rglob("worktrees/*/gitdir"))
    assert len(gitdir_files) == 7  # 3 git-sync, 3 work/tooling, 1 on the compare replica
    for path in gitdir_files:
        assert path.read_text().startswith(str(demo) + "/")
    assert not [p for p in demo.parent.iterdir() if p.name.startswith(".demo.")]
    # The build ran in ".demo.building-*"; no file may still name it.
    mentions = [
        p for p in demo.rglob("*") if p.is_file() and not p.is_symlink() and b".demo.building-" in p.read_bytes()
    ]
    assert mentions == []


def ref_store(root: Path) -> dict[str, str]:
    """Every ref file's content under root (packed-refs, loose refs, HEADs), by relative path."""
    store = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and (path.name in ("packed-refs", "HEAD") or "/refs/" in f"/{rel}"):
            store[rel] = path.read_text()
    return store


def test_two_builds_have_identical_ref_values(demo: Path, tmp_path: Path) -> None:
    again = Path(build_demo(str(tmp_path / "again"), now=NOW + 12345)).parent
    first, second = ref_store(demo), ref_store(again)
    assert len(first) > 400
    assert first == second


def test_rebuild_in_place_and_refuse_foreign_dirs(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    build_demo(str(target), now=NOW)
    (target / "host/leftover").write_text("from the previous build")
    build_demo(str(target), now=NOW)
    assert not (target / "host/leftover").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no staging or old dirs left

    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    with pytest.raises(FileExistsError):
        build_demo(str(foreign), now=NOW)
    assert (foreign / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "home"]
