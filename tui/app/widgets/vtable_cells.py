"""A virtual table's cells: the palette row renderers colour them with, and one row's line.

Kept apart from ``vtable`` (the widget: scrolling, cursor, cache) because row renderers and
the table's drawing share them, and neither needs the other's machinery."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from bisect import insort
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from tui.app.filtering import FieldValues
from tui.app.text import middle_truncate
from tui.app.widgets.table_layout import Column

MARGIN = 1  # space before the first column

__all__ = ["MARGIN", "Palette", "RowDescriber", "RowRenderer", "header_line", "line_segments"]


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


def header_line(
    columns: Sequence[Column], widths: Sequence[int], shown: Sequence[bool], gap: int, base: Style, arrows: Sequence[str]
) -> Text:
    """The header: the labels; a column's sort arrow (``arrows``, "" for none) goes after its
    label when the column has room, else into the gap beside it (before a right-aligned label,
    after a left-aligned one)."""
    line = Text(" " * MARGIN, style=base, no_wrap=True, end="")
    pending_arrow = ""  # an arrow that spills into the gap after the previous column
    first = True
    for index, (column, width) in enumerate(zip(columns, widths)):
        if not shown[index]:
            continue
        arrow = arrows[index]
        label = column.label
        spill_before = spill_after = ""
        if arrow and len(label) + 2 <= width:
            label = f"{label} {arrow}"
        elif arrow and len(label) + 1 <= width:
            label = f"{label}{arrow}"
        elif arrow and column.justify == "right" and not first:
            spill_before = arrow
        elif arrow:
            spill_after = arrow
        if not first:
            spacer = " " * gap
            if pending_arrow:
                spacer = pending_arrow + spacer[1:]
            if spill_before:
                spacer = spacer[:-1] + spill_before
            line.append(spacer)
        first = False
        pending_arrow = spill_after
        text = Text(label, no_wrap=True)
        text.truncate(width, overflow="ellipsis")
        text.align("right" if column.justify == "right" else "left", width)
        line.append_text(text)
    if pending_arrow:
        line.append(pending_arrow)  # the last column: the table's one spare cell
    return line


def line_segments(
    cells: Sequence[Text],
    columns: Sequence[Column],
    widths: Sequence[int],
    shown: Sequence[bool],
    gap: int,
    base: Style,
    width: int,
    get_style: Callable[[Style | str], Style],
    cursor_style: Style | None = None,
    combined: dict[tuple[Style, ...], Style] | None = None,
) -> list[Segment]:
    """One row as the segments of a line ``width`` cells wide: the shown columns' cells cut
    (at the end, or in the middle where the column says so) and aligned to their widths, ``gap``
    spaces apart; on the cursor, its style over the cells' colours.

    The segments are those Rich renders for that line built as a ``Text`` (``truncate``,
    ``align``, ``append_text``, ``stylize``, ``render``: each step is Rich's, done on a string
    and a list of spans). Through ``Text`` a row cost ~0.37 ms, most of the event loop's frame
    while a scan streams rows in; tests/app/test_vtable_segments.py holds both to the same
    output. ``get_style`` resolves a style name (``Console.get_style``); ``combined``: a cache
    of combined styles the caller keeps between lines."""
    parts = [" " * MARGIN]
    spans: list[tuple[int, int, Style | str]] = []
    offset = MARGIN
    spacer = " " * gap
    first = True
    line_cells = MARGIN - gap  # the line's width in cells so far (no gap before the first cell)
    for index, (text, column_width) in enumerate(zip(cells, widths)):
        if not shown[index]:
            continue
        if not first:
            parts.append(spacer)
            offset += gap
        first = False
        column = columns[index]
        plain = text.plain
        style = text.style
        cell_spans = text.spans
        if column.overflow == "middle" and text.cell_len > column_width:
            cut = Text(middle_truncate(plain, column_width), style=style or _first_style(text))
            plain, style, cell_spans = cut.plain, cut.style, []
            overflow = None
        else:
            overflow = text.overflow
        if cell_len(plain) > column_width:  # truncate(width, overflow="ellipsis")
            plain, cell_spans = _set_plain(plain, set_cell_size(plain, column_width - 1) + "…", cell_spans)
        if cell_len(plain) > column_width and overflow != "ignore":  # align's own truncate: a zero width
            cut = set_cell_size(plain, column_width - 1) + "…" if overflow == "ellipsis" else set_cell_size(plain, column_width)
            plain, cell_spans = _set_plain(plain, cut, cell_spans)
        cells_wide = cell_len(plain)
        excess = column_width - cells_wide
        if excess and column.justify == "right":
            plain = " " * excess + plain
            cell_spans = [(start + excess, end + excess, span_style) for start, end, span_style in cell_spans]
        elif excess:
            plain += " " * excess
        line_cells += gap + cells_wide + max(0, excess)
        size = len(plain)
        if style:
            spans.append((offset, offset + size, style))
        spans.extend((start + offset, end + offset, span_style) for start, end, span_style in cell_spans)
        parts.append(plain)
        offset += size
    line = "".join(parts)
    line_style = base
    if cursor_style is not None:  # stylize(cursor_style) over the line; the padding has the line's style
        if cursor_style and line:
            spans.append((0, len(line), cursor_style))
        line_style = base + cursor_style
    # Measuring the whole line again is most of a line's cost when it holds a wide or special
    # character (Rich then sums it character by character); the cells' widths add up to it,
    # unless a joiner or a variation selector might join characters across two cells.
    length = cell_len(line) if first or "\u200d" in line or "\ufe0f" in line else line_cells
    if length > width:  # truncate(width, pad=True) with the line's overflow (fold)
        line, spans = _set_plain(line, set_cell_size(line, width), spans)
    elif length < width:
        line += " " * (width - length)
    return _render(line, spans, line_style, get_style, {} if combined is None else combined)


def _set_plain(old: str, new: str, spans: Sequence[tuple[int, int, Any]]) -> tuple[str, Sequence[tuple[int, int, Any]]]:
    """Rich's ``Text.plain = new``: spans are cut at the new end (those starting there or
    after dropped) only when the text got shorter."""
    if new == old or len(new) >= len(old):
        return new, spans
    end = len(new)
    return new, [(start, min(stop, end), style) for start, stop, style in spans if start < end]


def _render(
    text: str, spans: list[tuple[int, int, Any]], line_style: Style, get_style, combined: dict
) -> list[Segment]:
    """``Text.render``: a segment between each two span edges, styled by the line's style and
    the spans over it (in the order they were added)."""
    if not spans:
        return [Segment(text)]  # Rich's shortcut: no style at all, not even the line's
    style_map = [line_style if isinstance(line_style, Style) else get_style(line_style)]
    style_map += [span[2] if isinstance(span[2], Style) else get_style(span[2]) for span in spans]
    edges = [
        (0, False, 0),
        *((span[0], False, index) for index, span in enumerate(spans, 1)),
        *((span[1], True, index) for index, span in enumerate(spans, 1)),
        (len(text), True, 0),
    ]
    edges.sort(key=itemgetter(0, 1))
    stack: list[int] = []  # the spans over the text here, in the order they were added
    segments = []
    append = segments.append
    for (offset, leaving, style_id), (next_offset, _, _) in zip(edges, edges[1:]):
        if leaving:
            stack.remove(style_id)
        else:
            insort(stack, style_id)
        if next_offset > offset:
            styles = tuple([style_map[style_id] for style_id in stack])
            style = combined.get(styles)
            if style is None:
                style = combined[styles] = Style.combine(styles)
            append(Segment(text[offset:next_offset], style))
    return segments


def _first_style(text: Text) -> Style | str:
    """The style of a single-style cell (spans are dropped when a cell is cut in the middle)."""
    for span in text.spans:
        return span.style
    return ""
