"""A virtual table's row drawn as segments directly is what Rich draws for the same line built
as a ``Text`` (the way the table drew rows before: compose, stylize the cursor, cut or pad to
the width, render). Same text, same cuts, same segments, same styles, for every shape of cell."""

from __future__ import annotations

import random

import pytest
from rich.console import Console
from rich.style import Style
from rich.text import Span, Text

from tui.app.text import middle_truncate
from tui.app.widgets.table_layout import Column
from tui.app.widgets.vtable_cells import MARGIN, line_segments

CONSOLE = Console(width=200, color_system="truecolor")
BASE = Style(color="#e0e0e0", bgcolor="#1e1e1e")
CURSOR = Style(color="#000000", bgcolor="#0178d4", bold=True)
STYLES = [Style(color="red", bold=True), Style(color="#a0a0a0"), Style(italic=True), Style(), "bold", "dim", ""]
WORDS = ["alpha", "gerrit/project-alpha.git", "✓ ok", "▲ stale-lock +2", "日本語のリポジトリ", "…", "", "x", "1,234", "éé"]


def rich_segments(cells, columns, widths, shown, gap, base, width, cursor_style):
    """The line as the table built it through Rich ``Text`` before (the oracle)."""
    line = Text(" " * MARGIN, style=base, no_wrap=True, end="")
    first = True
    for index, (text, column_width) in enumerate(zip(cells, widths)):
        if not shown[index]:
            continue
        if not first:
            line.append(" " * gap)
        first = False
        column = columns[index]
        if column.overflow == "middle" and text.cell_len > column_width:
            first_style = next((span.style for span in text.spans), "")
            text = Text(middle_truncate(text.plain, column_width), style=text.style or first_style)
        else:
            text = text.copy()
        text.no_wrap = True
        text.truncate(column_width, overflow="ellipsis")
        text.align("right" if column.justify == "right" else "left", column_width)
        line.append_text(text)
    if cursor_style is not None:
        line.stylize(cursor_style)
        line.style = base + cursor_style
    line.truncate(width, pad=True)
    return list(line.render(CONSOLE))


def random_cell(rng: random.Random) -> Text:
    text = Text(rng.choice(WORDS) + rng.choice(["", " ", "/" + rng.choice(WORDS)]), style=rng.choice(STYLES))
    for _ in range(rng.randrange(3)):
        if text.plain:
            start = rng.randrange(len(text.plain) + 1)
            end = rng.randrange(start, len(text.plain) + 1)
            text.spans.append(Span(start, end, rng.choice(STYLES)))  # also empty spans
    if rng.random() < 0.2:
        text.overflow = rng.choice(["ellipsis", "fold", "crop", "ignore"])
    return text


def get_style(style):
    return CONSOLE.get_style(style, default=Style.null())


@pytest.mark.parametrize("seed", range(300))
def test_a_line_of_segments_is_what_rich_renders_for_the_same_line(seed):
    rng = random.Random(seed)
    count = rng.randrange(0, 6)
    columns = [
        Column(
            f"c{index}",
            f"c{index}",
            justify=rng.choice(["left", "right"]),
            overflow=rng.choice(["end", "middle"]),
        )
        for index in range(count)
    ]
    widths = [rng.choice([0, 1, 2, 3, 5, 8, 12, 30]) for _ in columns]
    shown = [rng.random() < 0.85 for _ in columns]
    cells = [random_cell(rng) for _ in columns]
    gap = rng.choice([1, 2])
    width = rng.choice([0, 5, 20, 40, 80, 140])
    cursor_style = rng.choice([None, CURSOR, Style()])
    expected = rich_segments(cells, columns, widths, shown, gap, BASE, width, cursor_style)
    got = line_segments(cells, columns, widths, shown, gap, BASE, width, get_style, cursor_style, {})
    assert got == expected


def test_a_repository_row_with_a_long_name_cut_in_the_middle_keeps_its_colours():
    columns = [Column("name", "repo", overflow="middle"), Column("refs", "refs", justify="right")]
    name = Text("gerrit/some/very/long/project/name.git", style=Style(color="red"))
    refs = Text(no_wrap=True)
    refs.append("12", Style(color="green"))
    refs.append("/", Style(dim=True))
    refs.append("0", Style(color="#808080"))
    for cursor_style in (None, CURSOR):
        expected = rich_segments([name, refs], columns, [20, 6], [True, True], 1, BASE, 40, cursor_style)
        got = line_segments([name, refs], columns, [20, 6], [True, True], 1, BASE, 40, get_style, cursor_style)
        assert got == expected
        assert "".join(segment.text for segment in got) == " gerrit/so…t/name.git   12/0" + " " * 12
