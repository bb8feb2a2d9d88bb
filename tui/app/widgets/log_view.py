"""A repository's sync log: bounded, says how much it dropped, and says so when nothing ran.

The sync feature fills it (``write_lines``); until then it shows the honest empty state.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

from tui.app.text import clean

MAX_LINES = 10_000
EMPTY = "No sync has run for this repository in this session."


class SyncLog(Vertical):
    DEFAULT_CSS = """
    SyncLog { height: 1fr; }
    SyncLog > #log-status { height: auto; padding: 0 1; color: $text-muted; }
    SyncLog > Log { height: 1fr; display: none; }
    SyncLog.-has-lines > Log { display: block; }
    """

    def __init__(self, *, max_lines: int = MAX_LINES, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.written = 0

    def compose(self) -> ComposeResult:
        yield Static(Text(EMPTY), id="log-status")
        yield Log(max_lines=self.max_lines, auto_scroll=True)

    @property
    def dropped(self) -> int:
        return max(0, self.written - self.max_lines)

    def write_lines(self, lines: Iterable[str]) -> None:
        cleaned = [clean(line) for line in lines]
        if not cleaned:
            return
        self.written += len(cleaned)
        self.query_one(Log).write_lines(cleaned)
        self.add_class("-has-lines")
        status = f"{self.written:,} lines"
        if self.dropped:
            status += f" ({self.dropped:,} older lines dropped; the log keeps the last {self.max_lines:,})"
        self.query_one("#log-status", Static).update(Text(status))

    def clear(self) -> None:
        self.written = 0
        self.query_one(Log).clear()
        self.remove_class("-has-lines")
        self.query_one("#log-status", Static).update(Text(EMPTY))
