"""A virtual table: draws only the rows on screen, so 200,000 rows cost a page.

Textual's ``DataTable`` measures every cell it is given (about 0.3 ms a row here), which
freezes the UI for seconds on a big ref store and for half a second when a 2,200-repo table
is re-filtered. This widget keeps a ``Sequence`` of row objects and a render function; a row
is turned into text only when it is drawn (Line API, ``ScrollView``), and the last few
hundred drawn lines are cached.

Cells are ``rich.text.Text`` objects made by the owner (never markup strings); styles for
severities come from this widget's component classes, so they follow the theme.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.app.filtering import RowFilter
from tui.app.widgets.scrolling import set_virtual_size
from tui.app.widgets.table_layout import Column, fit_columns
from tui.app.widgets.vtable_cells import MARGIN, Palette, RowDescriber, RowRenderer, header_line, line_segments

GAP = 2  # spaces between columns

__all__ = ["VirtualTable", "Column", "Palette", "RowRenderer", "RowDescriber", "GAP", "MARGIN"]


class VirtualTable(ScrollView, can_focus=True):
    """Rows of any type, drawn on demand; a row cursor; a fixed header; sort arrows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up", tooltip="Move the cursor up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down", tooltip="Move the cursor down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="table.page_up", tooltip="One page up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="table.page_down", tooltip="One page down"),
        Binding("home,g", "first", "First row", show=False, id="table.first", tooltip="Go to the first row"),
        Binding("end,G", "last", "Last row", show=False, id="table.last", tooltip="Go to the last row"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="table.left", tooltip="Scroll left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="table.right", tooltip="Scroll right"),
        Binding("enter", "select", "Open", show=False, id="table.select", tooltip="Open the row under the cursor"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header",
        "vtable--cursor",
        "vtable--empty",
        "vtable--error",
        "vtable--warning",
        "vtable--info",
        "vtable--ok",
        "vtable--dim",
        "vtable--accent",
        "vtable--bold",
    }

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        & > .vtable--header { text-style: bold; background: $panel; color: $foreground; }
        & > .vtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .vtable--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .vtable--empty { color: $text-muted; text-style: italic; }
        & > .vtable--error { color: $text-error; text-style: bold; }
        & > .vtable--warning { color: $text-warning; }
        & > .vtable--info { color: $text-primary; }
        & > .vtable--ok { color: $text-success; }
        & > .vtable--dim { color: $text-muted; }
        & > .vtable--accent { color: $text-accent; }
        & > .vtable--bold { text-style: bold; }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class RowMessage(Message):
        """Something happened to one row."""

        def __init__(self, table: VirtualTable, index: int, row: Any) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.row = row

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Highlighted(RowMessage):
        """The cursor moved to another row."""

    class Selected(RowMessage):
        """Enter (or a double click) on a row."""

    class HeaderClicked(Message):
        """A click on a column header (the owner decides how to sort)."""

        def __init__(self, table: VirtualTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        render_row: RowRenderer,
        *,
        empty_text: str = "nothing to show",
        gap: int = GAP,
        describe: RowDescriber | None = None,
        filter_fields: Sequence[str] = (),
        pin: int = 1,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._columns: list[Column] = list(columns)
        self._render_row = render_row
        self._rows: Sequence[Any] = ()
        self._unfiltered: Sequence[Any] = ()
        self._describe = describe
        self.filter_fields: tuple[str, ...] = tuple(filter_fields)
        self.row_filter = RowFilter()
        self.empty_text = empty_text
        self.gap = gap
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._widths: list[int] = []
        self._shown: list[bool] = []
        self._layout_size = Size(0, 0)  # the size the widths were computed for
        self.pin = pin
        self._measured: dict[str, int] = {}
        self._full: dict[str, int] = {}
        self._generation = 0
        self._lines: LRUCache[tuple, Any] = LRUCache(512)  # (row, Strip); the header: Strip
        self._palette: Palette | None = None
        self._combined_styles: dict[tuple[Style, ...], Style] = {}  # line_segments' cache
        self._frame_base: Style | None = None  # rich_style while render_lines draws a frame

    # --- data -----------------------------------------------------------------------------------

    @property
    def rows(self) -> Sequence[Any]:
        return self._rows

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def current(self) -> Any | None:
        """The row under the cursor, or None when the table is empty."""
        if 0 <= self.cursor < len(self._rows):
            return self._rows[self.cursor]
        return None

    @property
    def columns(self) -> list[Column]:
        return list(self._columns)

    def set_columns(self, columns: Sequence[Column]) -> None:
        self._columns = list(columns)
        self._measured.clear()
        self._full.clear()
        self._invalidate(layout=True)

    @property
    def total_count(self) -> int:
        """Rows before the ``/`` filter (``row_count`` is what is shown)."""
        return len(self._unfiltered) if self._describe is not None else len(self._rows)

    @property
    def empty_message(self) -> str:
        """What an empty table says: its ``empty_text``, or that the filter hides every row."""
        hidden = len(self._unfiltered) if self._describe is not None else 0
        if hidden and self.row_filter.active:
            return f"nothing matches the filter ({hidden:,} hidden; escape clears it)"
        return self.empty_text

    def _filtered(self, rows: Sequence[Any]) -> Sequence[Any]:
        row_filter = self.row_filter
        describe = self._describe
        if describe is None or not row_filter.active:
            return rows
        return [row for row in rows if row_filter.matches(*describe(row))]

    def set_filter(self, row_filter: RowFilter) -> None:
        """Show only the rows ``row_filter`` passes (tables built with ``describe``); the row under
        the cursor stays under it when it passes."""
        current = self.current
        self.row_filter = row_filter
        shown = self._filtered(self._unfiltered)
        cursor = 0
        if current is not None:
            for index, row in enumerate(shown):
                if row is current:
                    cursor = index
                    break
        self._show(shown, cursor, measure=False)

    def set_rows(
        self, rows: Sequence[Any], *, cursor: int | None = None, measure: bool = False, redraw: bool = True
    ) -> None:
        """Show ``rows`` (those the filter passes); keep the cursor index (clamped) unless ``cursor`` is given.

        ``redraw=False``: the owner promises a row object is never changed in place (a changed
        row is a new object), so lines already drawn for the same objects are reused while
        rows stream in; only a new column layout draws them again."""
        self._unfiltered = rows
        self._show(self._filtered(rows), cursor, measure=measure, redraw=redraw)

    def _show(self, rows: Sequence[Any], cursor: int | None, *, measure: bool, redraw: bool = True) -> None:
        on_screen = self._on_screen()
        self._rows = rows
        if measure:
            self._measured.clear()
            self._full.clear()
        target = self.cursor if cursor is None else cursor
        target = max(0, min(target, len(rows) - 1)) if rows else 0
        if redraw:
            self._invalidate(layout=True)
        else:
            layout = (self._widths, self._shown, self.virtual_size.width)
            self._layout(repaint=False)
            if (self._widths, self._shown, self.virtual_size.width) != layout:
                self._generation += 1
                self._lines.clear()
                self.refresh()
            elif not self._same_on_screen(on_screen):
                self.refresh()
            # else: what the page shows is what it showed (the rows arrived below it; at 20,000
            # repositories most batches): only the scrollbar changed, and it was updated.
            # Drawing the page again cost ~5 ms of Textual's styles per batch.
        self.cursor = target  # always_update: announces the row under the cursor

    def _on_screen(self) -> tuple[list[Any], str | None]:
        """The rows the page shows now, and what it says when it shows none."""
        top = round(self.scroll_y)
        rows = list(self._rows[top : top + self.page_height])
        return rows, None if rows else self.empty_message

    def _same_on_screen(self, before: tuple[list[Any], str | None]) -> bool:
        rows, message = self._on_screen()
        return message == before[1] and len(rows) == len(before[0]) and all(a is b for a, b in zip(rows, before[0]))

    def refresh_rows(self) -> None:
        """Redraw after the row objects changed in place (e.g. commit dates arrived)."""
        self._invalidate(layout=False)

    def refresh_rows_where(self, changed: Callable[[Any], bool]) -> None:
        """Redraw only the rows ``changed`` picks (changed in place: commit dates arrived for
        them): their cached lines are dropped and the visible ones redrawn; every other line
        stays as drawn (a full refresh re-renders the page each time a batch of dates arrives)."""
        rows = self._rows
        top = round(self.scroll_y)
        visible = range(top, min(len(rows), top + self.page_height))
        # Row lines are cached by row object (render_line): (id(row), ...) -> (row, strip).
        for key in list(self._lines.keys()):
            if key[0] in ("header", "blank"):
                continue
            cached = self._lines.get(key)
            if cached is not None and changed(cached[0]):
                self._lines.discard(key)
        for index in visible:
            if changed(rows[index]):
                self.refresh_line(index + 1)  # virtual lines, as Textual counts them: the header is 0

    def _invalidate(self, *, layout: bool) -> None:
        self._generation += 1
        self._lines.clear()
        if layout:
            self._layout()
        self.refresh()

    # --- layout ---------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        if self.size != self._layout_size:
            self._invalidate(layout=True)
        # else: render_lines laid the columns out for this size already (the first frame)

    def render_lines(self, crop: Region) -> list[Strip]:
        # The style under every row, once a frame (it walks the DOM): ~0.05 ms a row otherwise.
        self._frame_base = self.rich_style
        if self.size != self._layout_size:
            # Painted at a size its Resize event has not announced yet: the screen's first
            # frame is drawn before that event is handled, and with the columns laid out for
            # no width its header was blank until a second frame (~30 ms later on start-up).
            self._generation += 1
            self._lines.clear()
            self._layout()
        try:
            return super().render_lines(crop)
        finally:
            self._frame_base = None

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        self._palette = None
        self._invalidate(layout=False)

    def _arrow(self, column: Column) -> str:
        if column.key != self.sort_column:
            return ""
        return "▼" if self.sort_reverse else "▲"

    def _measure(self) -> None:
        """Content widths of the columns without a fixed width, from the first 500 rows.

        One pass renders each row once for every unmeasured column (not once per column).
        ``_measured`` is capped at ``max_width``; ``_full`` is the uncapped width (spare width
        on a wide terminal goes to capped columns first, so a cut reason is shown whole).
        """
        pending = [(i, c) for i, c in enumerate(self._columns) if not c.width and c.key not in self._measured]
        if not pending:
            return
        palette = self.palette
        widest = [0] * len(pending)
        for row in self._rows[:500]:
            cells = self._render_row(row, palette)
            for slot, (index, _column) in enumerate(pending):
                widest[slot] = max(widest[slot], cells[index].cell_len)
        for (_index, column), width in zip(pending, widest):
            self._full[column.key] = width
            self._measured[column.key] = min(width, column.max_width) if column.max_width else width

    def _layout(self, *, repaint: bool = True) -> None:
        """Column widths for the widget's width (table_layout.fit_columns). ``repaint=False``:
        the caller repaints what changed (the scrollbars follow the rows here in any case)."""
        self._layout_size = self.size
        if not self._columns:
            self._widths = []
            self._shown = []
            set_virtual_size(self, Size(self.size.width, len(self._rows) + 1), repaint=repaint)
            return
        self._measure()
        content = [c.width or self._measured[c.key] for c in self._columns]
        full = [self._full.get(c.key, 0) for c in self._columns]
        available = self._available_width()
        self._widths, self._shown, total = fit_columns(self._columns, content, full, available, self.gap, MARGIN)
        set_virtual_size(self, Size(max(total, available), len(self._rows) + 1), repaint=repaint)

    @property
    def shown_columns(self) -> list[Column]:
        """The columns drawn at this width (some give way on a narrow terminal)."""
        return [c for c, on in zip(self._columns, self._shown) if on]

    @property
    def pinned_width(self) -> int:
        """Cells that stay put when the table scrolls sideways: the margin and the first
        ``pin`` shown columns with their gaps (the row's name stays readable)."""
        if not self.pin or not self._widths:
            return 0
        width = MARGIN
        count = 0
        for column_width, on in zip(self._widths, self._shown):
            if not on:
                continue
            width += column_width + self.gap
            count += 1
            if count == self.pin:
                break
        return width

    def _available_width(self) -> int:
        """Cells for the columns: the widget width less a vertical scrollbar when rows overflow."""
        width = self.size.width
        if len(self._rows) + 1 > self.size.height and self.styles.overflow_y != "hidden":
            width -= self.styles.scrollbar_size_vertical
        return max(0, width)

    @property
    def palette(self) -> Palette:
        if self._palette is None:
            # Full (not partial) styles: theme colours with alpha ($text-muted) are blended
            # with the table's background here; a partial style would lose that on light themes.
            def style(name: str) -> Style:
                full = self.get_component_rich_style(name)
                return Style(color=full.color, bold=full.bold, italic=full.italic, dim=full.dim)

            self._palette = Palette(
                error=style("vtable--error"),
                warning=style("vtable--warning"),
                info=style("vtable--info"),
                ok=style("vtable--ok"),
                dim=style("vtable--dim"),
                accent=style("vtable--accent"),
                bold=style("vtable--bold"),
            )
        return self._palette

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None
        self._lines.clear()

    # --- rendering ------------------------------------------------------------------------------

    def _compose_header(self, base: Style) -> Text:
        arrows = [self._arrow(column) for column in self._columns]
        return header_line(self._columns, self._widths, self._shown, self.gap, base, arrows)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width or self.size.width
        virtual_width = max(self.virtual_size.width, width)
        focused = self.has_focus
        if y == 0:
            key: tuple = ("header", self._generation, virtual_width, self.sort_column, self.sort_reverse)
            strip = self._lines.get(key)
            if strip is None:
                base = self.rich_style + self.get_component_rich_style("vtable--header")
                strip = self._to_strip(self._compose_header(base), base, virtual_width)
                self._lines[key] = strip
            return self._visible_part(strip, scroll_x, width)
        index = scroll_y + y - 1
        if index >= len(self._rows):
            if index == 0 and not self._rows:
                base = self.rich_style + self.get_component_rich_style("vtable--empty")
                return self._to_strip(Text(" " * MARGIN + self.empty_message, style=base), base, width)
            key = ("blank", self._generation, width)  # rich_style walks the DOM: once, not per line
            blank = self._lines.get(key)
            if blank is None:
                blank = self._lines[key] = Strip.blank(width, self.rich_style)
            return blank
        is_cursor = index == self.cursor
        row = self._rows[index]
        # Keyed by the row object (kept beside the strip: an id can be reused), not its index:
        # rows inserted above it while a scan streams in do not draw it again.
        key = (id(row), self._generation, virtual_width, is_cursor and focused, is_cursor)
        cached = self._lines.get(key)
        strip = cached[1] if cached is not None and cached[0] is row else None
        if strip is None:
            cells = self._render_row(row, self.palette)
            # On the cursor, its style goes on top of the cell colours: coloured text on the
            # cursor bar is unreadable; the severity symbols stay.
            cursor_style = self.get_component_rich_style("vtable--cursor") if is_cursor else None
            if len(self._combined_styles) > 4096:  # styles combined for earlier themes and cursors
                self._combined_styles.clear()
            segments = line_segments(
                cells,
                self._columns,
                self._widths,
                self._shown,
                self.gap,
                self.rich_style if self._frame_base is None else self._frame_base,
                virtual_width,
                self._get_style,
                cursor_style,
                self._combined_styles,
            )
            strip = Strip(segments, virtual_width)
            self._lines[key] = (row, strip)
        return self._visible_part(strip, scroll_x, width)

    def _visible_part(self, strip: Strip, scroll_x: int, width: int) -> Strip:
        """The cells on screen: the pinned columns, then the rest scrolled by ``scroll_x``."""
        pinned = self.pinned_width
        if not scroll_x or not pinned or pinned >= width:
            return strip.crop(scroll_x, scroll_x + width)
        return Strip.join([strip.crop(0, pinned), strip.crop(pinned + scroll_x, scroll_x + width)])

    def _get_style(self, style: Style | str) -> Style:
        """A span's style as Rich's ``Text.render`` resolves it (a name through the console)."""
        return self.app.console.get_style(style, default=Style.null())

    def _to_strip(self, line: Text, base: Style, width: int) -> Strip:
        line.truncate(width, pad=True)
        segments = list(line.render(self.app.console))
        return Strip(segments, width)

    # --- cursor ---------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        top = round(self.scroll_y)
        self._scroll_to_cursor()
        if round(self.scroll_y) == top:
            # Two lines changed, not the page: a full refresh drew every line again through
            # Textual's styles (~0.1 ms a line) on each key press, while a scan streams in too.
            self.refresh_line(old + 1)  # (virtual lines: the header is line 0)
            self.refresh_line(new + 1)
        # else: scrolling refreshed the page
        self.post_message(self.Highlighted(self, new, self.current))

    def on_focus(self) -> None:
        self._lines.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._lines.clear()
        self.refresh()

    @property
    def page_height(self) -> int:
        return max(1, (self.scrollable_content_region.height or self.size.height) - 1)

    def _scroll_to_cursor(self) -> None:
        top = round(self.scroll_y)
        page = self.page_height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + page:
            self.scroll_to(y=self.cursor - page + 1, animate=False, immediate=True)

    def move_cursor(self, index: int) -> None:
        if not self._rows:
            return
        self.cursor = max(0, min(index, len(self._rows) - 1))

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self.page_height)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self.page_height)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._rows) - 1)

    def action_scroll_left(self) -> None:
        self.scroll_to(x=max(0, self.scroll_x - 8), animate=False)

    def action_scroll_right(self) -> None:
        self.scroll_to(x=self.scroll_x + 8, animate=False)

    def action_select(self) -> None:
        if self.current is not None:
            self.post_message(self.Selected(self, self.cursor, self.current))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x)
            if column is not None and column.sortable:
                self.post_message(self.HeaderClicked(self, column.key))
            return
        index = round(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self._rows):
            self.cursor = index
            if event.chain >= 2:
                self.post_message(self.Selected(self, index, self._rows[index]))

    def _column_at(self, x: int) -> Column | None:
        """The column at content cell ``x`` (as drawn: pinned columns do not scroll)."""
        position = MARGIN
        pinned = self.pinned_width
        scroll_x = round(self.scroll_x)
        if scroll_x and pinned and x >= pinned:
            x += scroll_x
        for column, width, on in zip(self._columns, self._widths, self._shown):
            if not on:
                continue
            if position <= x < position + width + self.gap:
                return column
            position += width + self.gap
        return None
