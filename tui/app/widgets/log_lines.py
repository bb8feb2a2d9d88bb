"""Draws a ``LogModel`` a screenful at a time (Line API); follows the end unless paused.

Every line is untrusted text (git's and the remote's output, already sanitised and redacted by
the core) and becomes a ``rich.text.Text`` built with ``append``: markup is never parsed.
Scrolling up pauses; ``end`` follows again.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.control import strip_control_codes
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.app.filtering import RowFilter
from tui.app.widgets.log_model import (
    GUTTER,
    KEY,
    ORIGIN,
    ORIGIN_GITWARD,
    ORIGIN_MARKER,
    SHOWN,
    TIME,
    Applied,
    Entry,
    LogModel,
    stamp,
)
from tui.app.widgets.scrolling import set_virtual_size

__all__ = ["LogLines", "STAMP_WIDTH"]

STAMP_WIDTH = 13  # "12:00:01.250 "
_ERROR_LINE = re.compile(r"^(?:remote: )?(?:fatal|error|ERROR|FATAL)\b")


class LogLines(ScrollView, can_focus=True):
    """Draws the model's lines that are on screen; follows the end unless paused."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-lines--stamp",
        "log-lines--gitward",
        "log-lines--marker",
        "log-lines--error",
        "log-lines--match",
        "log-lines--current-match",
    }

    DEFAULT_CSS = """
    LogLines {
        background: $surface;
        color: $foreground;
        height: 1fr;
        overflow-x: auto;
        overflow-y: auto;
        &:focus { background-tint: $foreground 4%; }
        & > .log-lines--stamp { color: $text-muted; }
        & > .log-lines--gitward { color: $text-accent; }
        & > .log-lines--marker { color: $text-warning; text-style: italic; }
        & > .log-lines--error { color: $text-error; text-style: bold; }
        & > .log-lines--match { background: $warning 25%; }
        & > .log-lines--current-match { background: $warning 60%; text-style: bold; }
    }
    """

    class FollowChanged(Message):
        """The operator scrolled away from the end (paused) or back to it (following)."""

        def __init__(self, follow: bool) -> None:
            super().__init__()
            self.follow = follow

    def __init__(self, model: LogModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.follow = True
        self.wrap = False
        self.timestamps = False
        self.unseen = 0  # lines that arrived while paused
        self._strips: LRUCache[tuple, Strip] = LRUCache(256)  # a few screens; a Strip is ~9 objects for the GC
        self._pieces: LRUCache[tuple, Sequence[Strip]] = LRUCache(128)
        self._styles: dict[str, Style] | None = None
        self._base: Style | None = None  # self.rich_style, which walks the ancestors: once per style change
        # Wrap mode: the first row of each entry (absolute; entry i starts at row _starts[i] -
        # _starts[0]); _end is one past the last row.
        self._starts: list[int] = []
        self._end = 0
        self._wrap_width = 0
        # The / search: the lines that match (by entry key) and the one n/N is on.
        self.search_filter: RowFilter = RowFilter()
        self._match_keys: set[int] = set()
        self._current_key: int | None = None

    # --- what changed -----------------------------------------------------------------------------

    def lines_changed(self, applied: Applied) -> None:
        """The model took a batch: reflow, keep a paused view still, follow the end."""
        removed_rows = 0
        if self.wrap:
            if applied.removed:
                starts = self._starts
                cut = starts[applied.removed] if applied.removed < len(starts) else self._end
                removed_rows = cut - starts[0] if starts else 0
                del starts[: applied.removed]
            if applied.first_changed >= 0:
                self._reflow(applied.first_changed)
        else:
            removed_rows = applied.removed
        if not self.follow:
            self.unseen += applied.appended
        self._update_virtual_size()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif removed_rows:
            # Lines left at the top: move with the text, so what the operator reads stays put.
            self.scroll_to(y=max(0, self.scroll_y - removed_rows), animate=False, immediate=True)
        self.refresh()

    def reset(self) -> None:
        self._strips.clear()
        self._pieces.clear()
        self._starts = []
        self._end = 0
        self.unseen = 0
        self._update_virtual_size()
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    @property
    def row_count(self) -> int:
        if not self.model.entries:
            return 0
        if self.wrap:
            return self._end - self._starts[0]
        return len(self.model.entries)

    def _prefix_width(self) -> int:
        return (STAMP_WIDTH if self.timestamps else 0) + 2

    def _update_virtual_size(self) -> None:
        if self.wrap:
            width = self._wrap_width
        else:
            width = self._prefix_width() + self.model.max_width
        set_virtual_size(self, Size(width, self.row_count))

    def _content_width(self) -> int:
        region = self.scrollable_content_region
        return max(1, region.width or self.size.width or 80)

    def _rows_for(self, entry: Entry, width: int, prefix: int) -> int:
        return max(1, math.ceil((prefix + cell_len(entry[SHOWN])) / width))

    def _reflow(self, start: int = 0) -> None:
        """Wrap mode: recompute where entries start, from entry ``start`` on."""
        entries = self.model.entries
        width = self._wrap_width = self._content_width()
        prefix = self._prefix_width()
        starts = self._starts
        if start <= 0 or not starts:
            start = 0
            del starts[:]
            row = 0
        else:
            start = min(start, len(starts))
            row = starts[start] if start < len(starts) else self._end
            del starts[start:]
        for entry in entries[start:]:
            starts.append(row)
            row += self._rows_for(entry, width, prefix)
        self._end = row if entries else 0

    # --- modes ------------------------------------------------------------------------------------

    def set_follow(self, follow: bool, *, announce: bool = True) -> None:
        changed = follow != self.follow
        self.follow = follow
        if follow:
            self.unseen = 0
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        if changed and announce:
            self.post_message(self.FollowChanged(follow))

    def set_wrap(self, wrap: bool) -> None:
        top = self._entry_at(round(self.scroll_y))
        self.wrap = wrap
        self._pieces.clear()
        if wrap:
            self._reflow(0)
        self._update_virtual_size()
        self._restore_top(top)

    def set_timestamps(self, timestamps: bool) -> None:
        top = self._entry_at(round(self.scroll_y))
        self.timestamps = timestamps
        self._pieces.clear()
        if self.wrap:
            self._reflow(0)
        self._update_virtual_size()
        self._restore_top(top)

    def _restore_top(self, index: int) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif self.model.entries:
            self.scroll_to(y=self._row_of(index), animate=False, immediate=True)
        self.refresh()

    def _entry_at(self, row: int) -> int:
        if not self.wrap:
            return row
        if not self._starts:
            return 0
        return max(0, bisect_right(self._starts, self._starts[0] + row) - 1)

    def _row_of(self, index: int) -> int:
        if not self.wrap:
            return index
        if not self._starts:
            return 0
        index = max(0, min(index, len(self._starts) - 1))
        return self._starts[index] - self._starts[0]

    def on_resize(self, event: events.Resize) -> None:
        self._check_wrap_width()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        # The scrollbar takes columns from the text: wrapped lines must be cut narrower.
        self.call_after_refresh(self._check_wrap_width)

    def _check_wrap_width(self) -> None:
        if self.wrap and self._content_width() != self._wrap_width:
            top = self._entry_at(round(self.scroll_y))
            self._pieces.clear()
            self._reflow(0)
            self._update_virtual_size()
            self._restore_top(top)

    # --- search (/ then n, N) -----------------------------------------------------------------------

    def _match_indices(self) -> list[int]:
        row_filter = self.search_filter
        entries = self.model.entries
        found = [i for i, entry in enumerate(entries) if row_filter.matches(entry[SHOWN])]
        self._match_keys = {entries[i][KEY] for i in found}
        return found

    @property
    def match_count(self) -> int:
        return len(self._match_keys)

    @property
    def current_match(self) -> int | None:
        """The index (in the model) of the line n/N is on, or None."""
        if self._current_key is None:
            return None
        for index, entry in enumerate(self.model.entries):
            if entry[KEY] == self._current_key:
                return index
        return None

    def search(self, row_filter: RowFilter) -> int:
        """Mark the lines ``row_filter`` matches and go to the first one from the top of the
        screen on (pausing: the view holds still on it); the number of matches."""
        self.search_filter = row_filter
        self._current_key = None
        self._strips.clear()
        self._pieces.clear()
        if not row_filter.active:
            self._match_keys = set()
            self.refresh()
            return 0
        found = self._match_indices()
        if found:
            top = self._entry_at(round(self.scroll_y))
            target = next((i for i in found if i >= top), found[0])
            self._go_to(target)
        self.refresh()
        return len(found)

    def next_match(self, step: int = 1) -> int | None:
        """n (step 1) / N (step -1): the next or previous matching line, wrapping around."""
        if not self.search_filter.active:
            return None
        found = self._match_indices()  # new lines may match too
        self._strips.clear()
        self._pieces.clear()
        if not found:
            self._current_key = None
            self.refresh()
            return None
        here = self.current_match
        if here is None:
            here = self._entry_at(round(self.scroll_y)) - (1 if step > 0 else 0)
        if step > 0:
            target = next((i for i in found if i > here), found[0])
        else:
            target = next((i for i in reversed(found) if i < here), found[-1])
        self._go_to(target)
        self.refresh()
        return target

    def _go_to(self, index: int) -> None:
        self._current_key = self.model.entries[index][KEY]
        if self.follow:
            self.set_follow(False)
        page = max(1, self.scrollable_content_region.height or self.size.height)
        self.scroll_to(y=max(0, self._row_of(index) - page // 3), animate=False, immediate=True)

    # --- drawing ----------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._base = None
        self._strips.clear()
        self._pieces.clear()

    @property
    def base_style(self) -> Style:
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def _style(self, name: str) -> Style:
        if self._styles is None:
            # Full styles, then only their colour and weight: theme colours with alpha
            # ($text-muted) are blended with the background here (a partial style loses that).
            def style(part: str) -> Style:
                full = self.get_component_rich_style(f"log-lines--{part}")
                return Style(color=full.color, bold=full.bold, italic=full.italic)

            self._styles = {part: style(part) for part in ("stamp", "gitward", "marker", "error")}
            for part in ("match", "current-match"):
                full = self.get_component_rich_style(f"log-lines--{part}")
                self._styles[part] = Style(bgcolor=full.bgcolor, bold=full.bold)
        return self._styles[name]

    def _strip(self, entry: Entry) -> Strip:
        """The whole line (time, gutter, text) as one strip; cached per line and redraw."""
        mark = "current-match" if entry[KEY] == self._current_key else ("match" if entry[KEY] in self._match_keys else "")
        key = (entry[KEY], self.timestamps, mark)
        strip = self._strips.get(key)
        if strip is None:
            origin = entry[ORIGIN]
            if origin == ORIGIN_GITWARD:
                style = self._style("gitward")
            elif origin == ORIGIN_MARKER:
                style = self._style("marker")
            elif _ERROR_LINE.match(entry[SHOWN]):
                style = self._style("error")
            else:
                style = None
            if mark:
                strip = self._marked_strip(entry, style, mark)
            else:
                # Segments made directly (what Text.render() gives for these one-style runs, at
                # a fifth of the cost): during a flood every line on screen is new every frame.
                base = self.base_style
                segments = []
                width = 0
                if self.timestamps:
                    moment = stamp(entry[TIME]) + " "
                    segments.append(Segment(moment, base + self._style("stamp")))
                    width += len(moment)
                body = strip_control_codes(GUTTER.get(origin, "  ") + entry[SHOWN])
                segments.append(Segment(body, base + style if style is not None else base))
                width += cell_len(body)
                strip = Strip(segments, width)
            self._strips[key] = strip
        return strip

    def _marked_strip(self, entry: Entry, style: Style | None, mark: str) -> Strip:
        """A line the / search marks: its match highlight over the line's own style."""
        text = Text(no_wrap=True, end="")
        if self.timestamps:
            text.append(stamp(entry[TIME]) + " ", style=self._style("stamp"))
        text.append(GUTTER.get(entry[ORIGIN], "  "), style=style)
        text.append(entry[SHOWN], style=style)  # append(): the text is never parsed as markup
        text.stylize(self._style(mark))
        text.stylize_before(self.base_style)  # Text.render() drops the Text's own style
        return Strip(list(text.render(self.app.console)), text.cell_len)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width or self.size.width
        row = scroll_y + y
        base = self.base_style
        entries = self.model.entries
        if row >= self.row_count:
            return Strip.blank(width, base)
        if not self.wrap:
            return self._strip(entries[row]).crop_extend(scroll_x, scroll_x + width, base)
        index = self._entry_at(row)
        entry = entries[index]
        piece = row - self._row_of(index)
        wrap_width = self._wrap_width
        key = (entry[KEY], self.timestamps, wrap_width, entry[KEY] == self._current_key, entry[KEY] in self._match_keys)
        pieces = self._pieces.get(key)
        if pieces is None:
            strip = self._strip(entry)
            length = strip.cell_length
            cuts = list(range(wrap_width, length, wrap_width)) + [length]
            pieces = strip.divide(cuts) if length > wrap_width else [strip]
            self._pieces[key] = pieces
        if piece >= len(pieces):
            return Strip.blank(width, base)
        return pieces[piece].crop_extend(0, width, base)

    # --- scrolling by the operator pauses; the end follows ----------------------------------------

    def _paused_by_scrolling(self) -> None:
        if self.follow and self.max_scroll_y > 0:
            self.set_follow(False)

    def action_scroll_up(self) -> None:
        self._paused_by_scrolling()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._paused_by_scrolling()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._paused_by_scrolling()
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self.set_follow(True)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._paused_by_scrolling()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if not self.follow:
            self.call_after_refresh(self._follow_if_at_end)

    def _follow_if_at_end(self) -> None:
        if not self.follow and self.scroll_y >= self.max_scroll_y:
            self.set_follow(True)
