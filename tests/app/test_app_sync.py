"""Syncs in the console, with real git processes: the host screen's S, the jobs screen, the Log
pane while git prints, cancel, the stale-loose confirmation, read-only, and a log flood.

Nothing sleeps to synchronise: tests wait on job events (``job.wait``, ``job.log.wait_for``) in a
thread and on the console having applied the news (``syncs.wait_for``), with timeouts.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from textual import events
from app_support import until as poll_until  # this file's until() waits for sync news
from gitrepo import for_each_ref, git, write_loose
from sync_support import (
    WAIT,
    add_commits,
    make_upstream,
    mirror_of,
    process_gone,
    slow_upstream,
)

from tui.app.app import create_app
from tui.app.dialogs.confirm import ConfirmDialog
from tui.app.dialogs.sync_confirm import BulkSyncConfirm, SyncConfirm
from tui.app.screens.host import HostScreen
from tui.app.screens.jobs import JobsScreen
from tui.app.screens.repo import RepoScreen
from tui.app.testing import record_notifications, settle, wait_for_scan, wait_for_sync
from tui.app.widgets.log_view import SyncLog
from tui.app.widgets.ref_browser import RefBrowser
from tui.core.config import SyncConfig
from tui.demo import FIXED_EPOCH, build_demo
from tui.core.sync import JobState

NOW = FIXED_EPOCH + 7 * 86400
SIZE = (140, 40)


class Config:
    """What the console reads from gitward's config; only [sync] matters here."""

    def __init__(self, **sync) -> None:
        self.sync = SyncConfig(**sync)
        self.keys: dict[str, str] = {}


def make_app(root, **kwargs):
    kwargs.setdefault("jobs", 1)
    kwargs.setdefault("now", NOW)
    return create_app([str(root)], config=kwargs.pop("config", None), **kwargs)


async def select_row(pilot, name: str) -> None:
    table = pilot.app.host_screen.table
    names = [report.name for report in table.rows]
    table.move_cursor(names.index(name))
    await pilot.pause()


async def until(pilot, predicate, what: str, timeout: float = WAIT) -> None:
    """Until ``predicate()`` holds after the console applied some sync news (no sleeping)."""
    if not await pilot.app.syncs.wait_for(predicate, timeout):
        raise AssertionError(f"timed out waiting for {what}")


async def in_thread(function, *args):
    return await asyncio.to_thread(function, *args)



async def start_sync(pilot, app, command: str | None = None):
    """After the scan, ``command`` (``repo lib.git``) if given, then S: the one job it started."""
    await wait_for_scan(pilot)
    if command is not None:
        assert app.run_command(command)
        await settle(pilot)
    await pilot.press("S")
    await confirm_sync(pilot)
    return only_job(app)


async def confirm_sync(pilot) -> str:
    """S asks first (Cancel focused): choose Sync, wait for the job to be queued; the dialog's text."""
    await settle(pilot)  # the preflight worker
    dialog = pilot.app.screen
    assert isinstance(dialog, SyncConfirm) and dialog.focused is not None and dialog.focused.id == "cancel"
    text = " ".join(str(static.render()) for static in dialog.query("Static"))
    await pilot.click("#choice-sync")
    await settle(pilot)
    return text


def only_job(app):
    jobs = app.syncs.jobs()
    assert len(jobs) == 1, jobs
    return jobs[0]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def slow_host(tmp_path):
    """host/lib.git: a mirror behind its upstream, whose upload-pack waits for a gate."""
    upstream = tmp_path / "upstreams" / "lib.git"
    upstream.parent.mkdir()
    make_upstream(upstream, 2)
    (tmp_path / "host").mkdir()
    mirror = mirror_of(upstream, tmp_path / "host" / "lib.git")
    slow = slow_upstream(tmp_path / "wrappers")
    slow.use(mirror)
    add_commits(upstream, 2)
    return tmp_path / "host", mirror, slow


# --- the log view's model (no app) --------------------------------------------------------------------


class Line:
    def __init__(self, seq: int, text: str, origin: str = "git") -> None:
        self.seq, self.text, self.origin, self.time = seq, text, origin, 0.0


def test_log_model_redraws_bounds_and_counts_what_it_dropped():
    from tui.app.widgets.log_model import SEQ, TEXT, LogModel

    model = LogModel(max_lines=3)
    model.apply([Line(1, "a"), Line(2, "Receiving 1%")])
    applied = model.apply([Line(2, "Receiving 99%")])  # a progress line redrawn: replaced, not added
    assert [e[TEXT] for e in model.entries] == ["a", "Receiving 99%"] and applied.appended == 0
    applied = model.apply([Line(3, "b"), Line(4, "c")])
    assert applied.removed == 1 and [e[SEQ] for e in model.entries] == [2, 3, 4]
    assert (model.total, model.dropped) == (4, 1)
    model.apply([Line(9, "far")])  # 5..8 left the job's buffer before they were read
    assert [e[TEXT] for e in model.entries][-2:][1] == "far" and "4 lines skipped" in model.entries[-2][TEXT]
    assert model.dropped == 9 - 2  # 1, 5-8 and the evicted 2, 3 (4 and 9 are held)
    model.clear()
    assert model.entries == [] and (model.total, model.dropped) == (0, 0)
    model.apply([Line(10, "after")])
    assert model.total == 1 and model.dropped == 0


async def test_log_view_wraps_pauses_on_scroll_and_follows_at_the_end(stale_host, home):
    root, _ = stale_host
    app = make_app(root)
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_for_scan(pilot)
        assert app.run_command("log replica.git")
        await settle(pilot)
        log = app.screen.query_one(SyncLog)
        long = "".join(f"{i:03d}-" for i in range(60))  # 240 characters
        log.write_lines([f"line {i}" for i in range(40)] + [long])
        await pilot.press("w", "t")
        await settle(pilot)
        view = log.lines
        assert view.wrap and view.timestamps and view.follow
        rows = [view.render_line(y).text for y in range(view.size.height)]
        assert len(rows[-1].rstrip()) <= view.scrollable_content_region.width
        drawn = "".join(row.rstrip() for row in rows[-6:])
        assert long in drawn.replace(" ", "")  # every character, over several rows
        await pilot.press("up")  # scrolling away from the end pauses
        assert not view.follow and "paused" in str(log.query_one("#log-status").render())
        top = view.render_line(0).text
        log.write_lines(["more"])
        assert view.render_line(0).text == top and view.unseen == 1
        await pilot.press("end")  # the end follows again
        assert view.follow and view.unseen == 0
        await pilot.press("w")
        assert not view.wrap and view.row_count == len(log.model.entries)


# --- the demo mirror, from the host screen to the jobs screen ------------------------------------------


async def test_sync_the_demo_mirror_from_the_host_screen(tmp_path, home):
    root = build_demo(str(tmp_path / "demo"), now=NOW)
    mirror = Path(root) / "mirrors/upstream-lib.git"
    upstream = Path(root).parent / "upstreams/upstream-lib.git"
    before = for_each_ref(mirror)
    app = make_app(root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        row_before = app.host_screen.table.reports[str(mirror)]
        assert row_before.last_fetch is not None
        await select_row(pilot, "mirrors/upstream-lib.git")
        await pilot.press("S")
        await settle(pilot)  # the preflight worker: a dialog says what the fetch will delete
        assert app.syncs.jobs() == []
        text = await confirm_sync(pilot)
        assert "git fetch --prune origin" in text and "upstream-lib.git" in text
        assert "every ref that no longer exists upstream is deleted" in text
        job = only_job(app)
        await wait_for_sync(pilot, job)
        assert job.state is JobState.OK and job.exit_code == 0
        assert for_each_ref(mirror) == for_each_ref(upstream) != before
        kinds = {change.name: change.kind for change in job.changed_refs}
        assert kinds["refs/heads/main"] == "updated" and kinds["refs/heads/old-feature"] == "deleted"
        # The row was read again after the sync: new refs, a fresh FETCH_HEAD.
        row_after = app.host_screen.table.reports[str(mirror)]
        assert row_after is not row_before
        assert row_after.refs.total == len(for_each_ref(mirror))
        assert row_after.last_fetch > row_before.last_fetch
        assert "no syncs running" in str(app.host_screen.query_one("#summary").render())

        assert app.run_command("jobs")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        table = screen.table
        assert table.row_count == 1
        row = table.render_line(1).text
        assert "mirrors/upstream-lib.git" in row and "✔ ok" in row and f"{len(job.changed_refs)} refs changed" in row
        detail = str(screen.query_one("#job-detail").render())
        assert "exit code 0" in detail and "duration" in detail
        assert "refs/heads/main" in detail and "→" in detail and job.changed_refs[0].name in detail
        assert os.path.basename(job.log_path) in detail  # the log file path
        assert os.path.exists(job.log_path)
        log = screen.query_one(SyncLog)
        assert log.job is job
        assert any("git fetch" in text for text in log.text_lines())
        assert any(text.startswith("ok in") for text in log.text_lines())
        # enter: the repository, on its Log tab, showing the same job
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RepoScreen) and app.screen.active_tab == "log"
        repo_log = app.screen.query_one(SyncLog)
        assert repo_log.job is job and repo_log.text_lines() == log.text_lines()
        assert "✔ ok" in str(repo_log.query_one("#log-job").render())
        assert app.screen.focused is repo_log.lines
        # ctrl+s: the lines shown, to a new file in the log directory, and the path is shown
        notes = record_notifications(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        log_dir = Path(os.environ["GITWARD_LOG_DIR"])
        saved = sorted(log_dir.glob("saved-*mirrors_upstream-lib.git-job1.log"))
        assert len(saved) == 1 and oct(saved[0].stat().st_mode & 0o777) == "0o600"
        text = saved[0].read_text()
        assert "git fetch --prune" in text and f"sync's own log file: {job.log_path}" in text
        assert any(saved[0].name in note for note in notes)
        # c clears the view (the job's log and its file keep everything)
        await pilot.press("c")
        assert repo_log.text_lines() == [] and "since the clear" in str(repo_log.query_one("#log-status").render())
        assert job.log.total > 0


# --- the Log pane while git prints; cancel --------------------------------------------------------------


async def test_log_pane_shows_lines_live_and_x_cancels(slow_host, home):
    root, mirror, slow = slow_host
    app = make_app(root)
    async with app.run_test(size=SIZE) as pilot:
        job = await start_sync(pilot, app, "repo lib.git")
        assert isinstance(app.screen, RepoScreen) and app.screen.active_tab == "log"
        log = app.screen.query_one(SyncLog)
        # The wrapper said hello and waits: the line is on screen while the job still runs.
        await until(pilot, lambda: any("slow-upstream: waiting" in t for t in log.text_lines()), "the live line")
        assert job.state is JobState.RUNNING
        assert "▶ running" in str(log.query_one("#log-job").render())
        assert "1 sync running" in str(app.host_screen.query_one("#summary").render())
        assert "Log ▶ running" in str(app.screen.query_one("#tabs").get_tab("log").label)
        # The Log tab's keys apply (the tab focuses its content after a refresh: wait for it).
        await poll_until(pilot, lambda: app.screen.focused is log.lines, "the log focused")
        pid = slow.pid()
        started = time.monotonic()
        await pilot.press("x")
        await in_thread(job.wait, WAIT)
        elapsed = time.monotonic() - started
        assert job.state is JobState.CANCELLED and elapsed < 1.5, elapsed
        assert process_gone(pid)  # the wrapper too: git's whole process group went
        await wait_for_sync(pilot, job)
        assert "■ cancelled" in str(log.query_one("#log-job").render())
        assert any("cancelled" in t for t in log.text_lines())
        assert log.check_action("cancel_sync", ()) is False  # nothing left to stop
        assert "no syncs running" in str(app.host_screen.query_one("#summary").render())


async def test_jobs_screen_x_cancels_the_selected_sync(slow_host, home):
    root, mirror, slow = slow_host
    app = make_app(root)
    async with app.run_test(size=SIZE) as pilot:
        job = await start_sync(pilot, app)
        assert isinstance(app.screen, HostScreen)  # the host screen stays; :jobs shows it
        assert app.run_command("jobs")
        await settle(pilot)
        screen = app.screen
        await until(pilot, lambda: any("slow-upstream" in t for t in screen.job_log.text_lines()), "the log on the jobs screen")
        assert "▶ running" in screen.table.render_line(1).text
        # q while it runs asks first (Cancel focused); escape keeps everything running
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmDialog) and app.screen.focused.id == "cancel"
        await pilot.press("escape")
        assert app.screen is screen and job.state is JobState.RUNNING
        started = time.monotonic()
        await pilot.press("x")
        await wait_for_sync(pilot, job)
        assert job.state is JobState.CANCELLED and time.monotonic() - started < 1.5
        assert "■ cancelled" in screen.table.render_line(1).text
        assert screen.check_action("cancel_sync", ()) is False


async def test_remote_output_is_shown_as_text_never_markup(tmp_path, home):
    upstream = tmp_path / "upstreams" / "lib.git"
    upstream.parent.mkdir()
    make_upstream(upstream, 1)
    (tmp_path / "host").mkdir()
    mirror = mirror_of(upstream, tmp_path / "host" / "lib.git")
    wrapper = tmp_path / "evil-upload-pack.sh"
    wrapper.write_text(
        "#!/bin/sh\n"
        "printf '[bold red]not markup[/bold red] \\033[31mred\\033[0m \\033]0;pwned\\007 https://bot:s3cret@example.com/x.git\\n' >&2\n"
        'exec git-upload-pack "$@"\n'
    )
    wrapper.chmod(0o755)
    git(mirror, "config", "remote.origin.uploadpack", str(wrapper))
    app = make_app(tmp_path / "host")
    async with app.run_test(size=SIZE) as pilot:
        job = await start_sync(pilot, app, "log lib.git")
        await wait_for_sync(pilot, job)
        lines = app.screen.query_one(SyncLog).lines
        drawn = [lines.render_line(y).text for y in range(lines.row_count)]
        evil = next(line for line in drawn if "not markup" in line)
        assert "[bold red]not markup[/bold red] red" in evil
        assert "s3cret" not in evil and "pwned" not in evil
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "s3cret" not in svg and "pwned" not in svg and "red]not" in svg


# --- stale-loose preflight ----------------------------------------------------------------------------


@pytest.fixture
def stale_host(tmp_path):
    """host/replica.git: a mirror with a stale loose main (the packed value is newer)."""
    upstream = tmp_path / "upstreams" / "up.git"
    upstream.parent.mkdir()
    commits = make_upstream(upstream, 3)
    (tmp_path / "host").mkdir()
    replica = mirror_of(upstream, tmp_path / "host" / "replica.git")
    git(replica, "pack-refs", "--all")
    write_loose(replica, "refs/heads/main", commits[0])  # rsync without --delete left it
    add_commits(upstream)
    return tmp_path / "host", replica


async def test_stale_loose_preflight_asks_first_and_cancel_starts_nothing(stale_host, home):
    root, replica = stale_host
    before = for_each_ref(replica)
    app = make_app(root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        await pilot.press("S")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SyncConfirm)
        assert dialog.focused is not None and dialog.focused.id == "cancel"
        text = " ".join(str(static.render()) for static in dialog.query("Static"))
        assert "stale-loose" in text and "refs/heads/main" in text
        await pilot.press("enter")  # Cancel has the focus: enter alone starts nothing
        await settle(pilot)
        assert isinstance(app.screen, HostScreen)
        assert app.syncs.jobs() == []
        assert for_each_ref(replica) == before

        # "Show the shadows": the Refs tab, shadows only, before anything is overwritten.
        await pilot.press("S")
        await settle(pilot)
        await pilot.click("#choice-shadows")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RepoScreen) and screen.active_tab == "refs"
        browser = screen.query_one(RefBrowser)
        assert browser.shadows_only and [ref.name for ref in browser.ref_list.rows] == ["refs/heads/main"]
        assert app.syncs.jobs() == []

        # Sync anyway: confirmed, it runs (the stale loose file is overwritten by the fetch).
        await pilot.press("S")
        await settle(pilot)
        await pilot.click("#choice-sync")
        await settle(pilot)
        job = only_job(app)
        await wait_for_sync(pilot, job)
        assert job.state is JobState.OK
        # Read again after the sync: no stale-loose shadow left, in the row and the header.
        assert app.host_screen.table.reports[str(replica)].refs.shadows.get("stale-loose", 0) == 0
        assert "✖ 0 errors" in str(app.host_screen.query_one("#summary").render())
        assert not screen.query_one("#stale-banner").display  # the open repository screen too


async def test_sync_faulted_leaves_out_what_needs_a_confirmation(stale_host, home):
    root, replica = stale_host
    # A second faulted mirror that can be synced unasked: a stale lock file makes it a fault.
    upstream = root.parent / "upstreams" / "other.git"
    make_upstream(upstream, 2)
    other = mirror_of(upstream, root / "other.git")
    add_commits(upstream)
    lock = other / "refs" / "heads" / "stale.lock"
    lock.write_text("")
    os.utime(lock, (NOW - 86400, NOW - 86400))
    app = make_app(root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        faulted = sorted(r.name for r in app.host_screen.table.reports.values() if r.worst and r.worst.rank >= 2)
        assert faulted == ["other.git", "replica.git"], faulted
        assert app.run_command("sync faulted")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, BulkSyncConfirm) and dialog.focused.id == "cancel"
        text = " ".join(str(static.render()) for static in dialog.query("Static"))
        assert "other.git" in text and "replica.git" in text and "left out" in text
        await pilot.click("#choice-sync")
        await settle(pilot)
        job = only_job(app)
        assert job.name.endswith("other.git")
        await wait_for_sync(pilot, job)
        assert job.state is JobState.OK and for_each_ref(other) == for_each_ref(upstream)


# --- read-only ----------------------------------------------------------------------------------------


async def test_read_only_hides_sync_and_refuses_it(stale_host, home):
    root, replica = stale_host
    app = make_app(root, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        host = app.host_screen
        assert host.check_action("sync", ()) is False
        assert not any(active.binding.action == "sync" for active in host.active_bindings.values())
        await pilot.press("S")
        await settle(pilot)
        assert isinstance(app.screen, HostScreen) and app.syncs.jobs() == []
        assert not app.run_command("sync")
        assert not app.run_command("sync faulted")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert not any(title.startswith("Sync") for title in titles)
        assert app.run_command("log replica.git")
        await settle(pilot)
        log = app.screen.query_one(SyncLog)
        assert log.check_action("cancel_sync", ()) is False
        assert "S syncs it" not in str(log.query_one("#log-status").render())
        await pilot.press("S")
        await settle(pilot)
        assert app.syncs.jobs() == []


# --- a flood of lines -----------------------------------------------------------------------------------


async def key_round_trip(app, widget, key: str, action: str) -> float:
    """Seconds from a key event to its action having run and the next frame painted."""
    painted = asyncio.Event()
    original = getattr(widget, f"action_{action}")

    def run() -> None:
        original()
        widget.call_after_refresh(painted.set)

    setattr(widget, f"action_{action}", run)
    try:
        started = time.perf_counter()
        app.post_message(events.Key(key, key))
        await asyncio.wait_for(painted.wait(), WAIT)
        return time.perf_counter() - started
    finally:
        delattr(widget, f"action_{action}")


def sustained_flood(directory: Path, gate: Path, per_tick: int = 500) -> Path:
    """An upload-pack wrapper that prints ``per_tick`` lines every 50 ms (10,000 lines a second)
    to stderr until ``gate`` exists, then serves the fetch: the slow, chatty server."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "sustained-flood.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'while [ ! -e "{gate}" ]; do\n'
        f"  awk 'BEGIN {{ for (i = 1; i <= {per_tick}; i++) printf \"flood line %d of a chatty remote\\n\", i > \"/dev/stderr\" }}'\n"
        "  sleep 0.05\n"
        "done\n"
        'exec git-upload-pack "$@"\n'
    )
    script.chmod(0o755)
    return script


async def test_a_log_flood_keeps_the_console_responsive_and_counts_what_it_dropped(tmp_path, home):
    upstream = tmp_path / "upstreams" / "lib.git"
    upstream.parent.mkdir()
    make_upstream(upstream, 2)
    (tmp_path / "host").mkdir()
    mirror = mirror_of(upstream, tmp_path / "host" / "lib.git")
    gate = tmp_path / "flood.gate"
    git(mirror, "config", "remote.origin.uploadpack", str(sustained_flood(tmp_path / "wrappers", gate)))
    add_commits(upstream)
    flood_lines = 20_000
    app = make_app(tmp_path / "host", config=Config(log_buffer_lines=500))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        assert app.run_command("log lib.git")
        await settle(pilot)
        log = app.screen.query_one(SyncLog)
        await pilot.press("S")
        await confirm_sync(pilot)
        job = only_job(app)
        assert await in_thread(job.log.wait_for, lambda lines: bool(lines) and "flood line" in lines[-1].text, WAIT)
        # While git prints 10,000 lines a second, key presses are answered: each is a key event
        # through the app's queue to the log's binding (w: wrap, a reflow of the view) and the
        # next frame painted. (Not pilot.press: it waits for the *process* to be idle, which it
        # is not while git floods; that is what this measures.)
        latencies = []
        ui_cpu, process_cpu, wall = time.thread_time(), time.process_time(), time.perf_counter()
        while job.log.total < flood_lines:
            assert not job.done, job.error
            latencies.append(await key_round_trip(app, log, "w", "toggle_wrap"))
            seen = app.syncs.news_handled
            assert await app.syncs.wait_for(lambda: app.syncs.news_handled > seen, WAIT)  # next tick
        wall = time.perf_counter() - wall
        ui_cpu, process_cpu = (time.thread_time() - ui_cpu) / wall, (time.process_time() - process_cpu) / wall
        # s pauses: the view holds still while the flood goes on; the status line counts.
        await key_round_trip(app, log, "s", "toggle_follow")
        top, shown = log.lines.render_line(0).text, list(log.text_lines())
        seen = app.syncs.news_handled
        assert await app.syncs.wait_for(lambda: app.syncs.news_handled >= seen + 3 and log.lines.unseen > 500, WAIT)
        assert log.lines.render_line(0).text == top and log.text_lines() == shown
        status = str(log.query_one("#log-status").render())
        assert "paused" in status and f"{log.lines.unseen:,} new lines below" in status
        behind, dropped = job.log.total, log.dropped
        await key_round_trip(app, log, "s", "toggle_follow")  # following again: caught up
        assert log.lines.unseen == 0 and log.model.last_seq >= behind
        assert log.dropped > dropped  # what left the buffer meanwhile is counted as dropped
        gate.touch()
        await wait_for_sync(pilot, job)
        assert job.state is JobState.OK, job.error
        latencies.sort()
        print(
            f"\nflood: {job.log.total:,} lines in {wall:.1f} s; {len(latencies)} key presses, median "
            f"{latencies[len(latencies) // 2] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms; CPU: UI thread "
            f"{ui_cpu:.0%}, whole process {process_cpu:.0%} of a core; {log.pulls} reads"
        )
        # Every press was answered while git flooded (the loop above waited for each); how fast
        # is a benchmark's question (tui_bench --only sync), not a test's: a bound in seconds
        # failed here once with both cores busy.
        assert latencies
        assert job.log.total > flood_lines and job.log.dropped > 0
        assert len(log.model.entries) <= 500
        assert log.dropped >= flood_lines - 500
        status = str(log.query_one("#log-status").render())
        assert "older lines dropped" in status and "keeps the last 500" in status
        assert log.text_lines()[-1].startswith("ok in")
        # A coalesced read per tick (at most 20 a second), not one per line or per chunk.
        assert log.pulls <= app.syncs.news_handled + 2
