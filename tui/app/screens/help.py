"""``?``: every key binding, where it applies, and the command-line and filter syntax."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.app.commands import COMMANDS
from tui.app.read_only import MUTATING_ACTIONS

DESCRIPTION_WIDTH = 66  # binding ids line up after the descriptions

FILTER_HELP = (
    ("alpha", "rows whose name (and, for repos, layout and problem codes) contain 'alpha' (any case)"),
    ("git$  ^gitlab", "a regular expression, matched against the name alone (used when the text holds ^ $ * + ? ( ) [ ] { } | or \\)"),
    ("code:stale-lock", "a field: code, layout, severity (repos); verdict, source (refs); state, kind (locks);"),
    ("", "locked, prunable, branch (worktrees); status, kind (journal); state, exit (jobs)"),
    ("!mirror", "every row that does NOT match"),
    ("/ in the Log tab", "searches the lines; n and N go to the next and previous match"),
    ("", "escape clears the filter of the list shown; each repository tab keeps its own"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close", tooltip="Close the help"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 96%; max-width: 110; height: 92%;
        border: thick $accent; background: $surface;
    }
    HelpScreen #help-title { padding: 0 1; background: $panel; text-style: bold; }
    HelpScreen VerticalScroll { padding: 0 1; }
    """

    def __init__(
        self,
        sections: Sequence[tuple[str, Sequence[Binding]]],
        *,
        keymap: dict[str, str],
        read_only: bool,
        key_display,
    ) -> None:
        super().__init__()
        self.sections = sections
        self.keymap = keymap
        self.read_only = read_only
        self._key_display = key_display

    def keys_for(self, binding: Binding) -> str:
        keys = self.keymap.get(binding.id or "", binding.key)
        shown = []
        for key in keys.split(","):
            key = key.strip()
            shown.append(self._key_display(binding.with_key(key)))  # each key, not a footer summary
        return " / ".join(dict.fromkeys(shown))

    def body(self) -> Content:
        parts: list = []
        for title, bindings in self.sections:
            parts += [(title, "bold $text-accent"), "\n"]
            for binding in bindings:
                keys = self.keys_for(binding)
                description = binding.description or binding.action
                detail = f": {binding.tooltip}" if binding.tooltip and binding.tooltip != description else ""
                action = binding.action.split("(")[0].rsplit(".", 1)[-1]  # "screen.lock_worktree"
                hidden = " (hidden: read-only)" if action in MUTATING_ACTIONS and self.read_only else ""
                width = len(description) + len(detail) + len(hidden)
                parts += [(f"  {keys:<14}", "bold"), (description, "bold"), detail]
                if hidden:
                    parts.append((hidden, "$text-warning"))
                parts += [" " * max(2, DESCRIPTION_WIDTH - width), (binding.id or "", "dim"), "\n"]
            parts.append("\n")
        parts += [("Command line  (:)", "bold $text-accent"), "\n"]
        for spec in COMMANDS:
            words = ", ".join(f":{w}" for w in (spec.name, *spec.aliases))
            argument = f" {spec.argument}" if spec.argument else ""
            parts += [(f"  {words}{argument}", "bold"), "\n", ("      " + spec.help, ""), "\n"]
        parts += ["\n", ("Filter  (/)", "bold $text-accent"), "\n"]
        for example, meaning in FILTER_HELP:
            parts += [(f"  {example:<18}", "bold"), meaning, "\n"]
        parts += [
            "\n",
            ("Keys", "bold $text-accent"),
            "\n  Rebind any key by its id (grey, after each line) in the [keys] table of the config file,\n"
            '  e.g.  host.rescan = "ctrl+r".  ctrl+p opens the command palette.',
        ]
        return Content.assemble(*parts)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content("gitward keys · escape closes"), id="help-title")
            with VerticalScroll():
                yield Static(self.body(), id="help-body")

    def action_close(self) -> None:
        self.dismiss(None)
