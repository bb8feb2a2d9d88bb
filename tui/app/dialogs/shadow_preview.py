"""The preview of a shadows prune: every ref with its verdict, action and before -> after value.

It shows exactly the plan that ``apply`` receives; the core re-reads every file under git's
locks and refuses if anything moved since. Returns True to apply, False/None otherwise.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.app.dialogs.confirm import DIALOG_CSS, move_button_focus
from tui.app.text import clean, short
from tui.app.widgets.ref_list import verdict_cell
from tui.app.widgets.vtable import Column, Palette, VirtualTable

ACTION_LABEL = {"keep-packed": "keep packed", "keep-loose": "keep loose", "skip": "untouched"}

PLAN_COLUMNS = [
    Column("name", "ref", min_width=20, max_width=60, sortable=False, overflow="middle"),
    Column("verdict", "verdict", width=14, sortable=False),
    Column("action", "action", width=11, sortable=False),
    Column("before", "before", width=12, sortable=False),
    Column("arrow", "", width=1, min_width=1, sortable=False),
    Column("after", "after", width=12, sortable=False),
    Column("note", "why", flex=True, min_width=12, sortable=False),
]


def plan_cells(item, palette: Palette) -> list[Text]:
    skipped = item.action.value == "skip"
    base = palette.dim if skipped else ""
    verdict = verdict_cell(item.verdict, palette)
    warning = item.note.startswith("WARNING")
    action_style = palette.dim if skipped else (palette.warning if warning else palette.bold)
    # A change made by --keep auto needs no note (the header says what each action does).
    note = item.note if skipped or warning else ""
    changed = item.before != item.after
    return [
        Text(clean(item.name), style=base),
        verdict,
        Text(ACTION_LABEL.get(item.action.value, item.action.value), style=action_style),
        Text(short(item.before) if item.before else "(broken)", style=base),
        Text("→" if changed else "=", style=palette.dim),
        Text(short(item.after) if item.after else "(broken)", style=palette.accent if changed else palette.dim),
        Text(clean(note), style=palette.warning if warning else palette.dim),
    ]


def has_note(item) -> bool:
    return item.action.value == "skip" or item.note.startswith("WARNING")


class PlanTable(VirtualTable):
    def __init__(self, rows: list, *, id: str | None = None) -> None:
        columns = PLAN_COLUMNS
        if not any(has_note(item) for item in rows):  # no "why" to show: the ref names get the room
            columns = [Column("name", "ref", flex=True, min_width=20, sortable=False, overflow="middle"), *PLAN_COLUMNS[1:-1]]
        super().__init__(columns, plan_cells, empty_text="no ref is both loose and packed", id=id)
        self._initial = rows

    def on_mount(self) -> None:
        self.styles.height = len(self._initial) + 3  # header and border; max-height caps it
        self.set_rows(self._initial, measure=True)


def item_detail(item) -> Content:
    """The full story of one plan row (the table cuts long notes)."""
    if item is None:
        return Content("")
    parts: list = [(clean(item.name), "bold"), "  "]
    if item.action.value == "skip":
        parts += [("untouched: ", "bold $text-muted"), clean(item.note)]
    else:
        parts += [(ACTION_LABEL.get(item.action.value, item.action.value), "bold"), ": "]
        if item.action.value == "keep-packed":
            parts.append(f"remove the loose file ({short(item.before)}); the packed value {short(item.after)} shows")
        else:
            parts.append(f"drop the packed entry ({short(item.packed_value)}); the value {short(item.after)} stays")
        if item.note.startswith("WARNING"):
            parts += ["\n", (clean(item.note), "bold $text-warning")]
    return Content.assemble(*parts)


class ShadowPreview(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="preview.cancel", tooltip="Close the preview; nothing is changed"),
        Binding("left", "focus_previous_button", "Previous", show=False, id="preview.previous", tooltip="Focus the button on the left"),
        Binding("right", "focus_next_button", "Next", show=False, id="preview.next", tooltip="Focus the button on the right"),
    ]
    AUTO_FOCUS = "#cancel"
    DEFAULT_CSS = DIALOG_CSS.format(name="ShadowPreview", width=150) + """
    ShadowPreview #plan-table { max-height: 60vh; min-height: 4; border: round $panel-lighten-2; }
    ShadowPreview .preview-line { height: auto; margin-bottom: 1; }
    ShadowPreview #plan-detail { height: auto; margin-bottom: 1; padding: 0 1; }
    ShadowPreview .dialog-buttons { padding-top: 0; }
    """

    def __init__(self, plan, repo_name: str, *, bulk: bool, confirm_name: str, marked: int) -> None:
        super().__init__()
        self.plan = plan
        self.repo_name = repo_name
        self.bulk = bulk
        self.confirm_name = confirm_name
        self.marked = marked

    @property
    def can_apply(self) -> bool:
        return bool(self.plan.changes) and not self.plan.refusals

    def compose(self) -> ComposeResult:
        plan = self.plan
        changes = plan.changes
        packed = sum(1 for i in changes if i.action.value == "keep-packed")
        loose = len(changes) - packed
        scope = f"the {self.marked} marked ref{'s' if self.marked != 1 else ''}" if self.marked else "every shadowed ref"
        with Vertical(id="dialog"):
            yield Static(
                Content.assemble(("Resolve shadows in ", "bold"), (clean(self.repo_name), "bold $text-accent"), ("  ·  keep auto, ", "bold"), scope),
                id="dialog-title",
            )
            yield Static(
                Content.assemble(
                    (f"{len(changes)} ref changes" if len(changes) == 1 else f"{len(changes)} refs change", "bold"),
                    f" (keep packed {packed} · keep loose {loose}) · {len(plan.skipped)} untouched.  ",
                    ("keep packed", "bold"),
                    ": the loose file is removed, the newer packed value shows.  ",
                    ("keep loose", "bold"),
                    ": the redundant packed entry is dropped, the value does not change.",
                ),
                classes="preview-line",
            )
            yield PlanTable(plan.changes + plan.skipped, id="plan-table")
            yield Static(id="plan-detail")
            for refusal in plan.refusals:
                yield Static(Content.assemble(("✖ refused: ", "bold $text-error"), clean(str(refusal))), classes="preview-line")
            if self.can_apply:
                lines: list = [
                    "Applying re-reads every file under git's locks: if any ref moved since this preview, nothing is written. "
                    "Every change is journaled first (J: journal, u: undo)."
                ]
                if self.bulk:
                    lines += ["  ", ("Bulk change: ", "bold $text-error"), "you will be asked to type ", (clean(self.confirm_name), "bold"), "."]
                yield Static(Content.assemble(*lines), classes="preview-line")
            elif not plan.refusals:
                yield Static(Content("Nothing to apply: every shadow here needs a human decision (see why)."), classes="preview-line")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content("Cancel" if self.can_apply else "Close"), id="cancel", variant="default")
                if self.can_apply:
                    label = f"Apply {len(changes)} change{'s' if len(changes) != 1 else ''}" + ("…" if self.bulk else "")
                    yield Button(Content(label), id="apply", variant="error")

    @on(VirtualTable.Highlighted, "#plan-table")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        self.query_one("#plan-detail", Static).update(item_detail(event.row))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "apply" and self.can_apply)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_focus_previous_button(self) -> None:
        move_button_focus(self, -1)

    def action_focus_next_button(self) -> None:
        move_button_focus(self, 1)
