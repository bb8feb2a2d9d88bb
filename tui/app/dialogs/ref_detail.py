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
from tui.core import verdicts
from tui.core.model import Ref

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
            ("verdict", verdicts.label(ref.verdict) if ref.verdict else "-"),
        ]
        if ref.broken_reason:
            rows.append(("broken because", ref.broken_reason))
        for label, value in rows:
            table.add_row(Text(label), Text(clean(value)))
        with Vertical():
            yield Static(Text("ref details (escape closes)"), id="ref-detail-title")
            yield Static(table)
            if ref.verdict is not None:
                yield Static(Text("\n" + verdicts.meaning(ref.verdict)))

    def action_close(self) -> None:
        self.dismiss(None)
