"""A virtual table's cells: the palette row renderers colour them with, and one row's line.

Kept apart from ``vtable`` (the widget: scrolling, cursor, cache) because row renderers and
the table's drawing share them, and neither needs the other's machinery."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text

from tui.app.filtering import FieldValues
from tui.app.text import middle_truncate
from tui.app.widgets.table_layout import Column

MARGIN = 1  # space before the first column

__all__ = ["MARGIN", "Palette", "RowDescriber", "RowRenderer", "compose_line"]


@dataclass(slots=True)
class Palette:
    """Rich styles for cell text, resolved from the table's component classes (theme aware)."""

    error: Style
    warning: Style
    info: Style
    ok: Style
    dim: Style
    accent: Style
    bold: Style

    def severity(self, name: str | None) -> Style:
        return {"error": self.error, "warning": self.warning, "info": self.info}.get(name or "", self.ok)


RowRenderer = Callable[[Any, Palette], Sequence[Text]]
# What the ``/`` filter sees of a row: its name (a regex matches the name alone), the text a
# plain filter searches (None: the name), and the fields ``field:value`` can ask for.
RowDescriber = Callable[[Any], tuple[str, str | None, FieldValues | None]]


def compose_line(
    cells: Sequence[Text], columns: Sequence[Column], widths: Sequence[int], shown: Sequence[bool], gap: int, base: Style
) -> Text:
    """One row as a line: the shown columns' cells cut (at the end, or in the middle where the
    column says so) and aligned to their widths, ``gap`` spaces apart."""
    line = Text(" " * MARGIN, style=base, no_wrap=True, end="")
    first = True
    for index, (text, width) in enumerate(zip(cells, widths)):
        if not shown[index]:
            continue
        if not first:
            line.append(" " * gap)
        first = False
        column = columns[index]
        if column.overflow == "middle" and text.cell_len > width:
            text = Text(middle_truncate(text.plain, width), style=text.style or _first_style(text))
        else:
            text = text.copy()
        text.no_wrap = True
        text.truncate(width, overflow="ellipsis")
        text.align("right" if column.justify == "right" else "left", width)
        line.append_text(text)
    return line


def _first_style(text: Text) -> Style | str:
    """The style of a single-style cell (spans are dropped when a cell is cut in the middle)."""
    for span in text.spans:
        return span.style
    return ""
