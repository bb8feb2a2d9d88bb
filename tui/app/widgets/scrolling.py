"""Growing a scrolling widget's content without laying the whole screen out again.

Textual declares ``Widget.virtual_size`` with ``layout=True``: every change arranges every widget
on the screen, though a Line API widget (``VirtualTable``, ``LogLines``) only needs its
scrollbars updated. While a scan streams rows in or a sync floods its log, the size changes
with every batch, and that layout was most of what a frame cost.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widget import Widget

__all__ = ["set_virtual_size"]


def set_virtual_size(widget: ScrollView, size: Size, *, repaint: bool = True) -> None:
    """Set ``widget.virtual_size``; a layout happens only when a scrollbar appears or goes
    (``show_vertical_scrollbar`` and ``show_horizontal_scrollbar`` are layout reactives).
    ``repaint=False``: the caller repaints what changed (the scrollbars are updated here)."""
    if size == widget.virtual_size:
        return
    scroll_update = getattr(widget, "_scroll_update", None)  # Textual's own step after a layout
    if scroll_update is None or not widget.is_mounted:
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    scroll_update(size)
    if repaint:
        widget.refresh()
