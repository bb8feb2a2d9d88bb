"""A sync's live log: git's raw output in, clean timestamped lines out (buffer, file, listeners).

The path of every byte git prints:

1. ``LineSplitter`` cuts the byte stream at ``\\r`` and ``\\n``. A segment ended by ``\\r`` is a
   progress update: it replaces the line being drawn instead of adding one (what a terminal
   does with git's ``Receiving objects:  42%``). ``\\n`` ends the line for good.
2. ``clean_text`` decodes, strips escape sequences and control characters (a remote's
   ``remote:`` lines are untrusted), then redacts credentials. In that order, so an escape
   sequence planted inside a URL cannot hide its password from the redactor. A private key
   block spans many lines: the splitter's ``KeyBlockRedactor`` masks each of its lines, even
   those a progress redraw hides, so neither the buffer nor the file ever holds one.
3. ``LogBuffer`` keeps the last N lines (default 10,000) and counts what it dropped. Every
   change gets a version number, so a reader asks "what changed since version V" and gets only
   the newest state of a progress line, however many updates it had in between: bursts
   coalesce by construction, and a slow reader never queues up work.
4. ``LogFile`` writes each line once, when it is final, to ``sync-*.log`` under the log dir;
   a file rotates to ``.1`` at half its budget (so the tail, where git's error is, always
   survives) and ``prune_log_dir`` keeps all sync logs under ``log_dir_max_bytes``.

Nothing here knows about processes or jobs; ``JobLog`` ties the pieces together for one job.
"""

from __future__ import annotations

import datetime
import functools
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tui.core.redact import KeyBlockRedactor, redact_text, sanitize_terminal

DEFAULT_BUFFER_LINES = 10_000
# A "line" without a terminator this long is cut (at a space, so a URL is not split in two and
# still redacted whole). Binary garbage from a broken remote must not grow without bound.
MAX_LINE_BYTES = 16 * 1024
LOG_FILE_PREFIX = "sync-"
LOG_FILE_SUFFIX = ".log"
ROTATED_SUFFIX = ".1"
MIN_JOB_LOG_BYTES = 64 * 1024

ORIGIN_GIT = "git"  # a line git (or the remote, or a wrapper) printed
ORIGIN_GITWARD = "gitward"  # a line gitward wrote: commands it runs, steps, the verdict


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int  # 1-based position in the job's log; a progress line keeps its seq while it updates
    version: int  # increases with every change in the buffer; see LogBuffer.read
    time: float  # epoch seconds of the last update
    text: str  # clean: no escapes, no control characters, credentials redacted
    final: bool  # False: a progress line that the next update may still replace
    origin: str = ORIGIN_GIT

    def stamp(self, *, date: bool = False) -> str:
        """Local time with milliseconds: ``12:00:01.250`` (or the full ISO date-time)."""
        # datetime.fromtimestamp's own split (round half even to the microsecond, carrying into
        # the second), so the result is exactly what it would print; the local-time formatting
        # is done once per second (_local_second), not once per line.
        fraction, whole = math.modf(self.time)
        micro = round(fraction * 1e6)
        if micro >= 1_000_000:
            whole, micro = whole + 1, micro - 1_000_000
        elif micro < 0:
            whole, micro = whole - 1, micro + 1_000_000
        iso_second, offset = _local_second(int(whole))
        millis = f".{micro // 1000:03d}"
        if date:
            return iso_second + millis + offset
        return iso_second[11:] + millis

    def render(self, *, date: bool = False) -> str:
        """One line as the CLI and the log file show it; gitward's own lines are marked ``»``."""
        marker = "»" if self.origin == ORIGIN_GITWARD else " "
        return f"{self.stamp(date=date)} {marker} {self.text}"


@functools.lru_cache(maxsize=4)
def _local_second(second: int) -> tuple[str, str]:
    """``("2026-01-01T12:00:01", "+01:00")`` for an epoch second, in local time. The log file
    stamps every line with this; a burst of 10,000 lines shares a handful of seconds."""
    iso = datetime.datetime.fromtimestamp(second).astimezone().isoformat(timespec="seconds")
    return iso[:19], iso[19:]


def clean_text(raw: bytes | str) -> str:
    """Decoded, terminal-safe, credential-free text of one segment of git's output."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return redact_text(sanitize_terminal(text)).rstrip()


# --------------------------------------------------------------------------- splitting


_TERMINATOR = re.compile(rb"[\r\n]")


class LineSplitter:
    """Bytes in, ``(text, final)`` segments out; ``final`` is False for ``\\r`` progress updates."""

    __slots__ = ("_pending", "_keys")

    def __init__(self) -> None:
        self._pending = b""
        self._keys = KeyBlockRedactor()

    def _clean(self, segment: bytes, final: bool) -> str:
        text = clean_text(segment)
        keys = self._keys
        # Inline test first: every line of a 10,000-lines-a-second fetch passes here.
        return keys.line(text, final) if keys.inside or "----" in text else text

    def _overdrawn(self, segment: bytes) -> None:
        """A progress update nobody will see: skipped, unless it opens or continues a key block
        (the lines after it must be masked all the same)."""
        if self._keys.inside or b"----" in segment or segment.translate(None, _PLAIN_ASCII):
            self._clean(segment, False)  # (escapes planted between the dashes are removed first)

    def feed(self, data: bytes) -> Iterator[tuple[str, bool]]:
        buf = self._pending + data if self._pending else data
        start = 0
        # A progress update not yet known to be overdrawn, still raw: one that the next segment
        # of this same chunk overdraws is never seen, so it is never cleaned either (a fetch
        # prints thousands of these).
        redraw: bytes | None = None
        for match in _TERMINATOR.finditer(buf):
            end = match.start()
            segment = buf[start:end]
            final = buf[end] == 0x0A
            if redraw is not None:
                if not (_visible(segment) or clean_text(segment)):
                    yield self._clean(redraw, False), False  # "\r\n" or "\r\r": the update stays drawn
                else:
                    self._overdrawn(redraw)
            redraw = None
            if final:
                yield self._clean(segment, True), True
            else:
                redraw = segment
            start = end + 1
        if redraw is not None:
            yield self._clean(redraw, False), False
        rest = buf[start:]
        while len(rest) > MAX_LINE_BYTES:
            cut = _cut_point(rest)
            yield self._clean(rest[:cut], True), True
            rest = rest[cut:]
        self._pending = rest

    def close(self) -> Iterator[tuple[str, bool]]:
        """What is left when the process ends: an unterminated last line. The next process's
        output starts outside any key block."""
        if self._pending:
            rest, self._pending = self._pending, b""
            yield self._clean(rest, True), True
        self._keys.reset()


# Printable ASCII and tab: a segment made only of these is the same text once cleaned.
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\t"
# Bytes that never survive cleaning (C0, space, DEL) and those that need decoding first.
_INVISIBLE_ASCII = bytes(range(0x21)) + b"\x7f"


def _visible(segment: bytes) -> bool:
    """Certainly not blank once cleaned: plain ASCII, no escape, a printable character. False
    means "maybe blank": the caller cleans it to know."""
    return segment.isascii() and b"\x1b" not in segment and bool(segment.translate(None, _INVISIBLE_ASCII))


def _cut_point(data: bytes) -> int:
    space = data.rfind(b" ", 0, MAX_LINE_BYTES)
    return space + 1 if space > MAX_LINE_BYTES // 2 else MAX_LINE_BYTES


# --------------------------------------------------------------------------- the bounded buffer


@dataclass(frozen=True, slots=True)
class LogChunk:
    """What changed in a buffer since a version: see ``LogBuffer.read``."""

    lines: list[LogLine]
    version: int  # pass this to the next read
    dropped: int  # lines evicted from the buffer so far (ever)
    total: int  # lines ever written (the seq of the newest line)


class LogBuffer:
    """The last ``max_lines`` lines of a log, thread-safe, with versions for cheap polling.

    One writer (the job's thread), any number of readers. Only the newest line ever changes
    (a progress line being redrawn), so the lines are ordered by version and ``read(after)`` is
    a walk back from the end.
    """

    def __init__(self, max_lines: int = DEFAULT_BUFFER_LINES) -> None:
        if max_lines < 1:
            raise ValueError("max_lines must be at least 1")
        self.max_lines = max_lines
        self._lines: deque[LogLine] = deque(maxlen=max_lines)
        self._version = 0
        self._total = 0
        self._dropped = 0
        self._cond = threading.Condition(threading.Lock())

    # -- writing (the job's thread)

    def write(self, text: str, *, final: bool = True, origin: str = ORIGIN_GIT, when: float | None = None) -> LogLine | None:
        """Add a line, or redraw the open progress line; returns the line that became final, if
        one did (the caller writes it to the file)."""
        when = time.time() if when is None else when
        with self._cond:
            last = self._lines[-1] if self._lines else None
            if last is not None and not last.final:
                if not text and not final:
                    return None  # a bare "\r": nothing to draw
                if not text:
                    text = last.text  # "\r\n": the progress line stays as it was drawn
                line = self._replace_last(last, text, final, when)
            elif not text and not final:
                return None
            else:
                line = self._append(text, final, origin, when)
            self._cond.notify_all()
            return line if line.final else None

    def finish_open_line(self) -> LogLine | None:
        """The process ended: an open progress line is final now."""
        with self._cond:
            last = self._lines[-1] if self._lines else None
            if last is None or last.final:
                return None
            line = self._replace_last(last, last.text, True, last.time)
            self._cond.notify_all()
            return line

    def _append(self, text: str, final: bool, origin: str, when: float) -> LogLine:
        if len(self._lines) == self.max_lines:
            self._dropped += 1
        self._total += 1
        self._version += 1
        line = LogLine(self._total, self._version, when, text, final, origin)
        self._lines.append(line)
        return line

    def _replace_last(self, last: LogLine, text: str, final: bool, when: float) -> LogLine:
        self._version += 1
        line = LogLine(last.seq, self._version, when, text, final, last.origin)
        self._lines[-1] = line
        return line

    # -- reading (any thread)

    def read(self, after: int = 0) -> LogChunk:
        """Lines added or changed since version ``after`` (0: everything still held).

        A returned line whose ``seq`` the reader already shows replaces it (a progress update).
        A gap between the reader's last seq and the first returned one is lines dropped before
        the reader came back; ``dropped`` says how many the buffer dropped in all.
        """
        with self._cond:
            changed: list[LogLine] = []
            for line in reversed(self._lines):
                if line.version <= after:
                    break
                changed.append(line)
            changed.reverse()
            return LogChunk(changed, self._version, self._dropped, self._total)

    def lines(self) -> list[LogLine]:
        with self._cond:
            return list(self._lines)

    @property
    def version(self) -> int:
        return self._version

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def total(self) -> int:
        return self._total

    def wait_for(self, predicate: Callable[[list[LogLine]], bool], timeout: float) -> bool:
        """Block until ``predicate(lines)`` holds (re-checked on every change) or the timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(list(self._lines)), timeout)


# --------------------------------------------------------------------------- files on disk


def job_log_budget(log_dir_max_bytes: int) -> int:
    """Bytes one sync's log may use (current file + its rotated half): a tenth of the dir's."""
    return max(MIN_JOB_LOG_BYTES, log_dir_max_bytes // 10)


class LogFile:
    """One sync's log file: a line per final line, rotated to ``<name>.1`` at half the budget."""

    def __init__(self, path: str, max_bytes: int) -> None:
        self.path = path
        self._half = max(1, max_bytes // 2)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        self._handle = self._open()
        self._size = 0
        self.rotations = 0

    def _open(self):
        # 0600: the text is redacted, but repository names and hosts are nobody else's business
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        return os.fdopen(fd, "w", encoding="utf-8", errors="replace")

    def write(self, line: LogLine) -> None:
        text = line.render(date=True) + "\n"
        size = len(text) if text.isascii() else len(text.encode("utf-8", "replace"))
        if self._size and self._size + size > self._half:
            self._rotate()
        self._handle.write(text)
        self._size += size

    def flush(self) -> None:
        self._handle.flush()

    def _rotate(self) -> None:
        self._handle.close()
        os.replace(self.path, self.path + ROTATED_SUFFIX)
        self._handle = self._open()
        self._size = 0
        self.rotations += 1

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


def is_sync_log(name: str) -> bool:
    return name.startswith(LOG_FILE_PREFIX) and (
        name.endswith(LOG_FILE_SUFFIX) or name.endswith(LOG_FILE_SUFFIX + ROTATED_SUFFIX)
    )


def prune_log_dir(directory: str, max_bytes: int, keep: frozenset[str] = frozenset()) -> list[str]:
    """Delete the oldest sync logs until all of them fit in ``max_bytes``; return what went.

    Only gitward's own ``sync-*.log[.1]`` files are considered, and never those in ``keep``
    (the logs of syncs still running). A file that cannot be examined is left alone.
    """
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    files = []
    for entry in entries:
        if not is_sync_log(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        files.append((st.st_mtime, entry.name, entry.path, st.st_size))
    total = sum(size for *_, size in files)
    removed = []
    for _, _, path, size in sorted(files):
        if total <= max_bytes:
            break
        if path in keep or path.removesuffix(ROTATED_SUFFIX) in keep:
            continue
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
        removed.append(path)
    return removed


def log_file_name(name: str, when: float, token: str) -> str:
    """``sync-20260101T120000-mirrors_upstream-lib.git-1a2b3c4d.log``: sortable, greppable."""
    # Keep the end of a long path: the repository's own name is what an operator looks for.
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.")[-60:].lstrip("_.") or "repo"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(when))
    return f"{LOG_FILE_PREFIX}{stamp}-{slug}-{token}{LOG_FILE_SUFFIX}"


# --------------------------------------------------------------------------- one job's log


class JobLog:
    """Where a job writes: git output (``feed``) and gitward's own lines (``note``).

    Feeds the buffer and the file; calls ``on_change`` (no arguments) after each batch so the
    job can tell its listeners. Used by one thread at a time (the job's).
    """

    def __init__(self, buffer: LogBuffer, file: LogFile | None = None, on_change: Callable[[], None] | None = None) -> None:
        self.buffer = buffer
        self.file = file
        self._on_change = on_change or (lambda: None)
        self._splitter = LineSplitter()
        self.file_error: str | None = None  # why the file stopped being written, if it did

    def feed(self, data: bytes) -> None:
        for text, final in self._splitter.feed(data):
            self._write(text, final, ORIGIN_GIT)
        self._flush()

    def end_of_output(self) -> None:
        """A process ended: its unterminated last line and any open progress line are final."""
        for text, final in self._splitter.close():
            self._write(text, final, ORIGIN_GIT)
        self._to_file(self.buffer.finish_open_line())
        self._flush()

    def note(self, text: str) -> None:
        """A line from gitward itself (cleaned like git's: it may quote paths and URLs).

        One note is one line: a newline in a quoted path is shown as ``\\n``. Split, its second
        half would be a line of its own marked as gitward's, saying whatever the path says."""
        self.end_of_output()
        self._write(clean_text(text).replace("\n", "\\n"), True, ORIGIN_GITWARD)
        self._flush()

    def _write(self, text: str, final: bool, origin: str) -> None:
        self._to_file(self.buffer.write(text, final=final, origin=origin))

    def _to_file(self, line: LogLine | None) -> None:
        if line is None or self.file is None:
            return
        try:
            self.file.write(line)
        except OSError as exc:
            # A full disk must not fail the sync; the live log still has everything.
            self.file_error = f"log file {self.file.path}: {exc.strerror or exc}"
            self.file = None

    def _flush(self) -> None:
        if self.file is not None:
            try:
                self.file.flush()
            except OSError as exc:
                self.file_error = f"log file {self.file.path}: {exc.strerror or exc}"
                self.file = None
        self._on_change()

    def close(self) -> None:
        self.end_of_output()
        file, self.file = self.file, None  # a line after close (abandoned work) reaches the buffer only
        if file is not None:
            try:
                file.close()
            except OSError:
                pass
