"""A sync's live log: bounded, drawn a screenful at a time, and honest about what it dropped.

``SyncLog`` shows one job (``show_job``). Its screen calls ``pull`` when the app says the job
has news (at most ~20 times a second, coalesced); ``pull`` asks the job's buffer for what
changed since the version it last saw, so a fetch printing 10,000 lines a second costs one
read and one repaint per tick, and a progress line redrawn 500 times arrives once.

``LogLines`` (log_lines.py) draws only the rows on screen (Line API) from ``LogModel``
(log_model.py), a bounded list of lines that counts what it dropped. Every line is untrusted text (git's and the remote's output, already
sanitised and redacted by the core) and becomes a ``rich.text.Text`` built with ``append``:
markup is never parsed.

Keys live on ``SyncLog``, so they apply only while the log has focus (``s`` is the Refs tab's
shadows toggle elsewhere): s follow/pause, w wrap, t timestamps, ctrl+s save, c clear,
x cancel the sync. Scrolling up pauses; ``end`` follows again.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from tui.app.filtering import RowFilter
from tui.app.text import clean, display_path, plural
from tui.app.widgets.line_static import LineStatic
from tui.app.widgets.log_lines import LogLines
from tui.app.widgets.log_model import MAX_LINES, TEXT, Applied, Entry, LogModel, render_entry

__all__ = ["SyncLog", "LogLines", "LogModel", "EMPTY"]

EMPTY = "No sync has run for this repository in this session."


class SyncLog(Vertical):
    """A job's header line, the status line (lines, dropped, follow/pause) and its lines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "toggle_follow", "Follow/pause", id="log.follow", tooltip="Follow new lines, or hold the view still (new lines are counted)"),
        Binding("w", "toggle_wrap", "Wrap", id="log.wrap", tooltip="Wrap long lines instead of scrolling sideways"),
        Binding("t", "toggle_timestamps", "Times", id="log.timestamps", tooltip="Show the time each line arrived"),
        Binding("ctrl+s", "save_log", "Save", id="log.save", tooltip="Write the lines shown to a file in the log directory"),
        Binding("c", "clear_log", "Clear", id="log.clear", tooltip="Clear the view (the sync's log file keeps every line)"),
        Binding("x", "cancel_sync", "Cancel sync", id="log.cancel", tooltip="Stop this sync: git and everything it started are terminated"),
        Binding("n", "next_match", "Next match", id="log.next_match", tooltip="The next line the / search matches"),
        Binding("N", "previous_match", "Previous match", id="log.previous_match", tooltip="The previous line the / search matches"),
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
        self._status_layout = True
        self.pulls = 0  # reads that brought something (diagnostics, tests)

    def compose(self) -> ComposeResult:
        yield LineStatic(id="log-job")
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
        widget = self.query_one("#log-job", LineStatic)
        if self._job_line is None or self.job is None:
            widget.display = False
            return
        # Redrawn when it changed (a running job's clock: every read), laid out again only when
        # its height did (it grows when the job ends): a layout arranges the whole screen.
        widget.show_line(self._job_line(self.job), auto_width=False)
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
        if view.search_filter.active:
            current = view.current_match
            where = ""
            if current is not None:
                where = f", line {current + 1:,} of the view"
            parts += ["  ·  ", (f"search '{clean(view.search_filter.raw.strip())}'", "bold"), f": {plural(view.match_count, 'match', 'matches')}{where} (n/N)"]
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

    def search(self, row_filter: RowFilter) -> int:
        """``/`` in the Log tab: mark the matching lines and go to the first; n/N move on."""
        count = self.lines.search(row_filter)
        self._show_status()
        self.refresh_bindings()
        return count

    def action_next_match(self) -> None:
        self.lines.next_match(1)
        self._show_status()

    def action_previous_match(self) -> None:
        self.lines.next_match(-1)
        self._show_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_match", "previous_match"):
            return self._ready and self.lines.search_filter.active
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
