"""Issue 9: the repository screen is built from real Textual classes (no mixins), and its write
messages are typed dataclasses with docstrings (no ``kind`` string dispatched through a dict)."""

from __future__ import annotations

import dataclasses
import inspect

from textual.message import Message
from textual.screen import Screen

from tui.app import messages, write_messages
from tui.app.screens.host import HostScreen
from tui.app.screens.journal import JournalScreen
from tui.app.screens.repo import RepoScreen

WRITE_MESSAGES = ("PrunePlanned", "RepairPlanned", "ShadowsPlanned", "ShadowDecisionsPlanned", "LockClearPlanned", "WriteFinished", "RepoRescanned")


def test_screens_have_no_mixins():
    for screen in (RepoScreen, HostScreen, JournalScreen):
        before_screen = screen.__mro__[: screen.__mro__.index(Screen)]
        assert all(issubclass(cls, Screen) for cls in before_screen), [c.__name__ for c in before_screen]


def test_write_messages_are_typed_dataclasses_with_docstrings():
    for name in WRITE_MESSAGES:
        cls = getattr(write_messages, name, None) or getattr(messages, name)  # RepoRescanned: the App's
        assert issubclass(cls, Message) and dataclasses.is_dataclass(cls), name
        assert inspect.getdoc(cls) and inspect.getdoc(cls) != inspect.getdoc(Message), name
        fields = dataclasses.fields(cls)
        assert fields and all(field.type not in ("Any", "dict", "str") for field in fields), name
    assert not hasattr(messages, "ActionPlanned") and not hasattr(write_messages, "ActionPlanned")
