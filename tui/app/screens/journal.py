"""``:journal`` / ``J``: what gitward changed, newest first, and ``u`` to undo an entry.

The entries are read in a worker; undo runs in a worker too, after a confirm with Cancel
focused. The core re-checks every file under git's locks and refuses when the state moved on
since the entry (a refusal notification, nothing changed). After an undo the repository it
touched is read again (its open screen, and the host list).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from tui.app import writes as actions
from tui.app.writes import Outcome
from tui.app.dialogs.confirm import Choice, ConfirmDialog
from tui.app.backend import Host
from tui.app.read_only import GatedScreen
from tui.app.text import clean, display_path
from tui.app.widgets.filter_box import FilterBox
from tui.app.widgets.summary import Banner
from tui.app.widgets.vtable import Column, Palette, VirtualTable
from tui.core.write.journal import JournalEntry
from tui.core.write.journal_words import status_words, when
from tui.core.model import RepoReport

JOURNAL_COLUMNS = [
    Column("id", "id", width=20, sortable=False),
    Column("when", "when (UTC)", width=19, sortable=False),
    Column("status", "status", min_width=8, max_width=24, sortable=False),
    Column("kind", "kind", min_width=6, max_width=16, sortable=False),
    Column("summary", "what", flex=True, min_width=20, sortable=False, overflow="end"),
]

STATUS_STYLE = {"done": "ok", "undone": "dim", "failed": "error", "interrupted": "warning", "running": "info", "unfinished": "warning"}


FILTER_FIELDS = ("status", "kind", "id", "repo")


def describe_entry(entry: JournalEntry) -> tuple[str, str, dict]:
    """What ``/`` sees: the summary is the name (a regex matches it); status:, kind:, id:, repo:."""
    status = status_words(entry)
    fields = {"status": (entry.status, status), "kind": entry.kind, "id": entry.id, "repo": entry.repo}
    return entry.summary, f"{entry.id} {entry.kind} {status} {entry.summary} {entry.repo}", fields


def entry_cells(entry: JournalEntry, palette: Palette) -> list[Text]:
    # The words and times ``gitward journal`` prints (journal_words): one vocabulary for both.
    style = getattr(palette, STATUS_STYLE.get(entry.status, "dim"))
    return [
        Text(clean(entry.id), style=palette.bold),
        Text(when(entry), style=palette.dim),
        Text(status_words(entry), style=style),
        Text(clean(entry.kind)),
        Text(clean(entry.summary), style=palette.dim if entry.undone_by else ""),
    ]


class JournalTable(VirtualTable):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "screen.undo_entry", "Undo", id="journal.undo", tooltip="Restore this entry's before-image"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            JOURNAL_COLUMNS,
            entry_cells,
            empty_text="loading the journal…",
            describe=describe_entry,
            filter_fields=FILTER_FIELDS,
            id=id,
        )


class JournalScreen(GatedScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="journal.back", tooltip="Back to the previous screen"),
        Binding("r", "reload", "Reload", id="journal.reload", tooltip="Read the journal again"),
        Binding("slash", "filter", "Filter", id="journal.filter", tooltip="Filter entries: text, regex on the summary, status:failed, kind:…", priority=True),
    ]

    DEFAULT_CSS = """
    JournalScreen #journal-title { height: 1; padding: 0 1; background: $panel; }
    JournalScreen #journal-table { height: 1fr; }
    JournalScreen #journal-detail { height: auto; max-height: 10; padding: 0 1; border-top: solid $panel-lighten-1; }
    """

    class Loaded(Message):
        def __init__(self, entries: list[JournalEntry], root: str, error: str | None) -> None:
            super().__init__()
            self.entries = entries
            self.root = root
            self.error = error

    class Undone(Message):
        def __init__(self, outcome: Outcome, repo: str) -> None:
            super().__init__()
            self.outcome = outcome
            self.repo = repo

    class Rescanned(Message):
        def __init__(self, report: RepoReport) -> None:
            super().__init__()
            self.report = report

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self.entries: list[JournalEntry] = []
        self.root = ""
        self.undoing: str | None = None
        self._undo_state: bool | None = None

    def compose(self) -> ComposeResult:
        if self.host.read_only:
            yield Banner(Content("READ-ONLY: undo is hidden; the journal is shown as it is"), classes="-read-only", id="read-only-banner")
        yield Static(self._title(), id="journal-title")
        yield FilterBox(id="journal-filter")
        yield JournalTable(id="journal-table")
        yield Static(id="journal-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(JournalTable).focus()
        self.load()

    def _title(self) -> Content:
        parts: list = [("gitward", "bold $text-accent"), " › ", ("journal", "bold")]
        if self.entries:
            parts += [f"  {len(self.entries)} entr{'y' if len(self.entries) == 1 else 'ies'}"]
            row_filter = self.query_one(JournalTable).row_filter if self.is_mounted else None
            if row_filter is not None and row_filter.active:
                parts += ["  ·  ", (clean(row_filter.describe()), "bold $text-accent"), f": {self.table.row_count:,} shown"]
                if row_filter.error:
                    parts += ["  ·  ", (row_filter.error, "$text-warning")]
        if self.root:
            parts += ["  ·  ", (display_path(self.root), "$text-muted")]
        return Content.assemble(*parts)

    @property
    def table(self) -> JournalTable:
        return self.query_one(JournalTable)

    @property
    def current(self) -> JournalEntry | None:
        return self.table.current

    # --- loading --------------------------------------------------------------------------------

    def load(self) -> None:
        self._load(self.host.read_only)

    @work(thread=True, exclusive=True, exit_on_error=False, group="journal")
    def _load(self, read_only: bool) -> None:
        journal = actions.journal_for(read_only)
        try:
            entries = actions.journal_entries(journal)
        except OSError as exc:
            self.post_message(self.Loaded([], journal.root, f"cannot read the journal: {exc.strerror or exc}"))
            return
        self.post_message(self.Loaded(entries, journal.root, None))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.entries = message.entries
        self.root = message.root
        table = self.table
        if message.error:
            table.empty_text = clean(message.error)
        else:
            table.empty_text = "the journal is empty: gitward has changed nothing yet"
        table.set_rows(message.entries, measure=True)
        self.query_one("#journal-title", Static).update(self._title())
        self._show_detail()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR or event.worker.group not in ("journal", "journal-undo", "journal-rescan"):
            return
        if event.worker.group == "journal-undo":
            self.undoing = None
        self.notify(clean(f"{type(event.worker.error).__name__}: {event.worker.error}"), title="journal", severity="error", markup=False)

    # --- detail and availability ----------------------------------------------------------------

    @on(VirtualTable.Highlighted, "#journal-table")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_detail(self) -> None:
        entry = self.current
        detail = self.query_one("#journal-detail", Static)
        if entry is None:
            detail.update(Content(""))
        else:
            parts: list = [("entry ", "bold"), (clean(entry.id), "bold $text-accent"), "  ", clean(entry.kind), "  ", (status_words(entry), "bold")]
            parts += ["\nrepository ", display_path(entry.repo)]
            parts += ["\nby ", clean(entry.user) or "?", " on ", clean(entry.host) or "?", f", pid {entry.pid}"]
            parts += ["\n", clean(entry.summary)]
            if entry.failed:
                parts += ["\n", ("failed: ", "bold $text-error"), clean(entry.failed)]
            if entry.undo_of:
                parts += ["\n", ("undo of ", "bold"), clean(entry.undo_of)]
            if entry.undone_by:
                parts += ["\n", ("undone by ", "bold"), clean(entry.undone_by)]
            if entry.undo_expired:
                parts += ["\n", (entry.undo_expired, "bold"), ": ", clean(entry.expired or "")]
            why_not = actions.undo_reason(entry)
            if why_not is None and not self.host.read_only:
                parts += ["\n", ("u", "bold $text-accent"), " restores what it changed (after a confirm)"]
            elif why_not is not None:
                parts += ["\n", ("cannot undo: ", "$text-muted"), (why_not, "$text-muted")]
            detail.update(Content.assemble(*parts))
        state = self.check_action("undo_entry", ())
        if state != self._undo_state:
            self._undo_state = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed is not True:
            return allowed
        if action == "undo_entry":
            entry = self.current
            return (entry is not None and actions.undo_reason(entry) is None and self.undoing is None) or None
        return True

    # --- actions --------------------------------------------------------------------------------

    def action_back(self) -> None:
        box = self.query_one(FilterBox)
        if box.close():  # escape clears the filter first, then leaves
            self.table.focus()
            return
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    @on(Input.Changed, "#journal-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        table = self.table
        table.set_filter(self.query_one(FilterBox).parse(table.filter_fields))
        self.query_one("#journal-title", Static).update(self._title())
        self._show_detail()

    @on(Input.Submitted, "#journal-filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_undo_entry(self) -> None:
        entry = self.current
        if entry is None or self.host.read_only or actions.undo_reason(entry) is not None or self.undoing:
            return
        body = [
            Content.assemble(("What it did: ", "bold"), clean(entry.summary)),
            Content.assemble(("Repository: ", "bold"), display_path(entry.repo)),
            Content(
                "gitward restores the before-image it journaled, under git's locks. If any of these files "
                "changed since (another push, gc, a later action), it refuses and changes nothing. The undo "
                "is itself journaled."
            ),
        ]
        dialog = ConfirmDialog(
            Content.assemble(("Undo ", "bold"), (clean(entry.id), "bold $text-error"), ("?", "bold")),
            body,
            [Choice("undo", "Undo")],
            id="undo-dialog",
        )
        self.app.push_screen(dialog, lambda choice: self._undo_chosen(entry, choice))

    def _undo_chosen(self, entry: JournalEntry, choice: str | None) -> None:
        if choice != "undo":
            return
        self.undoing = entry.id
        self._show_detail()
        self._undo(entry.id, entry.repo)

    @work(thread=True, exit_on_error=False, group="journal-undo")
    def _undo(self, entry_id: str, repo: str) -> None:
        outcome = actions.undo(actions.journal_for(self.host.gate), entry_id)
        self.post_message(self.Undone(outcome, repo))

    @on(Undone)
    def _undone(self, message: Undone) -> None:
        self.undoing = None
        outcome = message.outcome
        self.notify(outcome.message, title=outcome.title, severity=outcome.severity, timeout=8 if outcome.ok else 12, markup=False)
        self.load()
        self._rescan_repo(message.repo)

    # --- the repository it touched --------------------------------------------------------------

    def _rescan_repo(self, git_dir: str) -> None:
        # lazy (import cost): app.screens.repo loads on first use, not with this module
        from tui.app.screens.repo import RepoScreen

        opened = False
        for screen in self.app.screen_stack:
            if isinstance(screen, RepoScreen) and actions.same_repo(git_dir, screen.report):
                screen.reload_after_write()  # also updates the host list
                opened = True
        if not opened:
            host = getattr(self.app, "host_screen", None)
            if host is not None:
                self._rescan(git_dir, list(host.table.reports.values()))

    @work(thread=True, exit_on_error=False, group="journal-rescan")
    def _rescan(self, git_dir: str, reports: list[RepoReport]) -> None:
        report = next((r for r in reports if actions.same_repo(git_dir, r)), None)
        if report is None:
            return
        fresh = actions.rescan(report, self.host.clock())
        if fresh is not None:
            self.post_message(self.Rescanned(fresh))

    @on(Rescanned)
    def _rescanned(self, message: Rescanned) -> None:
        self.app.repo_rescanned(message.report)  # type: ignore[attr-defined]
