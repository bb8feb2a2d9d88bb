"""The console's "last fetch" is the last successful fetch; a newer failed one shows as failed."""

from __future__ import annotations

from pathlib import Path

from sync_support import upstream_and_mirror

from tui.app.app import create_app
from tui.app.testing import settle, wait_for_scan
from tui.core.sync import JobState, SyncRequest, run_sync


async def test_a_failed_sync_shows_as_failed_next_to_the_last_good_fetch(tmp_path: Path):
    host = tmp_path / "host"
    host.mkdir()
    upstream, mirror = upstream_and_mirror(host)
    assert run_sync(SyncRequest(str(mirror)), timeout=60).state is JobState.OK
    upstream.rename(upstream.with_name("moved.git"))
    failed = run_sync(SyncRequest(str(mirror)), timeout=60)
    assert failed.state is JobState.FAILED
    app = create_app([str(mirror.parent)], jobs=1)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_scan(pilot)
        (row,) = [r for r in app.host_screen.table.rows if r.name == mirror.name]
        assert row.last_fetch_failure is not None and row.last_fetch_failure.state == "failed"
        lines = [app.host_screen.table.render_line(y).text for y in range(1, 6)]
        assert any("✗ failed" in line for line in lines), lines
        assert app.run_command(f"repo {mirror.name}")
        await settle(pilot)
        facts = " ".join(str(w.render()) for w in app.screen.query(".fact-value"))
        assert "✗ failed" in facts and "last ok" in facts
