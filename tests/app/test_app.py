"""The console driven with Textual's Pilot on real repositories (the demo host, built once)."""

from __future__ import annotations

import contextlib
import shutil


from gitrepo import commit_chain, git, init_bare, write_loose
from tui.app.app import binding_sections
from tui.app.dialogs.command_prompt import CommandPrompt
from tui.app.dialogs.ref_detail import RefDetail
from tui.app.read_only import MUTATING_ACTIONS
from tui.app.screens.help import HelpScreen
from tui.app.screens.host import HostScreen
from tui.app.screens.jobs import JobsScreen
from tui.app.screens.repo import RepoScreen
from tui.app.testing import record_notifications, settle, wait_for_scan
from app_support import make_app
from tui.app.widgets.log_view import SyncLog
from tui.app.widgets.ref_browser import RefBrowser
from tui.app.widgets.ref_list import RefList
from tui.app.widgets.repo_table import is_fault

SIZE = (140, 40)
DEMO_REPOS = 8


@contextlib.asynccontextmanager
async def scanned(root: str, command: str | None = None, **kwargs):
    """The app on ``root``, its first scan done (and ``command`` run, when given)."""
    app = make_app(root, **kwargs)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        if command is not None:
            assert app.run_command(command)
            await settle(pilot)
        yield app, pilot


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])


def row_names(app) -> list[str]:
    return [report.name for report in app.host_screen.table.rows]


# --- host screen -------------------------------------------------------------------------------------


async def test_the_summary_counts_repos_and_problems(demo_root, home):
    async with scanned(demo_root) as (app, pilot):
        assert sorted(row_names(app)) == row_names(app)  # sorted by name
        assert len(row_names(app)) == DEMO_REPOS
        summary = str(app.host_screen.query_one("#summary").render())
        assert "~/demo/host" in summary and f"{DEMO_REPOS} repos" in summary
        assert "✖" in summary and "errors" in summary and "no syncs running" in summary


async def test_rows_stream_in_batches_not_one_message_per_repo(tmp_path, home, monkeypatch):
    import dataclasses

    import tui.core.scan
    from tui.core.discovery import classify
    from tui.core.scan import scan_repo

    repo = init_bare(tmp_path / "one.git")
    commit_chain(repo, 1)
    template = scan_repo(classify(str(repo), str(tmp_path)))
    count = 600

    def fake_scan(roots, **kwargs):  # the core's scan, as fast as it can go
        for i in range(count):
            yield dataclasses.replace(template, path=f"{template.path}-{i}", name=f"repo-{i:04d}")

    monkeypatch.setattr(tui.core.scan, "iter_host_scan", fake_scan)
    async with scanned(str(tmp_path)) as (app, pilot):
        host = app.host_screen
        assert host.table.row_count == count
        assert 1 <= host.batches <= 10, host.batches


async def test_open_a_repo_switch_tabs_and_go_back(demo_root, home):
    async with scanned(demo_root) as (app, pilot):
        await pilot.press("down", "enter")
        assert isinstance(app.screen, RepoScreen)
        assert app.screen.report.name == row_names(app)[1]
        for key, tab in [("2", "worktrees"), ("3", "refs"), ("4", "locks"), ("5", "log"), ("1", "overview")]:
            await pilot.press(key)
            assert app.screen.active_tab == tab
        await pilot.press("escape")
        assert isinstance(app.screen, HostScreen)
        assert app.host_screen.table.cursor == 1  # back where we were


async def test_filter_text_regex_inverse_and_escape(demo_root, home):
    async with scanned(demo_root) as (app, pilot):
        await pilot.press("slash")
        await type_text(pilot, "alpha")
        assert row_names(app) == ["gerrit/project-alpha.git"]
        await pilot.press("enter")  # keeps the filter, back to the table
        assert app.host_screen.table.has_focus
        await pilot.press("slash", *["backspace"] * 5)
        await type_text(pilot, "^gitlab/")
        assert row_names(app) == ["gitlab/busy-service.git", "gitlab/corrupt-packed.git", "gitlab/locked-repo.git"]
        await pilot.press(*["backspace"] * 8)
        await type_text(pilot, "!gitlab")
        assert len(row_names(app)) == DEMO_REPOS - 3 and not any("gitlab" in n for n in row_names(app))
        await pilot.press(*["backspace"] * 7)
        await type_text(pilot, "tool[")  # not a valid regex: plain text, and says so
        status = str(app.host_screen.query_one("#scan-status").render())
        assert "not a valid regular expression" in status
        await pilot.press("escape")
        assert len(row_names(app)) == DEMO_REPOS
        assert not app.host_screen.query_one("#filter").display


async def test_faults_only_and_sorting(demo_root, home):
    async with scanned(demo_root) as (app, pilot):
        table = app.host_screen.table
        await pilot.press("f")
        assert 0 < table.row_count < DEMO_REPOS
        assert all(is_fault(report) for report in table.rows)
        await pilot.press("f")
        assert table.row_count == DEMO_REPOS
        await pilot.press("o")  # next column: the worst problem, errors first
        assert table.sort_column == "worst"
        ranks = [report.worst.rank if report.worst else 0 for report in table.rows]
        assert ranks == sorted(ranks, reverse=True)
        await pilot.press("O")
        assert table.sort_reverse
        # A click on a header sorts by that column.
        await pilot.click("#repos", offset=(2, 0))
        assert table.sort_column == "name"


async def test_rescan_adds_and_drops_repositories(tmp_path, home):
    root = tmp_path / "host"
    for name in ("a.git", "b.git"):
        commit_chain(init_bare(root / name), 1)
    async with scanned(str(root)) as (app, pilot):
        assert row_names(app) == ["a.git", "b.git"]
        commit_chain(init_bare(root / "c.git"), 1)
        shutil.rmtree(root / "a.git")
        await pilot.press("r")
        await wait_for_scan(pilot)
        assert row_names(app) == ["b.git", "c.git"]


async def test_a_missing_root_is_reported(tmp_path, home):
    async with scanned(str(tmp_path / "nowhere")) as (app, pilot):
        problems = app.host_screen.query_one("#root-problems")
        assert problems.display and "does not exist" in str(problems.render())
        assert app.host_screen.table.row_count == 0
        assert "no repositor" in app.host_screen.table.empty_text  # the table says so, not a blank


# --- repository screen ----------------------------------------------------------------------------------


async def test_overview_shows_problems_with_actions_and_the_stale_banner(demo_root, home):
    async with scanned(demo_root, "repo project-alpha") as (app, pilot):
        screen = app.screen
        banner = screen.query_one("#stale-banner")
        assert banner.display
        assert "do NOT run git gc" in str(banner.render())
        problems = " ".join(str(w.render()) for w in screen.query(".problem-body"))
        assert "stale-loose" in str(screen.query_one("#problems").query(".problem-head").first().render())
        assert "gitward shadows prune" in problems and "means" in problems
        assert "~/demo/host/gerrit/project-alpha.git" in " ".join(str(w.render()) for w in screen.query(".fact-value"))
        # A repository without stale shadows has no banner.
        assert app.run_command("repo tooling")
        await settle(pilot)
        assert not app.screen.query_one("#stale-banner").display


async def test_worktrees_tab_marks_current_locked_prunable_missing(demo_root, home):
    async with scanned(demo_root, "worktrees sync/webapp") as (app, pilot):
        table = app.screen.query_one("#worktree-table")
        worktrees = list(table.rows)
        assert any(w.current for w in worktrees) and any(w.locked for w in worktrees)
        assert any(w.prunable for w in worktrees) and any(w.missing for w in worktrees)
        lines = [table.render_line(y).text for y in range(1, len(worktrees) + 1)]
        assert any(line.lstrip().startswith("▶") for line in lines)  # the served worktree
        assert any("current (served)" in line for line in lines)
        assert any("directory missing" in line for line in lines)
        await pilot.press("down", "down")
        detail = str(app.screen.query_one("#worktree-detail").render())
        assert "worktree" in detail


async def test_refs_tab_namespaces_shadows_and_details(demo_root, home):
    async with scanned(demo_root, "refs gerrit/project-alpha.git") as (app, pilot):
        browser = app.screen.query_one(RefBrowser)
        ref_list = browser.ref_list
        assert browser.judged and ref_list.row_count == browser.index.counts.total + 1  # + HEAD
        await pilot.press("s")
        assert browser.shadows_only
        assert ref_list.row_count == 7
        assert all(ref.verdict.value == "stale-loose" for ref in ref_list.rows)
        await pilot.press("s")
        # Choosing a namespace in the tree narrows the list.
        tree = app.screen.query_one("#namespaces")
        tree.focus()
        await pilot.press("down")  # from "all refs" to the first namespace
        await settle(pilot)
        assert browser.prefix == "refs/changes/"
        assert all(ref.name.startswith("refs/changes/") for ref in ref_list.rows)
        ref_list.focus()
        await pilot.press("enter")
        assert isinstance(app.screen, RefDetail)
        await pilot.press("escape")
        assert isinstance(app.screen, RepoScreen)
        # Commit ages were read for the rows on screen.
        assert ref_list.dates


async def test_refs_tab_stays_virtual_on_a_big_ref_store(tmp_path, home):
    root = tmp_path / "host"
    repo = init_bare(root / "big.git")
    head = commit_chain(repo, 1)[0]
    count = 20_000
    lines = ["# pack-refs with: peeled fully-peeled sorted \n"]
    lines += [f"{head} refs/changes/{i % 100:02d}/{i}/1\n" for i in sorted(range(count), key=lambda i: f"{i % 100:02d}/{i}/")]
    names = sorted(line.split(" ", 1)[1] for line in lines[1:])
    (repo / "packed-refs").write_text(lines[0] + "".join(f"{head} {name}" for name in names))
    async with scanned(str(root), "refs big.git") as (app, pilot):
        browser = app.screen.query_one(RefBrowser)
        ref_list = browser.ref_list
        assert ref_list.row_count == count + 2  # + refs/heads/main + HEAD
        assert browser.index.materialized < 100  # only drawn rows became Ref objects
        await pilot.press("end")
        await settle(pilot)
        assert ref_list.cursor == ref_list.row_count - 1
        assert ref_list.current.name == names[-1].strip() or ref_list.current.name == "refs/heads/main"
        assert browser.index.materialized < 200


async def test_log_tab_says_no_sync_has_run(demo_root, home):
    async with scanned(demo_root, "log sync/webapp") as (app, pilot):
        log = app.screen.query_one(SyncLog)
        assert "No sync has run" in str(log.query_one("#log-status").render())
        log.max_lines = 3
        log.write_lines(["one", "two\x1b[2J", "three", "four"])
        assert "1 older line dropped" in str(log.query_one("#log-status").render())
        assert log.text_lines() == ["two", "three", "four"]  # the escape sequence is gone


# --- help, command line, palette, keymap, read-only -------------------------------------------------------


async def test_help_lists_every_binding(demo_root, home):
    async with scanned(demo_root) as (app, pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.body().plain
        for _section, bindings in binding_sections():
            for binding in bindings:
                assert binding.id and binding.id in text, binding
                assert binding.description and binding.description in text, binding
        assert ":worktrees" in text and "!mirror" in text
        await pilot.press("escape")
        assert isinstance(app.screen, HostScreen)


def test_every_binding_has_an_id_and_a_description():
    for _section, bindings in binding_sections():
        for binding in bindings:
            assert binding.id and binding.description and binding.tooltip, binding


async def test_command_line_aliases(demo_root, home):
    app = make_app(demo_root)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        await pilot.press("colon")
        assert isinstance(app.screen, CommandPrompt)
        await type_text(pilot, "wt")
        await pilot.press("enter")
        assert isinstance(app.screen, RepoScreen) and app.screen.active_tab == "worktrees"
        assert app.screen.report.name == row_names(app)[0]  # the selected repo
        await pilot.press("colon")
        await type_text(pilot, "refs")
        await pilot.press("enter")
        assert app.screen.active_tab == "refs"
        await pilot.press("colon")
        await type_text(pilot, "repo webapp")
        await pilot.press("enter")
        assert isinstance(app.screen, RepoScreen) and app.screen.report.name == "sync/webapp"
        await pilot.press("colon")
        await type_text(pilot, "jobs")
        await pilot.press("enter")
        assert isinstance(app.screen, JobsScreen)
        assert "No sync has run" in str(app.screen.query_one("#jobs-empty").render())
        await pilot.press("colon")
        await type_text(pilot, "repos")
        await pilot.press("enter")
        assert isinstance(app.screen, HostScreen)
        await pilot.press("colon")
        await type_text(pilot, "frobnicate")
        await pilot.press("enter")
        assert isinstance(app.screen, HostScreen)
        assert any("unknown command" in n for n in notes)
        await pilot.press("colon", "escape")
        assert isinstance(app.screen, HostScreen)


async def test_command_palette_opens_a_repo(demo_root, home):
    async with scanned(demo_root) as (app, pilot):
        await pilot.press("ctrl+p")
        await type_text(pilot, "open locked")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RepoScreen) and app.screen.report.name == "gitlab/locked-repo.git"


async def test_keys_can_be_rebound_from_the_config(demo_root, home):
    class Config:
        keys = {"host.faults": "x", "no.such.binding": "y"}

    app = make_app(demo_root, config=Config())
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        table = app.host_screen.table
        await pilot.press("f")
        assert not table.faults_only  # the old key is gone
        await pilot.press("x")
        assert table.faults_only
        assert any("no.such.binding" in n for n in notes)


async def test_read_only_hides_every_mutating_action(demo_root, home):
    assert "sync" in MUTATING_ACTIONS
    app = make_app(demo_root, read_only=True)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        host = app.host_screen
        banner = host.query_one("#read-only-banner")
        assert "READ-ONLY" in str(banner.render())
        assert host.check_action("sync", ()) is False
        # Hidden, not merely ignored: the binding is not active, so neither footer nor key has it.
        assert not any(active.binding.action == "sync" for active in host.active_bindings.values())
        await pilot.press("S")
        assert not any("not available yet" in n for n in notes)
        await pilot.press("enter")
        assert app.screen.check_action("sync", ()) is False
        assert app.screen.query_one("#read-only-banner")
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("Sync" in title for title in commands)


async def test_sync_is_offered_when_writable(demo_root, home):
    """S and the palette's syncs exist when writable (tests/test_app_sync.py runs them)."""
    async with scanned(demo_root) as (app, pilot):
        assert app.host_screen.check_action("sync", ()) is True
        assert any(active.binding.action == "sync" for active in app.host_screen.active_bindings.values())
        assert not app.host_screen.query("#read-only-banner")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Sync" in titles and "Sync all faulted" in titles


# --- untrusted text ------------------------------------------------------------------------------------------


async def test_markup_and_escape_sequences_render_literally(tmp_path, home):
    root = tmp_path / "host"
    repo = root / "evil"
    git(tmp_path, "init", "--quiet", "-b", "main", str(repo))
    commit = commit_chain(repo / ".git", 1)[0]
    git(repo, "checkout", "--quiet", "main")
    git_dir = repo / ".git"
    write_loose(git_dir, "refs/heads/[bold red]x", commit)
    write_loose(git_dir, "refs/heads/esc\x1b[2Jname", commit)
    git(repo, "worktree", "add", "--quiet", "--detach", str(tmp_path / "wt"), "main")
    (git_dir / "worktrees" / "wt" / "locked").write_text("[blink]reason[/blink] \x1b]0;pwned\x07 \x1b[31mred")
    async with scanned(str(root), "refs evil") as (app, pilot):
        ref_list = app.screen.query_one(RefList)
        lines = [ref_list.render_line(y).text for y in range(ref_list.row_count + 1)]
        assert any("refs/heads/[bold red]x" in line for line in lines)
        assert any("refs/heads/escname" in line for line in lines)  # the escape sequence is dropped
        assert not any("\x1b" in line for line in lines)
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("#worktree-table")
        wt_lines = " ".join(table.render_line(y).text for y in range(table.row_count + 1))
        assert "[blink]reason" in wt_lines
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg and "pwned" not in svg
        await pilot.press("1")
        await settle(pilot)
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg


async def test_theme_filter_and_faults_commands(demo_root, home):
    async with scanned(demo_root) as (app, pilot):
        table = app.host_screen.table
        dark_dim = table.palette.dim
        assert app.run_command("theme textual-light")
        await settle(pilot)
        assert app.theme == "textual-light"
        assert table.palette.dim != dark_dim  # cell colours follow the theme
        assert not app.run_command("theme no-such-theme")
        assert app.run_command("filter ^gerrit/")
        assert row_names(app) == ["gerrit/All-Users.git", "gerrit/project-alpha.git"]
        assert app.run_command("filter")
        assert app.run_command("faults")
        assert table.faults_only and len(row_names(app)) < DEMO_REPOS
