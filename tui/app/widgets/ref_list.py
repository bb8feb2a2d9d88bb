"""The refs of one namespace: name, value, source, packed value, verdict, commit age.

Rows come from a ``RefView`` (a range of a sorted index); only drawn rows become ``Ref``
objects. Commit ages are looked up for the drawn rows only: drawing a row whose date is not
known yet asks the owner (``DatesWanted``), which reads them in a worker and calls
``add_dates``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from tui.app.commit_dates import MISSING, NOT_A_COMMIT
from tui.app.text import age, clean, short
from tui.app.widgets.vtable import Column, Palette, VirtualTable
from tui.core import verdicts
from tui.core.model import Ref, Source, Verdict

# Name, source and verdict first: at 80 columns they stay, and the packed value, the commit
# age and the value give way (in that order). The mark and the name stay put when scrolling right.
AGES_KEPT = 20_000  # distinct commit dates whose age text is kept (then it starts afresh)

COLUMNS = [
    Column("mark", "", width=1, min_width=1, sortable=False),
    Column("name", "name", width=40, min_width=20, flex=True, sortable=False, overflow="middle"),
    Column("source", "source", width=6, sortable=False),
    Column("verdict", "verdict", width=16, sortable=False),
    Column("value", "value", width=14, sortable=False, give_way=1),
    Column("packed", "packed value", width=12, sortable=False, give_way=3),
    Column("age", "commit age", width=14, sortable=False, give_way=2),
]


def verdict_cell(verdict: Verdict | None, palette: Palette) -> Text:
    """A verdict as every table shows it: symbol and colour of its severity (core/verdicts.py)."""
    if verdict is None:
        return Text("-", style=palette.dim)
    level = verdicts.severity(verdict)
    return Text(verdicts.label(verdict), style=palette.severity(level.value) if level else palette.dim)


def verdict_text(ref: Ref, palette: Palette) -> Text:
    if ref.verdict is None:
        if ref.source is Source.BOTH:
            return Text("judging…", style=palette.dim)
        return Text("")
    return verdict_cell(ref.verdict, palette)


class RefList(VirtualTable):
    """A virtual list of refs; ``enter`` asks for the details of the ref under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Details", id="refs.details", tooltip="Show every value of this ref"),
        # Write actions run on the screen (read-only hides them there, see mutations.py).
        Binding("space", "screen.mark_shadow", "Mark", id="refs.mark", tooltip="Mark/unmark this shadow for P"),
        Binding("P", "screen.preview_shadows", "Prune shadows", id="refs.prune_shadows", tooltip="Preview, then resolve shadows"),
    ]

    class DatesWanted(Message):
        """Rows on screen need commit dates for these object ids."""

        def __init__(self, ref_list: RefList, oids: list[str]) -> None:
            super().__init__()
            self.ref_list = ref_list
            self.oids = oids

        @property
        def control(self) -> RefList:
            return self.ref_list

    class MarksChanged(Message):
        """Refs were marked or unmarked (the owner shows the count)."""

        def __init__(self, ref_list: RefList) -> None:
            super().__init__()
            self.ref_list = ref_list

        @property
        def control(self) -> RefList:
            return self.ref_list

    def __init__(self, *, now: Callable[[], float], id: str | None = None) -> None:
        self._now = now
        self.marked: set[str] = set()  # names of shadowed refs marked for a shadows prune
        self.dates: dict[str, float] = {}
        # age() of each commit date, for the current "now": humanize took ~0.2 ms a call, 60% of
        # a row's cells, and 200,000 refs point at a few thousand commits.
        self._ages: dict[float, str] = {}
        self._ages_now: float | None = None
        self._wanted: set[str] = set()
        self._asked: set[str] = set()
        self.dates_available = True
        super().__init__(COLUMNS, self._render, empty_text="loading refs…", pin=2, id=id)

    def toggle_mark(self, name: str) -> None:
        if name in self.marked:
            self.marked.discard(name)
        else:
            self.marked.add(name)
        self.refresh_rows()
        self.post_message(self.MarksChanged(self))

    def clear_marks(self) -> None:
        if self.marked:
            self.marked.clear()
            self.refresh_rows()
            self.post_message(self.MarksChanged(self))

    def add_dates(self, dates: dict[str, float]) -> None:
        self.dates.update(dates)
        self.refresh_rows_where(lambda ref: (ref.peeled or ref.value) in dates)

    def _age_text(self, oid: str | None, palette: Palette) -> Text:
        if not oid:
            return Text("-", style=palette.dim)
        when = self.dates.get(oid)
        if when is None:
            if self.dates_available and oid not in self._asked:
                self._wanted.add(oid)
                if len(self._wanted) == 1:
                    self.call_after_refresh(self._ask_for_dates)
            return Text("…", style=palette.dim)
        if when == MISSING:
            return Text("✖ missing object", style=palette.error)
        if when == NOT_A_COMMIT:
            return Text("(not a commit)", style=palette.dim)
        return Text(self._age(when))

    def _age(self, when: float) -> str:
        now = self._now()
        if now != self._ages_now or len(self._ages) > AGES_KEPT:
            self._ages.clear()
            self._ages_now = now
        text = self._ages.get(when)
        if text is None:
            text = self._ages[when] = age(now - when)
        return text

    def _ask_for_dates(self) -> None:
        if self._wanted:
            oids = sorted(self._wanted)
            self._asked.update(oids)
            self._wanted.clear()
            self.post_message(self.DatesWanted(self, oids))

    def _render(self, ref: Ref, palette: Palette) -> list[Text]:
        shows_age = any(column.key == "age" for column in self.shown_columns)
        name = Text(clean(ref.name), no_wrap=True)
        if ref.name == "HEAD":
            name.stylize(palette.bold)
        if ref.value:
            value = Text(short(ref.value))
        elif ref.symbolic_target:
            value = Text("→ " + clean(ref.symbolic_target), style=palette.warning)
        else:
            value = Text("✖ broken", style=palette.error)
        if ref.symbolic_target and ref.value:
            value = Text("→ " + short(ref.value), style=palette.accent)
        source_style = {Source.LOOSE: "", Source.PACKED: palette.dim, Source.BOTH: palette.warning}[ref.source]
        packed = Text(short(ref.packed_value) if ref.source is Source.BOTH else "", style=palette.dim)
        mark = Text("●", style=palette.warning) if ref.name in self.marked else Text(" ")
        return [
            mark,
            name,
            Text(ref.source.value, style=source_style),
            verdict_text(ref, palette),
            value,
            packed,
            self._age_text(ref.peeled or ref.value, palette) if shows_age else Text(""),
        ]
