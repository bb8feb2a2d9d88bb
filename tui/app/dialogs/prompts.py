"""Small dialogs that ask for one line: a lock reason, a path, the repository's name.

Each returns the text typed (possibly empty), or None when cancelled (escape, Cancel).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Static

from tui.app.dialogs.confirm import DIALOG_CSS, DialogScreen


class TextPrompt(DialogScreen[str | None]):
    """A title, a few lines of explanation, one input, Cancel and a submit button."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel", tooltip="Close the dialog; nothing is changed"),
    ]
    AUTO_FOCUS = "#prompt-input"
    DEFAULT_CSS = DIALOG_CSS.format(name="TextPrompt", width=90) + """
    TextPrompt .prompt-body { height: auto; }
    TextPrompt .prompt-body > Static { margin-bottom: 1; }
    TextPrompt .prompt-body > Static:last-child { margin-bottom: 0; }
    """

    def __init__(
        self,
        title: str | Content,
        body: Sequence[Content],
        *,
        submit: str,
        value: str = "",
        placeholder: str = "",
        max_length: int = 0,
        calm: bool = True,
        variant: str = "primary",
    ) -> None:
        super().__init__(classes="-calm" if calm else None)
        self.title_text = title if isinstance(title, Content) else Content(title)
        self.body = list(body)
        self.submit_label = submit
        self.value = value
        self.placeholder = placeholder
        self.max_length = max_length
        self.variant = variant

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="dialog-title")
            with Vertical(classes="prompt-body"):
                for part in self.body:
                    yield Static(part)
            prompt = Input(value=self.value, placeholder=self.placeholder, max_length=self.max_length, id="prompt-input")
            prompt.cursor_blink = False
            yield prompt
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content("Cancel"), id="cancel", variant="default")
                yield Button(Content(self.submit_label), id="submit", variant=self.variant)

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "submit":
            self.dismiss(self.query_one("#prompt-input", Input).value)
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReasonDialog(TextPrompt):
    """``git worktree lock --reason``: why this worktree must be kept (may be empty)."""

    def __init__(self, what: str, *, value: str = "", detail: Sequence[Content] = ()) -> None:
        super().__init__(
            Content.assemble(("Lock ", "bold"), (what, "bold $text-accent")),
            [
                Content("git worktree prune keeps a locked worktree's admin dir, even when its directory is away."),
                Content(
                    "A lock protects the admin dir, not the directory: git-sync's cleanup still removes the "
                    "directory of a locked worktree that is not current (gitward's sync keeps it)."
                ),
                *detail,
                Content.assemble(("Reason", "bold"), " (optional; shown by git worktree list and here):"),
            ],
            submit="Lock",
            value=value,
            placeholder="e.g. nfs volume blinks; kept until the volume is healthy",
            max_length=500,
        )


class PathDialog(TextPrompt):
    """``git worktree repair [PATH]``: where a moved worktree is now (empty: check them all)."""

    def __init__(self, *, value: str = "") -> None:
        super().__init__(
            Content.assemble(("Repair worktrees", "bold")),
            [
                Content(
                    "gitward rewrites the admin 'gitdir' file of the worktree found at PATH, then checks "
                    "every linked worktree's .git file, as 'git worktree repair PATH' does. You see the "
                    "changes before anything is written."
                ),
                Content.assemble(("PATH", "bold"), " where the moved worktree is now (empty: only check the .git files):"),
            ],
            submit="Plan repair",
            value=value,
            placeholder="/new/path/of/the/worktree",
        )


class TypeNameDialog(TextPrompt):
    """The last step of a bulk action: type the repository's name to apply."""

    def __init__(self, name: str, what: Content) -> None:
        super().__init__(
            Content.assemble(("Bulk change: type ", "bold"), (name, "bold $text-error"), (" to apply", "bold")),
            [
                what,
                Content.assemble(
                    "Type the repository name ",
                    (name, "bold"),
                    " and press enter. Anything else changes nothing; escape cancels.",
                ),
            ],
            submit="Apply",
            placeholder=name,
            calm=False,
            variant="error",
        )
