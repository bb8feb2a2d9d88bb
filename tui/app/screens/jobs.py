"""``:jobs``: syncs of this session. No sync exists yet, so this is the honest empty state."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.app.host import Host
from tui.app.mutations import MutationGate
from tui.app.widgets.summary import Banner

EMPTY = (
    "No sync has run in this session.\n\n"
    "Syncs started from a repository (S) will be listed here with their state, duration and exit code; "
    "their output goes to the repository's Log tab."
)


class JobsScreen(MutationGate, Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="jobs.back", tooltip="Back to the previous screen"),
    ]

    DEFAULT_CSS = """
    JobsScreen #jobs-title { height: 1; padding: 0 1; background: $panel; }
    JobsScreen #jobs-empty { padding: 1 2; color: $text-muted; }
    """

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host

    def compose(self) -> ComposeResult:
        if self.host.read_only:
            yield Banner(Content("READ-ONLY: syncs cannot be started"), classes="-read-only", id="read-only-banner")
        yield Static(Content.assemble(("gitward", "bold $text-accent"), " › ", ("jobs", "bold")), id="jobs-title")
        yield Static(Content(EMPTY), id="jobs-empty")
        yield Footer(compact=True)

    def action_back(self) -> None:
        self.app.pop_screen()
