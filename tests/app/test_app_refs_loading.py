"""The Refs tab shows its first rows before every ref is read: they are git's first rows, with
git's values, and the cursor, the jump to the last row and the filter work while the rest is
read and after. The full walk of the loose refs is held until the test has looked (a threading
event, released by the test: it waits for states, never for a time)."""

from __future__ import annotations

import contextlib
import gc
import threading

import pytest
from app_support import make_app, screen_text
from gitrepo import commit_chain, for_each_ref, git, init_bare, write_loose

from tui.app import collector
from tui.app.testing import settle, wait_for_scan
from tui.app.widgets.ref_browser import LEADING_ROWS, RefBrowser
from tui.core import refstore
from tui.core.model import Source

PACKED = LEADING_ROWS * 3


@pytest.fixture
def gerrit_host(tmp_path, home):
    """A host with one repository: packed changes, loose refs among the first rows and beyond,
    HEAD on a loose branch whose packed value is older."""
    root = tmp_path / "host"
    repo = init_bare(root / "big.git")
    commits = commit_chain(repo, 3)
    lines = [f"update refs/changes/{i % 10:02d}/{i}/1 {commits[i % 3]}\n" for i in range(1, PACKED)]
    git(repo, "update-ref", "--stdin", input="".join(lines).encode())
    git(repo, "pack-refs", "--all")
    write_loose(repo, "refs/changes/00/100/2", commits[2])  # loose only, among the first rows
    write_loose(repo, "refs/changes/00/110/1", commits[0])  # loose over packed
    write_loose(repo, "refs/changes/09/9/2", commits[1])  # loose only, beyond the first rows
    write_loose(repo, "refs/heads/main", commits[1])  # HEAD's branch, beyond them
    return root, repo


class HeldWalk:
    """``refstore.walk_loose_refs`` whose full walk of ``git_dir`` waits for ``release`` once armed
    (the first rows need only a walk ``between`` two names: never held)."""

    def __init__(self, git_dir: str) -> None:
        self.git_dir = git_dir
        self.armed = False
        self.release = threading.Event()
        self.real = refstore.walk_loose_refs

    def __call__(self, git_dir, top="refs", hex_width=40, *, between=None):
        if self.armed and between is None and git_dir == self.git_dir:
            self.release.wait(60)
        return self.real(git_dir, top, hex_width, between=between)


async def until(pilot, condition, rounds: int = 2000) -> None:
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause()
    raise AssertionError("the console never reached the state")


def git_rows(repo) -> list[tuple[str, str]]:
    listed = for_each_ref(repo)  # git's order
    head = git(repo, "rev-parse", "HEAD").strip()
    return [("HEAD", head)] + list(listed.items())


@contextlib.asynccontextmanager
async def loading_refs_tab(root, repo, monkeypatch):
    """The console with big.git's Refs tab open on its first rows, the full loose walk held
    until ``release()`` (or the end of the ``with`` block); yields (app, pilot, browser, release)."""
    held = HeldWalk(str(repo))
    monkeypatch.setattr(refstore, "walk_loose_refs", held)
    app = make_app(str(root))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        held.armed = True
        try:
            assert app.run_command("refs big.git")
            await until(pilot, lambda: app.screen.query(RefBrowser) and app.screen.query_one(RefBrowser).leading)
            yield app, pilot, app.screen.query_one(RefBrowser), held.release.set
        finally:
            held.release.set()


async def test_first_rows_are_gits_while_the_rest_loads_then_every_row(gerrit_host, monkeypatch):
    root, repo = gerrit_host
    async with loading_refs_tab(root, repo, monkeypatch) as (app, pilot, browser, release):
        ref_list = browser.ref_list
        # While loading: git's first rows, with git's values and the right sources.
        assert browser.index is None
        shown = [(ref.name, ref.value) for ref in ref_list.rows]
        expected = git_rows(repo)
        assert shown == expected[: len(shown)] and LEADING_ROWS < len(shown) < len(expected)
        by_name = {ref.name: ref for ref in ref_list.rows}
        assert by_name["refs/changes/00/100/2"].source is Source.LOOSE
        assert by_name["refs/changes/00/110/1"].source is Source.BOTH
        assert "loading refs" in str(browser.query_one("#ref-status").render())
        # Keys work on the first rows: down, and the jump to the last of them.
        ref_list.focus()
        await pilot.press("down", "down")
        assert ref_list.current.name == expected[2][0]
        await pilot.press("end")
        last_early = ref_list.current.name
        assert last_early == shown[-1][0]
        release()
        await settle(pilot)
        # Every row now: the cursor stayed on its row, the jump reaches git's last ref.
        assert browser.index is not None and not browser.leading
        assert [(ref.name, ref.value) for ref in ref_list.rows] == expected
        assert ref_list.current.name == last_early
        await pilot.press("end")
        assert ref_list.current.name == expected[-1][0]
        assert "loading refs" not in str(browser.query_one("#ref-status").render())
        # The commit dates of the rows now on screen were read and drawn (only those lines redrawn).
        await settle(pilot)
        lines = [ref_list.render_line(y).text for y in range(1, ref_list.page_height + 1)]
        assert any("ago" in line for line in lines) and not any("…" in line for line in lines)
        # Dates arriving for one row redraw that row (its cached line is dropped), not others'.
        top = round(ref_list.scroll_y)
        row = ref_list.rows[top]
        ref_list.add_dates({row.peeled or row.value: app.screen.now() - 5 * 365 * 86400})
        assert "5 years ago" in ref_list.render_line(1).text
        # ... and on the screen: the list is scrolled (top > 0), the line repainted is that row's.
        await settle(pilot)
        assert top > 0 and any("5 years ago" in line for line in screen_text(app))


async def test_a_filter_typed_while_loading_never_shows_unfiltered_rows(gerrit_host, monkeypatch):
    root, repo = gerrit_host
    async with loading_refs_tab(root, repo, monkeypatch) as (app, pilot, browser, release):
        await pilot.press("slash", "9", "/")
        await until(pilot, lambda: not browser.leading)
        assert browser.ref_list.row_count == 0  # the first rows of every ref are not this view's
        release()
        await settle(pilot)
        expected = [name for name in for_each_ref(repo) if "9/" in name]
        assert [ref.name for ref in browser.ref_list.rows] == expected and "refs/changes/09/9/2" in expected


@pytest.fixture
def collections(monkeypatch):
    """The collections the console's collector runs (recorded, not run) and whether the Refs
    tab held it then; its quiet moment comes at once. Its thresholds are its own afterwards."""
    before = gc.get_threshold()
    ran: list[tuple] = []
    monkeypatch.setattr(collector.gc, "collect", lambda *args: ran.append(args) or 0)
    monkeypatch.setattr(collector, "IDLE_SECONDS", 0.0)
    yield ran
    gc.set_threshold(*before)


async def test_no_full_collection_while_the_refs_load_then_one_when_idle(gerrit_host, monkeypatch, collections):
    root, repo = gerrit_host
    async with loading_refs_tab(root, repo, monkeypatch) as (app, pilot, browser, release):
        assert app.collector.holding(browser) and gc.get_threshold()[2] == collector.NO_FULL_COLLECTION
        compactions = app.collector.compactions
        held = len(collections)
        browser.ref_list.focus()
        await pilot.press("down")
        release()
        await until(pilot, lambda: browser.judged)
        await until(pilot, lambda: app.collector.compactions > compactions)
        assert not app.collector.holding(browser) and gc.get_threshold()[2] != collector.NO_FULL_COLLECTION
        assert collections[held:] == [()]  # what it held back, in one full collection once idle


async def test_the_collector_is_its_own_again_when_the_tab_goes_away_while_loading(gerrit_host, monkeypatch, collections):
    root, repo = gerrit_host
    async with loading_refs_tab(root, repo, monkeypatch) as (app, pilot, browser, release):
        assert gc.get_threshold()[2] == collector.NO_FULL_COLLECTION
        app.pop_screen()
        await until(pilot, lambda: not app.collector.holding(browser))
        assert gc.get_threshold()[2] != collector.NO_FULL_COLLECTION
