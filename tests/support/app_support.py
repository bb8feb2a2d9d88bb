"""The console's tests share these: one demo clock, one app factory, one way to open a repository."""

from __future__ import annotations

import os

from tui.app import create_app
from tui.app.screens.repo import RepoScreen
from tui.app.testing import settle, wait_for_scan
from tui.demo import FIXED_EPOCH

NOW = FIXED_EPOCH + 7 * 86400  # the demo host's clock, a week after it was built: ages are fixed


def make_app(root: str, **kwargs):
    """The app on ``root`` as the tests run it: one scan worker, the demo clock, no config."""
    kwargs.setdefault("jobs", 1)
    kwargs.setdefault("now", NOW)
    return create_app([str(root)], config=kwargs.pop("config", None), **kwargs)


async def open_command(pilot, command: str) -> RepoScreen:
    """Run ``:command`` (e.g. ``refs gerrit/project-alpha.git``) once the scan is done."""
    await wait_for_scan(pilot)
    assert pilot.app.run_command(command)
    await settle(pilot)
    assert isinstance(pilot.app.screen, RepoScreen)
    return pilot.app.screen


async def until(pilot, condition, what: str, rounds: int = 400) -> None:
    """Wait for ``condition()`` while the app runs (timers, workers): a bound, not a delay."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


def screen_text(app) -> list[str]:
    """The screen as plain text lines, as a terminal shows it (what the widgets last painted)."""
    from rich.console import Console  # deferred: only the tests that read the screen

    console = Console(width=app.size.width, color_system=None, force_terminal=False, record=True,
                      file=open(os.devnull, "w"))
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text().splitlines()
