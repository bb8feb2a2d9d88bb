"""How a table's columns share the width it has: pure arithmetic, no Textual (tested alone).

At 80 columns the name and the verdict must stay; the value and the age give way. At 250 the
width must be used where text was cut (a prunable reason), not only by the widest column. The
widths never depend on the sort: the sort arrow is drawn inside a column or its gap, so sorting
cannot push the last column off screen ("last fetc").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Column", "fit_columns"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int = 0  # content width; 0: measured from the rows on first layout
    min_width: int = 3
    flex: bool = False  # shrinks first when space is short (and grows into spare space, see grow)
    grow: bool = True  # a flex column also takes the spare width
    justify: str = "left"  # "left" | "right"
    sortable: bool = True
    max_width: int = 0  # cap for a measured width (0: none); lifted when the table has spare width
    overflow: str = "end"  # where a long cell is cut: "end" or "middle" (paths)
    give_way: int = 0  # > 0: hidden when the table is too narrow, highest first (value, age...)


def fit_columns(
    columns: Sequence[Column],
    content: Sequence[int],
    full: Sequence[int],
    available: int,
    gap: int,
    margin: int,
) -> tuple[list[int], list[bool], int]:
    """Widths, which columns are shown, and the line's total width.

    ``content``: each column's width (fixed, or measured and capped at ``max_width``);
    ``full``: the measured width before the cap (0 when unknown).

    Too narrow: the flex column shrinks to its minimum, and columns with ``give_way`` hide,
    highest first, until the rest fits (or none is left to hide: the table scrolls sideways).
    Spare width: capped columns grow to their content first (smallest need first), then the
    flex column (``grow``).
    """
    widths = [max(size, len(column.label), column.min_width) for column, size in zip(columns, content)]
    shown = [True] * len(columns)
    flex = next((i for i, c in enumerate(columns) if c.flex), None)

    def total() -> int:
        visible = [w for w, on in zip(widths, shown) if on]
        return margin + sum(visible) + gap * (len(visible) - 1) + 1

    slack = 0
    if flex is not None:
        slack = max(0, widths[flex] - max(columns[flex].min_width, len(columns[flex].label)))
    by_priority = sorted((i for i, c in enumerate(columns) if c.give_way > 0), key=lambda i: (-columns[i].give_way, -i))
    for index in by_priority:
        if total() - slack <= available:
            break
        shown[index] = False
    excess = total() - available
    if excess > 0:
        if flex is not None:
            widths[flex] -= min(excess, slack)
    elif excess < 0:
        spare = -excess
        # The smallest needs first: as many cut cells as possible become whole.
        capped = sorted(
            (full[i] - widths[i], i) for i, c in enumerate(columns) if shown[i] and c.max_width and full[i] > widths[i]
        )
        for need, index in capped:
            grow = min(spare, need)
            widths[index] += grow
            spare -= grow
        if flex is not None and columns[flex].grow and spare > 0:
            widths[flex] += spare
    return widths, shown, total()
