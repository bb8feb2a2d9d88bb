"""The main screen: every repository on the host, streamed in while the scan runs."""

from __future__ import annotations

import gc
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static
from textual.widget import AwaitMount
from textual.worker import Worker, WorkerState, get_current_worker

from tui.app import handoff
from tui.app.filtering import RowFilter
from tui.app.backend import Host
from tui.app.messages import SyncRequested
from tui.app.read_only import GatedScreen
from tui.app.scan_batches import ScanBatchContents, scan_in_batches
from tui.app.text import clean
from tui.app.typeahead import typing
from tui.app.widgets.filter_box import FilterBox
from tui.app.widgets.footer import Footer
from tui.app.widgets.repo_detail import RepoDetail
from tui.app.widgets.repo_table import COLUMN_KEYS, COLUMN_LABELS, RepoTable
from tui.app.widgets.summary import (
    Banner,
    HostSummary,
    ScanAge,
    ScanStatus,
    refresh_words,
    root_problems_content,
    scanned_ago,
    severity_counts,
)
from tui.app.widgets.vtable import VirtualTable

if TYPE_CHECKING:  # the report dataclasses load with the scan (_scan), after the first frame
    from tui.core.model import Problem, RepoReport

BATCH_SECONDS = 0.1  # rows reach the screen in batches, at most ten a second
SPINNER_SECONDS = 0.25
AGE_SECONDS = 1.0  # the header's "scanned 40 s ago" is recomputed this often (redrawn only when it changes)


class HostScreen(GatedScreen):
    """Repos table, header summary, filter, faults-only, rescan."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_repo", "Open", id="host.open", tooltip="Open the repository under the cursor"),
        # priority: run while '/' is handled, so the keys behind it go to the box (tui/app/typeahead.py)
        Binding("slash", "filter", "Filter", id="host.filter", tooltip="Filter repos: text, regex, ! inverts", priority=True),
        # priority too: enter in the box hands the focus back to the list now, so keys typed
        # right behind it are hotkeys again (the box's own Submitted would arrive too late)
        Binding("enter", "keep_filter", "Keep filter", show=False, priority=True, id="host.keep_filter", tooltip="In the filter box: keep the filter, back to the list"),
        Binding("f", "toggle_faults", "Faults", id="host.faults", tooltip="Show only repos with warnings or errors"),
        Binding("r", "rescan", "Rescan", id="host.rescan", tooltip="Scan the roots again"),
        Binding("o", "sort_next", "Sort", id="host.sort", tooltip="Sort by the next column"),
        Binding("O", "sort_reverse", "Reverse", show=False, id="host.sort_reverse", tooltip="Reverse the sort order"),
        Binding("escape", "clear_filter", "Clear", id="host.clear_filter", tooltip="Clear the filter and faults-only"),
        Binding("S", "sync", "Sync", id="host.sync", tooltip="Sync the selected repository from its upstream now (:sync faulted: every faulted one)"),
        Binding("y", "copy", "Copy path", show=False, id="host.copy", tooltip="Copy the repository's path (OSC 52: works over SSH)"),
        Binding("exclamation_mark", "shell", "Shell", show=False, id="host.shell", tooltip="Open $SHELL in the repository; exit it to come back"),
    ]

    DEFAULT_CSS = """
    HostScreen #host-header { height: auto; background: $panel; }
    """
    # The list has the focus from the start. Textual's default ("*", the first focusable
    # widget) focused the hidden filter box first, and on_mount's focus() then blurred it:
    # a validation and a restyle of the whole screen before the first frame.
    AUTO_FOCUS = "#repos"

    class ScanBatch(Message):
        """Reports and root problems read since the last batch."""

        def __init__(
            self,
            generation: int,
            reports: list[RepoReport],
            problems: list[Problem],
            elapsed: float,
            texts: list | None = None,
            superseded: list[str] | None = None,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.reports = reports
            # Paths of rows shown earlier that turned out to be a work tree's separate git dir.
            self.superseded = superseded or []
            self.texts = texts  # the rows' strings (repo_table.row_texts), made in the scan's thread
            self.problems = problems
            self.elapsed = elapsed

    class ScanFinished(Message):
        def __init__(self, generation: int, elapsed: float, cancelled: bool, error: str | None) -> None:
            super().__init__()
            self.generation = generation
            self.elapsed = elapsed
            self.cancelled = cancelled
            self.error = error

    def __init__(self, host: Host, syncs: Any = None) -> None:
        super().__init__(id="host")
        self.host = host
        self.syncs = syncs  # the app's SyncCenter: running syncs in the header line
        self._sync_counts: dict[str, int] = {}
        self.generation = 0
        self.scanning = False
        self.scan_error: str | None = None
        self._scan_started = 0.0
        self._elapsed = 0.0
        self._scanned = 0
        self._seen: set[str] = set()
        self._cancel: threading.Event | None = None
        self.root_problems: list[Problem] = []
        self._new_root_problems: list[Problem] = []
        self._scan_now = host.clock()
        self._binding_state: tuple = ()
        self._spinner = 0
        self.batches = 0  # ScanBatch messages handled (diagnostics, tests)
        self.scanned_at: float | None = None  # host.clock() when the last complete scan ended
        self._finished_at = 0.0  # time.monotonic() then: when the next background rescan is due
        self._age_text: tuple = ()
        self._summary_due = False  # a _show_summary is queued behind the scan batches
        self.refresh_interval: float | None = host.refresh_interval
        self._refresh_timer: Any = None
        # Hidden, so kept out of the first frame: mounted right after it (_mount_hidden), or for
        # a key typed during the start. The box says it is hidden before its CSS can.
        self._filter_box = FilterBox(id="filter")
        self._filter_box.display = False
        self._root_problems = Static(id="root-problems")
        self._repo_detail = RepoDetail(id="repo-detail")  # shown on a wide terminal only (gitward.tcss)

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self._preset_breakpoint()
        if self.host.read_only:
            yield Banner(
                Content("READ-ONLY: every action that changes a repository is hidden (--read-only or read_only in the config)"),
                classes="-read-only",
                id="read-only-banner",
            )
        with Horizontal(id="host-header"):
            yield HostSummary(id="summary")
            yield ScanAge(id="scan-age")
        yield ScanStatus(id="scan-status")
        with Horizontal(id="host-body"):
            yield RepoTable(now=lambda: self._scan_now, multi_root=len(self.host.roots) > 1, id="repos")
            if self.has_class("-wide"):  # in a wide first frame it shows
                yield self._repo_detail
        yield Footer(compact=True)

    def _mount_hidden(self) -> list[AwaitMount]:
        """Mount the widgets the first frame did without (see __init__), where compose had them."""
        mounting = []
        if self._filter_box.parent is None:
            mounting.append(self.mount(self._filter_box, self._root_problems, after="#scan-status"))
        if self._repo_detail.parent is None:
            mounting.append(self.query_one("#host-body", Horizontal).mount(self._repo_detail))
        return mounting

    def _preset_breakpoint(self) -> None:
        """The width class (-narrow/-normal/-wide, App.HORIZONTAL_BREAKPOINTS) for the terminal's
        size, before the widgets mount: they are styled for it once. Otherwise the first Resize
        added it after they were styled, and the whole screen was styled again before its first
        frame. Textual's Resize handler still decides (it sets the same class, or corrects it)."""
        breakpoints = self.HORIZONTAL_BREAKPOINTS if self.HORIZONTAL_BREAKPOINTS is not None else self.app.HORIZONTAL_BREAKPOINTS
        width = self.app.size.width
        for start, name in sorted(breakpoints or [], reverse=True):
            if width >= start:
                self.add_class(name, update=False)
                return

    def on_mount(self) -> None:
        self.query_one(RepoTable).focus()
        self.set_interval(SPINNER_SECONDS, self._tick)
        self.set_interval(AGE_SECONDS, self._show_age)
        if self.syncs is not None and self.syncs.signal is not None:
            self.syncs.signal.subscribe(self, self._sync_news, immediate=True)
        self._show_summary()
        # First paint first, then the scan (which imports the scanning code).
        self.call_after_refresh(self._first_frame_drawn)

    async def _first_frame_drawn(self) -> None:
        if not gc.isenabled():
            # 'gitward ROOT' paused the cyclic collector for the start-up (tui/cli/main.py,
            # cmd_console): what exists now lives as long as the console, out of its sight.
            gc.freeze()
            gc.enable()
        for mounting in self._mount_hidden():
            await mounting  # composed before a scan result can reach them
        self.start_scan()

    @property
    def table(self) -> RepoTable:
        return self.query_one(RepoTable)

    @property
    def filter_box(self) -> FilterBox:
        """The filter input (hidden; mounted now if it was not yet: '/' must focus it at once)."""
        self._mount_hidden()
        return self._filter_box

    def _tick(self) -> None:
        if self.scanning:
            self._spinner += 1
            self._show_status()  # only the spinner moved: the header's counts are unchanged

    # --- scanning -------------------------------------------------------------------------------

    def start_scan(self) -> None:
        self._stop_refresh_timer()  # the next background rescan counts from the end of this one
        if self._cancel is not None:
            self._cancel.set()
        self.app.collector.hold(self)  # no full collection while the rows stream in (collector.py)
        self.generation += 1
        self.scanning = True
        self.scan_error = None
        self._scanned = 0
        self._seen = set()
        self._new_root_problems = []
        self._scan_now = self.host.clock()
        self._scan_started = time.monotonic()
        self._cancel = threading.Event()
        self._show_summary()
        self._scan(self.generation, self._cancel, self._scan_now)

    @work(thread=True, exclusive=True, exit_on_error=False, group="scan")
    def _scan(self, generation: int, cancel: threading.Event, now: float) -> None:
        """Runs the core scan in a helper thread; posts what arrived every BATCH_SECONDS."""
        worker = get_current_worker()

        def post_batch(batch: ScanBatchContents, elapsed: float) -> None:
            self.post_message(self.ScanBatch(generation, batch.reports, batch.problems, elapsed, batch.texts, batch.superseded))

        def post_finished(elapsed: float, cancelled: bool, error: str | None) -> None:
            self.post_message(self.ScanFinished(generation, elapsed, cancelled, error))

        scan_in_batches(
            self.host, now, cancel, lambda: worker.is_cancelled, post_batch, post_finished, batch_seconds=BATCH_SECONDS
        )

    @on(ScanBatch)
    def handle_batch(self, message: ScanBatch) -> None:
        if message.generation != self.generation:
            return
        self.batches += 1
        self._scanned += len(message.reports)
        self._elapsed = message.elapsed
        self._seen.update(report.path for report in message.reports)
        self._new_root_problems.extend(message.problems)
        if message.problems:
            self.root_problems = list(self._new_root_problems)
            self._show_root_problems()
        self.table.upsert(message.reports, message.texts)
        self.app.collector.arrived(len(message.reports))
        if message.superseded:
            retracted = [path for path in message.superseded if path in self._seen]
            self._seen.difference_update(retracted)
            self._scanned -= len(retracted)
            self.table.drop(retracted)
        # The header and status line once for the batches waiting in the queue, not once each:
        # when the event loop falls behind (20,000 repositories), a dozen batches arrive together.
        if not self._summary_due:
            self._summary_due = True
            self.call_later(self._show_summary)

    @on(ScanFinished)
    def handle_finished(self, message: ScanFinished) -> None:
        if message.generation != self.generation:
            return
        self.scanning = False
        self.app.collector.release(self)
        self._elapsed = message.elapsed
        if not message.cancelled:
            self.scan_error = message.error
            if message.error is None:
                self.table.retain(self._seen)
                self.scanned_at = self.host.clock()
            self.root_problems = list(self._new_root_problems)
            self._show_root_problems()
            self._finished_at = time.monotonic()
            self._schedule_refresh()
        if message.error:
            self.notify(clean(message.error), title="scan failed", severity="error", timeout=10, markup=False)
        self._show_summary()
        self._update_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "scan" and event.state == WorkerState.ERROR:
            self.scanning = False
            self.app.collector.release(self)
            self.scan_error = str(event.worker.error)
            self.notify(clean(self.scan_error), title="scan failed", severity="error", timeout=10, markup=False)
            self._finished_at = time.monotonic()
            self._schedule_refresh()
            self._show_summary()

    # --- refreshing in the background ------------------------------------------------------------

    def set_refresh(self, seconds: float | None) -> None:
        """Rescan every ``seconds`` after the last scan ended (None: never). The next rescan is
        due ``seconds`` after the last one ended, or at once if that is past."""
        self.refresh_interval = seconds
        self._stop_refresh_timer()
        if not self.scanning:
            self._schedule_refresh()
        self._show_age()

    def _schedule_refresh(self) -> None:
        self._stop_refresh_timer()
        if self.refresh_interval is None:
            return
        # Textual's Timer cannot take a zero delay (it divides by it): an overdue rescan waits 10 ms.
        delay = max(0.01, self._finished_at + self.refresh_interval - time.monotonic())
        self._refresh_timer = self.set_timer(delay, self._background_rescan, name="gitward-refresh")

    def _stop_refresh_timer(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
            self._refresh_timer = None

    def _background_rescan(self) -> None:
        """A rescan nobody asked for just now: no notification, and the cursor stays on the
        repository it was on (the table keeps the highlighted row by path)."""
        self._refresh_timer = None
        if not self.scanning and self.refresh_interval is not None:
            self.start_scan()

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.app.collector.release(self)

    # --- summary --------------------------------------------------------------------------------

    def _show_summary(self) -> None:
        """The header (the table keeps its tallies as reports arrive) and the status line."""
        self._summary_due = False
        table = self.table
        counts = dict(table.problem_counts)
        for severity, number in severity_counts(self.root_problems).items():
            counts[severity] += number
        self.query_one(HostSummary).show(
            roots=self.host.roots,
            repos=len(table.reports),
            faulty_repos=table.faulty,
            counts=counts,
            syncs_running=self._sync_counts.get("running", 0),
            syncs_queued=self._sync_counts.get("queued", 0),
        )
        self._show_status()
        self._show_age()

    def _show_age(self) -> None:
        """The header's age: cheap (no report is looked at), redrawn only when its words change."""
        age = scanned_ago(None if self.scanned_at is None else self.host.clock() - self.scanned_at)
        refresh = refresh_words(self.refresh_interval)
        failed = self.scan_error is not None  # the age is the last good scan's: in warning colour
        if (age, refresh, failed) != self._age_text:
            self._age_text = (age, refresh, failed)
            self.query_one(ScanAge).show(age, refresh, stale=failed)

    def _show_status(self) -> None:
        """The scan / filter / faults-only / sort line: cheap, for the spinner and every keystroke."""
        table = self.table
        row_filter = table.row_filter
        sort_label = COLUMN_LABELS.get(table.sort_column or "name", "repo") + (" (reversed)" if table.sort_reverse else "")
        elapsed = time.monotonic() - self._scan_started if self.scanning else self._elapsed
        if self.host.now is not None:
            elapsed = None  # a fixed clock (tests, screenshots): no wall-clock durations
        self.query_one(ScanStatus).show(
            scanning=self.scanning,
            scanned=self._scanned,
            elapsed=elapsed,
            shown=table.row_count,
            total=len(table.reports),
            filter_text=clean(row_filter.raw.strip()),
            filter_mode=row_filter.mode,
            filter_error=row_filter.error,
            faults_only=table.faults_only,
            sort_label=sort_label,
            error=self.scan_error,
            spinner=self._spinner,
        )

    def _show_root_problems(self) -> None:
        if self.root_problems:
            self._root_problems.update(root_problems_content(self.root_problems))
        self._root_problems.display = bool(self.root_problems)

    # --- actions --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed is not True:
            return allowed
        if action == "clear_filter":
            table = self.table
            return bool(table.row_filter.active or table.faults_only or self._filter_box.display)
        if action == "open_repo":
            return True if self.table.current is not None else None
        if action == "keep_filter":  # hidden (and enter passes on) unless the box has the focus
            return self.focused is not None and self.focused.id == "filter"
        return True

    def repo_rescanned(self, report: RepoReport) -> None:
        """One repository was read again elsewhere (its screen, after a write): update its row."""
        self.table.upsert([report])

    def action_rescan(self) -> None:
        self.start_scan()
        self.notify("rescanning the roots", timeout=2, markup=False)

    def action_filter(self) -> None:
        if typing(self):
            raise SkipAction()  # '/' inside an input is text
        self.filter_box.open()
        self.refresh_bindings()

    def action_keep_filter(self) -> None:
        box = self.filter_box
        if self.focused is not box:
            raise SkipAction()  # enter on the list opens the repository
        self._keep_filter(box)

    def _keep_filter(self, box: Input) -> None:
        if not box.value.strip():
            box.display = False
        self.set_focus(self.table)
        self.refresh_bindings()

    def set_filter_text(self, text: str) -> None:
        """Set the filter as if typed (``:filter TEXT``); empty text clears it."""
        box = self.filter_box
        box.value = text
        box.display = bool(text)
        self.table.set_filter(RowFilter.parse(text, self.table.filter_fields))
        self.table.focus()
        self._show_status()
        self.refresh_bindings()

    def action_toggle_faults(self) -> None:
        self.table.set_faults_only(not self.table.faults_only)
        self._show_status()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        box = self.filter_box
        box.value = ""
        box.display = False
        table = self.table
        table.set_filter(RowFilter())
        table.set_faults_only(False)
        table.focus()
        self._show_status()
        self.refresh_bindings()

    def sort_by(self, column: str, reverse: bool = False) -> None:
        """Sort the list (cursor back on the first row) and say so in the status line."""
        table = self.table
        table.sort_by(column, reverse=reverse)
        table.move_cursor(0)
        self._show_status()

    def action_sort_next(self) -> None:
        table = self.table
        index = COLUMN_KEYS.index(table.sort_column or "name")
        table.sort_by(COLUMN_KEYS[(index + 1) % len(COLUMN_KEYS)], reverse=False)
        self._show_status()

    def action_sort_reverse(self) -> None:
        table = self.table
        table.sort_by(table.sort_column or "name", reverse=not table.sort_reverse)
        self._show_status()

    def action_open_repo(self) -> None:
        report = self.table.current
        if report is not None:
            self.app.open_repo(report)  # type: ignore[attr-defined]

    def action_copy(self) -> None:
        report = self.table.current
        handoff.copy(self.app, report.path if report is not None else None, "path")

    def action_shell(self) -> None:
        report = self.table.current
        if report is not None:
            handoff.open_shell(self.app, report.path, report.path)

    def action_sync(self) -> None:
        report = self.table.current
        if report is not None:
            self.post_message(SyncRequested(report))  # the App asks first, then queues it

    def refresh_summary(self) -> None:
        """A repository was read again (after a sync): the header's counts follow."""
        self._show_summary()

    def _sync_news(self, jobs: list) -> None:
        """Jobs changed: the header line says how many run (redrawn only when that changes)."""
        counts = self.syncs.counts()
        if counts != self._sync_counts:
            self._sync_counts = counts
            self._show_summary()

    # --- events ---------------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(RowFilter.parse(event.value, self.table.filter_fields))
        self._show_status()
        self._update_bindings()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._keep_filter(event.input)  # enter rebound away from keep_filter

    @on(VirtualTable.Selected, "#repos")
    def _row_selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        self.app.open_repo(event.row)  # type: ignore[attr-defined]

    @on(VirtualTable.Highlighted, "#repos")
    def _row_highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        self._update_bindings()
        self._repo_detail.show(event.row)  # (no row before the scan: nothing, mounted or not)

    def _update_bindings(self) -> None:
        """Refresh the footer only when an action's availability changed (it is rebuilt)."""
        state = tuple(self.check_action(action, ()) for action in ("open_repo", "clear_filter"))
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    @on(VirtualTable.HeaderClicked, "#repos")
    def _header_clicked(self, event: VirtualTable.HeaderClicked) -> None:
        event.stop()
        self.table.sort_by(event.column)
        self._show_status()
