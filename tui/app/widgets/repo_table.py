"""The host's repositories: one row each, filtered, faults-only, sorted by any column."""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text

from tui.app.filtering import RowFilter
from tui.app.text import age, clean, size
from tui.app.widgets.vtable import Column, Palette, VirtualTable
from tui.core.severity import Severity

if TYPE_CHECKING:  # the report dataclasses load with the scan, after the first frame
    from tui.core.model import RepoReport

NAME_MAX = 60
FILTER_FIELDS = ("code", "layout", "severity")  # code:stale-lock, layout:git-sync, severity:error
# A batch of fewer than 1/16 of the rows goes in by bisect; a bigger one is sorted in (one pass).
IN_PLACE_RATIO = 16

# key, label, justify; widths are measured from the data (cheap string lengths).
_COLUMNS: list[tuple[str, str, str]] = [
    ("name", "repo", "left"),
    ("worst", "worst problem", "left"),
    ("layout", "layout", "left"),
    ("refs", "refs", "right"),
    ("loose", "loose", "right"),
    ("packed", "packed", "right"),
    ("shadows", "stale/dead", "right"),
    ("worktrees", "wt/lck/prn", "right"),
    ("locks", "locks/stale", "right"),
    ("size", "packed-refs", "right"),
    ("fetched", "last fetch", "right"),
]
COLUMN_KEYS = [key for key, _, _ in _COLUMNS]
COLUMN_LABELS = {key: label for key, label, _ in _COLUMNS}


def is_fault(report: RepoReport) -> bool:
    """A fault is a warning or an error; info notes are not faults."""
    worst = report.worst
    return worst is not None and worst.rank >= Severity.WARNING.rank


def _shadow_counts(report: RepoReport) -> tuple[int, int]:
    shadows = report.refs.shadows
    return shadows.get("stale-loose", 0), shadows.get("dead-packed", 0)


def _worktree_counts(report: RepoReport) -> tuple[int, int, int]:
    locked = sum(1 for w in report.worktrees if w.locked)
    prunable = sum(1 for w in report.worktrees if w.prunable)
    return len(report.worktrees), locked, prunable


def _lock_counts(report: RepoReport) -> tuple[int, int]:
    return len(report.locks), sum(1 for lock in report.locks if lock.stale)


SORT_KEYS: dict[str, Callable[[RepoReport], Any]] = {
    "name": lambda r: (r.name, r.root),
    "worst": lambda r: (-(r.worst.rank if r.worst else 0), -len(r.problems), r.name),
    "layout": lambda r: (r.layout.value, r.name),
    "refs": lambda r: (-r.refs.total, r.name),
    "loose": lambda r: (-r.refs.loose, r.name),
    "packed": lambda r: (-r.refs.packed, r.name),
    "shadows": lambda r: (tuple(-n for n in _shadow_counts(r)), r.name),
    "worktrees": lambda r: (-(_worktree_counts(r)[1] + _worktree_counts(r)[2]), -len(r.worktrees), r.name),
    "locks": lambda r: (tuple(-n for n in reversed(_lock_counts(r))), r.name),
    "size": lambda r: (-(r.packed_refs_size if r.packed_refs_size is not None else -1), r.name),
    # Oldest fetch first (a mirror that stopped fetching); never fetched last.
    "fetched": lambda r: (r.last_fetch is None, r.last_fetch or 0.0, r.name),
}


@dataclass(slots=True)
class _Texts:
    """Per-report strings, made once when the report arrives (not per frame or per batch)."""

    name: str
    haystack: str  # what a plain-text filter matches: name, layout, problem codes
    codes: tuple[str, ...]  # problem codes (the filter's ``code:`` field)
    severity: str  # the worst problem's severity, or "ok" (the filter's ``severity:`` field)
    fault: bool  # is_fault(report): what faults-only keeps
    worst: str
    layout: str
    shadows: str
    worktrees: str
    locks: str
    size: str
    fetched: str
    refs: str
    loose: str
    packed: str
    widths: tuple[int, ...]  # len() of each column's text, in COLUMN_KEYS order


def row_texts(report: RepoReport, now: float, multi_root: bool) -> _Texts:
    """A report's strings for its row. Pure: the scan's worker thread makes them while rows
    stream in, so the event loop does not (about 20 us a repository, 2,000 at once on F3)."""
    name = clean(report.name)
    if multi_root:
        name = f"{clean(os.path.basename(report.root))}/{name}"
    codes = tuple(sorted({p.code for p in report.problems}))
    worst = report.worst_problem()
    if worst is None:
        worst_text = "✓ ok"
    else:
        more = len(report.problems) - 1
        worst_text = f"{worst.severity.symbol} {clean(worst.code)}" + (f" +{more}" if more else "")
    stale, dead = _shadow_counts(report)
    total, locked, prunable = _worktree_counts(report)
    lock_total, stale_locks = _lock_counts(report)
    if report.last_fetch_failure is not None:
        fetched = f"✗ {report.last_fetch_failure.state}"  # the newest fetch did not succeed
    else:
        fetched = age(now - report.last_fetch) if report.last_fetch is not None else "-"
    cells = {
        "name": name,
        "worst": worst_text,
        "layout": report.layout.value,
        "refs": f"{report.refs.total:,}",
        "loose": f"{report.refs.loose:,}",
        "packed": f"{report.refs.packed:,}",
        "shadows": f"{stale}/{dead}",
        "worktrees": f"{total}/{locked}/{prunable}",
        "locks": f"{lock_total}/{stale_locks}",
        "size": size(report.packed_refs_size),
        "fetched": fetched,
    }
    worst_severity = report.worst
    return _Texts(
        haystack=f"{name} {report.layout.value} {' '.join(codes)}",
        codes=codes,
        severity=worst_severity.value if worst_severity else "ok",
        fault=worst_severity is not None and worst_severity.rank >= Severity.WARNING.rank,
        widths=tuple(len(cells[key]) for key in COLUMN_KEYS),
        **cells,
    )


class RepoTable(VirtualTable):
    """Rows are ``RepoReport`` objects; the table owns filter, faults-only and sort state."""

    DEFAULT_CSS = """
    RepoTable { height: 1fr; }
    """

    def __init__(self, *, now: Callable[[], float], multi_root: bool = False, id: str | None = None) -> None:
        self._now = now
        self._multi_root = multi_root
        self.reports: dict[str, RepoReport] = {}  # path -> latest report
        self._texts: dict[str, _Texts] = {}
        self._content_width: dict[str, int] = {}  # column key -> widest cell text so far
        self.faults_only = False
        # Kept up to date as reports arrive, so that a batch costs what it brings, not what the
        # table holds: the header's tallies, each report's sort entry and the last sorted order.
        self.faulty = 0  # reports with a warning or an error
        self.problem_counts: dict[Severity, int] = {severity: 0 for severity in Severity}
        self._first_seen: dict[str, int] = {}  # path -> when it was first seen (ties sort by it)
        self._seen_count = 0
        self._entries: dict[str, tuple] = {}  # path -> (sort key, tie-break, report), in ``_sorted``
        # Every entry in ascending order (a reversed sort shows it from the end), and the reports
        # in display order beside it: a batch inserts its entries where they belong (bisect)
        # instead of sorting the whole list again, which at 20,000 repositories cost tens of
        # milliseconds of the event loop per batch.
        self._sorted: list[tuple] = []
        self._ordered: list[RepoReport] = []  # the reports of ``_sorted``, in display order
        self._sorted_for: tuple | None = None  # (sort column, reverse)
        self._unplaced: dict[str, RepoReport] = {}  # path -> report not in ``_sorted`` yet
        self._visible: dict[str, bool] = {}  # path -> passes faults-only and the filter
        super().__init__(
            self._column_spec(), self._render, empty_text="no repositories yet", gap=1, filter_fields=FILTER_FIELDS, id=id
        )
        self.sort_column = "name"

    # --- data -----------------------------------------------------------------------------------

    def upsert(self, reports: Iterable[RepoReport], texts: Iterable[_Texts] | None = None) -> None:
        """New or changed reports; ``texts``: their ``row_texts`` made already (same order)."""
        reports = list(reports)
        made = list(texts) if texts is not None else [self._make_texts(report) for report in reports]
        grown = False
        for report, report_texts in zip(reports, made, strict=True):
            path = report.path
            old = self.reports.get(path)
            if old is not None:
                self._count(old, -1)
            else:
                self._first_seen[path] = self._seen_count
                self._seen_count += 1
            self._count(report, 1)
            self.reports[path] = report
            self._texts[path] = report_texts
            self._unplace(path)
            self._unplaced[path] = report
            self._visible.pop(path, None)
            grown |= self._grow_widths(report_texts)
        self.rebuild(columns=grown)

    def _count(self, report: RepoReport, sign: int) -> None:
        self.faulty += sign if is_fault(report) else 0
        counts = self.problem_counts
        for problem in report.problems:
            counts[problem.severity] += sign

    def retain(self, paths: set[str]) -> None:
        """Drop repositories a finished rescan no longer found."""
        self.drop([path for path in self.reports if path not in paths])

    def drop(self, paths: list[str]) -> None:
        """Remove these repositories' rows (those it has)."""
        gone = [path for path in paths if path in self.reports]
        for path in gone:
            self._count(self.reports.pop(path), -1)
            self._texts.pop(path, None)
            self._unplace(path)
            self._first_seen.pop(path, None)
            self._visible.pop(path, None)
        if gone:
            self._content_width.clear()
            for texts in self._texts.values():
                self._grow_widths(texts)
            self.rebuild(columns=True)

    def set_filter(self, row_filter: RowFilter) -> None:
        self.row_filter = row_filter
        self._visible.clear()
        self.rebuild()

    def set_faults_only(self, faults_only: bool) -> None:
        self.faults_only = faults_only
        self._visible.clear()
        self.rebuild()

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column = column
        self.sort_reverse = reverse
        self.rebuild(columns=True)  # the arrow moves to another header

    def visible(self, report: RepoReport) -> bool:
        """Passes faults-only and the filter. From the row's strings alone (made when it
        arrived): each key typed in the filter asks this of every repository, 20,000 of them."""
        texts = self._texts.get(report.path) or self._make_texts(report)
        if self.faults_only and not texts.fault:
            return False
        row_filter = self.row_filter
        fields = None
        if row_filter.field is not None:  # a field filter (code:, layout:, severity:) reads them
            fields = {"code": texts.codes, "layout": texts.layout, "severity": texts.severity}
        return row_filter.matches(texts.name, texts.haystack, fields)

    def _unplace(self, path: str) -> None:
        """Take ``path``'s entry out of the sorted order (its report changed or went)."""
        self._unplaced.pop(path, None)
        entry = self._entries.pop(path, None)
        if entry is None:
            return
        ordered = self._sorted
        # Entries are a total order (the tie-break is unique): the entry is where bisect says.
        index = bisect_left(ordered, entry)
        del ordered[index]
        reverse = self._sorted_for is not None and self._sorted_for[1]  # the order it is in
        del self._ordered[len(ordered) - index if reverse else index]

    def _place_new(self) -> None:
        """Bring the sorted order up to date: the reports that arrived since the last call go
        where they belong; a new sort column or direction sorts them all once.

        An entry is (key, tie-break, report): ties keep the order the reports were first
        seen in, reversed too (as ``sort(reverse=True)`` keeps equal keys in order), and
        reports are never compared. The list is ascending; a reversed sort shows it from
        the end (the tie-break is negated for it)."""
        column = self.sort_column or "name"
        reverse = self.sort_reverse
        if self._sorted_for != (column, reverse):
            self._sorted_for = (column, reverse)
            self._entries.clear()
            self._sorted = []
            self._ordered = []
            self._unplaced = dict(self.reports)
        arrived = self._unplaced
        if not arrived:
            return
        self._unplaced = {}
        key = SORT_KEYS[column]
        sign = -1 if reverse else 1
        first_seen = self._first_seen
        entries = self._entries
        ordered = self._sorted
        made = []
        for path, report in arrived.items():
            entry = entries[path] = (key(report), sign * first_seen[path], report)
            made.append(entry)
        if len(made) * IN_PLACE_RATIO < len(ordered):
            # A few into many: each goes where bisect finds its place (a memmove, no sort).
            rows = self._ordered
            for entry in made:
                index = bisect_left(ordered, entry)
                ordered.insert(index, entry)
                rows.insert(len(ordered) - 1 - index if reverse else index, entry[2])
        else:
            ordered.extend(made)
            ordered.sort()
            self._ordered = [entry[2] for entry in (reversed(ordered) if reverse else ordered)]

    def _index_of(self, report: RepoReport) -> int | None:
        """Where ``report``'s repository is in display order (the unfiltered one)."""
        entry = self._entries.get(report.path)
        if entry is None:
            return None
        index = bisect_left(self._sorted, entry)
        return len(self._sorted) - 1 - index if self.sort_reverse else index

    def rebuild(self, *, columns: bool = False) -> None:
        """Filter and sort the reports, then show them (only visible rows are drawn)."""
        current = self.current
        self._place_new()
        filtered = self.faults_only or self.row_filter.active
        if filtered:
            visible = self._visible
            rows = []
            for report in self._ordered:
                shown = visible.get(report.path)
                if shown is None:
                    shown = visible[report.path] = self.visible(report)
                if shown:
                    rows.append(report)
        else:
            rows = list(self._ordered)  # a copy: the table's rows do not change under it
        cursor = None
        # The cursor follows its repository when rows arrive or resort, unless it is on the top
        # row: while a scan streams in, the top of the list stays the top (whatever arrives first).
        if current is not None and self.cursor > 0:
            if filtered:
                for index, row in enumerate(rows):
                    if row.path == current.path:
                        cursor = index
                        break
            else:
                cursor = self._index_of(current)
        if columns:
            self.set_columns(self._column_spec())
        if not self.reports:
            self.empty_text = "no repositories yet"
        elif not rows:
            self.empty_text = "no repository matches the filter" + (" (faults only)" if self.faults_only else "")
        self.set_rows(rows, cursor=cursor, redraw=False)  # a changed report is a new object

    def find(self, name: str) -> RepoReport | None:
        """A repo by its name (exact, then a unique suffix or substring match)."""
        wanted = name.strip().rstrip("/")
        if not wanted:
            return None
        by_name = list(self.reports.values())
        for report in by_name:
            texts = self._texts.get(report.path)
            if (texts and texts.name == wanted) or report.name == wanted or report.path == wanted:
                return report
        for test in (
            lambda r: r.name.endswith("/" + wanted) or r.name.removesuffix(".git") == wanted,
            lambda r: wanted in r.name,
        ):
            matches = [r for r in by_name if test(r)]
            if len(matches) == 1:
                return matches[0]
        return None

    def names(self) -> list[str]:
        return sorted(texts.name for texts in self._texts.values())

    # --- text and widths --------------------------------------------------------------------------

    def _make_texts(self, report: RepoReport) -> _Texts:
        return row_texts(report, self._now(), self._multi_root)

    def _grow_widths(self, texts: _Texts) -> bool:
        widths = self._content_width
        grown = False
        for key, length in zip(COLUMN_KEYS, texts.widths):
            if length > widths.get(key, 0):
                widths[key] = length
                grown = True
        return grown

    def _column_spec(self) -> list[Column]:
        widths = self._content_width
        name_width = min(NAME_MAX, max(widths.get("name", 0), 16))
        columns = []
        for key, label, justify in _COLUMNS:
            width = name_width if key == "name" else max(widths.get(key, 0), 1)
            columns.append(
                Column(
                    key,
                    label,
                    width=width,
                    justify=justify,
                    flex=(key == "name"),
                    grow=False,
                    # Names shrink (middle ellipsis) only down to 30 cells; beyond that the
                    # table scrolls sideways instead of making names unreadable.
                    min_width=min(name_width, 30) if key == "name" else 1,
                    overflow="middle" if key == "name" else "end",
                )
            )
        return columns

    # --- rendering ------------------------------------------------------------------------------

    def _render(self, report: RepoReport, palette: Palette) -> list[Text]:
        texts = self._texts.get(report.path) or self._make_texts(report)
        worst = report.worst
        severity = palette.severity(worst.value if worst else None)
        name_style = palette.error if worst is Severity.ERROR else ""
        stale, dead = _shadow_counts(report)
        shadows = Text(no_wrap=True)
        shadows.append(str(stale), palette.error if stale else palette.dim)
        shadows.append("/", palette.dim)
        shadows.append(str(dead), palette.dim)
        total, locked, prunable = _worktree_counts(report)
        worktrees = Text(no_wrap=True)
        worktrees.append(str(total), "" if total else palette.dim)
        worktrees.append("/", palette.dim)
        worktrees.append(str(locked), palette.info if locked else palette.dim)
        worktrees.append("/", palette.dim)
        worktrees.append(str(prunable), palette.warning if prunable else palette.dim)
        lock_total, stale_locks = _lock_counts(report)
        locks = Text(no_wrap=True)
        locks.append(str(lock_total), "" if lock_total else palette.dim)
        locks.append("/", palette.dim)
        locks.append(str(stale_locks), palette.warning if stale_locks else palette.dim)
        return [
            Text(texts.name, style=name_style, no_wrap=True),
            Text(texts.worst, style=severity, no_wrap=True),
            Text(report.layout.value, style=palette.accent if report.layout.value == "git-sync" else ""),
            Text(texts.refs),
            Text(texts.loose, style="" if report.refs.loose else palette.dim),
            Text(texts.packed, style="" if report.refs.packed else palette.dim),
            shadows,
            worktrees,
            locks,
            Text(texts.size, style="" if report.packed_refs_size is not None else palette.dim),
            Text(texts.fetched, style=palette.error if report.last_fetch_failure else "" if report.last_fetch is not None else palette.dim),
        ]

