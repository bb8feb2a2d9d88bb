"""Type-ahead: the keys typed right after a key that opens an input land in that input, in order.

Over a laggy SSH link keys arrive in bursts: ``/mS`` is three key events already queued when the
``/`` is handled. Textual hands every key to the focused widget (or runs a binding) in the order
they arrived, one at a time, in the app's message loop. So the input must have the focus *before
the app looks at the next key*:

- the opening key is a *priority* binding: the app runs it while handling that key, instead of
  forwarding it to the focused table first (the table would process it later, by which time
  the rest of the burst has been forwarded to the table as hotkeys);
- the action moves the focus with ``Screen.set_focus`` (now), not ``Widget.focus`` (deferred);
- the input already exists: composed hidden (``widgets/filter_box.FilterBox``, whose ``open()``
  does the two steps above), or built before its screen is
  pushed (the ``:`` prompt), so that keys queued to it before it is mounted are handled once it
  is, after its own mount, in order.

While an input has the focus, Textual drops bindings of the printable keys it consumes from the
chain, but not for every key: ``key_to_character("slash")`` is None in Textual 8, so a priority
``/`` binding would still run inside an input. The actions check ``typing()`` and raise
``SkipAction``, which hands the key on to the input as text.
"""

from __future__ import annotations

import sys
from typing import Protocol, runtime_checkable

from textual.screen import Screen
from textual.widgets import Input

from tui.app.filtering import RowFilter


@runtime_checkable
class Filterable(Protocol):
    """A list that a ``/`` filter box narrows (the host list, the repository screen's tables)."""

    def set_filter(self, row_filter: RowFilter) -> None: ...


def typing(screen: Screen) -> bool:
    """Is the operator typing text on ``screen`` (an input or text area has the focus)?"""
    focused = screen.focused
    if isinstance(focused, Input):
        return True
    # Only a loaded module can have made a TextArea: asked without importing Textual's text
    # editor (its document and syntax modules), which the first frame does not need.
    text_area = sys.modules.get("textual.widgets._text_area")
    return text_area is not None and isinstance(focused, text_area.TextArea)

