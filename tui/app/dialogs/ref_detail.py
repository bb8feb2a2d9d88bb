"""Every value of one ref: loose, packed, peeled, symbolic target, verdict, why it is broken."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.app.text import clean
from tui.core.model import Ref, Verdict

VERDICT_MEANING = {
    Verdict.IDENTICAL: "loose and packed hold the same value: harmless.",
    Verdict.DEAD_PACKED: "the loose value is newer (a normal update); the packed value is dead: harmless.",
    Verdict.STALE_LOOSE: "the packed value is NEWER than the loose file git reads: clients see an old state. "
    "Do not run git gc / pack-refs / prune until it is resolved.",
    Verdict.DIVERGED: "loose and packed are on unrelated histories; git shows the loose value.",
    Verdict.BROKEN_LOOSE: "the loose file cannot be parsed and hides the packed value: the ref is broken.",
    Verdict.MISSING_OBJECT: "one of the values is not in the object store.",
    Verdict.UNDECIDABLE: "the values differ and are not both commits: gitward cannot tell which is newer.",
}


class RefDetail(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", id="ref_detail.close", tooltip="Close the details"),
    ]

    DEFAULT_CSS = """
    RefDetail { align: center middle; }
    RefDetail > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    RefDetail #ref-detail-title { text-style: bold; margin-bottom: 1; }
    """

    def __init__(self, ref: Ref) -> None:
        super().__init__()
        self.ref = ref

    def compose(self) -> ComposeResult:
        ref = self.ref
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        rows = [
            ("name", ref.name),
            ("resolves to", ref.value or "(nothing: broken)"),
            ("source", ref.source.value),
            ("loose value", ref.loose_value or ("-" if ref.source.value == "packed" else "(none)")),
            ("packed value", ref.packed_value or "-"),
            ("peeled", ref.peeled or "-"),
            ("symbolic target", ref.symbolic_target or "-"),
            ("verdict", ref.verdict.value if ref.verdict else "-"),
        ]
        if ref.broken_reason:
            rows.append(("broken because", ref.broken_reason))
        for label, value in rows:
            table.add_row(Text(label), Text(clean(value)))
        with Vertical():
            yield Static(Text("ref details (escape closes)"), id="ref-detail-title")
            yield Static(table)
            if ref.verdict is not None:
                yield Static(Text("\n" + VERDICT_MEANING[ref.verdict]))

    def action_close(self) -> None:
        self.dismiss(None)
