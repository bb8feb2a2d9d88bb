"""The console's write actions, driven with keys on real repositories; git is the judge.

Worktrees: lock (reason dialog), unlock, prune (confirm, Cancel leaves it; lock instead when
the path looks moved). Refs: mark shadows, preview, apply; bulk needs the typed repo name; a
ref that moved after the preview refuses. Locks: clear a stale lock. Journal: undo. Read-only:
none of it is reachable. Every test builds its own repositories in tmp_path (nothing shared
is written), and waits for workers with ``settle`` (no sleeps).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gitrepo import commit_chain, git, init_repo, rev_parse
from gitutil import worktree_list
from refedit_support import fsck_errors
from tui.app import writes as actions
from tui.app.app import create_app
from tui.app.dialogs.confirm import ConfirmDialog
from tui.app.dialogs.prompts import PathDialog, ReasonDialog, TypeNameDialog
from tui.app.dialogs.shadow_preview import ShadowPreview
from tui.app.read_only import MUTATING_ACTIONS
from tui.app.screens.journal import JournalScreen
from tui.app.screens.repo import RepoScreen
from tui.app.screens.repo_writes import WRITE_ACTIONS
from tui.app.testing import settle, wait_for_scan
from tui.demo import FIXED_EPOCH, build_demo
from tui.core.write.journal import Journal
from tui.core.model import Layout, Problem, RepoReport, Severity, Worktree

NOW = FIXED_EPOCH + 7 * 86400
SIZE = (140, 40)
ALPHA = "gerrit/project-alpha.git"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The demo host, built once; only the read-only test scans it as it is."""
    return Path(build_demo(str(tmp_path_factory.mktemp("mutations") / "demo"), now=NOW))


@pytest.fixture
def demo(tmp_path) -> Path:
    """A fresh demo host (worktree paths are absolute: built, not copied)."""
    return Path(build_demo(str(tmp_path / "demo"), now=NOW))


@pytest.fixture
def host(template, tmp_path) -> Path:
    """A host with copies of the demo's bare repositories that have no linked worktree."""
    root = tmp_path / "host"
    for name in (ALPHA, "gitlab/locked-repo.git"):
        shutil.copytree(template / name, root / name, symlinks=True)  # copy2 keeps the lock ages
    return root


@pytest.fixture
def checkout(tmp_path) -> Path:
    """host/app: a checkout with two linked worktrees, 'keep' and 'gone' (its directory deleted)."""
    root = tmp_path / "host"
    repo = init_repo(root / "app")
    commit_chain(repo, 2)
    git(repo, "checkout", "-q", "main")
    git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "wt" / "keep"), "main")
    git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "wt" / "gone"), "main")
    shutil.rmtree(tmp_path / "wt" / "gone")
    return repo


def make_app(root: Path, **kwargs):
    return create_app([str(root)], jobs=1, config=None, now=NOW, **kwargs)


def record_notifications(app) -> list[tuple[str, str, str]]:
    """(message, title, severity) of every notification from now on."""
    seen: list[tuple[str, str, str]] = []
    original = app.notify

    def notify(message, **kwargs):
        seen.append((message, kwargs.get("title", ""), kwargs.get("severity", "information")))
        assert kwargs.get("markup") is False, message  # untrusted text is never markup
        return original(message, **kwargs)

    app.notify = notify
    return seen


async def open_tab(pilot, command: str) -> RepoScreen:
    await wait_for_scan(pilot)
    assert pilot.app.run_command(command), command
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RepoScreen)
    return screen


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(ch, ch) for ch in text])


async def choose(pilot, button: str) -> None:
    """Press a dialog button by id (a click: Cancel has the focus)."""
    await pilot.click(f"#{button}")
    await settle(pilot)


def move_to(table, predicate) -> object:
    for index, row in enumerate(table.rows):
        if predicate(row):
            table.move_cursor(index)
            return row
    raise AssertionError("no such row")


def worktrees_by_name(repo: Path) -> dict:
    return {Path(entry.path).name: entry for entry in worktree_list(repo)}


def active_actions(screen) -> set[str]:
    return {active.binding.action for active in screen.active_bindings.values()}


def packed_value(git_dir: Path, name: str) -> str:
    for line in (git_dir / "packed-refs").read_text().splitlines():
        if line.endswith(" " + name) and not line.startswith(("#", "^")):
            return line.split(" ", 1)[0]
    raise AssertionError(f"{name} is not packed")


# --------------------------------------------------------------------------- worktrees


async def test_lock_through_the_dialog_then_unlock(checkout, tmp_path):
    app = make_app(tmp_path / "host")
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tab(pilot, "worktrees app")
        table = screen.query_one("#worktree-table")
        move_to(table, lambda wt: wt.id == "keep")
        assert "screen.lock_worktree" in active_actions(screen)
        assert screen.check_action("unlock_worktree", ()) is None  # greyed: not locked
        await pilot.press("l")
        assert isinstance(app.screen, ReasonDialog)
        await type_text(pilot, "[nfs] blinks")
        await pilot.press("enter")
        await settle(pilot)
        assert worktrees_by_name(checkout)["keep"].lock_reason == "[nfs] blinks"
        assert table.current.locked and table.current.lock_reason == "[nfs] blinks"  # rescanned
        assert any(title == "done" and "locked worktrees/keep" in message for message, title, _ in notes)
        assert screen.check_action("lock_worktree", ()) is None  # greyed now
        await pilot.press("u")  # its directory exists: no question asked
        await settle(pilot)
        assert not worktrees_by_name(checkout)["keep"].locked
        assert not table.current.locked
        assert any("unlocked worktrees/keep" in message for message, _, _ in notes)
        assert app.run_command("journal")  # :journal lists them, newest first
        await settle(pilot)
        assert isinstance(app.screen, JournalScreen)
        assert [entry.kind for entry in app.screen.table.rows] == ["worktree-unlock", "worktree-lock"]


async def test_prune_asks_with_cancel_focused_and_cancel_leaves_it(checkout, tmp_path):
    admin = checkout / ".git/worktrees/gone"
    app = make_app(tmp_path / "host")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tab(pilot, "worktrees app")
        await pilot.press("p")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and dialog.id == "prune-dialog"
        assert app.focused.id == "cancel"
        assert not dialog.query("#choice-lock")  # nothing looks moved here
        await pilot.press("enter")  # enter on the focused Cancel
        await settle(pilot)
        assert app.screen is screen and admin.is_dir()
        await pilot.press("p")
        await settle(pilot)
        await choose(pilot, "choice-prune")
        assert not admin.exists()
        assert set(worktrees_by_name(checkout)) == {"app", "keep"}
        assert all(wt.id != "gone" for wt in screen.query_one("#worktree-table").rows)
        # Nothing left to prune: the binding is greyed.
        assert screen.check_action("prune_worktrees", ()) is None


async def test_prune_of_a_git_sync_worktree_suggests_lock_instead(demo):
    webapp = demo / "sync/webapp"
    vanished = next(e.path for e in worktree_list(webapp) if e.prunable_reason)
    admin = webapp / ".git/worktrees" / Path(vanished).name
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, "worktrees sync/webapp")
        await pilot.press("p")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and app.focused.id == "cancel"
        text = " ".join(str(static.render()) for static in dialog.query("#dialog-body Static"))
        assert "Moved or away" in text and "git-sync worktree" in text
        await choose(pilot, "choice-lock")
        assert isinstance(app.screen, ReasonDialog)
        assert "volume may be away" in app.screen.query_one("#prompt-input").value
        await pilot.press("enter")
        await settle(pilot)
    entry = next(e for e in worktree_list(webapp) if e.path == vanished)
    assert entry.locked and "volume may be away" in entry.lock_reason
    assert admin.is_dir()  # not pruned


def test_a_path_mismatch_suggests_repair_at_the_found_path(tmp_path):
    from tui.core.write.worktree_edit import PruneItem, PrunePlan, WorktreeRepo

    found = tmp_path / "root/.worktrees/abc"
    found.mkdir(parents=True)
    wt = Worktree(id="abc", path="/elsewhere/.worktrees/abc", prunable=True, prunable_reason=actions.NOT_EXISTING)
    problem = Problem("worktree-path-mismatch", Severity.WARNING, "worktrees/abc is registered at /elsewhere", "abc")
    report = RepoReport(
        path=str(tmp_path / "root"), root=str(tmp_path), name="root", layout=Layout.GIT_SYNC,
        git_dir=str(tmp_path / "root/.git"), worktrees=[wt], problems=[problem],
    )
    plan = PrunePlan(WorktreeRepo(report.git_dir), None, items=[PruneItem("abc", wt.path, actions.NOT_EXISTING, "")])
    (caution,) = actions.prune_cautions(report, plan)
    assert caution.suggest == "repair" and caution.path == str(found)


async def test_repair_asks_for_the_new_path_and_previews(checkout, tmp_path):
    moved = tmp_path / "wt" / "moved"
    os.rename(tmp_path / "wt" / "keep", moved)
    app = make_app(tmp_path / "host")
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, "worktrees app")
        await pilot.press("R")
        assert isinstance(app.screen, PathDialog)
        app.screen.query_one("#prompt-input").value = str(moved)  # (typing 60 keys adds seconds)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog) and app.screen.id == "repair-dialog"
        assert app.focused.id == "cancel"
        await choose(pilot, "choice-repair")
    assert worktrees_by_name(checkout)["moved"].prunable_reason is None


# --------------------------------------------------------------------------- refs


async def test_mark_two_shadows_apply_then_undo_from_the_journal(host):
    git_dir = host / ALPHA
    app = make_app(host)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tab(pilot, f"refs {ALPHA}")
        await pilot.press("s")  # shadows only: the seven stale-loose refs
        ref_list = screen.ref_list
        names = [ref.name for ref in ref_list.rows][:2]
        stale = {name: rev_parse(git_dir, name) for name in names}
        packed = {name: packed_value(git_dir, name) for name in names}
        assert all(stale[n] != packed[n] for n in names)
        await pilot.press("space", "space")
        assert ref_list.marked == set(names)
        assert "2 marked" in str(screen.query_one("#ref-status").render())
        await pilot.press("P")
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, ShadowPreview) and app.focused.id == "cancel"
        assert [item.name for item in preview.plan.changes] == names and not preview.bulk
        table = preview.query_one("#plan-table")
        lines = " ".join(table.render_line(y).text for y in range(1, 3))
        assert "stale-loose" in lines and "→" in lines and packed[names[0]][:12] in lines
        await choose(pilot, "apply")
        assert {name: rev_parse(git_dir, name) for name in names} == packed
        assert fsck_errors(git_dir) == ""
        assert any(title == "done" and "resolved 2 shadowed refs" in message for message, title, _ in notes)
        assert not ref_list.marked
        assert screen.report.refs.shadows.get("stale-loose") == 5  # rescanned

        await pilot.press("J")
        await settle(pilot)
        journal = app.screen
        assert isinstance(journal, JournalScreen)
        assert journal.table.current.kind == "shadows-prune"
        await pilot.press("u")
        assert isinstance(app.screen, ConfirmDialog) and app.focused.id == "cancel"
        await choose(pilot, "choice-undo")
        assert {name: rev_parse(git_dir, name) for name in names} == stale
        assert fsck_errors(git_dir) == ""
        entries = actions.journal_entries(Journal())  # newest first
        assert [e.status for e in entries] == ["done", "undone"] and entries[0].undo_of == entries[1].id
        assert journal.check_action("undo_entry", ()) is None  # the newest row is the undo itself
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.report.refs.shadows.get("stale-loose") == 7


async def test_bulk_auto_needs_the_typed_repo_name(host):
    git_dir = host / ALPHA
    app = make_app(host)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, f"refs {ALPHA}")
        before = {name: value for name, value in (line.split() for line in git(git_dir, "for-each-ref", "--format=%(refname) %(objectname)").splitlines())}
        await pilot.press("P")  # nothing marked: auto on the whole repository
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, ShadowPreview) and preview.bulk and len(preview.plan.changes) == 7
        await choose(pilot, "apply")
        assert isinstance(app.screen, TypeNameDialog)
        await type_text(pilot, "alpha")  # not the name: a part of it is not enough
        await pilot.press("enter")
        await settle(pilot)
        assert any(title == "refused" and "nothing was changed" in message for message, title, _ in notes)
        assert Journal().entries() == []
        assert before == {name: rev_parse(git_dir, name) for name in before}

        await pilot.press("P")
        await settle(pilot)
        await choose(pilot, "apply")
        await type_text(pilot, "project-alpha.git")
        await pilot.press("enter")
        await settle(pilot)
        assert fsck_errors(git_dir) == ""
        assert "stale-loose" not in app.screen.report.refs.shadows  # verdict -> count
        assert not (git_dir / "refs/heads/master").exists()
        assert rev_parse(git_dir, "refs/heads/master") == packed_value(git_dir, "refs/heads/master")


async def test_a_ref_that_moved_after_the_preview_is_refused(host):
    git_dir = host / ALPHA
    app = make_app(host)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tab(pilot, f"refs {ALPHA}")
        await pilot.press("s", "space")
        name = next(iter(screen.ref_list.marked))
        await pilot.press("P")
        await settle(pilot)
        assert isinstance(app.screen, ShadowPreview)
        # Someone pushes while the operator reads the preview.
        pushed = packed_value(git_dir, "refs/heads/stable-1.0")
        (git_dir / name).write_text(pushed + "\n")
        packed_refs = (git_dir / "packed-refs").read_bytes()
        await choose(pilot, "apply")
        assert (git_dir / name).read_text() == pushed + "\n"  # nothing overwritten
        assert (git_dir / "packed-refs").read_bytes() == packed_refs
        message, title, severity = notes[-1]
        assert title == "refused: changed since the preview" and severity == "error"
        assert "nothing was changed" in message or "changed" in message
        assert [e for e in Journal().entries() if e.status == "done"] == []
        assert isinstance(app.screen, RepoScreen)


# --------------------------------------------------------------------------- locks


async def test_clear_a_stale_lock_from_the_locks_tab(host):
    git_dir = host / "gitlab/locked-repo.git"
    app = make_app(host)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tab(pilot, "locks locked-repo")
        table = screen.query_one("#lock-table")
        lock = move_to(table, lambda lock: lock.path == "packed-refs.lock")
        assert lock.stale and (git_dir / "packed-refs.lock").exists()
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog) and app.focused.id == "cancel"
        await choose(pilot, "choice-clear")
        assert not (git_dir / "packed-refs.lock").exists()
        assert (git_dir / "refs/heads/feature.lock").exists()  # only the one chosen
        assert [lock.path for lock in table.rows] == ["refs/heads/feature.lock"]


# --------------------------------------------------------------------------- read-only


async def test_read_only_offers_none_of_it_and_changes_nothing(template):
    demo = template
    assert set(WRITE_ACTIONS) | {"undo_entry"} <= MUTATING_ACTIONS
    tooling = demo / "work/tooling"
    locked_repo = demo / "gitlab/locked-repo.git"
    worktrees_before = worktree_list(tooling)
    refs_before = git(demo / ALPHA, "for-each-ref")
    app = make_app(demo, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tab(pilot, "worktrees work/tooling")
        table = screen.query_one("#worktree-table")
        hidden = {f"screen.{action}" for action in WRITE_ACTIONS}
        for row in range(table.row_count):
            table.move_cursor(row)
            await pilot.pause()
            assert not active_actions(screen) & hidden
        move_to(table, lambda wt: wt.prunable)  # where l, p and R would apply when writable
        await pilot.press("l", "p", "R")
        move_to(table, lambda wt: wt.locked)  # where u would apply
        await pilot.press("u")
        await settle(pilot)
        assert app.screen is screen
        for action in WRITE_ACTIONS:
            assert screen.check_action(action, ()) is False
        assert app.run_command(f"refs {ALPHA}")
        await settle(pilot)
        screen = app.screen
        await pilot.press("s", "space", "P")
        await settle(pilot)
        assert app.screen is screen and not screen.ref_list.marked
        assert app.run_command("locks locked-repo")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert app.screen is app.screen_stack[-1] and isinstance(app.screen, RepoScreen)
        await pilot.press("J")
        await settle(pilot)
        assert isinstance(app.screen, JournalScreen)
        assert app.screen.check_action("undo_entry", ()) is False
        help_text = " ".join(str(w.render()) for w in app.screen.query("#read-only-banner"))
        assert "READ-ONLY" in help_text
    assert worktree_list(tooling) == worktrees_before
    assert git(demo / ALPHA, "for-each-ref") == refs_before
    assert (locked_repo / "packed-refs.lock").exists() and (locked_repo / "refs/heads/feature.lock").exists()
    assert Journal().entries() == []


async def test_help_marks_the_write_bindings_hidden_in_read_only(template):
    demo = template
    app = make_app(demo, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        await pilot.press("question_mark")
        text = app.screen.body().plain
        for binding_id in ("worktrees.lock", "refs.prune_shadows", "locks.clear", "journal.undo"):
            line = next(line for line in text.splitlines() if binding_id in line)
            assert "(hidden: read-only)" in line, line


# --------------------------------------------------------------------------- pure helpers


def test_failures_are_one_line_outcomes_that_say_what_happened():
    from tui.core.write.locking import ApplyError, LockHeldError, StateChangedError

    moved = actions.failure(StateChangedError("refs/heads/x moved\nsince the plan"), "prune shadows")
    assert not moved.ok and moved.refused and moved.moved and moved.severity == "error"
    assert "\n" not in moved.message and moved.title == "refused: changed since the preview"
    held = actions.failure(LockHeldError("packed-refs.lock is held", "/x"), "prune shadows")
    assert held.refused and held.severity == "warning" and held.title == "refused"
    half = actions.failure(ApplyError("disk full", "20260101-000000-abcd"), "prune shadows")
    assert not half.refused and half.severity == "error" and "20260101-000000-abcd" in half.message
    gone = actions.failure(FileNotFoundError(2, "No such file or directory", "/repo/config"), "lock")
    assert gone.refused and "/repo/config" in gone.message and "nothing was changed" in gone.message


def test_bulk_means_the_whole_repository_or_more_than_ten_refs():
    class Plan:
        def __init__(self, n: int) -> None:
            self.changes = list(range(n))

    assert actions.is_bulk(Plan(1), None)
    assert not actions.is_bulk(Plan(10), ["a"] * 10)
    assert actions.is_bulk(Plan(11), ["a"] * 11)
