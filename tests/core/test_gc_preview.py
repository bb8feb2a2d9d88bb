"""gitward gc-preview agrees with git: on a copy, pack-refs and gc do exactly what it announced."""

from __future__ import annotations

import json
import shutil
import subprocess

from compare_support import advance, run_cli
from gitrepo import commit_chain, git, init_bare, write_loose

from tui.core.compare.gcpreview import gc_preview


def packed_entries(repo) -> dict[str, str]:
    """packed-refs as the file says it (name -> value), peeled lines skipped."""
    path = repo / "packed-refs"
    if not path.exists():
        return {}
    entries = {}
    for line in path.read_text().splitlines():
        if line.startswith(("#", "^")):
            continue
        value, name = line.split(" ", 1)
        entries[name] = value
    return entries


def rev_list(repo, *args: str) -> set[str]:
    return set(git(repo, "rev-list", *args).split())


def has_object(repo, oid: str) -> bool:
    return subprocess.run(["git", "-C", str(repo), "cat-file", "-e", oid], capture_output=True).returncode == 0


def shadowed_repo(tmp_path, unpackable: bool = False):
    """main: a stale loose file over newer packed commits that a reflog still names;
    refs/changes/01/1/meta: the same without a reflog (git logs only heads, remotes, notes, HEAD);
    refs/heads/newer: a loose value newer than its packed one (harmless);
    ``unpackable``: also refs/heads/broken and refs/heads/sym, loose files git will not pack."""
    repo = init_bare(tmp_path / "r.git")
    git(repo, "config", "core.logAllRefUpdates", "true")
    commit_chain(repo, 3)
    git(repo, "update-ref", "refs/changes/01/1/meta", "main~1")
    git(repo, "update-ref", "refs/heads/newer", "main~2")
    git(repo, "update-ref", "refs/heads/broken", "main~2")
    git(repo, "update-ref", "refs/heads/sym", "main~2")
    old_main = git(repo, "rev-parse", "main").strip()
    old_meta = git(repo, "rev-parse", "refs/changes/01/1/meta").strip()
    advance(repo, "refs/heads/main", 2, "merged")
    advance(repo, "refs/changes/01/1/meta", 1, "comment")
    git(repo, "pack-refs", "--all")
    write_loose(repo, "refs/heads/main", old_main)  # the incident: the copy kept old loose files
    write_loose(repo, "refs/changes/01/1/meta", old_meta)
    advance(repo, "refs/heads/newer", 1)  # a normal update: loose newer than packed
    if unpackable:
        write_loose(repo, "refs/heads/broken", "garbage")
        write_loose(repo, "refs/heads/sym", b"ref: refs/heads/main\n")
    return repo


def test_gc_preview_agrees_with_git(tmp_path):
    repo = shadowed_repo(tmp_path)
    preview = gc_preview(str(repo))
    lost = {r.name: r for r in preview.lost_refs}
    assert set(lost) == {"refs/heads/main", "refs/changes/01/1/meta", "refs/heads/newer"}
    assert lost["refs/heads/main"].verdict.value == "stale-loose"
    assert lost["refs/heads/newer"].verdict.value == "dead-packed"
    before = packed_entries(repo)
    thrown = [before[name] for name in lost]
    # the commits, by git's own reachability: with and without the reflogs
    assert set(preview.unreachable) == rev_list(repo, *thrown, "--not", "--all", "--reflog")
    assert set(preview.unreachable) | set(preview.reflog_only) == rev_list(repo, *thrown, "--not", "--all")
    assert preview.unreachable_count == 1 and preview.reflog_only_count == 2

    copy = tmp_path / "copy.git"
    shutil.copytree(repo, copy, symlinks=True)
    git(copy, "pack-refs", "--all")
    after = packed_entries(copy)
    changed = {name for name in before if after.get(name) != before[name]}
    assert changed == set(lost)  # exactly the refs named, and to the loose values
    assert all(after[name] == lost[name].loose_value for name in lost)
    # gc (reflogs kept as they are) deletes exactly the unreachable commits
    git(copy, "-c", "gc.reflogExpire=never", "-c", "gc.reflogExpireUnreachable=never", "gc", "--quiet", "--prune=now")
    assert not any(has_object(copy, c) for c in preview.unreachable)
    assert all(has_object(copy, c) for c in preview.reflog_only)
    assert all(has_object(copy, c) for c in rev_list(repo, "--all", "--reflog"))  # nothing else went


def test_gc_preview_cli(tmp_path, capsys):
    repo = shadowed_repo(tmp_path)
    code, out, _ = run_cli(capsys, "gc-preview", str(repo))
    assert code == 1
    assert "refs/heads/main" in out and "stale-loose" in out and "Do NOT run git gc" in out
    code, out, _ = run_cli(capsys, "gc-preview", str(repo), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["unreachable_count"] == 1 and doc["reflog_only_count"] == 2
    assert {r["name"] for r in doc["lost_refs"]} == {"refs/heads/main", "refs/changes/01/1/meta", "refs/heads/newer"}
    # the scan's stale-loose problem points here
    code, out, _ = run_cli(capsys, "scan", str(tmp_path))
    assert "[stale-loose-ref]" in out and "see 'gitward gc-preview REPO'" in out


def test_gc_preview_harmless_and_clean(tmp_path, capsys):
    clean = init_bare(tmp_path / "clean.git")
    commit_chain(clean, 2)
    assert run_cli(capsys, "gc-preview", str(clean)) == (0, "git pack-refs --all would throw no packed value away here.\n", "")
    harmless = init_bare(tmp_path / "harmless.git")
    commit_chain(harmless, 2)
    git(harmless, "pack-refs", "--all")
    advance(harmless, "refs/heads/main", 1)
    code, out, _ = run_cli(capsys, "gc-preview", str(harmless))
    assert code == 0 and "dead-packed" in out and "Nothing at risk" in out
    assert run_cli(capsys, "gc-preview", str(tmp_path / "nope"))[0] == 2


def test_broken_and_symbolic_loose_files_are_not_packed(tmp_path):
    repo = shadowed_repo(tmp_path, unpackable=True)
    preview = gc_preview(str(repo))
    assert {"refs/heads/broken", "refs/heads/sym"}.isdisjoint(r.name for r in preview.lost_refs)
    before = packed_entries(repo)
    copy = tmp_path / "copy.git"
    shutil.copytree(repo, copy, symlinks=True)
    subprocess.run(["git", "-C", str(copy), "pack-refs", "--all"], capture_output=True)
    after = packed_entries(copy)
    assert {name for name in before if after.get(name) != before[name]} == {r.name for r in preview.lost_refs}
