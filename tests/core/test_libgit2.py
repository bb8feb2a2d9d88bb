"""The lean libgit2 loader and the objects-only open give the same verdicts as full pygit2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import commit_chain, git, init_bare, write_loose

# Judges every shadow of a repo in a fresh interpreter; prints which loader ran and the verdicts.
JUDGE = """
import json, sys
if sys.argv[2] == "full":
    import pygit2  # somebody imported pygit2 in full before us: the loader must use it
from tui.core import libgit2
from tui.core.refstore import judge_shadows, read_snapshot
snapshot = read_snapshot(sys.argv[1])
judge_shadows(snapshot)
print(json.dumps({
    "lean": libgit2.is_lean(),
    "pygit2_package_loaded": "pygit2" in sys.modules,
    "verdicts": {name: verdict.value for name, verdict in snapshot.verdicts.items()},
    "errors": snapshot.verdict_errors,
}))
"""


def judge_in_fresh_interpreter(repo: Path, mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", JUDGE, str(repo), mode], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


@pytest.fixture
def borrowing_repo(tmp_path) -> Path:
    """A clone whose objects live in its source (objects/info/alternates), with every verdict."""
    source = init_bare(tmp_path / "source.git")
    commits = commit_chain(source, 6)
    side = commit_chain(source, 2, branch="side", message="side")
    git(source, "tag", "-a", "-m", "one", "ta", commits[1])
    git(source, "repack", "-adq")
    clone = tmp_path / "borrower.git"
    git(tmp_path, "clone", "--quiet", "--bare", "--shared", str(source), str(clone))
    assert (clone / "objects/info/alternates").exists()
    for name, value in {
        "refs/heads/same": commits[3], "refs/heads/old": commits[2], "refs/heads/new": commits[5],
        "refs/heads/split": side[1], "refs/heads/gone": commits[2],
    }.items():
        git(clone, "update-ref", name, value)
    git(clone, "pack-refs", "--all")
    write_loose(clone, "refs/heads/same", commits[3])  # identical
    write_loose(clone, "refs/heads/old", commits[4])  # loose descends from packed: dead-packed
    write_loose(clone, "refs/heads/new", commits[1])  # packed descends from loose: stale-loose
    write_loose(clone, "refs/heads/split", commits[4])  # diverged
    write_loose(clone, "refs/heads/gone", "1" * 40)  # missing object
    other_tag = git(clone, "mktag", input=(
        f"object {commits[2]}\ntype commit\ntag ta\ntagger T <t@e> 1700000000 +0000\n\nother\n"
    ).encode()).strip()
    write_loose(clone, "refs/tags/ta", other_tag)  # two tags: undecidable
    write_loose(clone, "refs/heads/main", b"")  # broken loose over the packed main
    return clone


EXPECTED = {
    "refs/heads/same": "identical", "refs/heads/old": "dead-packed", "refs/heads/new": "stale-loose",
    "refs/heads/split": "diverged", "refs/heads/gone": "missing-object", "refs/tags/ta": "undecidable",
    "refs/heads/main": "broken-loose",
}


def test_lean_loader_judges_every_verdict_through_alternates(borrowing_repo):
    lean = judge_in_fresh_interpreter(borrowing_repo, "lean")
    assert lean["lean"] is True, "the compiled module could not be loaded alone: scans pay ~85 ms more"
    assert lean["pygit2_package_loaded"] is False  # pygit2's __init__ never ran
    assert lean["verdicts"] == EXPECTED
    assert lean["errors"] == []


def test_full_pygit2_already_imported_gives_the_same_verdicts(borrowing_repo):
    full = judge_in_fresh_interpreter(borrowing_repo, "full")
    assert full["lean"] is False
    assert full["verdicts"] == EXPECTED


def test_full_import_after_the_lean_load_still_works(borrowing_repo):
    code = (
        "import sys\n"
        "from tui.core import libgit2\n"
        "module = libgit2.load()\n"
        "assert libgit2.is_lean() and 'pygit2' not in sys.modules\n"
        "import pygit2\n"
        "repo = pygit2.Repository(sys.argv[1])\n"
        "print(repo.is_bare, pygit2.Commit is module.Commit)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(borrowing_repo)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


@pytest.mark.parametrize("before", [None, "/etc/ssl/certs/ca-certificates.crt"])
def test_the_lean_load_leaves_ssl_cert_file_as_it_was(borrowing_repo, before):
    """The load points SSL_CERT_FILE at nothing while libgit2 initialises; a subprocess
    started afterwards (git fetch over https) sees the operator's value again."""
    code = (
        "import os, subprocess, sys\n"
        "from tui.core import libgit2\n"
        "libgit2.load()\n"
        "assert libgit2.is_lean()\n"
        "print(os.environ.get('SSL_CERT_FILE'))\n"
        "subprocess.run([sys.executable, '-c', 'import os; print(os.environ.get(\"SSL_CERT_FILE\"))'], check=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    if before is not None:
        env["SSL_CERT_FILE"] = before
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(before)] * 2


def test_object_store_that_is_not_a_directory_is_a_clear_error(borrowing_repo):
    from tui.core.refstore import ObjectReader

    objects = borrowing_repo / "objects"
    objects.rename(borrowing_repo / "objects.moved")
    objects.write_text("not a directory\n")
    reader = ObjectReader(str(borrowing_repo))
    with pytest.raises(LookupError, match="cannot open object store: .*objects is not a directory"):
        reader.merge_base("1" * 40, "2" * 40)
