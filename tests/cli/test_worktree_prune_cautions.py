"""`gitward worktree prune` gives the console's cautions and does not prune silently when the
worktrees look moved or on a volume that is away (DESIGN.md incident 2).

The volume is simulated the way it looks to git: the directory holding the worktrees is
renamed away, as an unmounted mount point would leave it. git's `worktree prune -n -v` is the
judge of what would be pruned; the admin dirs must survive every refusal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gitrepo import commit_chain, git, init_repo
from gitworktree import prune_dry_run
from refedit_support import run_cli

NOT_EXISTING = "gitdir file points to non-existent location"


@pytest.fixture
def volume_repo(tmp_path) -> Path:
    """main/ with worktrees a, b on vol/ (a separate 'volume'), c next to the repository."""
    repo = tmp_path / "main"
    init_repo(repo)
    commit_chain(repo, 1)
    for path in (tmp_path / "vol/a", tmp_path / "vol/b", tmp_path / "c"):
        git(repo, "worktree", "add", "-q", "--detach", str(path))
    return repo


def admin_dirs(repo: Path) -> set[str]:
    return {p.name for p in (repo / ".git/worktrees").iterdir()} if (repo / ".git/worktrees").exists() else set()


def unmount(tmp_path: Path) -> None:
    os.rename(tmp_path / "vol", tmp_path / "vol-unmounted")


def test_worktrees_on_a_vanished_volume_are_not_pruned_without_yes(volume_repo, tmp_path):
    unmount(tmp_path)
    assert prune_dry_run(volume_repo) == {"a": NOT_EXISTING, "b": NOT_EXISTING}  # git would prune both

    result = run_cli("worktree", "prune", volume_repo)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "nothing was pruned" in result.stderr and "--yes" in result.stderr
    for worktree_id in ("a", "b"):
        assert f"Caution: worktrees/{worktree_id}: its parent {tmp_path / 'vol'} is missing too" in result.stdout
    assert admin_dirs(volume_repo) == {"a", "b", "c"}
    assert prune_dry_run(volume_repo) == {"a": NOT_EXISTING, "b": NOT_EXISTING}  # untouched
    assert json.loads(run_cli("journal", "--json").stdout) == []  # nothing journaled: nothing began


def test_dry_run_shows_the_same_cautions_as_the_console(volume_repo, tmp_path):
    from tui.app.writes import plan_prune
    from tui.core.discovery import classify
    from tui.core.scan import scan_repo

    unmount(tmp_path)
    console = plan_prune(scan_repo(classify(str(volume_repo), str(tmp_path))))

    result = run_cli("worktree", "prune", volume_repo, "--dry-run", "--json")

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert [c["message"] for c in shown["cautions"]] == [c.message for c in console.cautions]
    assert {c["worktree"] for c in shown["cautions"]} == {"a", "b"}
    assert {item["id"] for item in shown["removes"]} == set(prune_dry_run(volume_repo)) == {"a", "b"}
    assert shown["every_worktree_gone"] is False  # c is still there
    assert admin_dirs(volume_repo) == {"a", "b", "c"}


def test_yes_prunes_what_git_would_and_undo_restores_it(volume_repo, tmp_path):
    unmount(tmp_path)

    result = run_cli("worktree", "prune", volume_repo, "--yes")

    assert result.returncode == 0, result.stderr
    assert "Removed worktrees/a" in result.stdout and "Removed worktrees/b" in result.stdout
    assert prune_dry_run(volume_repo) == {}
    assert admin_dirs(volume_repo) == {"c"}
    entry_id = result.stdout.split("journal entry ")[1].split()[0]
    assert run_cli("undo", entry_id, "--yes").returncode == 0
    assert prune_dry_run(volume_repo) == {"a": NOT_EXISTING, "b": NOT_EXISTING}


def test_every_worktree_gone_needs_force_moved(volume_repo, tmp_path):
    os.rename(tmp_path / "c", tmp_path / "vol" / "c-moved-away")  # c rides along with the volume
    unmount(tmp_path)
    assert set(prune_dry_run(volume_repo)) == {"a", "b", "c"}

    refused = run_cli("worktree", "prune", volume_repo, "--yes")

    assert refused.returncode == 1
    assert "every linked worktree" in refused.stderr and "--force-moved" in refused.stderr
    assert admin_dirs(volume_repo) == {"a", "b", "c"}

    forced = run_cli("worktree", "prune", volume_repo, "--force-moved")
    assert forced.returncode == 0, forced.stderr
    assert prune_dry_run(volume_repo) == {} and admin_dirs(volume_repo) == set()


def test_a_plainly_deleted_worktree_is_pruned_with_only_the_yes_every_write_needs(volume_repo, tmp_path):
    """rm -rf of one worktree next to its siblings: nothing looks away, git's rule applies."""
    import shutil

    shutil.rmtree(tmp_path / "vol/a")
    assert prune_dry_run(volume_repo) == {"a": NOT_EXISTING}

    # No caution: the one rule for writes applies (no terminal: --yes), nothing more is asked.
    assert run_cli("worktree", "prune", volume_repo).returncode == 1
    assert admin_dirs(volume_repo) == {"a", "b", "c"}
    result = run_cli("worktree", "prune", volume_repo, "--yes")

    assert result.returncode == 0, result.stderr
    assert "Caution" not in result.stdout
    assert prune_dry_run(volume_repo) == {} and admin_dirs(volume_repo) == {"b", "c"}
