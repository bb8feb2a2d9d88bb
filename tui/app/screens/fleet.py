"""The fleet screen (``gitward fleet`` in a terminal): every host as Prometheus sees it.

Rows come from ``tui.core.fleet.read_fleet`` in a worker. ``/`` filters (the host screen's rules),
``f`` keeps faulted hosts only, ``r`` asks Prometheus again, Enter suspends the console and runs
the configured command (default ``ssh -t HOST gitward``) in the terminal, then resumes.
Everything shown came from Prometheus labels: untrusted text, rendered as plain ``Text``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from tui.app.filtering import RowFilter
from tui.app.text import clean, duration
from tui.app.widgets.vtable import Column, Palette, VirtualTable
from tui.core.config import DEFAULT_FLEET_COMMAND
from tui.core.fleet import Fleet, FleetError, FleetHost, PrometheusClient, read_fleet, ssh_command

COLUMNS = (
    Column("instance", "INSTANCE", min_width=12, max_width=32, overflow="middle"),
    Column("error", "ERR", justify="right"),
    Column("warning", "WARN", justify="right"),
    Column("info", "INFO", justify="right"),
    # The one flex column (the table shrinks or grows only the first): the codes fit in what is left.
    Column("codes", "WORST CODES", flex=True, min_width=12),
    Column("age", "SCAN AGE"),
    Column("gitsync", "GIT-SYNC ROOTS", max_width=24, overflow="middle"),
    Column("compare", "COMPARE", max_width=28),
)


def _haystack(host: FleetHost) -> str:
    return " ".join([host.instance, host.codes_text(), host.gitsync_text(), host.compare_text()])


def _render(host: FleetHost, palette: Palette) -> list[Text]:
    worst = host.worst
    age = Text(duration(host.scan_age_seconds), no_wrap=True)
    if host.stale:
        age.append(" STALE", palette.error)
    return [
        Text(clean(host.instance), style=palette.error if worst == "error" else "", no_wrap=True),
        Text(str(host.problems["error"]), style=palette.error if host.problems["error"] else palette.dim),
        Text(str(host.problems["warning"]), style=palette.warning if host.problems["warning"] else palette.dim),
        Text(str(host.problems["info"]), style=palette.info if host.problems["info"] else palette.dim),
        Text(clean(host.codes_text()), style=palette.severity(worst), no_wrap=True),
        age,
        Text(clean(host.gitsync_text()), style=palette.accent if host.gitsync_roots else palette.dim, no_wrap=True),
        Text(clean(host.compare_text()), style=palette.dim if not host.compare else "", no_wrap=True),
    ]


class FleetScreen(Screen):
    """One row per host: problems by severity, worst codes, scan age, git-sync, compare."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_host", "Open", id="fleet.open", tooltip="Suspend the console and run the configured command on this host (ssh -t HOST gitward)"),
        Binding("slash", "filter", "Filter", id="fleet.filter", tooltip="Filter hosts: text, regex, ! inverts"),
        Binding("f", "toggle_faults", "Faults", id="fleet.faults", tooltip="Only hosts with errors, warnings, a stale scan or compare differences"),
        Binding("r", "reload", "Reload", id="fleet.reload", tooltip="Ask Prometheus again"),
        Binding("escape", "clear_filter", "Clear", id="fleet.clear_filter", tooltip="Clear the filter and faults-only"),
        Binding("q", "quit", "Quit", id="fleet.quit", tooltip="Leave gitward"),
    ]

    class Loaded(Message):
        """What one ``read_fleet`` returned (or why it could not)."""

        def __init__(self, fleet: Fleet | None, error: str | None) -> None:
            super().__init__()
            self.fleet = fleet
            self.error = error

    class CommandFinished(Message):
        """The command Enter ran has ended and the console is back."""

        def __init__(self, argv: list[str], returncode: int | None, error: str | None) -> None:
            super().__init__()
            self.argv = argv
            self.returncode = returncode
            self.error = error

    def __init__(self, client: PrometheusClient, *, stale_after_seconds: float = 3600.0, command: Sequence[str] = DEFAULT_FLEET_COMMAND) -> None:
        super().__init__(id="fleet")
        self.client = client
        self.stale_after_seconds = stale_after_seconds
        self.command = tuple(command)
        self.fleet: Fleet | None = None
        self.error: str | None = None
        self.loading = False
        self.loads = 0  # finished loads (tests wait for this)
        self.row_filter = RowFilter()
        self.faults_only = False

    def compose(self) -> ComposeResult:
        yield Static(id="fleet-status")
        yield VirtualTable(COLUMNS, _render, empty_text="asking Prometheus ...", id="fleet-table")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.table.focus()
        self.action_reload()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#fleet-table", VirtualTable)

    @property
    def hosts(self) -> list[FleetHost]:
        return self.fleet.hosts if self.fleet else []

    # --- loading --------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.loading = True
        self._show_status()
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="fleet")
    def _load(self) -> None:
        try:
            fleet = read_fleet(self.client, self.stale_after_seconds)
        except FleetError as exc:
            self.post_message(self.Loaded(None, str(exc)))
            return
        self.post_message(self.Loaded(fleet, None))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.loading = False
        self.loads += 1
        self.error = message.error
        if message.fleet is not None:
            self.fleet = message.fleet
        elif message.error:
            self.notify(clean(message.error), title="Prometheus", severity="error", timeout=10, markup=False)
        self.table.empty_text = clean(message.error) if message.error and not self.hosts else "no host matches"
        self._rebuild()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "fleet" and event.state == WorkerState.ERROR:
            self.post_message(self.Loaded(None, f"reading the fleet failed: {event.worker.error}"))

    # --- rows -----------------------------------------------------------------------------------

    def visible(self, host: FleetHost) -> bool:
        if self.faults_only and not host.faulted:
            return False
        return self.row_filter.matches(_haystack(host))

    def _rebuild(self) -> None:
        self.table.set_rows([h for h in self.hosts if self.visible(h)], measure=True)
        self._show_status()

    def _show_status(self) -> None:
        text = Text(no_wrap=True)
        if self.fleet is not None:
            text.append(f"{len(self.table.rows)} of {len(self.hosts)} hosts", "bold")
            text.append(f" from {clean(self.fleet.url)}")
            stale = sum(1 for h in self.hosts if h.stale)
            if stale:
                text.append(f" · {stale} stale", "bold red")
        else:
            text.append(clean(self.client.shown_url))
        if self.loading:
            text.append(" · asking Prometheus ...")
        elif self.error:
            text.append(f" · {clean(self.error)}", "red")
        if self.row_filter.active:
            text.append(f" · filter ({self.row_filter.mode}): {clean(self.row_filter.raw.strip())}")
        if self.faults_only:
            text.append(" · faults only")
        self.query_one("#fleet-status", Static).update(text)

    # --- filter / faults ------------------------------------------------------------------------

    @property
    def filter_box(self) -> Input | None:
        found = self.query("#fleet-filter")
        return found.first(Input) if found else None

    def action_filter(self) -> None:
        box = self.filter_box
        if box is None:
            box = Input(placeholder="filter: text · regex (^…$) · !text inverts · enter keeps, escape clears", id="fleet-filter")
            box.cursor_blink = False
            self.mount(box, before=self.table)
        box.display = True
        box.focus()

    @on(Input.Changed, "#fleet-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.row_filter = RowFilter.parse(event.value)
        self._rebuild()

    @on(Input.Submitted, "#fleet-filter")
    def _filter_submitted(self, _event: Input.Submitted) -> None:
        self.table.focus()

    def action_toggle_faults(self) -> None:
        self.faults_only = not self.faults_only
        self._rebuild()

    def action_clear_filter(self) -> None:
        box = self.filter_box
        if box is not None:
            box.value = ""
            box.display = False
        self.row_filter = RowFilter()
        self.faults_only = False
        self.table.focus()
        self._rebuild()

    def action_quit(self) -> None:
        self.app.exit(0)

    # --- Enter: hand the terminal to ssh --------------------------------------------------------

    @on(VirtualTable.Selected, "#fleet-table")
    def _row_selected(self, _event: VirtualTable.Selected) -> None:
        self.action_open_host()

    def action_open_host(self) -> None:
        host = self.table.current
        if host is None:
            return
        try:
            argv = ssh_command(host, self.command)
        except FleetError as exc:
            self.notify(clean(str(exc)), title="fleet", severity="error", markup=False)
            return
        try:
            with self.app.suspend():
                # The operator works in this process's terminal until the command ends.
                returncode, error = _run(argv)
        except SuspendNotSupported:
            self.notify("this terminal cannot be handed over (no suspend); run it yourself: " + clean(" ".join(argv)), title="fleet", severity="error", markup=False)
            return
        self.post_message(self.CommandFinished(argv, returncode, error))

    @on(CommandFinished)
    def _command_finished(self, message: CommandFinished) -> None:
        shown = clean(" ".join(message.argv))
        if message.error:
            self.notify(f"{shown}: {clean(message.error)}", title="fleet", severity="error", markup=False)
        elif message.returncode:
            self.notify(f"{shown} exited with {message.returncode}", title="fleet", severity="warning", markup=False)
        self.action_reload()  # the operator may have fixed something


def _run(argv: list[str]) -> tuple[int | None, str | None]:
    try:
        return subprocess.run(argv, check=False).returncode, None
    except OSError as exc:
        return None, exc.strerror or str(exc)


class FleetApp(App[int]):
    """``gitward fleet`` in a terminal: the fleet screen on its own."""

    TITLE = "gitward fleet"

    def __init__(
        self,
        client: PrometheusClient,
        *,
        stale_after_seconds: float = 3600.0,
        command: Sequence[str] = DEFAULT_FLEET_COMMAND,
        keys: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.animation_level = "none"
        self.fleet_screen = FleetScreen(client, stale_after_seconds=stale_after_seconds, command=command)
        # [keys] in the config is shared with the host console: only the fleet.* ids apply here.
        keymap = {binding_id: key for binding_id, key in (keys or {}).items() if binding_id.startswith("fleet.")}
        if keymap:
            self.set_keymap(keymap)

    def get_default_screen(self) -> Screen:
        return self.fleet_screen
