"""The migration rehearsal in the console: a replica compared with its source, repo by repo.

``CompareScreen`` runs the core's ``compare`` in a worker (it never writes to either side) and
lists the repositories worst first; Enter opens ``CompareRepoScreen``, the side-by-side ref view.
From a ``replica-stale-loose`` ref, ``P`` opens the replica's Refs tab with the existing shadows
preview, which heals it (journaled, undoable) with the usual confirmation.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.actions import SkipAction
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from tui.app.filtering import RowFilter
from tui.app.backend import Host
from tui.app.text import clean, display_path, plural
from tui.app.widgets.filter_box import FilterBox as _FilterBox
from tui.app.widgets.compare_tables import CompareRepoTable, FindingTable
from tui.app.widgets.vtable import VirtualTable
from tui.core.compare.diff import Comparison, Kind, RepoComparison

__all__ = ["CompareScreen", "CompareRepoScreen"]

_FILTER_HINT = "filter: text · regex (^…$) · !text inverts · a class name (replica-stale-loose) · enter keeps, escape clears"


@dataclass
class CompareProgress(Message):
    """``done`` of ``total`` repositories compared; bursts merge (only the newest counts)."""

    generation: int
    done: int
    total: int
    name: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CompareProgress) and message.generation == self.generation


@dataclass
class CompareFinished(Message):
    """The comparison ended: a result, or one line saying why there is none."""

    generation: int
    comparison: Comparison | None
    error: str | None


class _FilteredTableScreen(Screen):
    """A screen whose table has a ``/`` filter box: the one place for its keys and type-ahead."""

    @property
    def table(self) -> CompareRepoTable | FindingTable:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.query_one(_FilterBox).cursor_blink = False

    def filter_changed(self) -> None:
        """The filter was set or cleared (the list screen redraws its status line)."""

    def action_filter(self) -> None:
        """Show the filter box and give it the keys that follow at once.

        Type-ahead over a laggy link: the keys after '/' are already queued when it is handled.
        The '/' bindings are priority bindings, so the app runs this before it forwards the next
        key, and ``set_focus`` (unlike the deferred ``focus()``) moves the focus now: the burst
        lands in the box, never on a hotkey. Inside the box, '/' is text (SkipAction lets it through).
        """
        if isinstance(self.focused, Input):
            raise SkipAction()
        box = self.query_one(_FilterBox)
        box.display = True
        self.set_focus(box)

    @on(Input.Changed, "FilterBox")
    def _filter_typed(self, event: Input.Changed) -> None:
        self.table.set_filter(self.query_one(_FilterBox).parse(self.table.filter_fields))
        self.filter_changed()

    @on(Input.Submitted, "FilterBox")
    def _filter_kept(self, event: Input.Submitted) -> None:
        self.table.focus()

    def clear_filter(self) -> bool:
        """Hide and clear the filter; False when there was none (escape then leaves the screen)."""
        box = self.query_one(_FilterBox)
        if not (box.display or self.table.row_filter.active):
            return False
        box.value = ""
        box.display = False
        self.table.set_filter(RowFilter())
        self.table.focus()
        self.filter_changed()
        return True


class CompareScreen(_FilteredTableScreen):
    """Repositories of SOURCE and REPLICA, compared; worst first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_repo", "Refs", id="compare.open", tooltip="Side-by-side refs of the repository under the cursor"),
        Binding("slash", "filter", "Filter", id="compare.filter", tooltip="Filter repositories by name or class", priority=True),
        Binding("f", "toggle_differences", "Differences", id="compare.differences", tooltip="Show only repositories that differ"),
        Binding("r", "rerun", "Compare again", id="compare.rerun", tooltip="Read both sides again"),
        Binding("escape", "back", "Back", id="compare.back", tooltip="Clear the filter, else leave the comparison"),
    ]

    def __init__(self, host: Host, source: str, replica: str, *, repo_globs: list[str] | None = None) -> None:
        super().__init__(id="compare")
        self.host = host
        self.source = source
        self.replica = replica
        self.repo_globs = repo_globs
        self.generation = 0
        self.running = False
        self.comparison: Comparison | None = None
        self.error: str | None = None
        self._progress = (0, 0, "")
        self._cancel: threading.Event | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="compare-header")
        yield Static(id="compare-status")
        yield _FilterBox(placeholder=_FILTER_HINT, id="compare-filter")
        yield CompareRepoTable(id="compare-repos")
        yield Footer(compact=True)

    @property
    def table(self) -> CompareRepoTable:
        return self.query_one(CompareRepoTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()
        self.call_after_refresh(self.start)

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    # --- running ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.generation += 1
        self.running = True
        self.error = None
        self._progress = (0, 0, "")
        self._cancel = threading.Event()
        self._show()
        self._compare(self.generation, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def _compare(self, generation: int, cancel: threading.Event) -> None:
        # lazy (import cost): app.commit_dates, core.compare.sides load on first use, not with this module
        from tui.app.commit_dates import OBJECT_STORE_LOCK
        from tui.core.compare.diff import compare
        from tui.core.compare.sides import SideError, open_side

        worker = get_current_worker()

        def progress(done: int, total: int, name: str) -> None:
            if worker.is_cancelled:
                cancel.set()
            self.post_message(CompareProgress(generation, done, total, name))

        sides = []
        try:
            sides = [open_side(self.source, self.repo_globs), open_side(self.replica, self.repo_globs)]
            # Ancestry questions go to pygit2, which other console threads also use.
            with OBJECT_STORE_LOCK:
                result = compare(sides[0], sides[1], repo_globs=self.repo_globs, cancel=cancel, progress=progress)
        except (SideError, OSError, ValueError) as exc:
            self.post_message(CompareFinished(generation, None, str(exc)))
            return
        finally:
            for side in sides:
                side.close()
        self.post_message(CompareFinished(generation, result, None))

    @on(CompareProgress)
    def _progressed(self, message: CompareProgress) -> None:
        if message.generation == self.generation:
            self._progress = (message.done, message.total, message.name)
            self._show_status()

    @on(CompareFinished)
    def _finished(self, message: CompareFinished) -> None:
        if message.generation != self.generation:
            return
        self.running = False
        self.error = message.error
        if message.comparison is not None:
            self.comparison = message.comparison
            self.table.set_comparisons(message.comparison.repos)
        self._show()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "compare" and event.state is WorkerState.ERROR:
            self.running = False
            self.error = f"the comparison failed: {event.worker.error!r}"
            self._show()

    # --- header and status --------------------------------------------------------------------

    def _show(self) -> None:
        self._show_header()
        self._show_status()

    def _show_header(self) -> None:
        text = (f"compare  {_shown(self.source)} (source)  →  {_shown(self.replica)} (replica)"
                "  · read only: neither side is written")
        result = self.comparison
        if result is not None:
            # A fixed clock (tests, screenshots) stands for the start too, so a picture is the same every run.
            started = self.host.now if self.host.now is not None else result.started
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
            moved = (f"the source moved during the run: {plural(result.moving, 'ref')} marked moving, run again"
                     if result.moving else
                     "the source did not move during the run" if result.source_reread else
                     "the source could not be read again: moving refs not detected")
            text += f"\ncompared {when} in {result.duration:.1f} s · {moved}"
        self.query_one("#compare-header", Static).update(Content(text))

    def _show_status(self) -> None:
        status = self.query_one("#compare-status", Static)
        if self.error:
            status.update(Content(f"✖ {clean(self.error)}"))
            return
        if self.running:
            done, total, name = self._progress
            status.update(Content(f"comparing… {done}/{total or '?'} {clean(name)}"))
            return
        result = self.comparison
        if result is None:
            status.update("")
            return
        differing = sum(1 for r in result.repos if r.findings)
        by_severity: dict[str, int] = {}
        for repo in result.repos:
            for finding in repo.findings:
                by_severity[finding.kind.severity.value] = by_severity.get(finding.kind.severity.value, 0) + 1
        counts = " · ".join(f"{n} {sev}" + ("s" if n != 1 else "") for sev, n in by_severity.items()) or "no differences"
        shown = self.table.row_count
        parts = [f"{plural(len(result.repos), 'repo')}, {differing} differ: {counts}"]
        if result.cancelled:
            parts.append("cancelled: partial result")
        if self.table.row_filter.active:
            parts.append(f"filter ({self.table.row_filter.mode}): {clean(self.table.row_filter.raw)}")
        if self.table.differences_only:
            parts.append("differences only")
        if shown != len(result.repos):
            parts.append(f"{shown} shown")
        status.update(Content(" · ".join(parts)))

    # --- actions --------------------------------------------------------------------------------

    def action_open_repo(self) -> None:
        repo = self.table.current
        if repo is not None and self.comparison is not None:
            self.app.push_screen(CompareRepoScreen(self.host, repo, self.comparison))

    @on(VirtualTable.Selected, "#compare-repos")
    def _selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        self.action_open_repo()

    def filter_changed(self) -> None:
        self._show_status()

    def action_toggle_differences(self) -> None:
        self.table.set_differences_only(not self.table.differences_only)
        self._show_status()

    def action_rerun(self) -> None:
        if not self.running:
            self.start()

    def action_back(self) -> None:
        if not self.clear_filter() and len(self.app.screen_stack) > 1:
            self.app.pop_screen()


@dataclass
class CommitTimesRead(Message):
    """Commit times for the values on screen, from whichever side's object store holds them."""

    times: dict[str, float]


class CompareRepoScreen(_FilteredTableScreen):
    """One repository, side by side: every finding with both values, their storage and ages."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("P", "heal", "Heal replica", id="compare_repo.heal",
                tooltip="Open the replica's shadows preview for its stale loose refs (journaled, undoable)"),
        Binding("slash", "filter", "Filter", id="compare_repo.filter", tooltip="Filter by ref name or class", priority=True),
        Binding("escape", "back", "Back", id="compare_repo.back", tooltip="Clear the filter, else back to the repositories"),
    ]

    def __init__(self, host: Host, repo: RepoComparison, comparison: Comparison) -> None:
        super().__init__(id="compare-repo")
        self.host = host
        self.repo = repo
        self.comparison = comparison

    def compose(self) -> ComposeResult:
        yield Static(id="compare-repo-header")
        yield _FilterBox(placeholder=_FILTER_HINT, id="compare-repo-filter")
        yield FindingTable(now=self.host.clock, id="findings")
        yield Footer(compact=True)

    @property
    def table(self) -> FindingTable:
        return self.query_one(FindingTable)

    def on_mount(self) -> None:
        super().on_mount()
        repo = self.repo
        lines = [f"{clean(repo.name)}"]
        lines.append(f"  source   {display_path(repo.source_path) if repo.source_path else '(not on the source)'}"
                     + (f"  checksum {repo.source_checksum[:12]}" if repo.source_checksum else ""))
        lines.append(f"  replica  {display_path(repo.replica_path) if repo.replica_path else '(not on the replica)'}"
                     + (f"  checksum {repo.replica_checksum[:12]}" if repo.replica_checksum else ""))
        stale = len(repo.of_kind(Kind.REPLICA_STALE_LOOSE))
        if stale:
            lines.append(f"✖ {plural(stale, 'stale loose ref')} {'hides' if stale == 1 else 'hide'} newer packed values on the replica: "
                         "P opens the replica's shadows preview (keep packed), journaled and undoable")
        self.query_one("#compare-repo-header", Static).update(Content("\n".join(lines)))
        self.table.set_findings(repo.findings)
        self.table.focus()
        self._read_commit_times()

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare-dates")
    def _read_commit_times(self) -> None:
        # lazy (import cost): app.commit_dates loads on first use, not with this module
        from tui.app.commit_dates import CommitDates

        repo = self.repo
        stores = [p for p in (repo.replica_git_dir if repo.replica_local else None,) if p]
        source_git_dir = _local_git_dir(repo.source_path) if _is_directory(self.comparison.source) else None
        if source_git_dir:
            stores.append(source_git_dir)
        wanted = {v for f in repo.findings for v in (f.source_value, f.replica_value) if v}
        times: dict[str, float] = {}
        for git_dir in stores:
            missing = [oid for oid in wanted if times.get(oid, -1.0) < 0]
            if not missing:
                break
            for oid, when in CommitDates(git_dir).lookup(missing).items():
                if when >= 0 or oid not in times:
                    times[oid] = when
        self.post_message(CommitTimesRead(times))

    @on(CommitTimesRead)
    def _times_read(self, message: CommitTimesRead) -> None:
        self.table.set_commit_times(message.times)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "heal":
            return not self.host.read_only and bool(self.repo.of_kind(Kind.REPLICA_STALE_LOOSE))
        return True

    def action_heal(self) -> None:
        repo = self.repo
        if self.host.read_only:
            self.notify("read-only: healing the replica is a write", severity="warning", markup=False)
            return
        if not repo.replica_local or not repo.replica_path:
            self.notify("the replica is not on this machine: run the plan there (gitward compare --plan)",
                        severity="warning", markup=False)
            return
        if not repo.of_kind(Kind.REPLICA_STALE_LOOSE):
            self.notify("no stale loose refs in this repository", markup=False)
            return
        self._open_replica(repo.replica_path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare-open")
    def _open_replica(self, path: str) -> None:
        # lazy (import cost): core.scan loads on first use, not with this module
        from tui.core.discovery import repository_at
        from tui.core.scan import scan_repo

        try:
            report = scan_repo(repository_at(path), now=self.host.clock())
        except (OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, f"cannot open the replica: {exc}", severity="error", markup=False)
            return
        self.app.call_from_thread(self.app.open_repo, report, "refs", shadows_only=True, keep_stack=True)

    def action_back(self) -> None:
        if not self.clear_filter():
            self.app.pop_screen()


def _shown(spec: str) -> str:
    return clean(spec) if "://" in spec else display_path(os.path.abspath(spec))


def _is_directory(spec: str) -> bool:
    """A side given as a directory root is on this machine (a manifest or ssh:// side is not)."""
    return "://" not in spec and os.path.isdir(spec)


def _local_git_dir(path: str | None) -> str | None:
    """The git dir of a repository of a local side."""
    if not path or not os.path.isdir(path):
        return None
    # local by habit only: importing this module already loads it (could move to the top)
    from tui.core.discovery import repository_at

    try:
        return repository_at(path).git_dir
    except (OSError, ValueError):  # NotARepository is a ValueError
        return None
