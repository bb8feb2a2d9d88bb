"""The ``/`` box of every list: one Input, composed hidden, that takes the keys at once.

Type-ahead over a laggy link: the keys after ``/`` are already queued when ``/`` is handled.
A screen's ``/`` binding is a priority binding that calls ``open``; ``set_focus`` (unlike the
deferred ``focus()``) moves the focus now, so the burst lands in the box, never on a hotkey.
Inside the box, ``/`` is text (``SkipAction`` lets it through). What a filter means is
tui/app/filtering.py; each list applies it (tables: ``VirtualTable.set_filter``).
"""

from __future__ import annotations

from textual.actions import SkipAction
from textual.widgets import Input

from tui.app.filtering import RowFilter
from tui.app.typeahead import typing

__all__ = ["FilterBox", "FILTER_HINT"]

FILTER_HINT = "filter: text · regex (git$) · field:value · !text inverts · enter keeps, escape clears"


class FilterBox(Input):
    """The filter input of one screen; hidden until ``/``."""

    DEFAULT_CSS = "FilterBox { display: none; }"

    def __init__(self, *, placeholder: str = FILTER_HINT, id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id)
        self.cursor_blink = False

    def open(self) -> None:
        """Show the box and focus it now (the queued keys land in it)."""
        if typing(self.screen):
            raise SkipAction()  # typing in an input: '/' is text
        self.display = True
        self.screen.set_focus(self)

    def close(self) -> bool:
        """Hide and empty it; False when it was neither shown nor holding a filter."""
        if not (self.display or self.value):
            return False
        self.value = ""
        self.display = False
        return True

    def parse(self, fields: tuple[str, ...] = ()) -> RowFilter:
        """The filter typed, for a list with ``fields``; why it is not used as typed (an invalid
        regex, an unknown field) is one line on the box's lower border."""
        row_filter = RowFilter.parse(self.value, fields)
        self.border_subtitle = row_filter.error or ""
        return row_filter
