"""The ``:`` prompt as a small modal: returns the command text, or None when closed."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.suggester import Suggester

from tui.app.widgets.command_line import CommandLine


class CommandPrompt(ModalScreen[str | None]):
    DEFAULT_CSS = """
    CommandPrompt { align: left bottom; background: $background 30%; }
    CommandPrompt > CommandLine { width: 100%; border: tall $accent; margin: 0 0 1 0; }
    """

    def __init__(self, suggester: Suggester | None = None) -> None:
        super().__init__()
        self._suggester = suggester

    def compose(self) -> ComposeResult:
        yield CommandLine(self._suggester, id="command-line")

    @on(CommandLine.Run)
    def _run(self, event: CommandLine.Run) -> None:
        event.stop()
        self.dismiss(event.text)

    @on(CommandLine.Closed)
    def _closed(self, event: CommandLine.Closed) -> None:
        event.stop()
        self.dismiss(None)
