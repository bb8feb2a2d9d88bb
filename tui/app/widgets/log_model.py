"""A sync log's lines as the console holds them: bounded, counted, no Textual.

``LogModel`` keeps the last ``max_lines`` lines of one job's log and counts what it no longer
has (evicted here, or by the job's own buffer before the view read them). ``LogLines``
(log_lines.py) draws it; ``SyncLog`` (log_view.py) feeds it. Split as Toolong splits
log_file / log_lines / log_view: the model is tested without an app.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len

from tui.app.text import home_dir

__all__ = [
    "Applied",
    "Entry",
    "LogModel",
    "render_entry",
    "stamp",
    "KEY",
    "SEQ",
    "TIME",
    "TEXT",
    "ORIGIN",
    "SHOWN",
    "MAX_LINES",
    "ORIGIN_GIT",
    "ORIGIN_GITWARD",
    "ORIGIN_MARKER",
    "GUTTER",
]

MAX_LINES = 10_000
ORIGIN_GIT = "git"
ORIGIN_GITWARD = "gitward"
ORIGIN_MARKER = "marker"
GUTTER = {ORIGIN_GIT: "  ", ORIGIN_GITWARD: "» ", ORIGIN_MARKER: "… "}


# One line of the view is a plain tuple ``(key, seq, time, text, origin, shown)``:
#   key     unique in the view, new on every redraw (the drawing cache's key)
#   seq     the job's line number; 0 for a marker gitward inserted
#   shown   the text as drawn: the home directory as ~ (a saved file keeps ``text``)
# Not an object: the garbage collector stops tracking exact tuples of strings and numbers, and a
# flood replaces thousands of lines a second; as objects, every full collection would walk all
# 10,000 of them (pauses of 100-200 ms, measured) while the operator types.
Entry = tuple
KEY, SEQ, TIME, TEXT, ORIGIN, SHOWN = range(6)


@dataclass(frozen=True, slots=True)
class Applied:
    """What one batch did to the model (the view scrolls and reflows from it)."""

    appended: int  # new entries at the end
    removed: int  # entries dropped from the front (the bound)
    first_changed: int  # index (after removal) of the first new or redrawn entry; -1: none


class LogModel:
    """The lines a view holds: the last ``max_lines``, with how many it no longer has."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self.max_lines = max(1, max_lines)
        self.entries: list[Entry] = []
        self.last_seq = 0  # the newest job line seen
        self.cleared_seq = 0  # lines up to here were cleared by the operator (not "dropped")
        self.held = 0  # entries that are job lines (markers excluded)
        self.max_width = 0  # widest text seen since the last clear (horizontal scrolling)
        self._keys = itertools.count(1)
        home = home_dir()
        self._home = home + "/" if home else ""

    def _shown(self, text: str) -> str:
        return text.replace(self._home, "~/") if self._home else text

    @property
    def total(self) -> int:
        """Job lines since the last clear."""
        return self.last_seq - self.cleared_seq

    @property
    def dropped(self) -> int:
        """Lines since the last clear that the view no longer has (evicted here, or by the job's
        own buffer before the view read them)."""
        return max(0, self.total - self.held)

    def apply(self, lines: Iterable[Any]) -> Applied:
        """Job log lines (``seq``, ``time``, ``text``, ``origin``) from ``LogBuffer.read``."""
        entries = self.entries
        appended = 0
        first_changed = -1
        for line in lines:
            last = entries[-1] if entries else None
            if last is not None and last[SEQ] and line.seq == last[SEQ]:  # a progress line redrawn
                shown = self._shown(line.text)
                entries[-1] = (next(self._keys), last[SEQ], line.time, line.text, last[ORIGIN], shown)
                self.max_width = max(self.max_width, cell_len(shown))
                if first_changed < 0:
                    first_changed = len(entries) - 1
                continue
            if line.seq <= self.last_seq:
                continue  # already shown (or cleared); only the newest line is ever redrawn
            gap = line.seq - self.last_seq - 1
            if gap > 0 and entries:
                if first_changed < 0:
                    first_changed = len(entries)
                marker = (
                    f"{gap:,} line{'s' if gap != 1 else ''} skipped: they left the live buffer (the last "
                    f"{self.max_lines:,} lines) before the view read them; the log file has every line"
                )
                entries.append((next(self._keys), 0, line.time, marker, ORIGIN_MARKER, marker))
                appended += 1
            if first_changed < 0:
                first_changed = len(entries)
            shown = self._shown(line.text)
            entries.append((next(self._keys), line.seq, line.time, line.text, line.origin, shown))
            self.max_width = max(self.max_width, cell_len(shown))
            self.last_seq = line.seq
            self.held += 1
            appended += 1
        removed = self._trim()
        if first_changed >= 0:
            first_changed = max(0, first_changed - removed)
        return Applied(appended, removed, first_changed)

    def add_text(self, texts: Iterable[str], origin: str = ORIGIN_GIT, when: float | None = None) -> Applied:
        """Lines that come from no job (tests, messages): numbered after the last one."""
        stamp = time.time() if when is None else when

        class _Line:
            __slots__ = ("seq", "time", "text", "origin")

        lines = []
        seq = self.last_seq
        for text in texts:
            seq += 1
            line = _Line()
            line.seq, line.time, line.text, line.origin = seq, stamp, text, origin
            lines.append(line)
        return self.apply(lines)

    def _trim(self) -> int:
        extra = len(self.entries) - self.max_lines
        if extra <= 0:
            return 0
        self.held -= sum(1 for entry in self.entries[:extra] if entry[SEQ])
        del self.entries[:extra]
        return extra

    def set_max_lines(self, max_lines: int) -> int:
        self.max_lines = max(1, max_lines)
        return self._trim()

    def clear(self) -> None:
        """Forget the lines shown; lines that arrive later are shown (and counted) as usual."""
        self.entries.clear()
        self.cleared_seq = self.last_seq
        self.held = 0
        self.max_width = 0

    def reset(self) -> None:
        self.clear()
        self.last_seq = self.cleared_seq = 0


def stamp(moment: float) -> str:
    """``12:00:01.250``: local time with milliseconds."""
    return time.strftime("%H:%M:%S", time.localtime(moment)) + f".{int(moment * 1000) % 1000:03d}"


def render_entry(entry: Entry) -> str:
    """One line as a saved file holds it: ISO time, gitward's mark, the text."""
    when = entry[TIME]
    moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(when)) + f".{int(when * 1000) % 1000:03d}"
    return f"{moment} {GUTTER.get(entry[ORIGIN], '  ')}{entry[TEXT]}"
