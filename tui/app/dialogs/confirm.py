"""A question with buttons. Cancel comes first and has the focus: enter alone never destroys.

``ConfirmDialog`` returns the id of the chosen button, or None for Cancel / escape. The body
is ``Content`` built by the caller from cleaned text (never markup parsed from disk values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, ScreenResultType
from textual.widget import Widget
from textual.widgets import Button, Static

# Every dialog fits an 80x24 terminal: the buttons are docked to the bottom of the dialog (always
# on screen), the title to its top, and whatever does not fit between them scrolls (up/down,
# page up/page down, the mouse wheel).
DIALOG_CSS = """
{name} {{ align: center middle; background: $background 60%; }}
{name} > #dialog {{
    width: 90%; max-width: {width}; height: auto; max-height: 90%;
    border: heavy $error; background: $surface; padding: 0 1;
    overflow-y: auto; scrollbar-size-vertical: 1;
}}
{name}.-calm > #dialog {{ border: heavy $accent; }}
{name} #dialog-title {{ dock: top; text-style: bold; padding: 0 0 1 0; }}
{name} #dialog-body {{ height: auto; }}
{name} #dialog-body > Static {{ margin-bottom: 1; }}
{name} #dialog-body > Static:last-child {{ margin-bottom: 0; }}
{name} .dialog-buttons {{ dock: bottom; height: auto; align-horizontal: right; padding-top: 1; background: $surface; }}
{name} .dialog-buttons Button {{ margin-left: 2; min-width: 12; }}
"""


def scroll_bindings(prefix: str) -> list[BindingType]:
    """up/down/page up/page down scroll a dialog whose body is taller than the screen."""
    return [
        Binding("up", "scroll_dialog(-1)", "Scroll up", show=False, id=f"{prefix}.scroll_up", tooltip="Scroll the dialog up"),
        Binding("down", "scroll_dialog(1)", "Scroll down", show=False, id=f"{prefix}.scroll_down", tooltip="Scroll the dialog down"),
        Binding("pageup", "scroll_dialog(-10)", "Page up", show=False, id=f"{prefix}.page_up", tooltip="Scroll the dialog up a page"),
        Binding("pagedown", "scroll_dialog(10)", "Page down", show=False, id=f"{prefix}.page_down", tooltip="Scroll the dialog down a page"),
    ]


def scroll_dialog(screen, lines: int) -> None:
    """Scroll ``#dialog`` by ``lines`` (the buttons stay where they are: they are docked)."""
    dialog = screen.query_one("#dialog")
    dialog.scroll_relative(y=lines, animate=False)


@dataclass(frozen=True, slots=True)
class Choice:
    """One button besides Cancel: ``id`` is what the dialog returns."""

    id: str
    label: str
    variant: str = "error"  # a Button variant: "error" for destructive, "primary" otherwise


SHORT_SCREEN = 30  # terminal rows: below this, dialog buttons are one line high (no border)


class DialogScreen(ModalScreen[ScreenResultType]):
    """What gitward's dialogs share: buttons docked at the bottom (one line high on a short
    terminal, so an 80x24 window keeps room for the body), a body that scrolls (``scroll_dialog``),
    left/right between the buttons."""

    def on_mount(self) -> None:
        self._fit_buttons()

    def on_resize(self) -> None:
        self._fit_buttons()

    def _fit_buttons(self) -> None:
        compact = self.app.size.height < SHORT_SCREEN
        for button in self.query(".dialog-buttons Button").results(Button):
            button.compact = compact

    def action_focus_previous_button(self) -> None:
        move_button_focus(self, -1)

    def action_focus_next_button(self) -> None:
        move_button_focus(self, 1)

    def action_scroll_dialog(self, lines: int) -> None:
        scroll_dialog(self, lines)


class ConfirmDialog(DialogScreen[str | None]):
    """``title``, a body of Content parts, and Cancel + ``choices`` (Cancel focused)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close the dialog; nothing is changed"),
        Binding("left", "focus_previous_button", "Previous", show=False, id="dialog.previous", tooltip="Focus the button on the left"),
        Binding("right", "focus_next_button", "Next", show=False, id="dialog.next", tooltip="Focus the button on the right"),
        *scroll_bindings("dialog"),
    ]
    AUTO_FOCUS = "#cancel"
    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDialog", width=100)

    def __init__(
        self,
        title: str | Content,
        body: Sequence[Content | Widget],
        choices: Sequence[Choice],
        *,
        calm: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="-calm" if calm else None)
        self.title_text = title if isinstance(title, Content) else Content(title)
        self.body = list(body)
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="dialog-title")
            with Vertical(id="dialog-body"):
                for part in self.body:
                    yield part if isinstance(part, Widget) else Static(part)
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content("Cancel"), id="cancel", variant="default")
                for choice in self.choices:
                    yield Button(Content(choice.label), id=f"choice-{choice.id}", variant=choice.variant)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button.id or ""
        self.dismiss(button.removeprefix("choice-") if button.startswith("choice-") else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def move_button_focus(screen, step: int) -> None:
    """Focus the next (+1) or previous (-1) button of a dialog's button row."""
    buttons = [button for button in screen.query(".dialog-buttons Button") if button.display]
    if not buttons:
        return
    focused = screen.focused
    index = (buttons.index(focused) + step) % len(buttons) if focused in buttons else 0
    # Screen.set_focus, not widget.focus(): the latter is deferred, and an enter typed right
    # after the arrow would still reach the previous button.
    screen.set_focus(buttons[index])
