"""Tables that fit the terminal: 80x24, 140x40 and 250x60, driven with pilot on the demo host."""

from __future__ import annotations



from tui.app.testing import settle, wait_for_scan
from app_support import make_app, screen_text
from tui.app.widgets.repo_detail import RepoDetail
from tui.app.widgets.table_layout import Column, fit_columns




def line_of(table, y: int) -> str:
    return table.render_line(y).text


# --- the arithmetic ------------------------------------------------------------------------------------


def test_columns_give_way_highest_first_and_spare_width_lifts_cut_columns():
    columns = [
        Column("name", "name", flex=True, min_width=10),
        Column("verdict", "verdict"),
        Column("value", "value", give_way=1),
        Column("age", "age", give_way=2),
        Column("reason", "reason", max_width=8),
    ]
    content, full = [30, 12, 12, 10, 8], [30, 12, 12, 10, 20]
    widths, shown, total = fit_columns(columns, content, full, 60, 2, 1)
    assert shown == [True, True, True, False, True] and total <= 60  # age went first
    widths, shown, total = fit_columns(columns, content, full, 45, 2, 1)
    assert shown == [True, True, False, False, True] and total <= 45 and widths[0] >= 10
    widths, shown, total = fit_columns(columns, content, full, 200, 2, 1)
    assert all(shown) and widths[4] == 20  # the cut reason is whole before the name grows
    assert total == 200 and widths[0] == 200 - (1 + 12 + 12 + 10 + 20 + 4 * 2 + 1)


# --- 80x24 ---------------------------------------------------------------------------------------------


async def test_refs_tab_at_80_shows_name_source_and_verdict(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_scan(pilot)
        assert app.run_command("refs project-alpha")
        await settle(pilot)
        ref_list = app.screen.query_one("#ref-list")
        keys = [column.key for column in ref_list.shown_columns]
        assert keys[:4] == ["mark", "name", "source", "verdict"]
        assert "packed" not in keys  # gave way
        header = line_of(ref_list, 0)
        assert "source" in header and "verdict" in header
        rows = [line_of(ref_list, y) for y in range(1, ref_list.size.height)]
        assert any("✖ stale-loose" in row for row in rows)
        assert all(len(row.rstrip()) <= ref_list.size.width for row in rows)


async def test_the_first_column_stays_when_scrolling_right(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_scan(pilot)
        table = app.host_screen.table
        assert table.virtual_size.width > table.size.width  # the host list is wider than 80
        first_row = table.rows[0].name
        while table.scroll_x < table.max_scroll_x:  # all the way right, as an operator would
            await pilot.press("right")
            await pilot.pause()
        assert table.scroll_x > 0
        assert first_row in line_of(table, 1)  # the name column did not scroll away
        assert line_of(table, 0).lstrip().startswith("repo")
        scrolled = line_of(table, 0)
        assert "last fetch" in scrolled and "worst problem" not in scrolled  # the far columns came in


async def test_sorting_by_a_number_never_clips_the_last_column(demo_root, home):
    for width in (134, 136, 140):
        app = make_app(demo_root)
        async with app.run_test(size=(width, 30)) as pilot:
            await wait_for_scan(pilot)
            table = app.host_screen.table
            before = table.virtual_size.width
            for _ in range(10):  # every column in turn, the last one is "last fetch"
                await pilot.press("o")
                await pilot.pause()
                assert table.virtual_size.width == before, table.sort_column
            assert table.sort_column == "fetched"
            header = line_of(table, 0)
            if before <= width:
                assert "last fetch" in header and header.rstrip().endswith(("▲", "▼", "last fetch"))


async def test_footer_at_80_has_no_stray_characters(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_scan(pilot)
        footer = screen_text(app)[-1]
        assert "Palette" not in footer  # the docked palette entry no longer overlaps the keys
        assert "▏" not in footer
        assert footer.rstrip().endswith(("Journal", "Command", "Help"))


# --- 250x60 --------------------------------------------------------------------------------------------


async def test_wide_host_shows_the_highlighted_repos_problems_with_the_real_path(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(250, 60)) as pilot:
        await wait_for_scan(pilot)
        detail = app.host_screen.query_one(RepoDetail)
        assert detail.display and detail.size.width > 40
        table = app.host_screen.table
        names = [report.name for report in table.rows]
        table.move_cursor(names.index("gerrit/project-alpha.git"))
        await pilot.pause()
        assert "stale-loose-ref" in "\n".join(screen_text(app))  # on screen, beside the list
        bodies = " ".join(str(body.render()) for body in detail.query(".problem-body"))
        assert "gitward shadows prune ~/demo/host/gerrit/project-alpha.git --keep packed" in bodies
        assert "REPO" not in bodies
    async with make_app(demo_root).run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        assert not pilot.app.host_screen.query_one(RepoDetail).display  # not wide: the list has it all


async def test_wide_worktrees_show_the_prunable_reason_whole(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(250, 60)) as pilot:
        await wait_for_scan(pilot)
        assert app.run_command("worktrees sync/webapp")
        await settle(pilot)
        table = app.screen.query_one("#worktree-table")
        prunable = [w for w in table.rows if w.prunable]
        assert prunable
        drawn = "\n".join(line_of(table, y) for y in range(1, table.row_count + 1))
        for worktree in prunable:
            assert worktree.prunable_reason in drawn


async def test_host_header_breaks_between_its_groups_never_inside_one(demo_root, home):
    """At 80 columns the header does not fit on one line. It breaks between "gitward ROOT",
    "N repos (N with faults)", the severity tallies and the syncs, never inside one of them,
    and at 250 columns it is one line again (the break follows the width)."""
    app = make_app(demo_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_scan(pilot)
        summary = app.screen.query_one("#summary")
        region = summary.region
        shown = screen_text(app)[region.y:region.bottom]
        lines = [line[region.x:region.right].strip() for line in shown]
        assert len(lines) > 1
        groups = ["8 repos (6 with faults)", "✖ 4 errors  ▲ 4 warnings  ● 5 info", "no syncs running"]
        pieces = [piece for line in lines for piece in line.split("  ·  ")]
        assert pieces == ["gitward  ~/demo/host", *groups], lines
        await pilot.resize_terminal(250, 60)
        await settle(pilot)
        assert summary.render().plain.count("\n") == 0
        assert summary.size.height == 1


async def test_the_palette_entry_gives_way_when_the_keys_need_its_place(demo_root, home):
    """A repository's Log tab shows more keys than 112 columns hold: the docked "^p Palette"
    was drawn over them. It is hidden then, and back where the keys fit (Overview; 250 columns)."""
    app = make_app(demo_root)
    async with app.run_test(size=(112, 30)) as pilot:
        await wait_for_scan(pilot)
        assert app.run_command("refs project-alpha")
        await settle(pilot)
        await pilot.press("5")  # the Log tab
        await settle(pilot)
        footer = screen_text(app)[-1]
        assert "Follow/pause" in footer and "Palette" not in footer, footer
        await pilot.press("1")  # Overview: fewer keys
        await settle(pilot)
        footer = screen_text(app)[-1]
        assert footer.rstrip().endswith("^p Palette") and "Journal" in footer, footer
        await pilot.press("5")
        await pilot.resize_terminal(250, 40)
        await settle(pilot)
        footer = screen_text(app)[-1]
        assert "Follow/pause" in footer and footer.rstrip().endswith("^p Palette"), footer
        # 128 columns: the keys' own cells (109) and the entry (11) fit, but not with the cell
        # between keys (14 more): the entry was drawn over "Journal" (the sync-log screenshot).
        await pilot.resize_terminal(128, 40)
        await settle(pilot)
        footer = screen_text(app)[-1]
        assert "J Journal" in footer and "Palette" not in footer, footer
