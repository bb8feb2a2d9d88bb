"""gitward compare: the incident made with the real rsync, every class, read-only, the JSON contract."""

from __future__ import annotations

import json
import shlex
import shutil
import threading
from pathlib import Path

import pytest
from compare_support import advance, make_incident, plan_commands, rsync, run_cli, stat_tree
from gitrepo import commit_chain, git, init_bare, init_repo, is_ancestor, write_loose

from tui.core.compare.diff import Kind, compare
from tui.core.compare.sides import LocalSide, ManifestSide
from tui.core.compare.manifest import write_manifest_file
from tui.core.model import Severity

pytestmark = pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed")


def kinds_of(result, repo_name: str) -> dict[str, str]:
    """{subject: kind} of one repository's findings."""
    repo = next(r for r in result.repos if r.name == repo_name)
    return {f.subject: f.kind.value for f in repo.findings}


# --- the incident, step by step ---------------------------------------------------------------------


def test_incident_compare_names_stale_refs_plan_fixes_them(tmp_path, capsys):
    source, replica, facts = make_incident(tmp_path)
    code, out, _ = run_cli(capsys, "compare", str(source), str(replica))
    assert code == 1
    for name in facts["stale"]:
        assert f"[replica-stale-loose] {name}" in out
    assert f"[loose-only-on-replica] {facts['leftover'][0]}" in out
    assert "'git gc' on the replica now would throw away 2 packed values; 3 commits" in out
    # git agrees: the replica shows the older values, its own packed-refs holds the source's
    for name in facts["stale"]:
        replica_repo = replica / facts["repo"]
        shown = git(replica_repo, "rev-parse", name).strip()
        assert shown != git(source / facts["repo"], "rev-parse", name).strip()

    code, out, _ = run_cli(capsys, "compare", str(source), str(replica), "--plan")
    assert code == 1
    assert f"rsync --archive --delete --dry-run --itemize-changes {source}/ {replica}/" in out
    commands = plan_commands(out)
    assert commands, out
    prune = [c for c in commands if c[1:3] == ["shadows", "prune"]]
    assert prune and prune[0][3] == str(replica / facts["repo"])
    assert set(facts["stale"]) <= set(prune[0])
    for command in commands:
        assert run_cli(capsys, *command[1:])[0] == 0, command

    code, out, _ = run_cli(capsys, "compare", str(source), str(replica))
    assert code == 0, out
    for name in facts["stale"]:
        assert git(replica / facts["repo"], "rev-parse", name) == git(source / facts["repo"], "rev-parse", name)


def test_incident_through_a_manifest_file(tmp_path, capsys):
    """Two machines: the manifest is made where the source lives and copied next to the replica."""
    source, replica, facts = make_incident(tmp_path)
    manifest = tmp_path / "elsewhere" / "source.manifest"
    manifest.parent.mkdir()
    code, _, err = run_cli(capsys, "manifest", str(source), "-o", str(manifest))
    assert code == 0 and "2 repositories" in err
    shutil.rmtree(source)  # the source machine is not reachable from here
    code, out, _ = run_cli(capsys, "compare", str(manifest), str(replica), "--plan")
    assert code == 1
    for name in facts["stale"]:
        assert f"[replica-stale-loose] {name}" in out
    for command in plan_commands(out):
        assert run_cli(capsys, *command[1:])[0] == 0, command
    code, out, _ = run_cli(capsys, "compare", str(manifest), str(replica))
    assert code == 0, out


def test_compare_changes_no_file_on_either_side(tmp_path, capsys):
    source, replica, _ = make_incident(tmp_path)
    (replica / "gerrit" / "app.git" / "packed-refs.lock").write_text("copied mid-write\n")
    before = stat_tree(source, replica)
    assert run_cli(capsys, "compare", str(source), str(replica), "--plan", "--json")[0] == 1
    assert run_cli(capsys, "compare", str(source), str(replica), "--read-only")[0] == 1
    assert run_cli(capsys, "gc-preview", str(replica / "gerrit" / "app.git"))[0] == 1
    assert stat_tree(source, replica) == before


# --- every class ---------------------------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path):
    """A source and a replica copied from it, then changed one class at a time by the test."""
    source = tmp_path / "source"
    repo = init_bare(source / "r.git")
    commit_chain(repo, 3)
    git(repo, "update-ref", "refs/heads/base", "main~2")
    git(repo, "update-ref", "refs/heads/gone", "main~1")
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/heads/main")
    git(repo, "pack-refs", "--all")
    replica = tmp_path / "replica"
    rsync(source, replica)
    return source, replica, repo, replica / "r.git"


def test_every_ref_class(pair):
    source, replica, src, rep = pair
    base = git(src, "rev-parse", "base").strip()
    main = git(src, "rev-parse", "main").strip()
    # behind: the source moved on (the replica lacks the commit: the source's store decides)
    advance(src, "refs/heads/main", 1)
    # ahead: the replica has a commit the source does not
    git(rep, "update-ref", "refs/heads/base", git(rep, "commit-tree", f"{base}^{{tree}}", "-p", base, "-m", "x").strip())
    # diverged: both sides committed on top of main~1
    fork = git(src, "rev-parse", "main~2").strip()
    git(src, "update-ref", "refs/heads/gone", git(src, "commit-tree", f"{fork}^{{tree}}", "-p", fork, "-m", "s").strip())
    git(rep, "update-ref", "refs/heads/gone", git(rep, "commit-tree", f"{fork}^{{tree}}", "-p", fork, "-m", "r").strip())
    git(rep, "fetch", "--quiet", str(src), "refs/heads/gone:refs/fetched/gone")  # so one store holds both
    # missing on the replica, extra on the replica
    git(src, "update-ref", "refs/heads/new", main)
    git(rep, "update-ref", "refs/heads/extra", main)
    # symref differs
    git(rep, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/heads/base")
    # storage only: same value, loose on the source, packed on the replica
    git(src, "update-ref", "refs/tags/v1", base)
    git(rep, "update-ref", "refs/tags/v1", base)
    git(rep, "pack-refs", "--all")
    # missing object on the replica
    write_loose(rep, "refs/heads/lost", "1" * 40)
    write_loose(src, "refs/heads/lost", "1" * 40)
    result = compare(LocalSide(str(source)), LocalSide(str(replica)))
    found = kinds_of(result, "r.git")
    assert found["refs/heads/main"] == "replica-behind"
    assert found["refs/heads/base"] == "replica-ahead"
    assert found["refs/heads/gone"] == "diverged"
    assert found["refs/heads/new"] == "missing-on-replica"
    assert found["refs/heads/extra"] == "extra-on-replica"
    assert found["refs/remotes/origin/HEAD"] == "symref-differs"
    assert found["refs/tags/v1"] == "storage-only"
    assert found["refs/heads/lost"] == "missing-object"
    # git is the judge of every ancestry answer
    for name, kind in found.items():
        if kind in ("replica-behind", "replica-ahead", "diverged"):
            s = git(src, "rev-parse", name).strip()
            r = git(rep, "rev-parse", name).strip()
            both = src if kind != "replica-ahead" else rep
            assert (kind == "replica-behind") == is_ancestor(both, r, s)
            assert (kind == "replica-ahead") == is_ancestor(both, s, r)


def test_ancestry_unknown_without_an_object_store_holding_both(pair, tmp_path):
    source, replica, src, rep = pair
    advance(src, "refs/heads/main", 1)
    manifest = tmp_path / "m.jsonl"
    write_manifest_file(str(manifest), [str(source)])
    result = compare(ManifestSide(str(manifest)), LocalSide(str(replica)))
    assert kinds_of(result, "r.git")["refs/heads/main"] == "unknown"
    # once the replica holds both commits, its own store decides
    git(rep, "fetch", "--quiet", str(src), "refs/heads/main:refs/fetched")
    result = compare(ManifestSide(str(manifest)), LocalSide(str(replica)))
    assert kinds_of(result, "r.git")["refs/heads/main"] == "replica-behind"


def test_file_level_classes(pair, tmp_path):
    source, replica, src, rep = pair
    (rep / "packed-refs.lock").write_text("")
    (rep / "objects" / "tmp_objdir-incoming-abc").mkdir()
    git(rep, "config", "receive.denyNonFastForwards", "true")
    hook = rep / "hooks" / "post-receive"
    hook.write_text("#!/bin/sh\necho replica\n")
    hook.chmod(0o755)
    (src / "hooks" / "post-receive").write_text("#!/bin/sh\necho replica\n")  # same text, not executable
    (rep / "objects" / "info" / "alternates").write_text(str(tmp_path / "nowhere" / "objects") + "\n")
    worktree_admin = rep / "worktrees" / "wt1"
    worktree_admin.mkdir(parents=True)
    (worktree_admin / "gitdir").write_text(str(tmp_path / "no-such-worktree" / ".git") + "\n")
    (worktree_admin / "HEAD").write_text(git(rep, "rev-parse", "main"))
    (worktree_admin / "commondir").write_text("../..\n")
    result = compare(LocalSide(str(source)), LocalSide(str(replica)))
    found = kinds_of(result, "r.git")
    assert found["packed-refs.lock"] == "temp-file"
    assert found["objects/tmp_objdir-incoming-abc"] == "temp-file"
    assert found["receive.denynonfastforwards"] == "config-differs"
    assert found["hooks/post-receive"] == "hook-differs"
    assert found["objects/info/alternates"] == "alternate-missing"
    assert found["worktrees/wt1"] == "worktree-path-missing"


def test_repos_on_one_side_and_equal_checksums(pair, capsys):
    source, replica, src, rep = pair
    commit_chain(init_bare(source / "only-source.git"), 1)
    commit_chain(init_bare(replica / "only-replica.git"), 1)
    result = compare(LocalSide(str(source)), LocalSide(str(replica)))
    by_name = {r.name: r for r in result.repos}
    assert by_name["only-source.git"].worst is Kind.REPO_ONLY_ON_SOURCE
    assert by_name["only-replica.git"].worst is Kind.REPO_ONLY_ON_REPLICA
    assert by_name["r.git"].same_refs and not by_name["r.git"].findings
    assert by_name["r.git"].source_checksum == by_name["r.git"].replica_checksum
    # --repo limits both sides
    code, out, _ = run_cli(capsys, "compare", str(source), str(replica), "--repo", "r.git")
    assert code == 0 and "only-" not in out


def test_source_moving_during_the_run(pair):
    source, replica, src, rep = pair
    advance(src, "refs/heads/main", 1)

    def push_while_comparing(done, total, name):
        advance(src, "refs/heads/main", 1, "during")

    result = compare(LocalSide(str(source)), LocalSide(str(replica)), progress=push_while_comparing)
    assert result.source_reread
    assert kinds_of(result, "r.git")["refs/heads/main"] == "moving"
    assert not result.fails(Severity.WARNING)  # moving is transient, not a finding


def test_source_packing_during_the_run_is_read_again_in_full(pair):
    source, replica, src, rep = pair
    advance(src, "refs/heads/main", 1)
    git(src, "update-ref", "refs/heads/new", "main")

    def push_and_pack(done, total, name):
        advance(src, "refs/heads/main", 1, "during")
        git(src, "pack-refs", "--all")  # a new packed-refs: the cheap re-read does not apply

    result = compare(LocalSide(str(source)), LocalSide(str(replica)), progress=push_and_pack)
    found = kinds_of(result, "r.git")
    assert found["refs/heads/main"] == "moving"
    assert found["refs/heads/new"] == "missing-on-replica"  # unchanged: still a finding


def test_cancel_stops_between_repositories(pair):
    source, replica, _, _ = pair
    for i in range(3):
        commit_chain(init_bare(source / f"more{i}.git"), 1)
    cancel = threading.Event()
    seen = []

    def progress(done, total, name):
        seen.append(name)
        cancel.set()

    result = compare(LocalSide(str(source)), LocalSide(str(replica)), cancel=cancel, progress=progress)
    assert result.cancelled and len(result.repos) == 1 == len(seen)


def test_fail_on_and_exit_codes(pair, capsys):
    source, replica, src, rep = pair
    git(src, "update-ref", "refs/tags/v1", "base")
    git(rep, "update-ref", "refs/tags/v1", "base")
    git(rep, "pack-refs", "--all")
    assert run_cli(capsys, "compare", str(source), str(replica))[0] == 0  # storage-only is info
    assert run_cli(capsys, "compare", str(source), str(replica), "--fail-on", "info")[0] == 1
    assert run_cli(capsys, "compare", str(source), str(replica), "--fail-on", "storage-only")[0] == 1
    assert run_cli(capsys, "compare", str(source), str(replica), "--fail-on", "nonsense")[0] == 2
    assert run_cli(capsys, "compare", str(source), str(source / "missing"))[0] == 2


def test_json_contract(pair, capsys):
    source, replica, src, rep = pair
    advance(src, "refs/heads/main", 1)
    code, out, _ = run_cli(capsys, "compare", str(source), str(replica), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["format"] == "gitward-compare" and doc["version"] == 1
    assert set(doc) >= {"source", "replica", "summary", "repos", "moving", "source_reread", "duration_seconds"}
    repo = doc["repos"][0]
    assert set(repo) >= {"name", "source_path", "replica_path", "same_refs", "source_checksum", "replica_checksum",
                         "worst", "counts", "findings"}
    finding = repo["findings"][0]
    assert set(finding) == {"kind", "severity", "subject", "source_value", "replica_value", "source_storage",
                            "replica_storage", "detail"}
    assert finding["kind"] == "replica-behind" and finding["severity"] == "error"
    assert finding["source_value"] == git(src, "rev-parse", "main").strip()


def test_untrusted_names_are_escaped(pair, capsys):
    source, replica, src, rep = pair
    write_loose(rep, "refs/heads/\x1b[31mred", git(rep, "rev-parse", "main").strip())
    code, out, _ = run_cli(capsys, "compare", str(source), str(replica))
    assert code == 1 and "\x1b" not in out


def test_bare_and_non_bare_hosts(tmp_path, capsys):
    source = tmp_path / "s"
    work = init_repo(source / "work")
    commit_chain(work, 2)
    replica = tmp_path / "r"
    rsync(source, replica)
    assert run_cli(capsys, "compare", str(source), str(replica))[0] == 0


def test_plan_fetches_behind_refs_and_packs_leftover_loose_ones(pair, capsys):
    source, replica, src, rep = pair
    advance(src, "refs/heads/main", 2)  # behind on the replica
    write_loose(rep, "refs/heads/base", git(rep, "rev-parse", "base").strip())  # loose, packed on the source
    git(src, "pack-refs", "--all")
    code, out, _ = run_cli(capsys, "compare", str(source), str(replica), "--plan")
    assert code == 1 and "[replica-behind] refs/heads/main" in out
    git_lines = plan_commands(out, "git")
    assert ["git", "-C", str(rep), "fetch", str(src), "refs/heads/main:refs/heads/main"] in git_lines
    # the plan never ran anything: the replica is still behind
    assert git(rep, "rev-parse", "main") != git(src, "rev-parse", "main")
    for line in out.splitlines():  # every command, in the plan's order
        if line.startswith("gitward "):
            assert run_cli(capsys, *shlex.split(line)[1:])[0] == 0, line
        elif line.startswith("git "):
            git(rep, *shlex.split(line)[3:])  # the same command, through the tests' git environment
    assert ["git", "-C", str(rep), "pack-refs", "--all"] == git_lines[-1]
    code, out, _ = run_cli(capsys, "compare", str(source), str(replica))
    assert code == 0, out


def test_parallel_and_sequential_answers_are_the_same(tmp_path):
    """Past PARALLEL_THRESHOLD repositories, workers read the sides (directories and manifest
    lines); the answer must be what one process gives."""
    from tui.core.compare.diff import PARALLEL_THRESHOLD

    source = tmp_path / "source"
    template = init_bare(source / "g00" / "r00.git")
    commit_chain(template, 3)
    for i in range(1, PARALLEL_THRESHOLD + 2):
        shutil.copytree(template, source / f"g{i % 3:02d}" / f"r{i:02d}.git", symlinks=True)
    replica = tmp_path / "replica"
    rsync(source, replica)
    for i in (5, 17, 33):
        repo = replica / f"g{i % 3:02d}" / f"r{i:02d}.git"
        git(repo, "update-ref", "refs/heads/main", "main~1")
    # Found while discovery runs: one side only (both ways), and on both sides a separate git dir
    # reached first as a bare directory, then taken back by its work tree.
    shutil.copytree(template, source / "g01" / "only-source.git", symlinks=True)
    shutil.copytree(template, replica / "g02" / "only-replica.git", symlinks=True)
    for side in (source, replica):
        git(side, "init", "--quiet", f"--separate-git-dir={side / 'a-separate.git'}", str(side / "z-work"))
        git(side / "z-work", "commit", "--quiet", "--allow-empty", "-m", "one")
    manifest = tmp_path / "source.manifest"
    write_manifest_file(str(manifest), [str(source)])

    def answer(result):
        return [repo.to_json() for repo in result.sorted_repos()]

    sequential = answer(compare(LocalSide(str(source)), LocalSide(str(replica)), jobs=1))
    assert answer(compare(LocalSide(str(source)), LocalSide(str(replica)), jobs=2)) == sequential
    assert answer(compare(ManifestSide(str(manifest)), LocalSide(str(replica)), jobs=2)) == sequential
    differing = {repo["name"]: repo["worst"] for repo in sequential if repo["findings"]}
    assert differing.pop("g01/only-source.git") == "repo-only-on-source"
    assert differing.pop("g02/only-replica.git") == "repo-only-on-replica"
    assert "a-separate.git" not in {repo["name"] for repo in sequential}
    assert "z-work" in {repo["name"] for repo in sequential}
    assert len(differing) == 3  # the three moved back


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_reused_line_checksum_still_checks_the_replicas_objects(pair, jobs):
    """Refs stored alike on both sides: the replica reuses the source's hashed lines (both the
    one-process and the worker path), but its own missing object still changes its checksum."""
    from tui.core.compare.diff import PARALLEL_THRESHOLD
    from tui.core.compare.manifest import read_repo

    source, replica, src, rep = pair
    for i in range(PARALLEL_THRESHOLD if jobs > 1 else 0):  # enough repositories for the workers
        shutil.copytree(src, source / f"copy{i:02d}.git", symlinks=True)
        shutil.copytree(src, replica / f"copy{i:02d}.git", symlinks=True)
    head = git(rep, "rev-parse", "main").strip()
    (rep / "objects" / head[:2] / head[2:]).unlink()  # rsync stopped before this object
    result = compare(LocalSide(str(source)), LocalSide(str(replica)), jobs=jobs)
    repo = next(r for r in result.repos if r.name == "r.git")
    alone = read_repo(LocalSide(str(replica)).candidates["r.git"])  # no twin: everything hashed here
    assert repo.replica_checksum == alone.gitaly_checksum
    assert repo.replica_checksum != repo.source_checksum
    copy = next((r for r in result.repos if r.name == "copy00.git"), None)
    assert copy is None or copy.source_checksum == copy.replica_checksum
