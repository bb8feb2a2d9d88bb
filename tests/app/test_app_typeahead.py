"""Type-ahead over a laggy link: keys that follow '/' or ':' land in the input, in order.

A slow SSH link delivers keys in bursts: '/mS' arrives as three key events at once. Pilot's
``press`` waits for the app between keys, which hides the bug, so these tests post the whole
burst with ``app.post_message`` and only then wait.
"""

from __future__ import annotations


from textual import events
from textual.widgets import Input

from tui.app.dialogs.command_prompt import CommandPrompt
from tui.app.screens.host import HostScreen
from tui.app.screens.jobs import JobsScreen
from tui.app.screens.repo import RepoScreen
from tui.app.testing import settle, wait_for_scan
from app_support import make_app

SIZE = (80, 24)  # the on-call window



_NAMES = {"\x1b": "escape", "\r": "enter", "/": "slash", ":": "colon", " ": "space", "!": "exclamation_mark", "^": "circumflex_accent", "$": "dollar_sign", ".": "full_stop"}


def burst(app, text: str) -> None:
    """Every key of ``text`` queued at once, as a burst from the terminal: no waiting between keys."""
    for character in text:
        app.post_message(events.Key(_NAMES.get(character, character), character))


async def select_row(pilot, name: str) -> None:
    table = pilot.app.host_screen.table
    table.move_cursor([report.name for report in table.rows].index(name))
    await pilot.pause()


async def test_host_filter_burst_lands_in_the_box_not_on_hotkeys(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        await select_row(pilot, "mirrors/upstream-lib.git")
        burst(app, "/mS")
        await settle(pilot)
        host = app.host_screen
        assert host.filter_box is not None and host.filter_box.value == "mS"
        assert app.syncs.jobs() == []  # S never reached the sync hotkey
        assert isinstance(app.screen, HostScreen)


async def test_command_line_burst_arrives_whole(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        burst(app, ":jobs\r")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)


async def test_command_line_burst_keeps_the_order_of_the_keys(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        burst(app, ":repo alpha")
        await settle(pilot)
        assert isinstance(app.screen, CommandPrompt)
        assert app.screen.line.value == "repo alpha"


async def test_host_filter_burst_does_not_resort_the_table(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        table = app.host_screen.table
        sort_before = (table.sort_column, table.sort_reverse)
        burst(app, "/tool")
        await settle(pilot)
        assert app.host_screen.filter_box.value == "tool"
        assert (table.sort_column, table.sort_reverse) == sort_before  # 'o' never sorted


async def test_inside_the_filter_box_slash_and_colon_are_text(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        burst(app, "/gerrit/:x")
        await settle(pilot)
        assert app.host_screen.filter_box.value == "gerrit/:x"
        assert isinstance(app.screen, HostScreen)  # ':' did not open the command line


async def test_repo_screen_filter_burst_lands_in_the_box(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        assert app.run_command("repo upstream-lib")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RepoScreen)
        burst(app, "/rsS3")
        await settle(pilot)
        box = screen.query_one("#repo-filter", Input)
        assert box.value == "rsS3"
        assert app.syncs.jobs() == []  # neither S (sync) ...
        assert screen.active_tab == "overview"  # ... nor 3 (Refs tab) ran as a hotkey
        burst(app, "\x1b")  # escape closes the filter first, and stays on the repository
        await settle(pilot)
        assert app.screen is screen and not box.display and box.value == ""


async def test_enter_in_the_filter_box_hands_the_keys_behind_it_to_the_list(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        table = app.host_screen.table
        burst(app, "/lib\ro")  # keep the filter, then 'o' sorts: in one burst
        await settle(pilot)
        assert app.host_screen.filter_box.value == "lib"
        assert app.focused is table
        assert table.sort_column not in (None, "name")  # 'o' reached the list as a hotkey


async def test_a_filter_burst_typed_during_the_start_lands_in_the_box(demo_root, home, monkeypatch):
    """The box is mounted after the first frame (it is hidden): keys typed before that frame
    mount it at once and land in it, as they do later."""
    mounted_before_the_first_frame: list[bool] = []
    on_mount, first_frame_drawn = HostScreen.on_mount, HostScreen._first_frame_drawn

    def on_mount_then_burst(screen):
        on_mount(screen)
        burst(screen.app, "/mS")

    def first_frame(screen):
        mounted_before_the_first_frame.append(screen._filter_box.parent is not None)
        return first_frame_drawn(screen)

    monkeypatch.setattr(HostScreen, "on_mount", on_mount_then_burst)
    monkeypatch.setattr(HostScreen, "_first_frame_drawn", first_frame)
    app = make_app(demo_root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        await settle(pilot)
        host = app.host_screen
        assert mounted_before_the_first_frame == [True]  # the burst came first
        assert host.filter_box.value == "mS" and host.focused is host.filter_box
        assert app.syncs.jobs() == []  # S never reached the sync hotkey
