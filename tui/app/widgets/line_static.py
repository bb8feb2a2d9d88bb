"""A Static for lines that change often: redrawn when they change, laid out when they resize."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

__all__ = ["LineStatic"]


class LineStatic(Static):
    """A Static redrawn only when its text or styles changed, and laid out again only when its
    size may have changed: a layout arranges every widget on the screen, and these lines (the
    host's header and status, a sync's header) change with every batch of scan results,
    every spinner tick and every read of a flooding sync's log."""

    _shown_line: tuple | None = None  # (plain text, spans, cell length, height) as last shown

    def show_line(self, content: Content, *, auto_width: bool) -> None:
        """``auto_width``: the widget is as wide as its text; else its width is given and its
        height follows the text (``height: auto`` wraps on a narrow terminal)."""
        spans = tuple(content.spans)  # Content's == compares the text alone
        shown = self._shown_line
        if shown is not None and shown[0] == content.plain and shown[1] == spans:
            return
        width = self.content_region.width
        height = content.get_height(self.styles, width) if width > 0 else -1
        if shown is None or height < 0:
            layout = True
        elif auto_width:
            layout = shown[2] != content.cell_length
        else:
            layout = shown[3] != height
        self._shown_line = (content.plain, spans, content.cell_length, height)
        self.update(content, layout=layout)
