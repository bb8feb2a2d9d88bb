"""Per-ref decisions in the shadows preview (issue 11): --keep auto leaves diverged and
broken-loose refs to a human; in the preview the operator keeps packed or loose per ref, seeing
both values' commit subject and the refs that reach them. Applied as one journaled plan, undone
by the journal. Driven at 80x24 with keys; git is the judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitrepo import git
from refedit_support import build_shadows
from tui.app.app import create_app
from tui.app.dialogs.prompts import TypeNameDialog
from tui.app.dialogs.shadow_preview import ShadowPreview
from tui.app.screens.repo import RepoScreen
from tui.app.testing import settle, wait_for_scan
from tui.core.write.journal import Journal
from tui.core.write.undo import undo

SIZE = (80, 24)


@pytest.fixture
def shadows(tmp_path):
    return build_shadows(tmp_path / "host", kinds=("stale", "dead", "diverged", "broken"))


def packed_refs(git_dir: str) -> dict[str, str]:
    found = {}
    for line in (Path(git_dir) / "packed-refs").read_text().splitlines():
        if not line.startswith(("#", "^")):
            value, name = line.split(" ", 1)
            found[name] = value
    return found


def loose_file(git_dir: str, name: str) -> bytes | None:
    path = Path(git_dir) / name
    return path.read_bytes() if path.exists() else None


def subject(git_dir: str, oid: str) -> str:
    return git(git_dir, "log", "-1", "--format=%s", oid).strip()


async def open_preview(pilot) -> ShadowPreview:
    await wait_for_scan(pilot)
    assert pilot.app.run_command("refs repo.git")
    await settle(pilot)
    assert isinstance(pilot.app.screen, RepoScreen)
    await pilot.press("P")
    await settle(pilot)
    preview = pilot.app.screen
    assert isinstance(preview, ShadowPreview) and pilot.app.focused.id == "cancel"
    return preview


async def highlight(pilot, preview: ShadowPreview, name: str) -> None:
    table = preview.query_one("#plan-table")
    table.move_cursor(next(i for i, row in enumerate(table.rows) if row.name == name))
    await settle(pilot)


async def test_decide_diverged_and_broken_refs_apply_and_undo(shadows):
    git_dir = shadows.git_dir
    values = shadows.values
    before_packed = packed_refs(git_dir)
    before_loose = {name: loose_file(git_dir, name) for name in shadows.shadows}
    app = create_app([str(Path(git_dir).parent)], jobs=1, config=None)
    async with app.run_test(size=SIZE) as pilot:
        preview = await open_preview(pilot)
        auto = {item.name: item.action.value for item in preview.plan.items}
        assert auto["refs/heads/diverged"] == "skip" and auto["refs/heads/broken"] == "skip"
        assert preview.change_count == 2

        await highlight(pilot, preview, "refs/heads/diverged")
        facts = str(preview.query_one("#plan-facts").render())
        # Both values' commits, by subject, and who reaches them: u1 is the tip of 'unrelated'.
        assert subject(git_dir, values["u1"]) in facts and subject(git_dir, values["c2"]) in facts
        assert "refs/heads/unrelated" in facts
        await pilot.press("l")  # keep the loose value u1
        await highlight(pilot, preview, "refs/heads/broken")
        await pilot.press("l")  # refused: its loose file is unparseable
        assert "refs/heads/broken" not in preview.decisions
        await pilot.press("p")  # keep the packed value c2
        assert preview.change_count == 4
        assert "Apply 4 changes" in str(preview.query_one("#apply").label)
        table = preview.query_one("#plan-table")
        row = next(y for y in range(1, table.row_count + 1) if "broken" in table.render_line(y).text)
        assert values["c2"][:7] in table.render_line(row).text  # the after value is on screen at 80 columns

        await pilot.click("#apply")
        await settle(pilot)
        assert isinstance(app.screen, TypeNameDialog)  # every shadow of the repository: bulk
        await pilot.press(*"repo.git", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RepoScreen)

    assert git(git_dir, "rev-parse", "refs/heads/diverged").strip() == values["u1"]
    assert "refs/heads/diverged" not in packed_refs(git_dir)  # keep loose: the packed entry dropped
    assert git(git_dir, "rev-parse", "refs/heads/broken").strip() == values["c2"]
    assert loose_file(git_dir, "refs/heads/broken") is None  # keep packed: the loose file removed
    assert git(git_dir, "rev-parse", "refs/heads/stale").strip() == values["c4"]  # auto as planned
    assert git(git_dir, "rev-parse", "refs/heads/dead").strip() == values["c3"]
    entries = Journal().entries()
    assert len(entries) == 1 and entries[0].kind == "shadows-prune" and entries[0].status == "done"

    undo(Journal(), entries[0].id)
    assert packed_refs(git_dir) == before_packed
    assert {name: loose_file(git_dir, name) for name in shadows.shadows} == before_loose


async def test_decision_on_a_ref_that_moved_since_the_preview_is_refused(shadows):
    git_dir = shadows.git_dir
    values = shadows.values
    app = create_app([str(Path(git_dir).parent)], jobs=1, config=None)
    async with app.run_test(size=SIZE) as pilot:
        preview = await open_preview(pilot)
        await highlight(pilot, preview, "refs/heads/diverged")
        await pilot.press("p")
        # Someone updates the loose file while the operator reads the preview.
        (Path(git_dir) / "refs/heads/diverged").write_text(values["c5"] + "\n")
        packed = (Path(git_dir) / "packed-refs").read_bytes()
        await pilot.click("#apply")
        await settle(pilot)
        assert isinstance(app.screen, RepoScreen)  # refused before the name is asked for
    assert (Path(git_dir) / "refs/heads/diverged").read_text() == values["c5"] + "\n"
    assert (Path(git_dir) / "packed-refs").read_bytes() == packed
    assert Journal().entries() == []
