"""The preview of a shadows prune: every ref with its verdict, action and before -> after value.

It shows exactly the plan that ``apply`` receives; the core re-reads every file under git's
locks and refuses if anything moved since. ``--keep auto`` leaves diverged, undecidable and
broken-loose refs to a human: on any row the operator can decide instead (``p`` keep packed,
``l`` keep loose, ``a`` as planned), seeing both values' commit subject, author date and the refs
that reach them (read with pygit2 in a worker). Returns a ``ShadowChoice`` to apply (the plan with
those decisions), or None.

At 80x24 the buttons stay on screen (docked), the rest scrolls, and the table drops its "why"
column and shortens the values so the after-value column is visible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from tui.app.dialogs.confirm import DIALOG_CSS, DialogScreen, scroll_bindings
from tui.app.write_messages import RefFactsFound
from tui.app.ref_facts import RefFacts, ValueFacts, ref_facts
from tui.app.text import clean, short
from tui.app.widgets.ref_list import verdict_cell
from tui.app.widgets.vtable import Column, Palette, VirtualTable
from tui.core.write.shadows import Keep

ACTION_LABEL = {"keep-packed": "keep packed", "keep-loose": "keep loose", "skip": "untouched"}
CHOSEN_ACTION = {Keep.PACKED: "keep-packed", Keep.LOOSE: "keep-loose"}
COMPACT_BELOW = 110  # terminal columns: narrower, the table drops "why" and shortens values
SHORT_VALUE = 7  # characters of a value in the compact table

PLAN_COLUMNS = [
    Column("name", "ref", min_width=20, max_width=60, sortable=False, overflow="middle"),
    Column("verdict", "verdict", width=14, sortable=False),
    Column("action", "action", width=12, sortable=False),
    Column("before", "before", width=12, sortable=False),
    Column("arrow", "", width=1, min_width=1, sortable=False),
    Column("after", "after", width=12, sortable=False),
    Column("note", "why", flex=True, min_width=12, sortable=False),
]
COMPACT_COLUMNS = [
    Column("name", "ref", flex=True, min_width=10, sortable=False, overflow="middle"),
    Column("verdict", "verdict", width=14, sortable=False),
    Column("action", "action", width=12, sortable=False),
    Column("before", "before", width=SHORT_VALUE, sortable=False),
    Column("arrow", "", width=1, min_width=1, sortable=False),
    Column("after", "after", width=SHORT_VALUE, sortable=False),
]


@dataclass(frozen=True, slots=True)
class ShadowChoice:
    """Apply the previewed plan, with these per-ref decisions in place of ``--keep auto``."""

    decisions: dict[str, Keep]


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One plan item as the preview shows it: the operator's decision, if any, applied."""

    item: object  # shadows.ShadowItem
    choice: Keep | None = None

    @property
    def name(self) -> str:
        return self.item.name

    @property
    def action(self) -> str:
        return CHOSEN_ACTION[self.choice] if self.choice is not None else self.item.action.value

    @property
    def after(self) -> str | None:
        if self.choice is Keep.PACKED:
            return self.item.packed_value
        return self.item.after if self.choice is None else self.item.before

    @property
    def warning(self) -> str:
        """What a decision throws away (empty: nothing, or no decision)."""
        return choice_warning(self.item, self.choice) if self.choice is not None else ""


def choice_warning(item, choice: Keep) -> str:
    verdict = item.verdict.value if item.verdict is not None else None
    if choice is Keep.PACKED and verdict == "dead-packed":
        return "reverts the ref to its older packed value"
    if choice is Keep.LOOSE and verdict == "stale-loose":
        return "throws away the newer packed value"
    if verdict in ("diverged", "undecidable", "missing-object"):
        return "gitward cannot tell which value is right: compare the two below"
    return ""


def plan_cells(row: PlanRow, palette: Palette, *, compact: bool = False) -> list[Text]:
    item = row.item
    skipped = row.action == "skip"
    base = palette.dim if skipped else ""
    verdict = verdict_cell(item.verdict, palette)
    warning = item.note.startswith("WARNING") or bool(row.warning)
    if row.choice is not None:
        action_style = palette.warning if warning else palette.accent
    else:
        action_style = palette.dim if skipped else (palette.warning if warning else palette.bold)
    label = ACTION_LABEL.get(row.action, row.action) + ("*" if row.choice is not None else "")
    width = SHORT_VALUE if compact else 12
    changed = item.before != row.after
    cells = [
        Text(clean(item.name), style=base),
        verdict,
        Text(label, style=action_style),
        Text(_value(item.before, width), style=base),
        Text("→" if changed else "=", style=palette.dim),
        Text(_value(row.after, width), style=palette.accent if changed else palette.dim),
    ]
    if not compact:
        # A change made by --keep auto needs no note (the header says what each action does).
        note = row.warning or (item.note if skipped or item.note.startswith("WARNING") else "")
        if row.choice is not None and not row.warning:
            note = "your decision"
        cells.append(Text(clean(note), style=palette.warning if warning else palette.dim))
    return cells


def _value(value: str | None, width: int) -> str:
    return short(value)[:width] if value else "(broken)"


def has_note(item) -> bool:
    return item.action.value == "skip" or item.note.startswith("WARNING")


class PlanTable(VirtualTable):
    def __init__(self, rows: list[PlanRow], *, compact: bool = False, id: str | None = None) -> None:
        if compact:
            columns = COMPACT_COLUMNS
        elif any(has_note(row.item) for row in rows):
            columns = PLAN_COLUMNS
        else:  # no "why" to show (until a decision): the ref names get the room
            columns = [Column("name", "ref", flex=True, min_width=20, sortable=False, overflow="middle"), *PLAN_COLUMNS[1:]]
        super().__init__(columns, lambda row, palette: plan_cells(row, palette, compact=compact), empty_text="no ref is both loose and packed", id=id)
        self._initial = rows

    def on_mount(self) -> None:
        self.styles.height = len(self._initial) + 3  # header and border; max-height caps it
        self.set_rows(self._initial, measure=True)


def item_detail(row: PlanRow | None) -> Content:
    """The full story of one plan row (the table cuts long notes)."""
    if row is None:
        return Content("")
    item = row.item
    parts: list = [(clean(item.name), "bold"), "  "]
    if row.action == "skip":
        parts += [("untouched: ", "bold $text-muted"), clean(item.note)]
    else:
        parts += [(ACTION_LABEL.get(row.action, row.action), "bold"), (" (your decision)" if row.choice else ""), ": "]
        if row.action == "keep-packed":
            parts.append(f"remove the loose file ({short(item.before) if item.before else 'broken'}); the packed value {short(item.packed_value)} shows")
        else:
            parts.append(f"drop the packed entry ({short(item.packed_value)}); the value {short(row.after)} stays")
        if row.warning:
            parts += ["\n", ("▲ " + row.warning, "bold $text-warning")]
        elif row.choice is None and item.note.startswith("WARNING"):
            parts += ["\n", (clean(item.note), "bold $text-warning")]
    return Content.assemble(*parts)


def facts_detail(facts: RefFacts | None, loading: bool) -> Content:
    """Both values, one line each where it fits: commit subject, author date, the refs reaching it."""
    if facts is None:
        return Content("reading both values' commits…" if loading else "")
    if facts.error:
        return Content.assemble(("cannot read the values' commits: ", "$text-warning"), clean(facts.error))
    lines: list = []
    for label, value in (("loose ", facts.loose), ("packed", facts.packed)):
        lines += [(label, "bold"), " ", *_value_parts(value), "\n"]
    checked = f"{facts.checked:,} of {facts.total:,}" if facts.checked < facts.total else f"all {facts.total:,}"
    lines.append((f"(reached by: {checked} other refs checked)", "$text-muted"))
    return Content.assemble(*lines)


def _value_parts(value: ValueFacts) -> list:
    if value.oid is None:
        return [("(no value: the loose file is broken)", "$text-warning")]
    parts: list = [(short(value.oid)[:SHORT_VALUE], "$text-accent"), " "]
    if value.kind is None:
        return parts + [("not in the object store", "$text-error")]
    if value.author_time is None:
        return parts + [(f"a {value.kind}, not a commit", "$text-muted")]
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(value.author_time))
    parts += [(clean(value.subject) or "(no subject)", "bold"), " · ", (when, "$text-muted"), " ", clean(value.author), " · "]
    if value.reached_by:
        more = f" +{value.reached_more}" if value.reached_more else ""
        parts += ["reached by ", (", ".join(clean(n) for n in value.reached_by) + more, "$text-success")]
    else:
        parts += [("reached by no other ref", "$text-warning")]
    return parts


class ShadowPreview(DialogScreen[ShadowChoice | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="preview.cancel", tooltip="Close the preview; nothing is changed"),
        Binding("left", "focus_previous_button", "Previous", show=False, id="preview.previous", tooltip="Focus the button on the left"),
        Binding("right", "focus_next_button", "Next", show=False, id="preview.next", tooltip="Focus the button on the right"),
        Binding("p", "decide('packed')", "Keep packed", id="preview.keep_packed", tooltip="This ref: keep the packed value (remove the loose file)"),
        Binding("l", "decide('loose')", "Keep loose", id="preview.keep_loose", tooltip="This ref: keep the loose value (drop the packed entry)"),
        Binding("a", "decide('auto')", "As planned", id="preview.keep_auto", tooltip="This ref: back to what --keep auto planned"),
        # With a button focused, up/down move the plan's cursor (p, l and a act on its row).
        Binding("up", "cursor(-1)", "Previous ref", show=False, id="preview.row_up", tooltip="The ref above"),
        Binding("down", "cursor(1)", "Next ref", show=False, id="preview.row_down", tooltip="The ref below"),
        *scroll_bindings("preview")[2:],  # page up/page down scroll the dialog
    ]
    AUTO_FOCUS = "#cancel"
    DEFAULT_CSS = DIALOG_CSS.format(name="ShadowPreview", width=150) + """
    ShadowPreview #plan-table { max-height: 35vh; min-height: 4; border: round $panel-lighten-2; }
    ShadowPreview .preview-line { height: auto; margin-bottom: 1; }
    ShadowPreview #plan-detail { height: auto; padding: 0 1; }
    ShadowPreview #plan-facts { height: auto; margin-bottom: 1; padding: 0 1; }
    """

    def __init__(self, plan, repo_name: str, *, bulk: bool, confirm_name: str, marked: int, git_dir: str | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.repo_name = repo_name
        self.bulk = bulk
        self.confirm_name = confirm_name
        self.marked = marked
        self.git_dir = git_dir or plan.git_dir
        self.decisions: dict[str, Keep] = {}
        self.facts: dict[str, RefFacts] = {}
        self._rows = [PlanRow(item) for item in plan.changes + plan.skipped]

    @property
    def rows(self) -> list[PlanRow]:
        return [PlanRow(row.item, self.decisions.get(row.name)) for row in self._rows]

    @property
    def change_count(self) -> int:
        return sum(1 for row in self.rows if row.action != "skip")

    @property
    def can_apply(self) -> bool:
        return self.change_count > 0 and not self.plan.refusals

    def compose(self) -> ComposeResult:
        plan = self.plan
        changes = plan.changes
        packed = sum(1 for i in changes if i.action.value == "keep-packed")
        loose = len(changes) - packed
        scope = f"the {self.marked} marked ref{'s' if self.marked != 1 else ''}" if self.marked else "every shadowed ref"
        compact = self.app.size.width < COMPACT_BELOW
        with Vertical(id="dialog"):
            yield Static(
                Content.assemble(("Resolve shadows in ", "bold"), (clean(self.repo_name), "bold $text-accent"), ("  ·  keep auto, ", "bold"), scope),
                id="dialog-title",
            )
            yield Static(
                Content.assemble(
                    (f"{len(changes)} ref changes" if len(changes) == 1 else f"{len(changes)} refs change", "bold"),
                    f" (keep packed {packed} · keep loose {loose}) · {len(plan.skipped)} untouched.  On a row: ",
                    ("p", "bold $text-accent"), " keep packed, ", ("l", "bold $text-accent"), " keep loose, ",
                    ("a", "bold $text-accent"), " as planned.",
                ),
                classes="preview-line",
            )
            yield PlanTable(self.rows, compact=compact, id="plan-table")
            yield Static(id="plan-detail")
            yield Static(id="plan-facts")
            for refusal in plan.refusals:
                yield Static(Content.assemble(("✖ refused: ", "bold $text-error"), clean(str(refusal))), classes="preview-line")
            yield Static(id="apply-note", classes="preview-line")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content("Cancel"), id="cancel", variant="default")
                yield Button(Content("Apply"), id="apply", variant="error")

    def on_mount(self) -> None:
        self._show_state()

    def _show_state(self) -> None:
        """The apply note, the Apply button's label and whether it is there, after each decision."""
        count = self.change_count
        note = self.query_one("#apply-note", Static)
        if self.can_apply:
            lines: list = [
                "Applying re-reads every file under git's locks: if any ref moved since this preview, nothing is written. "
                "Every change is journaled first (J: journal, u: undo)."
            ]
            if self.bulk:
                lines += ["  ", ("Bulk change: ", "bold $text-error"), "you will be asked to type ", (clean(self.confirm_name), "bold"), "."]
            note.update(Content.assemble(*lines))
        elif not self.plan.refusals:
            note.update(Content("Nothing to apply: every shadow here needs a human decision (p or l on its row)."))
        note.display = self.can_apply or not self.plan.refusals
        apply = self.query_one("#apply", Button)
        apply.label = Content(f"Apply {count} change{'s' if count != 1 else ''}" + ("…" if self.bulk else ""))
        apply.display = self.can_apply
        self.query_one("#cancel", Button).label = Content("Cancel" if self.can_apply else "Close")

    @on(VirtualTable.Highlighted, "#plan-table")
    def _highlighted(self, event: VirtualTable.Highlighted) -> None:
        event.stop()
        row = event.row
        self.query_one("#plan-detail", Static).update(item_detail(row))
        self._show_facts(row)

    def _show_facts(self, row: PlanRow | None) -> None:
        if row is None:
            self.query_one("#plan-facts", Static).update(Content(""))
            return
        facts = self.facts.get(row.name)
        self.query_one("#plan-facts", Static).update(facts_detail(facts, loading=facts is None))
        if facts is None:
            item = row.item
            self._read_facts(item.name, item.loose.value, item.packed_value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ref-facts")
    def _read_facts(self, name: str, loose_value: str | None, packed_value: str | None) -> None:
        self.post_message(RefFactsFound(ref_facts(self.git_dir, name, loose_value, packed_value)))

    @on(RefFactsFound)
    def _facts_found(self, message: RefFactsFound) -> None:
        message.stop()
        self.facts[message.facts.name] = message.facts
        current = self.query_one(PlanTable).current
        if current is not None and current.name == message.facts.name:
            self.query_one("#plan-facts", Static).update(facts_detail(message.facts, loading=False))

    def action_cursor(self, step: int) -> None:
        table = self.query_one(PlanTable)
        table.move_cursor(table.cursor + step)

    def action_decide(self, keep: str) -> None:
        table = self.query_one(PlanTable)
        row = table.current
        if row is None:
            return
        item = row.item
        if keep == "auto":
            self.decisions.pop(row.name, None)
        elif keep == "loose" and item.loose.broken_reason:
            self.notify("its loose file is broken: only keep packed can resolve it", title="keep loose", severity="warning", timeout=5, markup=False)
            return
        else:
            choice = Keep(keep)
            if CHOSEN_ACTION[choice] == item.action.value:
                self.decisions.pop(row.name, None)  # what auto does anyway: no decision needed
            else:
                self.decisions[row.name] = choice
        table.set_rows(self.rows)  # the cursor stays on this row
        self.query_one("#plan-detail", Static).update(item_detail(table.current))
        self._show_state()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply" and self.can_apply:
            self.dismiss(ShadowChoice(dict(self.decisions)))
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
