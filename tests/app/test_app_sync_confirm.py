"""S asks first, at 80x24: what the sync will do (a mirror's fetch --prune deletes refs, a git-sync
root removes old worktrees), Cancel focused, the buttons on the screen, and Cancel changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from gitrepo import for_each_ref, git

from tui.app.app import create_app
from tui.app.dialogs.sync_confirm import SyncConfirm
from tui.app.screens.host import HostScreen
from tui.app.testing import settle, wait_for_scan
from tui.demo import FIXED_EPOCH, build_demo

NOW = FIXED_EPOCH + 7 * 86400
SIZE = (80, 24)


@pytest.fixture
def demo(tmp_path, monkeypatch) -> Path:
    """The demo host, built for each test: these tests add worktrees to it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return Path(build_demo(str(tmp_path / "demo"), now=NOW))


async def open_sync_dialog(pilot, name: str) -> SyncConfirm:
    app = pilot.app
    await wait_for_scan(pilot)
    table = app.host_screen.table
    table.move_cursor([report.name for report in table.rows].index(name))
    await pilot.press("S")
    await settle(pilot)  # the preflight worker
    dialog = app.screen
    assert isinstance(dialog, SyncConfirm)
    return dialog


def dialog_text(dialog: SyncConfirm) -> str:
    return " ".join(str(static.render()) for static in dialog.query("Static"))


def assert_buttons_on_screen(dialog: SyncConfirm, size: tuple[int, int]) -> None:
    width, height = size
    buttons = list(dialog.query("Button"))
    assert [button.id for button in buttons][0] == "cancel" and len(buttons) >= 2
    for button in buttons:
        region = button.region
        assert region.height >= 1 and region.x >= 0 and region.y >= 0, (button.id, region)
        assert region.right <= width and region.bottom <= height, (button.id, region)


async def test_mirror_sync_says_it_deletes_refs_and_cancel_changes_nothing(demo):
    mirror = demo / "mirrors/upstream-lib.git"
    before = for_each_ref(mirror)
    app = create_app([str(demo)], jobs=1, now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_sync_dialog(pilot, "mirrors/upstream-lib.git")
        text = dialog_text(dialog)
        assert "git fetch --prune origin" in text and "upstreams/upstream-lib.git" in text
        assert "every ref that no longer exists upstream is deleted" in text
        assert dialog.focused is not None and dialog.focused.id == "cancel"
        assert_buttons_on_screen(dialog, SIZE)
        app.post_message(events.Key("colon", ":"))  # ':' is for the app, not over a dialog
        await settle(pilot)
        assert app.screen is dialog
        await pilot.press("enter")  # Cancel has the focus
        await settle(pilot)
        assert isinstance(app.screen, HostScreen) and app.syncs.jobs() == []
    assert for_each_ref(mirror) == before


async def test_git_sync_root_lists_the_worktrees_it_would_remove(demo):
    root = demo / "sync/webapp"
    old = git(root, "rev-parse", "HEAD~2").strip()  # 'step 2' is locked; step 1 is not there
    step1 = git(root, "rev-list", "--max-parents=0", "HEAD").strip()
    git(root, "worktree", "add", "--detach", f".worktrees/{step1}", step1)
    for n in range(20):  # enough entries that the body must scroll at 24 rows
        (root / ".worktrees" / f"stray-{n:02}").mkdir()
    app = create_app([str(demo)], jobs=1, now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_sync_dialog(pilot, "sync/webapp")
        text = dialog_text(dialog)
        assert "21 old worktrees to remove" in text and step1 in text
        assert f"{old}: locked (nfs volume)" in text  # locked: kept, and says so
        assert ".nfs" in text and "NFS removes it" in text
        current = git(root, "rev-parse", "HEAD").strip()
        assert f"  {current}" not in text  # the link's target is not listed as removed
        assert dialog.focused is not None and dialog.focused.id == "cancel"
        assert_buttons_on_screen(dialog, SIZE)
        await pilot.press("escape")
        await settle(pilot)
        assert app.syncs.jobs() == []
    assert (root / ".worktrees" / step1).is_dir()
