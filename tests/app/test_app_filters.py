"""``/`` in every list: what a filter matches (name-only regex, field filters, a bad regex), the
Refs tab over 200,000 refs (off the UI thread), Worktrees, Locks, Journal, Jobs, and the Log
pane's search with n/N. Real repositories; git lists what the filter should keep."""

from __future__ import annotations

import os
import re
import threading

import pytest
from textual.app import App, ComposeResult

from gitrepo import commit_chain, git, init_bare, init_with_worktrees
from tui.app.filtering import RowFilter
from tui.app.screens.repo import RepoScreen
from tui.app.testing import settle, wait_for_scan
from app_support import make_app, open_command
from tui.app.widgets.filter_box import FilterBox
from tui.app.widgets.log_view import SyncLog
from tui.app.widgets.ref_browser import RefBrowser



async def type_text(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space", "/": "slash", "!": "exclamation_mark"}.get(ch, ch) for ch in text])



# --- what a filter matches --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name", "haystack", "expected"),
    [
        ("git$", "gerrit/alpha.git", "gerrit/alpha.git bare stale-loose-ref", True),  # regex: the name alone
        ("ref$", "gerrit/alpha.git", "gerrit/alpha.git bare stale-loose-ref", False),  # not the codes
        ("^gitlab", "gitlab/x.git", "gitlab/x.git bare", True),
        ("^gitlab", "mirrors/gitlab.git", "mirrors/gitlab.git bare", False),
        ("stale-loose", "gerrit/alpha.git", "gerrit/alpha.git bare stale-loose-ref", True),  # text: the haystack
    ],
)
def test_a_regex_matches_the_name_alone_and_text_the_whole_row(raw, name, haystack, expected):
    assert RowFilter.parse(raw).matches(name, haystack) is expected


def test_field_filters_where_the_list_has_the_field():
    fields = ("code", "verdict")
    row_filter = RowFilter.parse("code:stale-lock", fields)
    assert row_filter.field == "code" and row_filter.mode == "code text"
    assert row_filter.matches("a.git", None, {"code": ("packed-refs-lock", "stale-lock")})
    assert not row_filter.matches("stale-lock.git", None, {"code": ()})  # the field, not the name
    assert RowFilter.parse("!verdict:^stale", fields).matches("r", None, {"verdict": "dead-packed"})
    assert not RowFilter.parse("verdict:stale", fields).matches("r", None, {})  # no verdict: no match
    unknown = RowFilter.parse("owner:bob", fields)  # not a field here: plain text, and says so
    assert unknown.field is None and "no field 'owner'" in unknown.error
    assert unknown.matches("x", "owner:bob's repo")
    assert RowFilter.parse("refs/heads:x", fields).error is None  # a colon in a name is not a field


# --- the Refs tab: 200,000 refs, filtered off the UI thread -----------------------------------------


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory) -> str:
    """A bare repository with 200,000 packed refs (written as git writes packed-refs), plus a few
    loose ones; git checks the file before the test trusts it."""
    root = tmp_path_factory.mktemp("bigrefs") / "host"
    repo = init_bare(root / "big.git")
    (oid,) = commit_chain(repo, 1)
    names = [f"refs/changes/{i % 100:02d}/{i}/1" for i in range(1, 200_000)]
    names.append("refs/heads/main")
    names.sort()
    with open(repo / "packed-refs", "w") as handle:
        handle.write("# pack-refs with: peeled fully-peeled sorted \n")
        handle.writelines(f"{oid} {name}\n" for name in names)
    os.unlink(repo / "refs/heads/main")
    git(repo, "update-ref", "refs/changes/77/7777/2", oid)  # loose
    assert git(repo, "rev-parse", "refs/changes/42/142/1").strip() == oid
    return str(root)


async def test_refs_filter_over_200k_refs_runs_in_a_worker_and_keeps_what_git_lists(big_repo, monkeypatch):
    monkeypatch.setenv("HOME", os.path.dirname(big_repo))
    app = make_app(big_repo)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_command(pilot, "refs big.git")
        browser = screen.query_one(RefBrowser)
        assert browser.index is not None and len(browser.index) == 200_001  # 200,000 packed + 1 loose
        await pilot.press("slash")
        assert isinstance(screen.focused, FilterBox)
        await type_text(pilot, "777/")
        await settle(pilot)  # waits for the filter worker and its message: state, not time
        listed = git(os.path.join(big_repo, "big.git"), "for-each-ref", "--format=%(refname)").splitlines()
        expected = [name for name in listed if "777/" in name]
        shown = [ref.name for ref in browser.ref_list.rows]
        assert shown == expected and "refs/changes/77/7777/2" in shown
        assert browser.filter_thread is not None and browser.filter_thread != threading.main_thread().name
        status = str(browser.query_one("#ref-status").render())
        assert "filter (text): 777/" in status and "filtering" not in status
        # A regex: matched against the name alone.
        await pilot.press(*["backspace"] * 4)
        await type_text(pilot, "^refs/changes/00/1[0-9]00/")
        await settle(pilot)
        regex = re.compile("^refs/changes/00/1[0-9]00/")
        assert [ref.name for ref in browser.ref_list.rows] == [n for n in listed if regex.search(n)]
        # Enter keeps it and gives the keys back to the list; escape clears it.
        await pilot.press("enter")
        assert screen.focused is browser.ref_list
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RepoScreen) and browser.ref_list.row_count == 200_002  # HEAD too
        assert not screen.query_one(FilterBox).display


async def test_verdict_field_filter_in_the_refs_tab(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_command(pilot, "refs project-alpha")
        browser = screen.query_one(RefBrowser)
        await pilot.press("slash")
        await type_text(pilot, "verdict:stale-loose")
        await settle(pilot)
        rows = list(browser.ref_list.rows)
        assert rows and all(ref.verdict is not None and ref.verdict.value == "stale-loose" for ref in rows)
        judged = {name for name, verdict in browser.index.snapshot.verdicts.items() if verdict.value == "stale-loose"}
        assert {ref.name for ref in rows} == judged
        await pilot.press("escape")
        await settle(pilot)
        assert browser.ref_list.row_count == len(browser.index) + 1


# --- Worktrees and Locks ------------------------------------------------------------------------------


async def test_worktrees_and_locks_filter_each_tab_its_own(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_command(pilot, "worktrees sync/webapp")
        table = screen.query_one("#worktree-table")
        everything = list(table.rows)
        assert any(w.locked for w in everything) and not all(w.locked for w in everything)
        await pilot.press("slash")
        await type_text(pilot, "locked:yes")
        await pilot.pause()
        assert list(table.rows) == [w for w in everything if w.locked]
        label = str(screen.query_one("#tabs").get_tab("worktrees").label)
        assert f"{table.row_count} of {len(everything)}" in label
        await pilot.press("enter")
        # Another tab keeps its own filter (none): the box hides; back again, it is still there.
        await pilot.press("4")
        assert not screen.query_one(FilterBox).display
        await pilot.press("2")
        assert screen.query_one(FilterBox).value == "locked:yes" and table.row_count < len(everything)

        assert app.run_command("locks gitlab/locked-repo.git")
        await settle(pilot)
        screen = app.screen
        locks = screen.query_one("#lock-table")
        all_locks = list(locks.rows)
        stale = [lock for lock in all_locks if lock.stale]
        assert stale
        await pilot.press("slash")
        await type_text(pilot, "code:stale-lock")
        await pilot.pause()
        assert list(locks.rows) == stale
        await pilot.press("escape")
        assert list(locks.rows) == all_locks


async def test_a_bad_regex_says_so_in_one_line_and_matches_as_text(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_command(pilot, "worktrees sync/webapp")
        await pilot.press("slash")
        await type_text(pilot, "web[")
        await pilot.pause()
        box = screen.query_one(FilterBox)
        assert "not a valid regular expression" in str(box.border_subtitle)
        assert "\n" not in str(box.border_subtitle)
        assert screen.query_one("#worktree-table").row_count == 0  # no path holds "web[" literally


# --- Journal ----------------------------------------------------------------------------------------


async def test_journal_filter_by_kind_field(tmp_path, home):
    """Entries written by the CLI's real worktree lock and unlock (git reads the lock after each)."""
    from tui.cli.main import main

    root = tmp_path / "host"
    repo = init_with_worktrees(root / "app", "wt")
    assert main(["worktree", "lock", str(repo), "wt", "--reason", "nfs"]) == 0
    assert "locked" in git(repo, "worktree", "list", "--porcelain")
    assert main(["worktree", "unlock", str(repo), "wt"]) == 0
    assert "locked" not in git(repo, "worktree", "list", "--porcelain")
    app = make_app(str(root))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        assert app.run_command("journal")
        await settle(pilot)
        screen = app.screen
        entries = list(screen.table.rows)
        assert [e.kind for e in entries] == ["worktree-unlock", "worktree-lock"]
        await pilot.press("slash")
        await type_text(pilot, "kind:unlock")
        await pilot.pause()
        assert [e.kind for e in screen.table.rows] == ["worktree-unlock"]
        assert "1 shown" in str(screen.query_one("#journal-title").render())
        await pilot.press("escape")  # clears the filter first
        assert screen.table.row_count == 2 and app.screen is screen


# --- the Log pane: / searches, n and N move --------------------------------------------------------


class LogApp(App):
    def compose(self) -> ComposeResult:
        yield SyncLog(id="log")


async def test_log_search_marks_lines_and_n_N_move_between_them():
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(SyncLog)
        log.write_lines([f"line {i}" + (" error: disk" if i % 25 == 0 else "") for i in range(100)])
        log.lines.focus()
        await pilot.pause()
        assert log.search(RowFilter.parse("error:")) == 4  # lines 0, 25, 50, 75
        view = log.lines
        assert not view.follow  # the view holds still on the match
        first = view.current_match
        assert first is not None and "error" in log.model.entries[first][3]
        await pilot.press("n")
        second = view.current_match
        assert second is not None and second > first and "error" in log.model.entries[second][3]
        await pilot.press("N")
        assert view.current_match == first
        await pilot.press("N")  # wraps to the last match
        assert view.current_match == 75
        status = str(log.query_one("#log-status").render())
        assert "search 'error:'" in status and "4 matches" in status
        # The current match is drawn on screen, highlighted.
        rows = [view.render_line(y).text for y in range(view.size.height)]
        assert any("line 75 error: disk" in row for row in rows)
        assert log.search(RowFilter()) == 0 and view.match_count == 0


# --- the host list: regex on the name alone, code: field ---------------------------------------------


async def test_host_filter_regex_on_the_name_and_code_field(demo_root, home):
    app = make_app(demo_root)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        table = app.host_screen.table
        everything = list(table.rows)
        await pilot.press("slash")
        await type_text(pilot, "git$")
        await pilot.pause()
        assert [r.name for r in table.rows] == [r.name for r in everything if r.name.endswith("git")]
        assert table.row_count < len(everything)  # sync/webapp and work/tooling end otherwise
        await pilot.press(*["backspace"] * 4)
        await type_text(pilot, "code:stale-lock")
        await pilot.pause()
        assert [r.name for r in table.rows] == [r.name for r in everything if any(p.code == "stale-lock" for p in r.problems)]
        assert table.row_count >= 1


# --- the jobs screen -----------------------------------------------------------------------------------


async def test_jobs_filter_by_state(tmp_path, monkeypatch):
    """Two real syncs: a mirror of a local upstream (ok) and one whose upstream is gone (failed)."""
    from sync_support import make_upstream, mirror_of

    from tui.app.testing import wait_for_sync

    monkeypatch.setenv("HOME", str(tmp_path))
    upstreams = tmp_path / "upstreams"
    (tmp_path / "host").mkdir()
    make_upstream(upstreams / "good.git", 2)
    make_upstream(upstreams / "gone.git", 1)
    mirror_of(upstreams / "good.git", tmp_path / "host" / "good.git")
    mirror_of(upstreams / "gone.git", tmp_path / "host" / "gone.git")
    import shutil

    shutil.rmtree(upstreams / "gone.git")
    app = make_app(str(tmp_path / "host"))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        for report in list(app.host_screen.table.rows):
            app.sync.start(report)  # S: the preflight, then the dialog asks (Cancel focused)
            await settle(pilot)
            await pilot.click("#choice-sync")
        await settle(pilot)
        for job in app.syncs.jobs():
            await wait_for_sync(pilot, job)
        states = sorted(job.state.value for job in app.syncs.jobs())
        assert states == ["failed", "ok"]
        assert app.run_command("jobs")
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash")
        await type_text(pilot, "state:failed")
        await pilot.pause()
        assert [job.state.value for job in screen.table.rows] == ["failed"]
        assert screen.selected.state.value == "failed"  # the detail and log follow the row shown
        await pilot.press(*["backspace"] * 6)
        await type_text(pilot, "ok")
        await pilot.pause()
        assert [app.syncs.name_of(job) for job in screen.table.rows] == ["good.git"]
        await pilot.press("escape")
        assert screen.table.row_count == 2 and app.screen is screen
