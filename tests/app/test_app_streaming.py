"""What arrives while the console runs: scan results in batches, a sync's log in bursts.

The host list keeps its order, tallies and filter as reports arrive in any batches (the table
re-sorts only what is new: its order must be the one a full sort of every report gives); the
side pane builds nothing while hidden; the log view keeps every line in order and draws each
as rich would.
"""

from __future__ import annotations

import dataclasses
import gc
import random
import re

import pytest
from rich.text import Text
from textual.app import App
from textual.strip import Strip

from app_support import NOW
from tui.app import create_app
from tui.app.filtering import RowFilter
from tui.app.testing import settle, wait_for_scan
from tui.app import scan_gc
from tui.app.widgets import log_lines, repo_table
from tui.app.widgets.log_model import ORIGIN, SHOWN, TEXT, TIME
from tui.app.widgets.log_view import SyncLog
from tui.app.widgets.repo_detail import RepoDetail
from tui.app.widgets.repo_table import COLUMN_KEYS, SORT_KEYS, is_fault
from tui.app.widgets.summary import severity_counts
from tui.demo import build_demo


@pytest.fixture(scope="module")
def two_demo_roots(tmp_path_factory) -> list[str]:
    """Two demo hosts: the same repository names under two roots (sort keys tie across them)."""
    base = tmp_path_factory.mktemp("two-demo-hosts")
    return [build_demo(str(base / name / "demo"), now=NOW) for name in ("east", "west")]


def full_sort(table, reports) -> list[str]:
    """What the list shows by definition: every report the filters pass, sorted stably by the
    column's key from the order the reports were first seen in."""
    rows = [report for report in reports if table.visible(report)]
    rows.sort(key=SORT_KEYS[table.sort_column], reverse=table.sort_reverse)
    return [report.path for report in rows]


def assert_tallies(table) -> None:
    reports = list(table.reports.values())
    assert table.faulty == sum(1 for report in reports if is_fault(report))
    assert table.problem_counts == severity_counts(p for report in reports for p in report.problems)


async def test_rows_that_arrive_in_batches_all_show_in_the_order_a_full_sort_gives(two_demo_roots):
    app = create_app(two_demo_roots, jobs=1, now=NOW, config=None)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        table = app.host_screen.table
        scanned = list(table.reports.values())
        assert len(scanned) >= 16
        table.retain(set())  # as if nothing had been read yet
        assert table.row_count == 0 and table.faulty == 0 and not any(table.problem_counts.values())
        arrival = scanned[:]
        random.Random(12).shuffle(arrival)
        seen: dict[str, object] = {}  # path -> report, in first-seen order (as the table's dict)
        for start in range(0, len(arrival), 3):
            batch = arrival[start : start + 3]
            # A batch may also bring a repository again (read once more: a new report object).
            again = [dataclasses.replace(report) for report in list(seen.values())[:2]]
            table.upsert(batch + again)
            for report in batch + again:
                seen[report.path] = report
            await pilot.pause()
            assert [report.path for report in table.rows] == full_sort(table, seen.values())
            assert_tallies(table)
        assert table.row_count == len(scanned)
        # Every column, both ways, then the filters, then more arrivals under them.
        for column in COLUMN_KEYS:
            for reverse in (False, True):
                table.sort_by(column, reverse=reverse)
                assert [report.path for report in table.rows] == full_sort(table, seen.values()), (column, reverse)
        table.set_faults_only(True)
        assert [report.path for report in table.rows] == full_sort(table, seen.values())
        table.set_filter(RowFilter.parse("project", table.filter_fields))
        table.upsert([dataclasses.replace(report) for report in list(seen.values())[3:9]])
        for report in list(seen.values())[3:9]:
            seen[report.path] = table.reports[report.path]
        assert 0 < table.row_count < len(scanned)
        assert [report.path for report in table.rows] == full_sort(table, seen.values())
        # A rescan that no longer finds some: gone from rows and tallies alike.
        kept = {report.path for report in scanned[::2]}
        table.retain(kept)
        seen = {path: report for path, report in seen.items() if path in kept}
        table.set_faults_only(False)
        table.set_filter(RowFilter())
        assert [report.path for report in table.rows] == full_sort(table, seen.values())
        assert_tallies(table)


async def test_a_few_reports_into_many_go_where_a_full_sort_puts_them_in_every_order(two_demo_roots, monkeypatch):
    """A batch much smaller than the list is inserted in place (bisect), not sorted in: the
    order must still be a full sort's, for every column both ways, and a report read again
    (a new object with the same path) must replace its row, not add one."""
    # The demo hosts hold 16 repositories: one report in 15 others is "few" at 1/2.
    monkeypatch.setattr(repo_table, "IN_PLACE_RATIO", 2)
    app = create_app(two_demo_roots, jobs=1, now=NOW, config=None)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        table = app.host_screen.table
        scanned = list(table.reports.values())
        assert len(scanned) * 2 > 3  # one report is fewer than half of them: inserted in place
        order = random.Random(7)
        for column in COLUMN_KEYS:
            for reverse in (False, True):
                table.sort_by(column, reverse=reverse)
                for report in order.sample(list(table.reports.values()), 3):
                    table.upsert([dataclasses.replace(report)])
                    assert [r.path for r in table.rows] == full_sort(table, table.reports.values()), (column, reverse)
                gone = order.choice(list(table.reports))
                table.drop([gone])
                assert [r.path for r in table.rows] == full_sort(table, table.reports.values()), (column, reverse)
                table.upsert([scanned[[r.path for r in scanned].index(gone)]])  # found again: a new arrival
                assert [r.path for r in table.rows] == full_sort(table, table.reports.values()), (column, reverse)
        assert table.row_count == len(scanned)
        assert_tallies(table)
        await pilot.pause()


async def test_a_scan_freezes_its_reports_for_the_collector_and_a_rescan_thaws_them(two_demo_roots, monkeypatch):
    """Every FREEZE_REPORTS reports what lives is moved out of the cyclic collector's sight
    (its full collections stay short at 20,000 repositories); the next scan makes it
    collectable again before it freezes its own reports."""
    monkeypatch.setattr(scan_gc, "FREEZE_REPORTS", 4)
    gc.unfreeze()
    app = create_app(two_demo_roots, jobs=1, now=NOW, config=None)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await wait_for_scan(pilot)
            host = app.host_screen
            assert host.table.row_count >= 4 and gc.get_freeze_count() > 0
            thawed: list[int] = []
            monkeypatch.setattr(scan_gc.gc, "collect", lambda *args: thawed.append(gc.get_freeze_count()) or 0)
            host.action_rescan()
            assert thawed[0] == 0  # unfrozen before the full collection
            await wait_for_scan(pilot)
            assert gc.get_freeze_count() > 0
            assert host.table.row_count >= 4
    finally:
        gc.unfreeze()


def test_no_full_collection_of_its_own_while_a_scan_runs_and_the_thresholds_come_back():
    before = gc.get_threshold()
    freezer = scan_gc.ReportFreezer()
    freezer.scan_starts()
    try:
        young, middle, oldest = gc.get_threshold()
        assert (young, middle) == before[:2] and oldest == scan_gc.NO_FULL_COLLECTION
        freezer.scan_starts()  # a rescan before the end: the thresholds kept are still the collector's
    finally:
        freezer.scan_ends()
    assert gc.get_threshold() == before
    freezer.scan_ends()  # twice (the screen closed after the scan ended): nothing to restore
    assert gc.get_threshold() == before


async def test_the_collectors_thresholds_are_its_own_again_once_the_scan_ended(demo_root):
    before = gc.get_threshold()
    app = create_app([demo_root], jobs=1, now=NOW, config=None)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        assert gc.get_threshold() == before
        app.host_screen.action_rescan()
        assert gc.get_threshold()[2] == scan_gc.NO_FULL_COLLECTION  # (the scan runs in a thread)
    assert gc.get_threshold() == before  # the screen closed mid-scan: restored on unmount


async def test_the_header_counts_follow_reports_that_arrive_and_are_read_again(demo_root):
    app = create_app([demo_root], jobs=1, now=NOW, config=None)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        host = app.host_screen
        table = host.table
        header = str(host.query_one("#summary").render())
        faulty = table.faulty
        assert faulty and f"{faulty:,} with faults" in header
        # The same repository read again (as after a sync) is counted once, not twice.
        report = next(r for r in table.reports.values() if is_fault(r))
        host.repo_rescanned(dataclasses.replace(report))
        host.refresh_summary()
        await pilot.pause()
        assert table.faulty == faulty
        assert str(host.query_one("#summary").render()) == header
        assert_tallies(table)


async def test_the_side_pane_builds_nothing_while_hidden_and_shows_the_highlighted_repo_when_widened(demo_root, home):
    app = create_app([demo_root], jobs=1, now=NOW, config=None)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        table = app.host_screen.table
        detail = app.host_screen.query_one(RepoDetail)
        names = [report.name for report in table.rows]
        table.move_cursor(names.index("gerrit/project-alpha.git"))
        await pilot.pause()
        assert not detail.display and not detail.query(".problem-head")
        await pilot.resize_terminal(250, 60)
        await settle(pilot)
        assert detail.display
        assert "gerrit/project-alpha.git" in str(detail.query_one("#detail-title").render())
        assert any("stale-loose-ref" in str(head.render()) for head in detail.query(".problem-head"))


class _LogApp(App):
    def compose(self):
        yield SyncLog(max_lines=1000)


def _as_text_renders(view, entry) -> Strip:
    """The line as rich renders it from a Text (what the view drew before it made segments)."""
    text = Text(no_wrap=True, end="")
    if view.timestamps:
        text.append(log_lines.stamp(entry[TIME]) + " ", style=view._style("stamp"))
    origin = entry[ORIGIN]
    style = None
    if origin == log_lines.ORIGIN_GITWARD:
        style = view._style("gitward")
    elif origin == log_lines.ORIGIN_MARKER:
        style = view._style("marker")
    elif log_lines._ERROR_LINE.match(entry[SHOWN]):
        style = view._style("error")
    text.append(log_lines.GUTTER.get(origin, "  "), style=style)
    text.append(entry[SHOWN], style=style)
    text.stylize_before(view.base_style)
    return Strip(list(text.render(view.app.console)), text.cell_len)


def _runs(strip: Strip) -> list[tuple[str, object]]:
    """A strip's text by style, adjacent segments of one style joined."""
    runs: list[tuple[str, object]] = []
    for segment in strip:
        if not segment.text:
            continue
        if runs and runs[-1][1] == segment.style:
            runs[-1] = (runs[-1][0] + segment.text, segment.style)
        else:
            runs.append((segment.text, segment.style))
    return runs


async def test_bursts_of_log_lines_arrive_in_order_and_draw_as_rich_draws_them():
    app = _LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(SyncLog)
        number = 0
        for burst in (1, 600, 3, 900, 250):  # 1,754 lines, a view of 1,000
            lines = []
            for _ in range(burst):
                number += 1
                lines.append(f"error: line {number}" if number % 97 == 0 else f"line {number} of a chatty remote")
            log.write_lines(lines)
            await pilot.pause()
        texts = log.text_lines()
        assert len(texts) == 1000 and log.dropped == number - 1000
        assert [int(re.search(r"line (\d+)", text).group(1)) for text in texts] == list(range(number - 999, number + 1))
        view = log.lines
        assert view.follow  # following: the last lines are on screen
        height = view.scrollable_content_region.height
        shown = [view.render_line(y).text.rstrip() for y in range(height)]
        assert shown[-1] == f"  line {number} of a chatty remote"
        entries = log.model.entries
        for timestamps in (False, True):
            view.set_timestamps(timestamps)
            for entry in entries[-height:] + [entry for entry in entries if entry[TEXT].startswith("error")][:3]:
                strip = view._strip(entry)
                expected = _as_text_renders(view, entry)
                assert _runs(strip) == _runs(expected) and strip.cell_length == expected.cell_length
        # The / search marks lines over their own colours; n and N move between them.
        log.search(RowFilter.parse("error:"))
        assert view.match_count == sum(1 for text in texts if text.startswith("error:"))
        first = view.current_match
        log.action_next_match()
        assert view.current_match != first and entries[view.current_match][TEXT].startswith("error:")


async def test_a_separate_git_dir_shown_as_bare_is_retracted_when_its_work_tree_is_found(tmp_path):
    """The console streams bare repositories as they are read (core.scan hold_bare=False): a
    separate git dir found as a directory of its own first is shown, then retracted when its
    work tree's ``.git`` file names it; the count of scanned repositories follows."""
    from gitrepo import commit_chain, git, init_bare

    root = tmp_path / "host"
    commit_chain(init_bare(root / "gerrit" / "a.git"), 1)
    git(root, "init", "--quiet", "--separate-git-dir", str(root / "sep-gitdir.git"), str(root / "work" / "c"))
    app = create_app([str(root)], jobs=1, now=NOW, config=None)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        host = app.host_screen
        assert sorted(report.name for report in host.table.reports.values()) == ["gerrit/a.git", "work/c"]
        assert host._scanned == 2  # sep-gitdir.git was read and shown (jobs=1), then retracted
        assert host.table.reports[str(root / "work" / "c")].git_dir == str(root / "sep-gitdir.git")
