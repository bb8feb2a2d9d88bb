"""Keys that do nothing say why (issue 11): in read-only mode a key bound to a hidden write
action, and a key whose action does not apply here (P in a repository with no shadows), show a
short notification instead of nothing. Real repositories in tmp_path; git is the judge."""

from __future__ import annotations

import shutil
from pathlib import Path

from gitrepo import commit_chain, git, init_repo
from gitworktree import worktree_list
from tui.app.app import create_app
from tui.app.testing import settle
from app_support import open_command
from tui.core.write.journal import Journal

SIZE = (80, 24)


def checkout_with_gone_worktree(tmp_path: Path) -> Path:
    """host/app: a checkout with a linked worktree whose directory was deleted (prunable)."""
    repo = init_repo(tmp_path / "host" / "app")
    commit_chain(repo, 2)
    git(repo, "checkout", "-q", "main")
    git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "wt" / "gone"), "main")
    shutil.rmtree(tmp_path / "wt" / "gone")
    return repo


def record(app) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    original = app.notify

    def notify(message, **kwargs):
        seen.append((message, kwargs.get("title", "")))
        assert kwargs.get("markup") is False
        return original(message, **kwargs)

    app.notify = notify
    return seen


async def test_read_only_key_for_a_hidden_action_says_why(tmp_path):
    repo = checkout_with_gone_worktree(tmp_path)
    before = worktree_list(repo)
    app = create_app([str(tmp_path / "host")], jobs=1, config=None, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_command(pilot, "worktrees app")
        table = screen.query_one("#worktree-table")
        table.move_cursor(next(i for i, wt in enumerate(table.rows) if wt.prunable))
        await pilot.pause()
        seen = record(app)
        await pilot.press("p")
        await settle(pilot)
        assert app.screen is screen  # no dialog
        assert seen == [(app.host.gate.reason, "p: Prune")]
        await pilot.press("l", "S")
        await settle(pilot)
        assert [title for _, title in seen[1:]] == ["l: Lock", "S: Sync"]
        assert all(message == "read-only mode (--read-only): gitward changes nothing" for message, _ in seen)
        seen.clear()
        await pilot.press("2")  # an enabled binding: nothing to explain
        await settle(pilot)
        assert seen == []
    assert worktree_list(repo) == before
    assert Journal().entries() == []


async def test_prune_shadows_key_without_shadows_says_why(tmp_path):
    repo = init_repo(tmp_path / "host" / "plain")
    commit_chain(repo, 2)
    refs_before = git(repo, "for-each-ref")
    app = create_app([str(tmp_path / "host")], jobs=1, config=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_command(pilot, "refs plain")
        seen = record(app)
        await pilot.press("P")
        await settle(pilot)
        assert app.screen is screen
        assert seen == [("no ref here is both loose and packed: nothing to resolve", "P: Prune shadows")]
    assert git(repo, "for-each-ref") == refs_before
    assert Journal().entries() == []
