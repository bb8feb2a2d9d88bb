"""Snapshot tests of the main screens (pytest-textual-snapshot).

Deterministic by construction: the demo host is built with a fixed clock and scanned with the
same clock (every age is fixed), HOME points at the build directory so every path renders as
``~/demo/host/...`` whatever the tmp dir is, a fixed clock hides wall-clock durations, and
no widget blinks or shows a clock. Update with ``pytest --snapshot-update``.
"""

from __future__ import annotations

import os

import pytest

from tui.app.app import create_app
from tui.app.testing import settle, wait_for_scan
from tui.demo import FIXED_EPOCH, build_demo

NOW = FIXED_EPOCH + 7 * 86400


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> str:
    return build_demo(str(tmp_path_factory.mktemp("snap") / "demo"), now=NOW)


@pytest.fixture
def app(demo_root, monkeypatch):
    monkeypatch.setenv("HOME", os.path.dirname(os.path.dirname(demo_root)))
    return create_app([demo_root], jobs=1, config=None, now=NOW)


def steps(*commands: str):
    async def run_before(pilot) -> None:
        await wait_for_scan(pilot)
        for command in commands:
            assert pilot.app.run_command(command), command
            await settle(pilot)

    return run_before


def test_host_screen(snap_compare, app):
    assert snap_compare(app, terminal_size=(140, 40), run_before=steps())


def test_host_screen_80x24_faults_only(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps("faults"))


def test_repo_overview(snap_compare, app):
    assert snap_compare(app, terminal_size=(140, 40), run_before=steps("repo gerrit/project-alpha.git"))


def test_repo_worktrees(snap_compare, app):
    assert snap_compare(app, terminal_size=(140, 40), run_before=steps("worktrees sync/webapp"))


def test_repo_refs(snap_compare, app):
    assert snap_compare(app, terminal_size=(140, 40), run_before=steps("refs gerrit/project-alpha.git"))


def test_shadows_preview_80x24(snap_compare, app):
    async def run_before(pilot) -> None:
        await steps("refs gerrit/project-alpha.git")(pilot)
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("down")  # the second ref: its details and both values' commits
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_repo_refs_80x24(snap_compare, app):
    """Name, source and verdict at 80 columns; the values and ages gave way."""
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps("refs gerrit/project-alpha.git"))
