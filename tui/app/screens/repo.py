"""One repository: Overview, Worktrees, Refs, Locks and Log tabs."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from tui.app import handoff
from tui.app.backend import Host
from tui.app.filtering import RowFilter
from tui.app.messages import RepoRescanned, SyncRequested
from tui.app.screens.repo_writes import RepoWritesScreen
from tui.app.text import clean, shorten_paths
from tui.app.widgets.log_view import SyncLog
from tui.app.widgets.overview import Overview, ordered_problems, stale_banner, suggested_command
from tui.app.widgets.filter_box import FILTER_HINT, FilterBox
from tui.app.widgets.footer import Footer
from tui.app.widgets.ref_browser import REF_FILTER_FIELDS, RefBrowser
from tui.app.widgets.summary import Banner, severity_counts, severity_parts
from tui.app.widgets.vtable import VirtualTable
from tui.app.widgets.worktree_table import LockTable, WorktreeTable, worktree_detail
from tui.core.model import RepoReport

TABS = ("overview", "worktrees", "refs", "locks", "log")
_FILTER_PLACEHOLDER = {
    "overview": "the Overview has no list to filter: 2 Worktrees, 3 Refs, 4 Locks, 5 Log (escape closes)",
    "refs": "filter refs: text · regex on the name (^refs/heads/) · verdict:stale-loose · source:both · !text",
    "worktrees": "filter worktrees: text · regex on the path · locked:yes · prunable:yes · branch:main · !text",
    "locks": "filter locks: text · regex on the file · code:stale-lock · state:fresh · kind:ref · !text",
    "log": "search the log: text or regex; enter, then n / N for the next / previous match",
}


class RepoTabs(TabbedContent):
    """TabbedContent that does not jump back to a pane whose focus event arrives late.

    TabbedContent activates the pane of any widget that gets focus, by a message. A key typed
    right after the screen opens ("3") can switch tabs between the focus and that message;
    the stale message would then switch back. ``requested`` is the tab asked for last.
    """

    requested: str | None = None

    def on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        pane = event.tab_pane.id
        if self.requested is not None and pane != self.requested:
            event.stop()
            event.prevent_default()


class RepoScreen(RepoWritesScreen):
    """One repository's tabs; the write actions (and the write gate) come from ``RepoWritesScreen``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="repo.back", tooltip="Close the filter, else back to the repository list"),
        # priority: run while '/' is handled, so the keys behind it go to the box (tui/app/typeahead.py)
        Binding("slash", "filter", "Filter", id="repo.filter", tooltip="Filter the list on this tab", priority=True),
        # priority too: enter in the box hands the focus back to the tab now (keys behind it are hotkeys)
        Binding("enter", "keep_filter", "Keep filter", show=False, priority=True, id="repo.keep_filter", tooltip="In the filter box: keep the filter, back to the list"),
        # The footer shows one "1-5 Tabs" entry; the help screen lists each key.
        Binding("1", "show_tab('overview')", "Tabs", key_display="1-5", id="repo.tab_overview", tooltip="Overview tab (2-5: Worktrees, Refs, Locks, Log)"),
        Binding("2", "show_tab('worktrees')", "Worktrees", show=False, id="repo.tab_worktrees", tooltip="Worktrees tab"),
        Binding("3", "show_tab('refs')", "Refs", show=False, id="repo.tab_refs", tooltip="Refs tab"),
        Binding("4", "show_tab('locks')", "Locks", show=False, id="repo.tab_locks", tooltip="Locks tab"),
        Binding("5", "show_tab('log')", "Log", show=False, id="repo.tab_log", tooltip="Sync log tab"),
        Binding("s", "toggle_shadows", "Shadows only", id="repo.shadows", tooltip="Refs tab: only refs that are both loose and packed"),
        Binding("r", "reload", "Reload", id="repo.reload", tooltip="Read this repository again"),
        Binding("S", "sync", "Sync", id="repo.sync", tooltip="Sync this repository from its upstream now; the Log tab shows it"),
        Binding("y", "copy", "Copy", show=False, id="repo.copy", tooltip="Copy the highlighted path, ref name or suggested command (OSC 52)"),
        Binding("exclamation_mark", "shell", "Shell", show=False, id="repo.shell", tooltip="Open $SHELL in the repository (or the highlighted worktree)"),
        Binding("slash", "filter", "Filter", id="repo.filter", tooltip="Filter this tab's list (Worktrees, Refs, Locks) or search the Log (n/N)", priority=True),
    ]

    class Rescanned(Message):
        def __init__(self, report: RepoReport) -> None:
            super().__init__()
            self.report = report

    def __init__(
        self, report: RepoReport, host: Host, *, tab: str = "overview", syncs: Any = None, shadows_only: bool = False
    ) -> None:
        super().__init__()
        self.report = report
        self.host = host
        self.syncs = syncs  # the app's SyncCenter (the Log tab shows this repository's latest sync)
        self._open_shadows_only = shadows_only  # Refs tab opens on shadows only (before a sync)
        self._log_state: str | None = None
        self.initial_tab = tab if tab in TABS else "overview"
        self._now = host.clock()
        self._filled = False
        self._built: set[str] = set()
        self._shadows_allowed = self.initial_tab == "refs"
        self._filter_texts: dict[str, str] = {}  # tab -> its / filter (each tab keeps its own)

    def now(self) -> float:
        return self._now

    def compose(self) -> ComposeResult:
        report = self.report
        if self.host.read_only:
            yield Banner(
                Content("READ-ONLY: every action that changes a repository is hidden"),
                classes="-read-only",
                id="read-only-banner",
            )
        yield Static(self._title(), id="repo-title")
        yield Banner(stale_banner(report) or Content(""), classes="-danger", id="stale-banner")
        # Panes are filled when first shown: opening a repository on its Refs tab must not pay
        # for the other tabs while 200,000 refs are being read.
        with RepoTabs(initial=self.initial_tab, id="tabs"):
            yield TabPane("Overview", id="overview")
            yield TabPane("Worktrees", id="worktrees")
            yield TabPane("Refs", id="refs")
            yield TabPane("Locks", id="locks")
            yield TabPane("Log", id="log")
        yield FilterBox(id="repo-filter")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._filled = True
        self._fill(self.report)
        self._show(self.initial_tab)
        if self.syncs is not None and self.syncs.signal is not None:
            self.syncs.signal.subscribe(self, self._sync_news, immediate=True)
            self._sync_news([])

    def _build(self, tab: str) -> None:
        """Mount a pane's widgets the first time the pane is shown."""
        if tab in self._built:
            return
        self._built.add(tab)
        report = self.report
        pane = self.query_one(f"#{tab}", TabPane)
        if tab == "overview":
            pane.mount(Overview(report, self.now, id="overview-pane"))
        elif tab == "worktrees":
            pane.mount(
                Vertical(
                    WorktreeTable(rows=report.worktrees, id="worktree-table"),
                    Static(id="worktree-detail"),
                )
            )
        elif tab == "refs":
            browser = RefBrowser(report.git_dir, self.now, autoload=True, id="ref-browser")
            browser.shadows_only = self._open_shadows_only
            pane.mount(browser)
        elif tab == "locks":
            pane.mount(Vertical(LockTable(rows=_lock_rows(report), id="lock-table"), Static(id="lock-detail")))
        elif tab == "log":
            pane.mount(self._make_sync_log())

    def _show(self, tab: str) -> None:
        self._build(tab)
        tabs = self.query_one(RepoTabs)
        tabs.requested = tab
        if tabs.active != tab:
            tabs.active = tab
        # Focus follows the tab that is active *then*: a key typed meanwhile may have moved on
        # (focusing a widget in another pane would switch the tab back).
        self.call_after_refresh(lambda: self._focus_tab_content(self.active_tab))

    def _title(self) -> Content:
        report = self.report
        counts = severity_counts(report.problems)
        return Content.assemble(
            ("gitward", "bold $text-accent"),
            " › ",
            (clean(report.name), "bold"),
            "  ",
            (report.layout.value, "$text-muted"),
            "  ·  ",
            *severity_parts(counts),
        )

    def _fill(self, report: RepoReport) -> None:
        self.report = report
        self.query_one("#repo-title", Static).update(self._title())
        banner = self.query_one("#stale-banner", Banner)
        content = stale_banner(report)
        banner.display = content is not None
        if content is not None:
            banner.update(content)
        for overview in self.query(Overview):
            overview.show(report)
        for worktrees in self.query(WorktreeTable):
            worktrees.set_rows(report.worktrees, measure=True)
        for locks in self.query(LockTable):
            locks.set_rows(_lock_rows(report), measure=True)
        self._label_tabs()
        self.refresh_write_bindings()

    def _focus_tab_content(self, tab: str, *, now: bool = False) -> None:
        """``now``: ``set_focus`` (the keys already queued go there), not the deferred ``focus()``."""
        target = {
            "worktrees": "#worktree-table",
            "refs": "#ref-list",
            "locks": "#lock-table",
            "overview": "#overview-pane",
            "log": "#sync-log #log-lines",
        }.get(tab)
        if target:
            try:
                widget = self.query_one(target)
                if now:
                    self.set_focus(widget)
                else:
                    widget.focus()
            except Exception:
                pass

    # --- events ---------------------------------------------------------------------------------

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id or ""
        self.query_one(RepoTabs).requested = pane
        if pane in TABS and pane not in self._built:
            self._show(pane)  # a click on the tab, or tab keys in the tab bar
        self._show_filter_of(pane)
        if self._shadows_allowed != (pane == "refs"):
            self._shadows_allowed = pane == "refs"
            self.refresh_bindings()  # "s" applies on the Refs tab only (the footer is rebuilt)

    @on(VirtualTable.Highlighted, "#worktree-table")
    def _worktree_highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        self.refresh_write_bindings()  # lock/unlock apply to some rows only
        self.query_one("#worktree-detail", Static).update(Content.assemble(*worktree_detail(event.row, shorten_paths)))

    @on(VirtualTable.Highlighted, "#lock-table")
    def _lock_highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        self.refresh_write_bindings()  # only a stale lock can be cleared
        lock = event.row
        detail = self.query_one("#lock-detail", Static)
        if lock is None:
            detail.update(Content(""))
            return
        problem = next((p for p in self.report.problems if p.code == "stale-lock" and p.subject == lock.path), None)
        if problem is not None:
            detail.update(Content.assemble(("✖ stale  ", "bold $text-error"), shorten_paths(problem.message)))
        else:
            detail.update(
                Content.assemble(
                    ("● fresh  ", "$text-primary"),
                    "younger than its grace period: probably held by a running git process; leave it.",
                )
            )

    @on(VirtualTable.Selected, "#worktree-table")
    def _worktree_selected(self, event: VirtualTable.Selected) -> None:
        event.stop()

    # --- actions --------------------------------------------------------------------------------

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed is not True:
            return allowed
        if action == "toggle_shadows":
            return self.active_tab == "refs"
        if action == "keep_filter":  # hidden (and enter passes on) unless the box has the focus
            return self.focused is not None and self.focused.id == "repo-filter"
        return True

    def action_back(self) -> None:
        if self._filter_texts.get(self.active_tab) or self.query_one(FilterBox).display:
            self._apply_filter(self.active_tab, "")  # escape clears the tab's filter first
            box = self.query_one(FilterBox)
            with box.prevent(Input.Changed):
                box.close()
            self._focus_tab_content(self.active_tab)
            return
        self.app.pop_screen()

    # --- y copies, ! opens a shell (tui/app/handoff.py) ------------------------------------------

    def copy_target(self) -> tuple[str | None, str]:
        """What ``y`` copies on the active tab, and what to call it."""
        report = self.report
        tab = self.active_tab
        if tab == "refs":
            ref = self.query_one("#ref-list").current if self.query("#ref-list") else None
            return (ref.name if ref is not None else None), "ref name"
        if tab == "worktrees":
            worktree = self.query_one(WorktreeTable).current if self.query(WorktreeTable) else None
            return (worktree.path if worktree is not None else None), "worktree path"
        if tab == "locks":
            lock = self.query_one(LockTable).current if self.query(LockTable) else None
            return (os.path.join(report.git_dir, lock.path) if lock is not None else None), "lock file path"
        if tab == "log":
            log = self.query_one(SyncLog) if self.query(SyncLog) else None
            if log is not None and log.job is not None and log.job.log_path:
                return log.job.log_path, "log file path"
        for problem in ordered_problems(report):
            command = suggested_command(problem, report.path)
            if command:
                return command, "suggested command"
        return report.path, "path"

    def action_copy(self) -> None:
        text, what = self.copy_target()
        handoff.copy(self.app, text, what)

    def action_shell(self) -> None:
        directory = self.report.path
        if self.active_tab == "worktrees" and self.query(WorktreeTable):
            worktree = self.query_one(WorktreeTable).current
            if worktree is not None and worktree.path and not worktree.missing:
                directory = worktree.path
        handoff.open_shell(self.app, directory, self.report.path)

    # --- the / filter: each tab its own ------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one(FilterBox)
        box.placeholder = _FILTER_PLACEHOLDER.get(self.active_tab, FILTER_HINT)
        box.open()

    @on(Input.Changed, "#repo-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        event.stop()
        self._apply_filter(self.active_tab, event.value)

    def action_keep_filter(self) -> None:
        box = self.query_one(FilterBox)
        if self.focused is not box:
            raise SkipAction()  # enter elsewhere keeps its meaning
        self._keep_filter(box)

    @on(Input.Submitted, "#repo-filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        event.stop()
        self._keep_filter(event.input)  # enter rebound away from keep_filter

    def _keep_filter(self, box: Input) -> None:
        if not box.value.strip():
            box.display = False
        self._focus_tab_content(self.active_tab, now=True)  # keys typed behind enter reach the tab

    def _apply_filter(self, tab: str, text: str) -> None:
        """Filter ``tab``'s list (or search its log) by ``text``; the tab label shows what is left."""
        self._filter_texts[tab] = text
        box = self.query_one(FilterBox)
        if tab == "worktrees":
            for table in self.query(WorktreeTable):
                table.set_filter(box.parse(table.filter_fields) if text else RowFilter())
        elif tab == "locks":
            for table in self.query(LockTable):
                table.set_filter(box.parse(table.filter_fields) if text else RowFilter())
        elif tab == "refs":
            for browser in self.query(RefBrowser):
                browser.set_filter(box.parse(REF_FILTER_FIELDS) if text else RowFilter())
        elif tab == "log":
            for log in self.query(SyncLog):
                log.search(box.parse() if text else RowFilter())
        self._label_tabs()

    def _show_filter_of(self, tab: str) -> None:
        """Another tab: the box shows that tab's filter (hidden when it has none)."""
        box = self.query_one(FilterBox)
        text = self._filter_texts.get(tab, "")
        if box.value != text:
            with box.prevent(Input.Changed):
                box.value = text
        box.display = bool(text)
        box.placeholder = _FILTER_PLACEHOLDER.get(tab, FILTER_HINT)

    def _label_tabs(self) -> None:
        report = self.report
        tabs = self.query_one(TabbedContent)
        stale_locks = sum(1 for lock in report.locks if lock.stale)
        worktrees = f"{len(report.worktrees)}"
        locks = f"{len(report.locks)}"
        for table in self.query(WorktreeTable):
            if table.row_filter.active:
                worktrees = f"{table.row_count} of {len(report.worktrees)}"
        for table in self.query(LockTable):
            if table.row_filter.active:
                locks = f"{table.row_count} of {len(report.locks)}"
        tabs.get_tab("worktrees").label = Content(f"Worktrees ({worktrees})")
        tabs.get_tab("locks").label = Content(f"Locks ({locks}{', stale!' if stale_locks else ''})")
        tabs.get_tab("refs").label = Content(f"Refs ({report.refs.total:,})")

    def action_show_tab(self, tab: str) -> None:
        if tab not in TABS:
            return
        if not self._filled:
            # Typed ahead, before the tabs exist: shown once the screen is mounted.
            self.initial_tab = tab
            return
        self._show(tab)

    def action_toggle_shadows(self) -> None:
        for browser in self.query(RefBrowser):
            browser.set_shadows_only(not browser.shadows_only)

    def action_reload(self) -> None:
        self.notify(f"reading {clean(self.report.name)} again", timeout=2, markup=False)
        self._rescan(self.report.path, self.report.root)
        for browser in self.query(RefBrowser):
            if browser.started:
                browser.load()

    def action_sync(self) -> None:
        self.post_message(SyncRequested(self.report, show_log=True))  # the App asks first, then queues it

    # --- syncs (tui/app/syncing.py) ---------------------------------------------------------------

    def _make_sync_log(self) -> SyncLog:
        # lazy (import cost): app.jobview loads on first use, not with this module
        from tui.app.jobview import job_line

        syncs = self.syncs
        live_clock = self.host.now is None  # a fixed clock (tests, screenshots): no running durations
        log = SyncLog(
            max_lines=syncs.buffer_lines if syncs is not None else 10_000,
            read_only=self.host.read_only,
            save_dir=syncs.log_dir if syncs is not None else None,
            empty_text=(
                "No sync has run for this repository in this session."
                + ("" if self.host.read_only else " S syncs it from its upstream; its log appears here as git prints it.")
            ),
            job_line=lambda job: job_line(job, live_clock=live_clock),
            live_clock=live_clock,
            id="sync-log",
        )
        if syncs is not None:
            log.show_job(syncs.latest_for(self.report.path))
        return log

    def _sync_news(self, jobs: list) -> None:
        """Some sync has news: if it is this repository's, the Log tab shows it as it comes."""
        job = self.syncs.latest_for(self.report.path)
        if job is None:
            return
        for log in self.query(SyncLog):
            log.show_job(job)
            log.pull()
        state = job.state.value
        if state != self._log_state:
            self._log_state = state
            symbol = {"running": "▶", "queued": "○", "ok": "✔", "cancelled": "■"}.get(state, "✖")
            self.query_one(TabbedContent).get_tab("log").label = Content(f"Log {symbol} {state}")

    def synced(self, report: RepoReport) -> None:
        """A sync of this repository ended and it was read again: show the new state."""
        self._now = self.host.clock()
        self._fill(report)
        for browser in self.query(RefBrowser):
            if browser.started:
                browser.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="repo-rescan")
    def _rescan(self, path: str, root: str) -> None:
        # lazy (import cost): core.scan loads on first use, not with this module
        from tui.core.discovery import classify
        from tui.core.scan import scan_repo

        candidate = classify(path, root)
        if candidate is None:
            raise RuntimeError(f"{path} is no longer a repository")
        self.post_message(self.Rescanned(scan_repo(candidate, self.host.clock())))

    @on(Rescanned)
    def handle_rescanned(self, message: Rescanned) -> None:
        self._now = self.host.clock()
        self._fill(message.report)
        self.post_message(RepoRescanned(message.report))  # the App keeps the host list in step

    @on(Worker.StateChanged)
    def _rescan_worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "repo-rescan" and event.state == WorkerState.ERROR:
            self.notify(clean(str(event.worker.error)), title="reload failed", severity="error", markup=False)

    def select_tab(self, tab: str) -> None:
        self.action_show_tab(tab)


def _lock_rows(report: RepoReport) -> list:
    return sorted(report.locks, key=lambda lock: (not lock.stale, lock.path))
