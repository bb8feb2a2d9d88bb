"""The host's header line and the banners: what is wrong, at a glance."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from tui.app.text import display_path, shorten_paths
from tui.app.widgets.line_static import LineStatic
from tui.core.units import plural
from tui.core.severity import Severity

if TYPE_CHECKING:  # the report dataclasses load with the scan, after the first frame
    from tui.core.model import Problem

SEVERITY_STYLE = {
    Severity.ERROR: "bold $text-error",
    Severity.WARNING: "bold $text-warning",
    Severity.INFO: "$text-primary",
}


def root_problems_content(problems: list[Problem], shown: int = 5) -> Content:
    """The roots' problems (a root that does not exist, cannot be listed): the first ``shown``."""
    parts: list = []
    for problem in problems[:shown]:
        if parts:
            parts.append("\n")
        parts += [(f"{problem.severity.symbol} {problem.code}", SEVERITY_STYLE[problem.severity]), "  ", shorten_paths(problem.message)]
    if len(problems) > shown:
        parts.append(f"\n… and {len(problems) - shown} more")
    return Content.assemble(*parts)


def severity_counts(problems: Iterable[Problem]) -> dict[Severity, int]:
    counts = {severity: 0 for severity in Severity}
    for problem in problems:
        counts[problem.severity] += 1
    return counts


def severity_parts(counts: dict[Severity, int]) -> list[tuple[str, str] | str]:
    parts: list[tuple[str, str] | str] = []
    for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO):
        number = counts.get(severity, 0)
        word = {"error": "error", "warning": "warning", "info": "info"}[severity.value]
        text = f"{severity.symbol} {number:,} {word}{'s' if number != 1 and severity is not Severity.INFO else ''}"
        parts.append((text, SEVERITY_STYLE[severity] if number else "$text-muted"))
        parts.append("  ")
    return parts[:-1]


class HostSummary(LineStatic):
    """``gitward · ROOTS · N repos · ✖ errors ▲ warnings ● info · syncs``.

    Too long for the terminal (a long root at 80 columns), it breaks between those groups, never
    inside one: "(6 with" above "faults)" read as two facts."""

    DEFAULT_CSS = """
    HostSummary { height: 1; width: 1fr; padding: 0 1; background: $panel; }
    """

    _groups: tuple[tuple, ...] = ()

    def show(
        self,
        *,
        roots: list[str],
        repos: int,
        faulty_repos: int,
        counts: dict[Severity, int],
        syncs_running: int,
        syncs_queued: int = 0,
    ) -> None:
        root_text = ", ".join(display_path(root) for root in roots)
        syncs = "no syncs running" if not syncs_running else plural(syncs_running, "sync") + " running"
        if syncs_queued:
            syncs += f", {syncs_queued:,} queued"
        repo_group: list = [plural(repos, "repo")]
        if faulty_repos:
            repo_group += [" (", (f"{faulty_repos:,} with faults", "$text-warning"), ")"]
        self._groups = (
            (("gitward", "bold $text-accent"), "  ", (root_text, "bold")),
            tuple(repo_group),
            tuple(severity_parts(counts)),
            ((syncs, "bold $text-accent" if syncs_running or syncs_queued else "$text-muted"),),
        )
        self._show_groups()

    def on_resize(self) -> None:
        if self._groups:
            self._show_groups()

    def _show_groups(self) -> None:
        width = self.content_region.width
        groups = [Content.assemble(*group) for group in self._groups]
        parts: list = [groups[0]]
        line_length = groups[0].cell_length
        for group in groups[1:]:
            # Before the first layout the width is unknown (0): one line, as wide as it needs.
            if width and line_length + 5 + group.cell_length > width:
                parts.append("\n")
                line_length = group.cell_length
            else:
                parts.append("  ·  ")
                line_length += 5 + group.cell_length
            parts.append(group)
        self.show_line(Content.assemble(*parts), auto_width=False)


def scanned_ago(seconds: float | None) -> str:
    """``scanned 40 s ago``: how old the list is, in words that change at most once a second
    (the header's age is redrawn only when this text changes)."""
    if seconds is None:
        return "not scanned yet"
    seconds = max(0.0, seconds)
    if seconds < 1:
        return "scanned just now"
    if seconds < 60:
        return f"scanned {int(seconds)} s ago"
    if seconds < 3600:
        return f"scanned {int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"scanned {int(seconds // 3600)} h ago"
    return f"scanned {plural(int(seconds // 86400), 'day')} ago"


def refresh_words(interval: float | None) -> str:
    """``refresh 60 s`` / ``refresh 5 min``: the background rescan interval, or ``""`` when off."""
    if interval is None:
        return ""
    if interval >= 60 and interval % 60 == 0:
        return f"refresh {int(interval // 60)} min"
    return f"refresh {interval:g} s"


class ScanAge(LineStatic):
    """The header's right end: when the list was read (ticking) and the refresh interval."""

    DEFAULT_CSS = """
    ScanAge { height: 1; width: auto; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def show(self, age: str, refresh: str = "", stale: bool = False) -> None:
        parts: list = [(age, "$text-warning" if stale else "")]
        if refresh:
            parts += ["  ·  ", refresh]
        self.show_line(Content.assemble(*parts), auto_width=True)


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class ScanStatus(LineStatic):
    """Scan progress, then the filter / faults-only state and the row count."""

    DEFAULT_CSS = """
    ScanStatus { height: 1; padding: 0 1; color: $text-muted; width: 1fr; }
    """

    def show(
        self,
        *,
        scanning: bool,
        scanned: int,
        elapsed: float | None,
        shown: int,
        total: int,
        filter_text: str,
        filter_mode: str,
        filter_error: str | None,
        faults_only: bool,
        sort_label: str,
        error: str | None = None,
        spinner: int = 0,
    ) -> None:
        parts: list = []
        took = f" in {elapsed:.1f} s" if elapsed is not None else ""
        if scanning:
            frame = SPINNER[spinner % len(SPINNER)]
            parts += [
                (f"{frame} scanning… ", "bold $text-accent"),
                f"{plural(scanned, 'repo')} read" + (f", {elapsed:.1f} s" if elapsed is not None else ""),
            ]
        elif error:
            parts += [("scan failed: ", "bold $text-error"), error]
        else:
            parts += [f"scanned {plural(total, 'repo')}{took}"]
        parts += ["  ·  ", f"showing {shown:,} of {total:,}"]
        if faults_only:
            parts += ["  ·  ", ("faults only", "bold $text-warning")]
        if filter_text:
            parts += ["  ·  filter ", (filter_mode, "italic"), ": ", (filter_text, "bold")]
        if filter_error:
            parts += ["  ", (filter_error, "$text-error")]
        parts += ["  ·  sorted by ", sort_label]
        self.show_line(Content.assemble(*parts), auto_width=False)


class Banner(Static):
    """A loud one-line banner (read-only mode, stale-loose shadows)."""

    DEFAULT_CSS = """
    Banner { height: auto; padding: 0 1; text-style: bold; }
    Banner.-read-only { background: $warning-muted; color: $text; }
    Banner.-danger { background: $error-muted; color: $text; border-left: thick $error; }
    """
