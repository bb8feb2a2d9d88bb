"""The Refs tab: namespace tree on the left, the refs of the chosen namespace on the right.

Loading runs in a thread worker, started as the tab is built (before it is mounted): once
packed-refs is read, the first rows are shown (``refstore.leading_refs``: the same rows the
full read starts with, a placeholder status says the rest is loading); then the loose refs are
walked and every name indexed (all rows, the namespace tree), then shadows are judged (verdicts
arrive a moment later); commit dates are read for the rows on screen only.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from tui.app.dialogs.ref_detail import RefDetail
from tui.app.commit_dates import CommitDates
from tui.app.filtering import RowFilter
from tui.app.refindex import RefIndex, RefView
from tui.core.refstore import RefsUnavailable, count_refs, leading_refs, load_snapshot
from tui.app.text import clean, plural
from tui.app.widgets.line_static import LineStatic
from tui.app.widgets.namespace_tree import NamespaceTree
from tui.app.widgets.ref_list import RefList
from tui.app.widgets.vtable import VirtualTable
from tui.core.model import Ref, RefCounts, Verdict

REF_FILTER_FIELDS = ("verdict", "source")  # verdict:stale-loose, source:both
# Rows shown before every ref is read: a tall terminal's screenful and a page or two to move in.
LEADING_ROWS = 200
# The first read waits for the tab's first frame at most this long (seconds): a tab never drawn
# (a test app without a screen refresh) is read all the same.
FIRST_FRAME_WAIT = 1.0
# The collector is held from the tab's compose until every ref is read and judged, and at the
# most this long (seconds: a huge or stuck load); its held-back work then waits for a quiet
# moment (tui/app/collector.py).
MAX_HOLD_SECONDS = 10.0


class RefBrowser(Vertical):
    DEFAULT_CSS = """
    RefBrowser { height: 1fr; }
    RefBrowser > #ref-status { height: 1; padding: 0 1; background: $panel; }
    RefBrowser > Horizontal { height: 1fr; }
    """

    class Leading(Message):
        """The first rows of the full listing, before the loose refs are walked in full."""

        def __init__(self, generation: int, rows: list[Ref], seconds: float) -> None:
            super().__init__()
            self.generation = generation
            self.rows = rows
            self.seconds = seconds

    class Loaded(Message):
        def __init__(self, generation: int, index: RefIndex, seconds: float) -> None:
            super().__init__()
            self.generation = generation
            self.index = index
            self.seconds = seconds

    class Judged(Message):
        def __init__(
            self, generation: int, verdicts: dict[str, Verdict], errors: list[str], counts: RefCounts, seconds: float
        ) -> None:
            super().__init__()
            self.generation = generation
            self.verdicts = verdicts
            self.errors = errors
            self.counts = counts
            self.seconds = seconds

    class Failed(Message):
        def __init__(self, generation: int, reason: str) -> None:
            super().__init__()
            self.generation = generation
            self.reason = reason

    class Filtered(Message):
        """The ``/`` filter's rows (positions of the index), for the filter of ``token``."""

        def __init__(self, generation: int, token: int, view: RefView, seconds: float) -> None:
            super().__init__()
            self.generation = generation
            self.token = token
            self.view = view
            self.seconds = seconds

    class Dates(Message):
        def __init__(self, generation: int, dates: dict[str, float]) -> None:
            super().__init__()
            self.generation = generation
            self.dates = dates

    def __init__(self, git_dir: str, now: Callable[[], float], *, autoload: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.autoload = autoload
        self.git_dir = git_dir
        self._now = now
        self.index: RefIndex | None = None
        self.prefix = ""
        self.shadows_only = False
        self.row_filter = RowFilter()
        self.filtering = False  # a filter worker runs (the status line says so)
        self.filter_seconds: float | None = None
        self.filter_thread: str | None = None  # where the last filter ran (tests: never the UI thread)
        self._filter_token = 0
        self.generation = 0
        self.load_seconds: float | None = None
        self.leading_seconds: float | None = None  # when the first rows were known (None: not shown early)
        self.leading = False  # the list shows the first rows only; every ref is still being read
        self.judge_seconds: float | None = None
        self.judged = False
        self.error: str | None = None
        self._dates = CommitDates(git_dir)
        self._dates_lock = threading.Lock()
        self._first_frame_drawn = threading.Event()

    def compose(self) -> ComposeResult:
        if self.autoload and not self.started:
            # As early as possible: the files are read while the tab is mounted and styled
            # (~0.1 s of the UI thread's time on a 140x40 terminal).
            self._start_reading()
            self._pause_collector()  # mounting the tab allocates a lot too
        yield LineStatic(Content("refs: not loaded yet"), id="ref-status")
        with Horizontal():
            yield NamespaceTree(id="namespaces")
            yield RefList(now=self._now, id="ref-list")

    def on_mount(self) -> None:
        self.call_after_refresh(self._first_frame_drawn.set)
        if self.autoload and not self.started:
            self.load()
        elif self.started:
            self._show_status(loading=self.index is not None)  # reading since compose

    def on_unmount(self) -> None:
        self._resume_collector()

    @property
    def started(self) -> bool:
        return self.generation > 0

    @property
    def ref_list(self) -> RefList:
        return self.query_one(RefList)

    # --- loading --------------------------------------------------------------------------------

    def load(self) -> None:
        """(Re)read the refs in a worker; the list keeps its old rows until the new ones arrive."""
        self._start_reading()
        self._pause_collector()
        self.ref_list.dates_available = True
        self._show_status(loading=True)

    def _pause_collector(self) -> None:
        """No full collection until the refs are judged (tui/app/collector.py): its walks were
        the longest freezes of the load. From compose on; released when judged, on a failed
        load, when the tab goes away, and after MAX_HOLD_SECONDS whatever happened."""
        self.app.collector.hold(self, at_most=MAX_HOLD_SECONDS)

    def _resume_collector(self) -> None:
        self.app.collector.release(self)

    def _start_reading(self) -> None:
        self.generation += 1
        self.judged = False
        self.error = None
        self._dates = CommitDates(self.git_dir)
        # A reload keeps the old rows until all new ones are read: no early rows then.
        self._load(self.generation, leading=self.index is None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="refs")
    def _load(self, generation: int, leading: bool) -> None:
        worker = get_current_worker()
        started = time.perf_counter()
        if leading:
            # The tab's first frame first: mounting, styling and laying it out takes 60-80 ms
            # of the UI thread's CPU, and the read (Python, holding the GIL half the time)
            # stretched it to 110-150 ms, the longest freeze of the load. Serialised, the first
            # rows come no later: the two never ran in parallel anyway.
            self._first_frame_drawn.wait(FIRST_FRAME_WAIT)
            if worker.is_cancelled:
                return

        def show_leading(packed, hex_width: int) -> None:
            if leading and not worker.is_cancelled:
                rows = leading_refs(self.git_dir, packed, hex_width, LEADING_ROWS)
                if rows is not None:
                    self.post_message(self.Leading(generation, rows, time.perf_counter() - started))

        try:
            snapshot = load_snapshot(self.git_dir, on_packed=show_leading)
        except RefsUnavailable as exc:
            self.post_message(self.Failed(generation, str(exc)))
            return
        if worker.is_cancelled:
            return
        index = RefIndex(snapshot)
        self.post_message(self.Loaded(generation, index, time.perf_counter() - started))
        # Verdicts on a shallow copy: the UI thread keeps reading the snapshot meanwhile.
        judged = dataclasses.replace(snapshot, verdicts={}, verdict_errors=[])
        judge_started = time.perf_counter()
        # local by habit only: importing this module already loads it (could move to the top)
        from tui.app.refindex import judge

        judge(judged)
        if worker.is_cancelled:
            return
        counts = count_refs(judged)  # here, not on the UI thread: 10,000 loose refs are counted
        self.post_message(
            self.Judged(generation, dict(judged.verdicts), list(judged.verdict_errors), counts, time.perf_counter() - judge_started)
        )

    @work(thread=True, exit_on_error=False, group="ref-dates")
    def _load_dates(self, generation: int, oids: list[str]) -> None:
        with self._dates_lock:
            dates = self._dates.lookup(oids)
            error = self._dates.error
        if error:
            self.post_message(self.Failed(generation, error))
        self.post_message(self.Dates(generation, dates))

    @work(thread=True, exclusive=True, exit_on_error=False, group="ref-filter")
    def _filter(self, generation: int, token: int, index: RefIndex, view: RefView, row_filter: RowFilter) -> None:
        """Match the filter against every name of the namespace, off the UI thread. Exclusive:
        the next key typed cancels this run (it stops within a few thousand names)."""
        worker = get_current_worker()
        started = time.perf_counter()
        self.filter_thread = threading.current_thread().name
        filtered = index.filter_view(view, row_filter, lambda: worker.is_cancelled)
        if filtered is not None and not worker.is_cancelled:
            self.post_message(self.Filtered(generation, token, filtered, time.perf_counter() - started))

    @on(Filtered)
    def handle_filtered(self, message: Filtered) -> None:
        if message.generation != self.generation or message.token != self._filter_token:
            return  # an older filter, or an older read of the refs
        self.filtering = False
        self.filter_seconds = message.seconds
        ref_list = self.ref_list
        ref_list.empty_text = f"no ref here matches the filter ({clean(self.row_filter.raw.strip())}); escape clears it"
        ref_list.set_rows(message.view, cursor=0)
        self._show_status()

    @on(Leading)
    def handle_leading(self, message: Leading) -> None:
        if message.generation != self.generation or self.index is not None:
            return
        if self.prefix or self.shadows_only or self.row_filter.active:
            return  # not the first rows of this view: it waits for every ref
        self.leading = True
        self.leading_seconds = message.seconds
        self.ref_list.set_rows(message.rows, cursor=0)
        self._show_status()

    @on(Loaded)
    def handle_loaded(self, message: Loaded) -> None:
        if message.generation != self.generation:
            return
        self.index = message.index
        self.load_seconds = message.seconds
        tree = self.query_one(NamespaceTree)
        tree.set_index(message.index)
        # The early rows are the start of these: the cursor stays on the row it is on.
        self._show_rows(keep_cursor=self.leading)
        self.leading = False

    @on(Judged)
    def handle_judged(self, message: Judged) -> None:
        if message.generation != self.generation or self.index is None:
            return
        self.index.snapshot.verdicts.update(message.verdicts)
        self.index.snapshot.verdict_errors.extend(message.errors)
        self.index.apply_verdicts(message.counts)
        self.judged = True
        self.judge_seconds = message.seconds
        self.call_after_refresh(self._resume_collector)  # after the frame with the verdicts
        if self.row_filter.field == "verdict":
            self._show_rows(keep_cursor=True)  # the verdicts the filter asks for are known now
            return
        # apply_verdicts forgot the judged refs' rows: they are new objects, drawn again; the
        # lines of every other row stay as drawn (refresh_rows drew the whole page again).
        self.ref_list.refresh()
        self._show_status()

    @on(Failed)
    def handle_failed(self, message: Failed) -> None:
        if message.generation != self.generation:
            return
        self._resume_collector()
        if self.index is None:
            self.error = message.reason
            self.ref_list.empty_text = clean(message.reason)
            self.ref_list.set_rows([])
        else:  # dates could not be read: say so once, stop asking
            self.ref_list.dates_available = False
            self.notify(clean(message.reason), title="commit dates", severity="warning", markup=False)
        self._show_status()

    @on(Dates)
    def handle_dates(self, message: Dates) -> None:
        if message.generation == self.generation:
            self.ref_list.add_dates(message.dates)

    @on(RefList.MarksChanged)
    def _marks_changed(self, event: RefList.MarksChanged) -> None:
        event.stop()
        self._show_status()

    @on(RefList.DatesWanted)
    def _dates_wanted(self, event: RefList.DatesWanted) -> None:
        event.stop()
        self._load_dates(self.generation, event.oids)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "ref-filter" and event.state == WorkerState.ERROR:
            self.filtering = False
            self.notify(clean(f"{type(event.worker.error).__name__}: {event.worker.error}"), title="filter", severity="error", markup=False)
            self._show_status()
            return
        if event.worker.group in ("refs", "ref-dates") and event.state == WorkerState.ERROR:
            reason = f"{type(event.worker.error).__name__}: {event.worker.error}"
            self.post_message(self.Failed(self.generation, reason))

    # --- view -----------------------------------------------------------------------------------

    def set_filter(self, row_filter: RowFilter) -> None:
        """Filter the refs of the namespace shown by name (``verdict:``/``source:`` fields)."""
        self.row_filter = row_filter
        self._show_rows(keep_cursor=False)

    def set_shadows_only(self, shadows_only: bool) -> None:
        self.shadows_only = shadows_only
        self._show_rows(keep_cursor=False)

    @on(NamespaceTree.Chosen)
    def _namespace_chosen(self, event: NamespaceTree.Chosen) -> None:
        event.stop()
        if event.prefix != self.prefix:
            self.prefix = event.prefix
            self._show_rows(keep_cursor=False)

    @on(VirtualTable.Selected, "#ref-list")
    def _ref_selected(self, event: VirtualTable.Selected) -> None:
        event.stop()
        self.app.push_screen(RefDetail(event.row))

    @on(VirtualTable.Highlighted, "#ref-list")
    def _ref_highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()

    def _show_rows(self, *, keep_cursor: bool) -> None:
        if self.index is None:
            if self.leading and (self.prefix or self.shadows_only or self.row_filter.active):
                # The first rows of every ref are not this view's: it waits for every ref.
                self.leading = False
                self.ref_list.empty_text = "loading refs…"
                self.ref_list.set_rows([])
                self._show_status()
            return
        view = self.index.view(self.prefix, self.shadows_only)
        self._filter_token += 1
        if self.row_filter.active:
            # The old rows stay until the filtered ones arrive; the status line says "filtering".
            self.filtering = True
            self._filter(self.generation, self._filter_token, self.index, view, self.row_filter)
            self._show_status()
            return
        self.filtering = False
        ref_list = self.ref_list
        if self.shadows_only:
            ref_list.empty_text = "no shadows here: no ref in this namespace is both loose and packed"
        else:
            ref_list.empty_text = "no refs in this namespace"
        ref_list.set_rows(view, cursor=None if keep_cursor else 0)
        self._show_status()

    def _show_status(self, loading: bool = False) -> None:
        # A LineStatic: the line changes with each step of the load (first rows, all rows, the
        # verdicts, a mark); Static.update laid the whole screen out again every time (~40 ms
        # of the UI thread on the Refs tab), though the line is one row of a fixed width.
        status = self.query_one("#ref-status", LineStatic)
        index = self.index
        if self.error and index is None:
            status.show_line(Content.assemble(("refs unavailable: ", "bold $text-error"), clean(self.error)), auto_width=False)
            return
        if index is None and self.leading:
            shown = self.ref_list.row_count
            status.show_line(
                Content.assemble(
                    ("loading refs… ", "bold $text-accent"),
                    f"the first {shown:,} shown; reading the loose files for the rest",
                ),
                auto_width=False,
            )
            return
        if index is None:
            status.show_line(
                Content.assemble(("loading refs… ", "bold $text-accent"), "reading loose files and packed-refs"), auto_width=False
            )
            return
        counts = index.counts
        parts: list = [
            (plural(counts.total, "ref"), "bold"),
            f"  ({counts.loose:,} loose · {counts.packed:,} packed · ",
            (f"{counts.both:,} both", "$text-warning" if counts.both else ""),
            ")",
        ]
        stale = counts.shadows.get("stale-loose", 0)
        if stale:
            parts += ["  ", (f"✖ {stale:,} stale-loose", "bold $text-error")]
        if not self.judged:
            parts += ["  ", ("judging shadows…", "$text-muted")]
        shown = self.ref_list.row_count
        where = clean(self.prefix) or "all refs"
        parts += ["  ·  ", (where, "bold $text-accent"), f": {shown:,} shown"]
        if self.shadows_only:
            parts += ["  ·  ", ("shadows only", "bold $text-warning")]
        if self.row_filter.active:
            parts += ["  ·  ", (clean(self.row_filter.describe()), "bold $text-accent")]
            if self.filtering:
                parts += [" ", ("filtering…", "$text-muted")]
        marked = len(self.ref_list.marked)
        if marked:
            parts += ["  ·  ", (f"● {marked:,} marked", "bold $text-warning"), " (P previews)"]
        if loading:
            parts += ["  ·  ", ("reloading…", "$text-muted")]
        status.show_line(Content.assemble(*parts), auto_width=False)
