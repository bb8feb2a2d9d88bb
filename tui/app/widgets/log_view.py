"""A sync's live log: bounded, drawn a screenful at a time, and honest about what it dropped.

``SyncLog`` shows one job (``show_job``). Its screen calls ``pull`` when the app says the job
has news (at most ~20 times a second, coalesced); ``pull`` asks the job's buffer for what
changed since the version it last saw, so a fetch printing 10,000 lines a second costs one
read and one repaint per tick, and a progress line redrawn 500 times arrives once.

``LogLines`` draws only the rows on screen (Line API) from ``LogModel``, a bounded list of lines
that counts what it dropped. Every line is untrusted text (git's and the remote's output, already
sanitised and redacted by the core) and becomes a ``rich.text.Text`` built with ``append``:
markup is never parsed.

Keys live on ``SyncLog``, so they apply only while the log has focus (``s`` is the Refs tab's
shadows toggle elsewhere): s follow/pause, w wrap, t timestamps, ctrl+s save, c clear,
x cancel the sync. Scrolling up pauses; ``end`` follows again.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from tui.app.text import clean, display_path, home_dir, plural

MAX_LINES = 10_000
EMPTY = "No sync has run for this repository in this session."
ORIGIN_GIT = "git"
ORIGIN_GITWARD = "gitward"
ORIGIN_MARKER = "marker"
GUTTER = {ORIGIN_GIT: "  ", ORIGIN_GITWARD: "» ", ORIGIN_MARKER: "… "}
STAMP_WIDTH = 13  # "12:00:01.250 "
_ERROR_LINE = re.compile(r"^(?:remote: )?(?:fatal|error|ERROR|FATAL)\b")


# --------------------------------------------------------------------------- the lines


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


# --------------------------------------------------------------------------- the view


class LogLines(ScrollView, can_focus=True):
    """Draws the model's lines that are on screen; follows the end unless paused."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-lines--stamp",
        "log-lines--gitward",
        "log-lines--marker",
        "log-lines--error",
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
        self.virtual_size = Size(width, self.row_count)

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
        return self._styles[name]

    def _strip(self, entry: Entry) -> Strip:
        """The whole line (time, gutter, text) as one strip; cached per line and redraw."""
        key = (entry[KEY], self.timestamps)
        strip = self._strips.get(key)
        if strip is None:
            text = Text(no_wrap=True, end="")
            if self.timestamps:
                text.append(stamp(entry[TIME]) + " ", style=self._style("stamp"))
            origin = entry[ORIGIN]
            if origin == ORIGIN_GITWARD:
                style = self._style("gitward")
            elif origin == ORIGIN_MARKER:
                style = self._style("marker")
            elif _ERROR_LINE.match(entry[SHOWN]):
                style = self._style("error")
            else:
                style = None
            text.append(GUTTER.get(origin, "  "), style=style)
            text.append(entry[SHOWN], style=style)  # append(): the text is never parsed as markup
            text.stylize_before(self.base_style)  # Text.render() drops the Text's own style
            strip = Strip(list(text.render(self.app.console)), text.cell_len)
            self._strips[key] = strip
        return strip

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
        key = (entry[KEY], self.timestamps, wrap_width)
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


# --------------------------------------------------------------------------- the pane


class SyncLog(Vertical):
    """A job's header line, the status line (lines, dropped, follow/pause) and its lines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "toggle_follow", "Follow/pause", id="log.follow", tooltip="Follow new lines, or hold the view still (new lines are counted)"),
        Binding("w", "toggle_wrap", "Wrap", id="log.wrap", tooltip="Wrap long lines instead of scrolling sideways"),
        Binding("t", "toggle_timestamps", "Times", id="log.timestamps", tooltip="Show the time each line arrived"),
        Binding("ctrl+s", "save_log", "Save", id="log.save", tooltip="Write the lines shown to a file in the log directory"),
        Binding("c", "clear_log", "Clear", id="log.clear", tooltip="Clear the view (the sync's log file keeps every line)"),
        Binding("x", "cancel_sync", "Cancel sync", id="log.cancel", tooltip="Stop this sync: git and everything it started are terminated"),
    ]

    DEFAULT_CSS = """
    SyncLog { height: 1fr; }
    SyncLog > #log-job { height: auto; max-height: 8; padding: 0 1; background: $boost; }
    SyncLog > #log-status { height: 1; padding: 0 1; color: $text-muted; background: $boost; }
    SyncLog.-empty > #log-status { height: auto; padding: 1 2; background: transparent; }
    SyncLog.-empty > LogLines { display: none; }
    """

    class Saved(Message):
        def __init__(self, path: str | None, error: str | None, lines: int = 0) -> None:
            super().__init__()
            self.path = path
            self.error = error
            self.lines = lines

    def __init__(
        self,
        *,
        max_lines: int = MAX_LINES,
        read_only: bool = False,
        save_dir: str | Callable[[], str] | None = None,
        empty_text: str = EMPTY,
        job_line: Callable[[Any], Any] | None = None,
        live_clock: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.model = LogModel(max_lines)
        self.read_only = read_only
        self.empty_text = empty_text
        self.job: Any = None
        self._save_dir = save_dir
        self._job_line = job_line  # job -> Content/Text for the header; None: no header
        self._live_clock = live_clock
        self._version = 0
        self._job_state: Any = None
        self._clock = None
        self._ready = False  # composed and mounted: the widgets below exist
        self._job_shown: Any = None
        self._status_layout = True
        self.pulls = 0  # reads that brought something (diagnostics, tests)

    def compose(self) -> ComposeResult:
        yield Static(id="log-job")
        yield Static(Text(self.empty_text), id="log-status")
        yield LogLines(self.model, id="log-lines")

    def on_mount(self) -> None:
        self._ready = True
        self.query_one("#log-job", Static).display = False
        if self._live_clock and self._job_line is not None:
            self._clock = self.set_interval(1.0, self._tick, pause=True)
        self.pull()

    @property
    def lines(self) -> LogLines:
        return self.query_one(LogLines)

    @property
    def max_lines(self) -> int:
        return self.model.max_lines

    @max_lines.setter
    def max_lines(self, value: int) -> None:
        removed = self.model.set_max_lines(value)
        if removed and self._ready:
            self.lines.lines_changed(Applied(0, removed, -1))
            self._show_status()

    @property
    def dropped(self) -> int:
        return self.model.dropped

    def text_lines(self) -> list[str]:
        """The texts held (tests, save)."""
        return [entry[TEXT] for entry in self.model.entries]

    # --- the job ----------------------------------------------------------------------------------

    def show_job(self, job: Any) -> None:
        """Show ``job`` (a ``SyncJob``) from its first line still held; None: the empty state."""
        if job is self.job:
            return
        self.job = job
        self._version = 0
        self._job_state = None
        self.model.reset()
        if self._ready:
            self.lines.follow = True
            self.lines.reset()
            self.pull()
            self.refresh_bindings()

    def pull(self) -> None:
        """Read what the job's log gained since the last read, and show it."""
        job = self.job
        if not self._ready:
            return  # on_mount reads
        if job is not None:
            if self.lines.follow:
                chunk = job.log.read(after=self._version)
                self._version = chunk.version
                if chunk.lines:
                    self.pulls += 1
                    self._applied(self.model.apply(chunk.lines))
            else:
                # Paused: the view holds still (nothing read, nothing evicted); new lines are
                # only counted. Following again reads what the job's buffer still has.
                self.lines.unseen = max(0, job.log.total - self.model.last_seq)
            if job.state != self._job_state:
                self._job_state = job.state
                self.refresh_bindings()  # x applies while it runs
                if self._clock is not None:
                    if job.done:
                        self._clock.pause()
                    else:
                        self._clock.resume()
        self._show_job()
        self._show_status()

    def write_lines(self, lines: Iterable[str]) -> None:
        """Lines from no job (messages, tests): cleaned, counted and bounded like a job's."""
        cleaned = [clean(line) for line in lines]
        if cleaned:
            self._applied(self.model.add_text(cleaned))
            if self._ready:
                self._show_status()

    def _applied(self, applied: Applied) -> None:
        if self._ready:
            self.lines.lines_changed(applied)

    def _tick(self) -> None:
        if self.job is None or self.job.done:
            if self._clock is not None:
                self._clock.pause()
        self._show_job()

    # --- header and status ------------------------------------------------------------------------

    def _show_job(self) -> None:
        widget = self.query_one("#log-job", Static)
        if self._job_line is None or self.job is None:
            widget.display = False
            self._job_shown = None
            return
        content = self._job_line(self.job)
        if content != self._job_shown:  # redrawn (and laid out: its height varies) only on change
            self._job_shown = content
            widget.update(content)
        widget.display = True

    def _show_status(self) -> None:
        empty = self.job is None and not self.model.entries and not self.model.last_seq
        if empty != self.has_class("-empty"):
            self.set_class(empty, "-empty")
            self._status_layout = True
        status = self.query_one("#log-status", Static)
        if empty:
            status.update(Text(self.empty_text))
            return
        status.update(self.status_text(), layout=self._status_layout)  # one line: no layout per tick
        self._status_layout = False

    def status_text(self) -> Text:
        model, view = self.model, self.lines
        parts: list = [plural(model.total, "line")]
        if model.cleared_seq:
            parts.append(f" since the clear at line {model.cleared_seq:,}")
        if view.follow:
            parts += ["  ·  ", ("following", "bold"), " (s pauses)"]
        else:
            parts += ["  ·  ", ("paused", "bold"), f": {plural(view.unseen, 'new line')} below (s follows)"]
        if view.wrap:
            parts += ["  ·  wrap"]
        if view.timestamps:
            parts += ["  ·  times"]
        if model.dropped:
            kept = f"the view keeps the last {model.max_lines:,}"
            where = "; the log file has every line" if getattr(self.job, "log_path", None) else ""
            parts += ["  ·  ", (f"{model.dropped:,} older line{'s' if model.dropped != 1 else ''} dropped", "bold"), f" ({kept}{where})"]
        return Text.assemble(*parts, no_wrap=True, overflow="ellipsis", end="")

    @on(LogLines.FollowChanged)
    def _follow_changed(self, event: LogLines.FollowChanged) -> None:
        event.stop()
        self.pull()  # following again: catch up

    # --- actions ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_sync":
            # Hidden in read-only (nothing can run) and when there is nothing to stop.
            return not self.read_only and self.job is not None and not self.job.done
        return True

    def action_toggle_follow(self) -> None:
        self.lines.set_follow(not self.lines.follow, announce=False)
        self.pull()  # following again: catch up

    def action_toggle_wrap(self) -> None:
        self.lines.set_wrap(not self.lines.wrap)
        self._show_status()

    def action_toggle_timestamps(self) -> None:
        self.lines.set_timestamps(not self.lines.timestamps)
        self._show_status()

    def action_clear_log(self) -> None:
        self.model.clear()
        self.lines.reset()
        self.lines.set_follow(True, announce=False)
        self._show_status()

    def action_cancel_sync(self) -> None:
        job = self.job
        if job is None or job.done or self.read_only:
            return
        job.cancel()
        self.notify(
            f"cancelling sync #{job.id} of {display_path(job.name)}: git's process group is being stopped",
            title="sync",
            timeout=3,
            markup=False,
        )

    def action_save_log(self) -> None:
        entries = list(self.model.entries)
        if not entries:
            self.notify("nothing to save: the log view is empty", title="save", severity="warning", markup=False)
            return
        directory = self._save_dir() if callable(self._save_dir) else self._save_dir
        if not directory:
            # lazy (import cost): core.paths loads on first use, not with this module
            from tui.core.paths import log_dir

            directory = log_dir()
        header = self._save_header()
        self._save(directory, header, entries)

    def _save_header(self) -> list[str]:
        job = self.job
        lines = [f"# gitward sync log, saved {time.strftime('%Y-%m-%dT%H:%M:%S%z')}"]
        if job is not None:
            lines.append(f"# sync #{job.id} of {clean(job.path)}: {job.state.value}")
            if job.log_path:
                lines.append(f"# the sync's own log file: {job.log_path}")
        if self.model.dropped:
            lines.append(f"# {self.model.dropped:,} older lines were dropped from the view before this save")
        return lines

    @work(thread=True, exit_on_error=False, group="log-save")
    def _save(self, directory: str, header: list[str], entries: list[Entry]) -> None:
        name = "/".join((getattr(self.job, "name", "") or "log").rstrip("/").split("/")[-2:])  # mirrors/lib.git
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.")[:60] or "log"
        job_part = f"-job{self.job.id}" if self.job is not None else ""
        path = os.path.join(directory, f"saved-{time.strftime('%Y%m%dT%H%M%S')}-{slug}{job_part}.log")
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            # 0600 and O_EXCL: redacted text, but nobody else's business; never overwrite a file.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
                for line in header:
                    handle.write(line + "\n")
                for entry in entries:
                    handle.write(render_entry(entry) + "\n")
        except OSError as exc:
            self.post_message(self.Saved(None, f"{exc.filename or path}: {exc.strerror or exc}"))
            return
        self.post_message(self.Saved(path, None, len(entries)))

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        event.stop()
        if event.error:
            self.notify(clean(event.error), title="save failed", severity="error", markup=False)
        else:
            self.notify(f"saved {plural(event.lines, 'line')} to {display_path(event.path)}", title="log saved", timeout=8, markup=False)
