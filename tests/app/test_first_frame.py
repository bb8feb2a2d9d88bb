"""The console's start: what 'gitward ROOT' loads before its first frame is drawn (the scan
starts after it). Loading a module there costs every operator every start; the benchmark
(benchmarks/tui_bench.py) measures the time, this test names what must stay off the path."""

from __future__ import annotations

import json
import subprocess
import sys

# Run through the real entry point (tui.cli.main.main -> cmd_console -> run_console), with two
# stand-ins: stdout "is" a terminal (else the console prints a scan instead), and App.run is
# Textual's headless run_test. Right after the first frame, a probe takes sys.modules; the
# scan is replaced by a second probe (the collector's state) that quits.
PROBE = """
import asyncio, gc, sys
sys.stdout.isatty = lambda: True
from textual.app import App
from tui.cli.main import main

seen = {}

def run_headless(app, *args, **kwargs):
    from tui.app.screens.host import HostScreen

    resume_and_scan = HostScreen._first_frame_drawn

    def first_frame_drawn(screen):
        seen["modules"] = sorted(sys.modules)
        seen["collector_was_paused"] = not gc.isenabled()
        return resume_and_scan(screen)  # a coroutine: Textual awaits it

    def start_scan(screen):  # instead of the scan: the collector's state, then quit
        seen["collector_resumed"] = gc.isenabled()
        screen.app.exit(0)

    HostScreen._first_frame_drawn = first_frame_drawn
    HostScreen.start_scan = start_scan

    async def headless():
        async with app.run_test(size=(140, 40)) as pilot:
            for _ in range(500):
                if "modules" in seen:
                    break
                await pilot.pause(0.01)
    asyncio.run(headless())
    return 0

App.run = run_headless
main(sys.argv[1:])
import json  # only now: json is one of the modules the first frame must not load
print(json.dumps(seen))
"""

# Modules the first frame does not need: the command modules, the scanner and its process
# pool, the reports' dataclasses (the scan loads them; the header counts with
# tui.core.severity), the sync plans, the write messages, the ref store and pygit2, every other
# screen and dialog, the text editor widget, the TOML parser (no config file here), json and
# humanize.
NOT_BEFORE_THE_FIRST_FRAME = (
    "tui.cli.write",
    "tui.cli.sync",
    "tui.cli.compare",
    "tui.cli.fleet",
    "tui.core.scan",
    "tui.core.discovery",
    "tui.core.model",
    "tui.app.sync_plans",
    "tui.app.write_messages",
    "tui.core.refstore",
    "tui.core.write.journal",
    "tui.app.screens.repo",
    "tui.app.screens.compare",
    "tui.app.screens.journal",
    "tui.app.screens.help",
    "tui.app.commands",
    "tui.app.writes",
    "multiprocessing",
    "concurrent.futures.process",
    "pygit2",
    "textual.widgets._text_area",
    "tomllib",
    "json",
    "humanize",
)
NOT_BEFORE_THE_FIRST_FRAME_PACKAGES = ("tui.app.dialogs",)


def first_frame(root, home) -> dict:
    env = {
        "HOME": str(home),
        "GITWARD_CONFIG_DIR": str(home / "config"),  # no config file: defaults
        "GITWARD_STATE_DIR": str(home / "state"),
        "GITWARD_LOG_DIR": str(home / "logs"),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_first_frame_loads_nothing_it_does_not_draw(tmp_path):
    root = tmp_path / "host"
    root.mkdir()
    seen = first_frame(root, tmp_path)
    loaded = set(seen["modules"])
    assert "tui.app.screens.host" in loaded  # the probe ran where it should
    early = sorted(name for name in NOT_BEFORE_THE_FIRST_FRAME if name in loaded)
    early += sorted(m for m in loaded if m.startswith(NOT_BEFORE_THE_FIRST_FRAME_PACKAGES))
    assert early == [], f"loaded before the first frame: {early}"


def test_the_collector_paused_for_the_start_runs_again_after_the_first_frame(tmp_path):
    root = tmp_path / "host"
    root.mkdir()
    seen = first_frame(root, tmp_path)
    assert seen["collector_was_paused"] is True
    assert seen["collector_resumed"] is True


async def test_the_first_frame_draws_the_table_header(tmp_path, monkeypatch):
    """The screen's first frame is painted before the table has handled its Resize event: the
    columns must be laid out for the size it is painted at, not for no width (a blank header
    until a second frame, ~30 ms later on start-up)."""
    # deferred: the Textual side of this module's tests; the probes above run in a subprocess
    from app_support import make_app
    from tui.app.screens.host import HostScreen
    from tui.app.widgets.repo_table import RepoTable

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(HostScreen, "start_scan", lambda screen: None)  # the header, not the rows
    root = tmp_path / "host"
    root.mkdir()
    first_paint: list[str] = []
    paint = RepoTable.render_lines

    def render_lines(table, crop):
        strips = paint(table, crop)
        if not first_paint:
            first_paint.append("".join(segment.text for segment in strips[0]))
        return strips

    monkeypatch.setattr(RepoTable, "render_lines", render_lines)
    app = make_app(root)
    async with app.run_test(size=(140, 40)) as pilot:
        while not first_paint:
            await pilot.pause(0.01)
    assert "repo" in first_paint[0] and "worst problem" in first_paint[0], first_paint
