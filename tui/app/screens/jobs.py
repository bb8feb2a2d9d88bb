"""``:jobs``: every sync of this session, newest first; the selected one's details and log.

Each row: state (queued, running, ok, failed, cancelled, timed-out), when it started, how long it
took, git's exit code, the result (refs changed, or git's error line). Below: the selected
job's log file path, error and hint, the changed refs (old → new) and its live log. ``x``
cancels the selected sync; enter opens the repository on its Log tab.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Footer, Input, Static

from tui.app.backend import Host
from tui.app.jobview import JOB_COLUMNS, job_detail, job_row
from tui.app.read_only import GatedScreen
from tui.app.text import clean, plural
from tui.app.widgets.log_view import SyncLog
from tui.app.widgets.filter_box import FilterBox
from tui.app.widgets.summary import Banner
from tui.app.widgets.vtable import VirtualTable

EMPTY = (
    "No sync has run in this session.\n\n"
    "Syncs started from a repository (S), or for every faulted repository (:sync faulted), are listed "
    "here with their state, duration, exit code and changed refs; the selected one's log is below."
)


class JobsScreen(GatedScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="jobs.back", tooltip="Back to the previous screen"),
        Binding("o", "open_log", "Open log", id="jobs.open", tooltip="The selected sync's repository, on its Log tab (also enter)"),
        Binding("x", "cancel_sync", "Cancel sync", id="jobs.cancel", tooltip="Stop the selected sync: a queued one never starts, a running one's git is terminated"),
        Binding("slash", "filter", "Filter", id="jobs.filter", tooltip="Filter syncs: repository name (text or regex), state:failed", priority=True),
    ]

    DEFAULT_CSS = """
    JobsScreen #jobs-title { height: 1; padding: 0 1; background: $panel; }
    JobsScreen #jobs-empty { padding: 1 2; color: $text-muted; }
    JobsScreen #jobs-table { height: auto; max-height: 10; }
    JobsScreen #job-detail-scroll { height: auto; max-height: 12; border-top: solid $panel-lighten-1; padding: 0 1; }
    JobsScreen #job-detail { height: auto; }
    JobsScreen #job-log { height: 1fr; border-top: solid $panel-lighten-1; }
    JobsScreen.-empty #jobs-table, JobsScreen.-empty #job-detail-scroll, JobsScreen.-empty #job-log { display: none; }
    JobsScreen #jobs-empty { display: none; }
    JobsScreen.-empty #jobs-empty { display: block; }
    """

    def __init__(self, host: Host, syncs: Any) -> None:
        super().__init__()
        self.host = host
        self.syncs = syncs
        self._live_clock = host.now is None  # a fixed clock (tests, screenshots): no running durations
        self._shown_ids: list[int] = []
        self._cancel_state: tuple | None = None

    def compose(self) -> ComposeResult:
        if self.host.read_only:
            yield Banner(Content("READ-ONLY: syncs cannot be started"), classes="-read-only", id="read-only-banner")
        yield Static(id="jobs-title")
        yield Static(Content(EMPTY), id="jobs-empty")
        yield FilterBox(id="jobs-filter")
        yield VirtualTable(
            JOB_COLUMNS,
            self._render_row,
            empty_text="no syncs",
            describe=self._describe_job,
            filter_fields=("state", "exit", "path"),
            id="jobs-table",
        )
        with VerticalScroll(id="job-detail-scroll"):
            yield Static(id="job-detail")
        yield SyncLog(
            max_lines=self.syncs.buffer_lines,
            read_only=self.host.read_only,
            save_dir=self.syncs.log_dir,
            empty_text="",
            id="job-log",
        )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.syncs.signal is not None:
            self.syncs.signal.subscribe(self, self._news, immediate=True)
        self._show_jobs()
        self.query_one(VirtualTable).focus()
        if self._live_clock:
            self.set_interval(1.0, self._tick)

    def _render_row(self, job: Any, palette) -> list:
        return job_row(job, palette, self._live_clock, self.syncs.name_of(job))

    def _describe_job(self, job: Any) -> tuple[str, str, dict]:
        """What ``/`` sees: the repository's name (a regex matches it); state:, exit:, path:."""
        name = self.syncs.name_of(job)
        state = job.state.value
        exit_code = "" if job.exit_code is None else str(job.exit_code)
        return name, f"{name} {state} {job.path}", {"state": state, "exit": exit_code, "path": job.path}

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#jobs-table", VirtualTable)

    @property
    def job_log(self) -> SyncLog:
        return self.query_one("#job-log", SyncLog)

    @property
    def selected(self) -> Any | None:
        return self.table.current

    # --- news -----------------------------------------------------------------------------------

    def _news(self, jobs: list) -> None:
        self._show_jobs()

    def _tick(self) -> None:
        if any(not job.done for job in self.table.rows):
            self.table.refresh_rows()
            self._show_detail()

    def _show_jobs(self) -> None:
        jobs = list(reversed(self.syncs.jobs()))  # newest first
        self.set_class(not jobs, "-empty")
        ids = [job.id for job in jobs]
        table = self.table
        if ids != self._shown_ids:
            current = self.selected
            self._shown_ids = ids
            cursor = ids.index(current.id) if current is not None and current.id in ids else 0
            table.set_rows(jobs, cursor=cursor, measure=True)
        else:
            table.refresh_rows()
        self._show_title(jobs)
        self._show_detail()
        self.job_log.pull()
        self._update_cancel_binding()

    def _show_title(self, jobs: list) -> None:
        counts: dict[str, int] = {}
        for job in jobs:
            counts[job.state.value] = counts.get(job.state.value, 0) + 1
        parts: list = [("gitward", "bold $text-accent"), " › ", ("jobs", "bold")]
        summary = [f"{counts[state]:,} {state}" for state in ("running", "queued", "ok", "failed", "cancelled", "timed-out") if counts.get(state)]
        if summary:
            parts += ["  ·  ", plural(len(jobs), "sync"), ": ", ", ".join(summary)]
        row_filter = self.table.row_filter
        if row_filter.active:
            parts += ["  ·  ", (clean(row_filter.describe()), "bold $text-accent"), f": {self.table.row_count:,} shown"]
            if row_filter.error:
                parts += ["  ·  ", (row_filter.error, "$text-warning")]
        self.query_one("#jobs-title", Static).update(Content.assemble(*parts))

    def _show_detail(self) -> None:
        job = self.selected
        detail = self.query_one("#job-detail", Static)
        if job is None:
            detail.update(Content(""))
            return
        detail.update(job_detail(job, live_clock=self._live_clock, name=self.syncs.name_of(job)))

    def _update_cancel_binding(self) -> None:
        """Refresh the footer only when x or o changed availability (it is rebuilt)."""
        state = (self.check_action("cancel_sync", ()), self.check_action("open_log", ()))
        if state != self._cancel_state:
            self._cancel_state = state
            self.refresh_bindings()

    @on(VirtualTable.Highlighted, "#jobs-table")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        self.job_log.show_job(event.row)
        self._show_detail()
        self._update_cancel_binding()

    @on(VirtualTable.Selected, "#jobs-table")
    def _selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        self.app.open_repo_log(event.row.path)  # type: ignore[attr-defined]

    # --- actions --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed is not True:
            return allowed
        if action == "cancel_sync":
            job = self.selected if self.is_mounted else None
            return job is not None and not job.done
        if action == "open_log":
            return self.is_mounted and self.selected is not None
        return True

    def action_back(self) -> None:
        if self.query_one(FilterBox).close():  # escape clears the filter first, then leaves
            self.table.focus()
            return
        self.app.pop_screen()

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    @on(Input.Changed, "#jobs-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        table = self.table
        table.set_filter(self.query_one(FilterBox).parse(table.filter_fields))
        self._show_title(list(reversed(self.syncs.jobs())))
        self._show_detail()

    @on(Input.Submitted, "#jobs-filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_open_log(self) -> None:
        job = self.selected
        if job is not None:
            self.app.open_repo_log(job.path)  # type: ignore[attr-defined]

    def action_cancel_sync(self) -> None:
        job = self.selected
        if job is None or job.done:
            return
        job.cancel()
        self.notify(f"cancelling sync #{job.id} of {self.syncs.name_of(job)}", title="sync", timeout=3, markup=False)
