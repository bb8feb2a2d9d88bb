"""The command line: JSON contract, exit codes, clear errors, and git as the judge."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import commit_chain, for_each_ref, git, init_bare, init_repo, write_loose

from tui.cli.main import main

REF_FIELDS = {"name", "value", "source", "loose_value", "packed_value", "peeled", "symbolic_target", "verdict", "broken_reason"}
WORKTREE_FIELDS = {"id", "path", "head", "branch", "detached", "main", "bare", "locked", "lock_reason", "prunable", "prunable_reason", "current", "missing", "listed"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def incident(tmp_path) -> tuple[Path, Path, list[str]]:
    root = tmp_path / "host"
    repo = init_bare(root / "project.git")
    commits = commit_chain(repo, 5)
    for i in range(3):
        git(repo, "update-ref", f"refs/changes/0{i}/10{i}/meta", commits[4])
    git(repo, "pack-refs", "--all")
    write_loose(repo, "refs/changes/00/100/meta", commits[1])  # stale-loose
    write_loose(repo, "refs/changes/01/101/meta", commits[4])  # identical loose copy
    clean = init_bare(root / "clean.git")
    commit_chain(clean, 1)
    return root, repo, commits


def test_scan_json_contract(capsys, incident):
    root, repo, _ = incident
    code, out, _ = run(capsys, "scan", str(root), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["summary"]["repos"] == 2
    project = next(r for r in data["repos"] if r["name"] == "project.git")
    assert project["layout"] == "bare"
    assert project["refs"]["both"] == 2
    assert project["refs"]["shadows"]["stale-loose"] == 1
    assert project["refs"]["shadows"]["identical"] == 1
    assert project["refs"]["total"] == len(for_each_ref(repo))
    problem = next(p for p in project["problems"] if p["code"] == "stale-loose-ref")
    assert set(problem) == {"code", "severity", "message", "subject"}
    assert problem["severity"] == "error"
    assert set(project["worktrees"]) == {"total", "locked", "prunable", "items"}


def test_fail_on_exit_codes(capsys, incident):
    root, _, _ = incident
    assert run(capsys, "scan", str(root), "--fail-on", "error")[0] == 1
    clean = root / "clean.git"
    assert run(capsys, "scan", str(clean), "--fail-on", "warning")[0] == 0


def test_refs_json_matches_git(capsys, incident):
    _, repo, commits = incident
    code, out, _ = run(capsys, "refs", str(repo), "--json")
    assert code == 0
    refs = json.loads(out)
    assert all(set(r) == REF_FIELDS for r in refs)
    ours = {r["name"]: r["value"] for r in refs if r["name"] != "HEAD"}
    assert ours == for_each_ref(repo)
    code, out, _ = run(capsys, "refs", str(repo), "--json", "--shadowed")
    shadowed = json.loads(out)
    assert [(r["name"], r["verdict"]) for r in shadowed] == [
        ("refs/changes/00/100/meta", "stale-loose"),
        ("refs/changes/01/101/meta", "identical"),
    ]
    stale = shadowed[0]
    assert (stale["loose_value"], stale["packed_value"], stale["source"]) == (commits[1], commits[4], "both")


def test_refs_prefix_and_text_output(capsys, incident):
    _, repo, _ = incident
    code, out, _ = run(capsys, "refs", str(repo), "--prefix", "refs/changes/02/")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "VALUE", "SOURCE", "PACKED", "VERDICT"]
    assert len(lines) == 2 and "refs/changes/02/102/meta" in lines[1] and "packed" in lines[1]


def test_worktrees_json_matches_git(capsys, tmp_path):
    repo = init_repo(tmp_path / "w")
    commit_chain(repo, 2)
    git(repo, "worktree", "add", "--quiet", "--detach", str(tmp_path / "wt1"))
    git(repo, "worktree", "add", "--quiet", str(tmp_path / "wt2"), "-b", "two")
    git(repo, "worktree", "lock", "--reason", "nfs volume", str(tmp_path / "wt1"))
    import shutil

    shutil.rmtree(tmp_path / "wt2")
    code, out, _ = run(capsys, "worktrees", str(repo), "--json")
    assert code == 0
    items = json.loads(out)
    assert all(set(w) == WORKTREE_FIELDS for w in items)
    porcelain = git(repo, "worktree", "list", "--porcelain")
    assert [w["path"] for w in items] == [line[9:] for line in porcelain.splitlines() if line.startswith("worktree ")]
    by_path = {w["path"]: w for w in items}
    assert by_path[str(tmp_path / "wt1")]["lock_reason"] == "nfs volume"
    assert by_path[str(tmp_path / "wt2")]["prunable_reason"] == "gitdir file points to non-existent location"
    assert "prunable gitdir file points to non-existent location" in porcelain


@pytest.mark.parametrize(
    "argv, words",
    [
        (["refs", "/nonexistent/repo"], "no such directory"),
        (["worktrees", "/"], "not a git repository"),
        (["scan", "/x", "--jobs", "0"], "--jobs must be 1 or more"),
    ],
)
def test_bad_input_is_one_clear_line(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_scan_missing_root_is_bad_input(capsys, tmp_path):
    """A root that is not there is a typo or an unmounted volume: exit 2 before any output
    (never exit 0 with an empty table). A root that cannot be listed is scanned and reported."""
    code, out, err = run(capsys, "scan", str(tmp_path / "gone"), "--json", "--fail-on", "error")
    assert code == 2 and out == "" and f"{tmp_path / 'gone'}: no such directory" in err
    assert run(capsys, "scan", str(tmp_path / "gone"))[0] == 2


def test_escape_codes_and_markup_in_names_never_reach_the_terminal(capsys, tmp_path):
    repo = init_bare(tmp_path / "x.git")
    commits = commit_chain(repo, 1)
    write_loose(repo, "refs/heads/\x1b[31mred\x1b]0;owned\x07", commits[0])
    code, out, _ = run(capsys, "refs", str(repo))
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    code, out, _ = run(capsys, "scan", str(tmp_path))
    assert "\x1b" not in out


def test_prometheus_format(capsys, incident):
    root, _, _ = incident
    code, out, _ = run(capsys, "scan", str(root), "--format", "prometheus")
    assert code == 0
    assert 'code="stale-loose-ref",severity="error"} 1' in out
    assert 'gitward_repositories{layout="bare"} 2' in out


def test_python_dash_m_and_console_script(tmp_path, incident):
    root, _, _ = incident
    result = subprocess.run([sys.executable, "-m", "tui", "scan", str(root), "--json"], capture_output=True, text=True)
    assert result.returncode == 0 and json.loads(result.stdout)["summary"]["repos"] == 2
    # The installed console script; without a terminal it prints the scan instead of a screen.
    script = Path(sys.executable).with_name("gitward")
    result = subprocess.run([str(script), str(root)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and "project.git" in result.stdout


def test_paths(capsys):
    code, out, _ = run(capsys, "paths")
    assert code == 0 and "config" in out and "state" in out


def test_refs_on_a_reftable_repo_refuses_clearly(capsys, tmp_path):
    repo = init_bare(tmp_path / "rt.git")
    git(repo, "config", "core.repositoryformatversion", "1")
    git(repo, "config", "extensions.refStorage", "reftable")
    code, out, err = run(capsys, "refs", str(repo), "--json")
    assert code == 2 and out == ""
    assert "reftable" in err and err.count("\n") == 1
