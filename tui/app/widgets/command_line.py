"""The ``:`` command line (k9s style): type a command, enter runs it, escape closes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input

from tui.app.commands import COMMANDS, completions

_NAME_COMMANDS = tuple(
    word + " " for spec in COMMANDS if spec.argument in ("NAME", "[NAME]") and spec.name != "theme"
    for word in (spec.name, *spec.aliases)
)


class CommandSuggester(Suggester):
    """Completes command words, then repository names after ``repo``/``refs``/..."""

    def __init__(self, repo_names: Callable[[], list[str]], theme_names: Callable[[], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._repo_names = repo_names
        self._theme_names = theme_names

    async def get_suggestion(self, value: str) -> str | None:
        if " " not in value:
            for word in completions():
                if word.startswith(value) and word != value:
                    return word
            return None
        head, _, rest = value.partition(" ")
        if head == "theme":
            candidates = self._theme_names()
        elif value.startswith(_NAME_COMMANDS):
            candidates = self._repo_names()
        else:
            return None
        for name in candidates:
            if name.startswith(rest) and name != rest:
                return f"{head} {name}"
        return None


class CommandLine(Input):
    """Posts ``Run`` with the text on enter and ``Closed`` on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="command_line.close", tooltip="Close the command line"),
        Binding("tab", "cursor_right", "Complete", show=False, id="command_line.complete", tooltip="Accept the suggestion"),
    ]

    class Run(Message):
        def __init__(self, command_line: CommandLine, text: str) -> None:
            super().__init__()
            self.command_line = command_line
            self.text = text

        @property
        def control(self) -> CommandLine:
            return self.command_line

    class Closed(Message):
        def __init__(self, command_line: CommandLine) -> None:
            super().__init__()
            self.command_line = command_line

        @property
        def control(self) -> CommandLine:
            return self.command_line

    def __init__(self, suggester: Suggester | None = None, *, id: str | None = None) -> None:
        super().__init__(
            placeholder="repos · repo NAME · refs · worktrees · locks · log · jobs · help · quit",
            suggester=suggester,
            id=id,
        )
        self.cursor_blink = False
        self.border_title = ": command · tab completes · enter runs · esc closes"

    def action_close(self) -> None:
        self.post_message(self.Closed(self))

    async def action_submit(self) -> None:
        self.post_message(self.Run(self, self.value))
