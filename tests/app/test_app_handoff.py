"""``y`` copies what is highlighted (real paths, never REPO), ``!`` opens a shell in the
repository and comes back, ``:theme`` lists the themes; warnings never look like errors."""

from __future__ import annotations

import os
import stat

from textual.command import CommandPalette

from tui.app.testing import settle, wait_for_scan
from app_support import make_app
from tui.app.themes import MIN_HUE_DEGREES, hue_distance
from tui.app.widgets.vtable import VirtualTable




async def highlight(pilot, name: str):
    table = pilot.app.host_screen.table
    table.move_cursor([report.name for report in table.rows].index(name))
    await pilot.pause()
    return table.current


# --- y -------------------------------------------------------------------------------------------------


async def test_y_copies_real_paths_ref_names_and_the_suggested_command(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        report = await highlight(pilot, "gerrit/project-alpha.git")
        await pilot.press("y")
        assert app.clipboard == report.path and os.path.isdir(app.clipboard)

        await pilot.press("enter")  # the repository, on its Overview: the suggested fix
        await settle(pilot)
        await pilot.press("y")
        assert app.clipboard == f"gitward shadows prune {report.path} --keep packed"
        assert "REPO" not in app.clipboard

        await pilot.press("3")  # Refs: the ref name under the cursor
        await settle(pilot)
        ref_list = app.screen.query_one("#ref-list")
        ref_list.move_cursor(3)
        await pilot.press("y")
        assert app.clipboard == ref_list.current.name

        assert app.run_command("locks gitlab/locked-repo.git")
        await settle(pilot)
        await pilot.press("y")  # Locks: the lock file, where it is
        assert os.path.isfile(app.clipboard) and app.clipboard.endswith(".lock")


# --- ! -------------------------------------------------------------------------------------------------


async def test_bang_runs_the_shell_in_the_repository_and_comes_back(demo_root, home, tmp_path, monkeypatch):
    """The console suspends, $SHELL runs (here a script that records where it ran), and the
    console is back on the same screen when it exits."""
    from textual.drivers.headless_driver import HeadlessDriver

    record = tmp_path / "shell-ran"
    shell = tmp_path / "fake-shell"
    shell.write_text(f'#!/bin/sh\nprintf "%s\\n%s\\n" "$(pwd -P)" "$GITWARD_REPO" > {record}\n')
    shell.chmod(shell.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("SHELL", str(shell))
    # The headless test driver says it cannot suspend; a terminal can (its suspend is the base no-op here).
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda self: True))
    app = make_app(demo_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_scan(pilot)
        report = await highlight(pilot, "work/tooling")
        screen = app.screen
        await pilot.press("exclamation_mark")
        await pilot.pause()
        ran_in, repo = record.read_text().splitlines()
        assert ran_in == os.path.realpath(report.path) and repo == report.path
        assert app.screen is screen and app.is_running


# --- :theme and colours ----------------------------------------------------------------------------------


async def test_theme_without_a_name_lists_the_themes(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_scan(pilot)
        assert app.run_command("theme")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        assert app.run_command("theme textual-light") and app.theme == "textual-light"


async def test_every_theme_tells_warnings_from_errors_and_light_themes_have_a_light_header(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_scan(pilot)
        table = app.host_screen.query_one(VirtualTable)
        for name, theme in sorted(app.available_themes.items()):
            if theme.ansi:  # the terminal picks the colours: the names must differ in hue family
                assert theme.warning in ("ansi_yellow", "ansi_bright_yellow"), name
                continue
            assert hue_distance(theme.warning, theme.error) >= MIN_HUE_DEGREES, name
            app.theme = name
            await pilot.pause()
            palette = table.palette
            assert palette.warning.color != palette.error.color, name
            header = table.get_component_rich_style("vtable--header").bgcolor or table.rich_style.bgcolor
            red, green, blue = header.get_truecolor()
            light = (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255 > 0.5
            assert light == (not theme.dark), name
