"""Special files planted in a repository: reads never block, never read without end, and the
file is reported as what it is (a ``special-file`` problem), never shown as a value.

git itself hangs on a FIFO at a loose ref and reads a link to /dev/zero without end, so there is
no git cross-check for those: each command runs in a subprocess with a timeout, and a hang
fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import commit_chain, git, init_repo

TIMEOUT = 60  # generous for a loaded machine; a blocked read never finishes at all

SHADOW = "refs/heads/side"  # loose and packed: the plant hides the packed value
LONE = "refs/tags/planted"  # loose only


def gitward(*argv: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "tui", *argv],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"gitward {' '.join(argv)} did not finish in {TIMEOUT} s (blocked on a read?)") from exc


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (what the console's workers call), with a timeout."""
    try:
        return subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{code!r} did not finish in {TIMEOUT} s (blocked on a read?)") from exc


def make_socket(path: Path) -> None:
    # AF_UNIX paths are limited to ~107 bytes: bind by a relative name from the directory.
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path.name)
        sock.close()
    finally:
        os.chdir(cwd)


def plant(kind: str, path: Path, spare: Path) -> str:
    """Put ``kind`` at ``path`` (``spare``: a directory outside the repo for link targets).
    Returns the words gitward must use for what it found."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
        return "a FIFO"
    if kind == "symlink-to-fifo":
        target = spare / f"fifo-{path.name}"
        os.mkfifo(target)
        path.symlink_to(target)
        return "a FIFO"
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
        return "a character device"
    if kind == "socket":
        make_socket(path)
        return "a socket"
    if kind == "directory":
        target = spare / f"dir-{path.name}"
        target.mkdir()
        path.symlink_to(target)
        return "a directory"
    raise ValueError(kind)


KINDS = ["fifo", "symlink-to-fifo", "dev-zero", "socket", "directory"]


@pytest.fixture
def host(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(root, repo, spare): a repo under root with main and side packed, then side moved on loose."""
    root = tmp_path / "root"
    repo = init_repo(root / "repo")
    commit_chain(repo, 2)
    git(repo, "branch", "side", "main~1")
    git(repo, "pack-refs", "--all")
    spare = tmp_path / "spare"
    spare.mkdir()
    return root, repo, spare


def problems_of(scan: dict, code: str) -> list[dict]:
    return [p for repo in scan["repos"] for p in repo["problems"] if p["code"] == code]


@pytest.mark.parametrize("kind", KINDS)
def test_scan_reports_a_planted_loose_ref_as_a_special_file(host, kind):
    root, repo, spare = host
    words = plant(kind, repo / ".git" / SHADOW, spare)
    plant(kind, repo / ".git" / LONE, spare)

    result = gitward("scan", str(root), "--json", "--fail-on", "error")

    assert result.returncode == 1, result.stderr  # findings, not a crash
    scan = json.loads(result.stdout)
    special = {p["subject"]: p for p in problems_of(scan, "special-file")}
    assert set(special) == {SHADOW, LONE}
    for problem in special.values():
        assert problem["severity"] == "error"
        assert words in problem["message"]
    # Reported once, as what it is: not also as an unparseable file.
    assert problems_of(scan, "broken-loose-ref") == []


@pytest.mark.parametrize("kind", KINDS)
def test_refs_never_shows_a_value_for_a_planted_loose_ref(host, kind):
    root, repo, spare = host
    words = plant(kind, repo / ".git" / SHADOW, spare)
    plant(kind, repo / ".git" / LONE, spare)

    result = gitward("refs", str(repo), "--json")

    assert result.returncode == 0, result.stderr
    refs = {ref["name"]: ref for ref in json.loads(result.stdout)}
    for name in (SHADOW, LONE):
        assert refs[name]["value"] is None
        assert refs[name]["loose_value"] is None
        assert words in refs[name]["broken_reason"] and "not a regular file" in refs[name]["broken_reason"]
    assert refs[SHADOW]["source"] == "both" and refs[SHADOW]["verdict"] == "broken-loose"
    assert refs["refs/heads/main"]["value"] == git(repo, "rev-parse", "main").strip()


# Only the kinds that block a read: the dry run's wording for the others is refedit's.
@pytest.mark.parametrize("kind", ["fifo", "symlink-to-fifo"])
def test_shadows_prune_dry_run_finishes_and_changes_nothing(host, kind):
    root, repo, spare = host
    path = repo / ".git" / SHADOW
    plant(kind, path, spare)
    before = os.lstat(path)

    result = gitward("shadows", "prune", str(repo), "--dry-run", "--keep", "packed")

    assert result.returncode == 0, result.stderr
    assert SHADOW in result.stdout
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


@pytest.mark.parametrize("kind", KINDS)
def test_the_consoles_ref_load_finishes(host, kind):
    # The console's ref browser loads refs with load_snapshot in a worker thread.
    root, repo, spare = host
    words = plant(kind, repo / ".git" / SHADOW, spare)

    result = python(
        "import sys; from tui.core.refstore import load_snapshot\n"
        "ref = load_snapshot(sys.argv[1]).loose.refs[sys.argv[2]]\n"
        "print(ref.value, ref.special, sep='|')",
        str(repo / ".git"),
        SHADOW,
    )

    assert result.returncode == 0, result.stderr
    value, special = result.stdout.strip().split("|")
    assert value == "None" and words in special


@pytest.mark.parametrize("kind", ["symlink-to-fifo", "dev-zero", "directory"])
def test_head_linked_to_a_special_file(host, kind):
    # git accepts a symlink as HEAD (old-style symref); one to a FIFO would hang every git command.
    root, repo, spare = host
    words = plant(kind, repo / ".git" / "HEAD", spare)

    scan = gitward("scan", str(root), "--json")
    refs = gitward("refs", str(repo), "--json")

    assert scan.returncode == 0, scan.stderr
    (problem,) = problems_of(json.loads(scan.stdout), "special-file")
    assert problem["subject"] == "HEAD" and words in problem["message"]
    assert refs.returncode == 0, refs.stderr
    head = json.loads(refs.stdout)[0]
    assert head["name"] == "HEAD" and head["value"] is None and words in head["broken_reason"]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "socket", "directory"])
@pytest.mark.parametrize("name", ["packed-refs", "config"])
def test_packed_refs_or_config_replaced_by_a_special_file(host, kind, name):
    root, repo, spare = host
    path = repo / ".git" / name
    if kind == "directory":
        path.unlink()
        path.mkdir()
        words = "a directory"
    else:
        words = plant(kind, path, spare)

    result = gitward("scan", str(root), "--json")

    assert result.returncode == 0, result.stderr
    special = problems_of(json.loads(result.stdout), "special-file")
    assert [p["subject"] for p in special] == [name]
    assert special[0]["severity"] == "error" and words in special[0]["message"]


def test_sync_preflight_with_head_linked_to_a_fifo_finishes(tmp_path):
    # The planner reads HEAD to tell a clone from a git-sync root: that read must not block
    # (--timeout bounds git's processes, not gitward's own reads).
    upstream = init_repo(tmp_path / "upstream")
    commit_chain(upstream, 1)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(upstream), str(clone))
    head = clone / ".git" / "HEAD"
    head.unlink()
    os.mkfifo(tmp_path / "fifo")
    head.symlink_to(tmp_path / "fifo")

    result = gitward("sync", str(clone), "--timeout", "5")

    assert result.returncode != 0  # HEAD is no file git can read: the sync fails, and says so
    assert "gitward:" in result.stderr
