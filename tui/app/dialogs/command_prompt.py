"""The ``:`` prompt as a small modal: returns the command text, or None when closed.

Its ``CommandLine`` is built with the prompt, before the prompt is pushed, so that the app can
give it the focus while ``:`` is handled: keys typed right behind ``:`` are queued to the line
and handled, in order, once it is mounted (``tui/app/typeahead.py``).
"""

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
        self.line = CommandLine(suggester, id="command-line")

    def compose(self) -> ComposeResult:
        yield self.line

    def take_typing(self) -> None:
        """Focus the line now (the prompt was just pushed; the line may not be mounted yet)."""
        self.set_focus(self.line)

    @on(CommandLine.Run)
    def _run(self, event: CommandLine.Run) -> None:
        event.stop()
        self.dismiss(event.text)

    @on(CommandLine.Closed)
    def _closed(self, event: CommandLine.Closed) -> None:
        event.stop()
        self.dismiss(None)
