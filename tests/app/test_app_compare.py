"""The migration rehearsal in the console, on the demo's source/replica pair; git is the judge.

The pair shows every class ``gitward compare`` reports (except ``moving``, which needs a source
that changes during the run: tests/test_compare*.py make that). From a replica-stale-loose ref the
console heals the replica through the existing shadows preview; the comparison run again agrees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gitrepo import git, is_ancestor
from tui.app.app import create_app
from tui.app.dialogs.shadow_preview import ShadowPreview
from tui.app.screens.compare import CompareRepoScreen, CompareScreen
from tui.app.screens.repo import RepoScreen
from tui.app.testing import settle
from tui.core.compare.diff import Kind, compare
from tui.core.compare.sides import open_side
from tui.demo import FIXED_EPOCH, build_demo
from tui.core.write.journal import Journal

NOW = FIXED_EPOCH + 7 * 86400
SIZE = (140, 40)
SHOWN_BY_THE_DEMO = set(Kind) - {Kind.MOVING, Kind.UNKNOWN, Kind.UNREADABLE}


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory) -> Path:
    return Path(build_demo(str(tmp_path_factory.mktemp("cmp") / "demo"), now=NOW)).parent


@pytest.fixture
def pair(built_demo, tmp_path) -> tuple[Path, Path]:
    """A private copy of the demo pair (the console may heal the replica)."""
    shutil.copytree(built_demo / "compare", tmp_path / "compare", symlinks=True)
    return tmp_path / "compare/source", tmp_path / "compare/replica"


def burst(app, *keys: str) -> None:
    """Queue key events all at once, as a terminal delivers a burst (pilot.press waits between keys)."""
    from textual import events

    for key in keys:
        char = {"slash": "/", "enter": "\r"}.get(key, key if len(key) == 1 else None)
        app.post_message(events.Key(key, char))


def test_the_demo_pair_shows_every_class_and_git_agrees_with_each(pair):
    source, replica = pair
    result = compare(open_side(str(source)), open_side(str(replica)))
    kinds = {f.kind for repo in result.repos for f in repo.findings}
    assert kinds == SHOWN_BY_THE_DEMO
    epsilon = replica / "project-epsilon.git"
    for repo in result.repos:
        rep = replica / repo.name
        for finding in repo.findings:
            s, r = finding.source_value, finding.replica_value
            if finding.kind is Kind.REPLICA_BEHIND:
                assert is_ancestor(rep, r, s) and not is_ancestor(rep, s, r)
            elif finding.kind is Kind.REPLICA_AHEAD:
                assert is_ancestor(rep, s, r) and not is_ancestor(rep, r, s)
            elif finding.kind is Kind.DIVERGED:
                assert not is_ancestor(rep, s, r) and not is_ancestor(rep, r, s)
            elif finding.kind is Kind.REPLICA_STALE_LOOSE:
                # git reads the older loose value; the replica's packed-refs holds the source's.
                assert git(rep, "rev-parse", finding.subject).strip() == r != s
                assert f"{s} {finding.subject}" in (rep / "packed-refs").read_text()
                assert is_ancestor(rep, r, s)
            elif finding.kind is Kind.MISSING_OBJECT:
                missing = subprocess.run(["git", "-C", str(rep), "cat-file", "-e", r], capture_output=True)
                assert missing.returncode != 0
    assert git(epsilon, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


async def test_compare_opens_worst_first_filters_and_shows_the_refs_side_by_side(pair):
    source, replica = pair
    app = create_app([str(replica)], jobs=1, now=NOW, read_only=True, compare=(str(source), str(replica), None))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen) and screen.comparison is not None
        names = [repo.name for repo in screen.table.rows]
        worst = [repo.worst.rank for repo in screen.table.rows]
        assert worst == sorted(worst) and len(names) == 5
        status = str(screen.query_one("#compare-status").render())
        assert "5 repos, 5 differ" in status
        header = str(screen.query_one("#compare-header").render())
        assert "(source)" in header and "(replica)" in header and "did not move" in header

        # '/' then a burst (queued before the first is handled, as over a laggy link): every key
        # lands in the filter, none runs as a hotkey.
        burst(app, "slash", *"zeta", "enter")
        await settle(pilot)
        assert [repo.name for repo in screen.table.rows] == ["project-zeta.git"]
        assert not screen.table.differences_only
        burst(app, "slash", *"x/y")  # inside the box, '/' is text
        await settle(pilot)
        assert screen.query_one("#compare-filter").value == "x/y"  # focus selects the old text
        await pilot.press("escape")
        await settle(pilot)
        assert len(screen.table.rows) == 5

        index = names.index("project-beta.git")
        screen.table.move_cursor(index)
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, CompareRepoScreen)
        assert [f.kind for f in detail.table.rows] == [Kind.REPLICA_STALE_LOOSE] * 2
        # Both sides' commit times arrived (the replica's store holds every value here).
        values = {v for f in detail.table.rows for v in (f.source_value, f.replica_value)}
        assert values and all(detail.table.commit_times.get(v, -1) > 0 for v in values)
        # Read-only: healing is a write, hidden and refused.
        assert not detail.check_action("heal", ())


async def test_heal_a_stale_replica_from_the_comparison_then_compare_again(pair):
    source, replica = pair
    beta = replica / "project-beta.git"
    app = create_app([str(replica)], jobs=1, now=NOW, compare=(str(source), str(replica), None))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        screen.table.move_cursor([r.name for r in screen.table.rows].index("project-beta.git"))
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("P")  # the replica's Refs tab, shadows only
        await settle(pilot)
        assert isinstance(app.screen, RepoScreen) and app.screen.report.path == str(beta)
        await pilot.press("P")  # its shadows preview (keep auto: stale-loose keeps packed)
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, ShadowPreview) and app.focused.id == "cancel"
        assert len(preview.plan.changes) == 2
        await pilot.click("#apply")
        await settle(pilot)
        if not isinstance(app.screen, RepoScreen):  # bulk: the repository's name is asked for
            await pilot.press(*"project-beta.git", "enter")
            await settle(pilot)
        assert isinstance(app.screen, RepoScreen)
        assert len(Journal().entries()) == 1
        assert git(beta, "fsck").strip() == ""
        for name in ("refs/heads/master", "refs/changes/01/2001/meta"):
            assert git(beta, "rev-parse", name) == git(source / "project-beta.git", "rev-parse", name)

        await pilot.press("escape")  # back to the side-by-side view, then the repositories
        await settle(pilot)
        assert isinstance(app.screen, CompareRepoScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("r")
        await settle(pilot)
        beta_now = next(r for r in screen.comparison.repos if r.name == "project-beta.git")
        assert beta_now.findings == [] and beta_now.same_refs


async def test_colon_compare_takes_the_open_host_as_the_replica(pair):
    source, replica = pair
    app = create_app([str(replica)], jobs=1, now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.run_command(f"compare {source}/nonexistent")
        assert app.run_command(f"compare {source}")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert screen.replica == os.path.abspath(replica)
        assert {r.name for r in screen.comparison.repos} >= {"project-beta.git", "project-zeta.git"}


def test_compare_writes_its_metrics_for_the_textfile_collector(pair, tmp_path):
    from tui.cli.main import main

    source, replica = pair
    out = tmp_path / "prom" / "gitward-compare.prom"
    out.parent.mkdir()
    assert main(["compare", str(source), str(replica), "--json", "--metrics-output", str(out)]) == 1
    text = out.read_text()
    assert f'gitward_compare_differences{{replica="{replica}",class="replica-stale-loose"}} 2' in text
    assert f'gitward_compare_differences{{replica="{replica}",class="moving"}} 0' in text
    assert "gitward_compare_last_run_timestamp_seconds{" in text
    assert [p.name for p in out.parent.iterdir()] == ["gitward-compare.prom"]  # no temp file left
    promtool = shutil.which("promtool")
    if promtool:
        checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
