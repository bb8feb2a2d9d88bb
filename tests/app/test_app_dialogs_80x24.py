"""Dialogs at 80x24 (issue 11): the buttons are always on screen (docked), the body scrolls, the
shadows preview shows the after-value column, and notifications never cover a dialog's buttons.
Driven with pilot at 80x24 on real repositories."""

from __future__ import annotations

import shutil
from pathlib import Path

from gitrepo import commit_chain, git, init_repo
from refedit_support import SHADOW_KINDS, build_shadows, ref_files
from tui.app.app import create_app
from tui.app.dialogs.confirm import ConfirmDialog
from tui.app.dialogs.prompts import TypeNameDialog
from tui.app.dialogs.shadow_preview import ShadowPreview
from tui.app.screens.repo import RepoScreen
from tui.app.testing import settle
from app_support import open_command

SIZE = (80, 24)


def assert_buttons_on_screen(screen) -> None:
    buttons = list(screen.query(".dialog-buttons Button"))
    assert buttons
    dialog = screen.query_one("#dialog").region
    for button in buttons:
        if button.display:
            assert screen.region.contains_region(button.region), (button.id, button.region)
            assert dialog.contains_region(button.region), (button.id, button.region, dialog)


async def test_shadows_preview_fits_with_its_after_column(tmp_path):
    repo = build_shadows(tmp_path / "host", kinds=tuple(SHADOW_KINDS))
    before = ref_files(repo.git_dir)
    app = create_app([str(tmp_path / "host")], jobs=1, config=None)
    async with app.run_test(size=SIZE) as pilot:
        await open_command(pilot, "refs repo.git")
        await pilot.press("P")
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, ShadowPreview)
        assert_buttons_on_screen(preview)
        table = preview.query_one("#plan-table")
        assert preview.region.contains_region(table.region.intersection(preview.query_one("#dialog").region))
        lines = [table.render_line(y).text for y in range(1, 4)]
        assert "after" in table.render_line(0).text
        for item in preview.plan.changes[:2]:
            assert any(item.after[:7] in line for line in lines), (item.after, lines)
        await pilot.click("#apply")
        await settle(pilot)
        assert isinstance(app.screen, TypeNameDialog)  # bulk: the name is asked for
        assert_buttons_on_screen(app.screen)
        await pilot.press("escape")
        await settle(pilot)
    assert ref_files(repo.git_dir) == before  # cancelled: nothing changed


def checkout_with_gone_worktrees(tmp_path: Path, count: int) -> Path:
    repo = init_repo(tmp_path / "host" / "app")
    commit_chain(repo, 2)
    git(repo, "checkout", "-q", "main")
    for i in range(count):
        git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "vol" / f"wt{i}"), "main")
    shutil.rmtree(tmp_path / "vol")
    return repo


async def test_long_prune_dialog_pins_its_buttons_scrolls_and_toasts_stay_clear(tmp_path):
    repo = checkout_with_gone_worktrees(tmp_path, 8)
    app = create_app([str(tmp_path / "host")], jobs=1, config=None)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_command(pilot, "worktrees app")
        await pilot.press("p")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and app.focused.id == "cancel"
        assert_buttons_on_screen(dialog)
        body = dialog.query_one("#dialog")
        assert body.max_scroll_y > 0  # eight worktrees do not fit: the body scrolls
        for _ in range(body.max_scroll_y // 10 + 1):
            await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        assert_buttons_on_screen(dialog)
        assert app.focused.id == "cancel"  # scrolling does not move the focus

        words = "the prune was refused because the worktree administrative files changed meanwhile"
        for n in range(3):
            app.notify(f"{n}: {words}", title="refused", severity="warning", markup=False)
        for _ in range(50):
            await pilot.pause()
            toasts = list(dialog.query("Toast"))
            if len(toasts) == 3 and all(t.region.height for t in toasts):
                break
        assert len(toasts) == 3
        for toast in toasts:
            for button in dialog.query(".dialog-buttons Button"):
                assert not toast.region.overlaps(button.region), (toast.region, button.id, button.region)
        shown = " ".join(
            " ".join(strip.text.strip(" ▌") for strip in toast.render_lines(toast.region.reset_offset)) for toast in toasts
        )
        for word in words.split():
            assert word in shown.split(), word  # wrapped at word boundaries, never inside a word
        await pilot.click("#cancel")
        await settle(pilot)
        assert isinstance(app.screen, RepoScreen)
    assert len(git(repo, "worktree", "list", "--porcelain").split("worktree ")) == 10  # nothing pruned
