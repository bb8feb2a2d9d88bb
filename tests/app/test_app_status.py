"""Status that tells the truth: the header says when the host was scanned and the age ticks;
an optional refresh interval rescans in the background without moving the cursor.

A fixed clock (``Host.now``) is moved by the test; the header's one-second timer notices. The
waits are for the state asserted (the label's words, the rows), bounded, never a sleep.
"""

from __future__ import annotations

import pytest
from gitrepo import commit_chain, init_bare
from app_support import until

from tui.app.app import create_app
from tui.app.commands import CommandError, refresh_seconds
from tui.app.testing import record_notifications, wait_for_scan
from tui.app.widgets.summary import ScanAge, refresh_words, scanned_ago
from tui.core.config import Config
from tui.demo import FIXED_EPOCH

NOW = FIXED_EPOCH + 86400
SIZE = (140, 40)


def host_root(tmp_path, *names: str):
    root = tmp_path / "host"
    for name in names:
        commit_chain(init_bare(root / name), 1)
    return root


def header_age(app) -> str:
    return str(app.host_screen.query_one(ScanAge).render())


async def test_the_header_says_when_the_host_was_scanned_and_the_age_ticks(tmp_path):
    app = create_app([str(host_root(tmp_path, "a.git"))], jobs=1, now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        host = app.host_screen
        assert header_age(app) == "scanned just now"
        generation = host.generation
        app.host.now = NOW + 40  # time passes; nothing is rescanned
        await until(pilot, lambda: header_age(app) == "scanned 40 s ago", "40 s")
        app.host.now = NOW + 3 * 60 + 5
        await until(pilot, lambda: header_age(app) == "scanned 3 min ago", "3 min")
        assert host.generation == generation and host.scanned_at == NOW
        # A rescan resets it.
        await pilot.press("r")
        await wait_for_scan(pilot)
        await until(pilot, lambda: header_age(app) == "scanned just now", "after the rescan")


async def test_refresh_rescans_in_the_background_and_keeps_the_cursor(tmp_path):
    root = host_root(tmp_path, "a.git", "c.git", "e.git")
    app = create_app([str(root)], jobs=1, now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        host = app.host_screen
        table = host.table
        assert host.refresh_interval is None and host._refresh_timer is None  # off by default
        table.move_cursor(2)
        assert table.current.name == "e.git"
        for name in ("b.git", "d.git"):  # new repositories sort before the highlighted one
            commit_chain(init_bare(root / name), 1)
        notes = record_notifications(app)
        generation = host.generation
        assert app.run_command("refresh 1")
        assert "refresh 1 s" in header_age(app)
        await until(pilot, lambda: len(table.reports) == 5 and not host.scanning, "the background rescan")
        assert host.generation > generation
        assert [r.name for r in table.rows] == ["a.git", "b.git", "c.git", "d.git", "e.git"]
        assert table.current.name == "e.git" and table.cursor == 4  # the same repository, not the same row
        assert not any("rescanning" in note for note in notes)  # background: no notification
        assert app.run_command("refresh off")
        assert host.refresh_interval is None and host._refresh_timer is None
        assert "refresh" not in header_age(app)
        assert not app.run_command("refresh soon")


async def test_refresh_interval_from_the_config(tmp_path):
    app = create_app([str(host_root(tmp_path, "a.git"))], jobs=1, now=NOW, config=Config(refresh_interval=300.0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        host = app.host_screen
        assert host.refresh_interval == 300.0 and host._refresh_timer is not None
        assert header_age(app) == "scanned just now  ·  refresh 5 min"


@pytest.mark.parametrize(
    "seconds, words",
    [(None, "not scanned yet"), (0.2, "scanned just now"), (40.9, "scanned 40 s ago"), (179, "scanned 2 min ago"),
     (7300, "scanned 2 h ago"), (86400, "scanned 1 day ago"), (3 * 86400, "scanned 3 days ago")],
)
def test_scanned_ago_words(seconds, words):
    assert scanned_ago(seconds) == words


def test_refresh_argument():
    assert refresh_seconds("60") == 60.0 and refresh_seconds("90s") == 90.0
    assert refresh_seconds("off") is None and refresh_seconds("0") is None
    for bad in ("0.5", "soon", "-3", "inf", "nan"):
        with pytest.raises(CommandError):
            refresh_seconds(bad)
    assert refresh_words(60.0) == "refresh 1 min" and refresh_words(45.0) == "refresh 45 s" and refresh_words(None) == ""
