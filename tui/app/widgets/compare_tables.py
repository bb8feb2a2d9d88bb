"""The two tables of the migration rehearsal: repositories compared, and one repository's findings.

Rows are the core's own objects (``RepoComparison``, ``Finding``); the tables own their filter
and their "differences only" state, as ``RepoTable`` does for the host list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text

from tui.app.filtering import RowFilter
from tui.app.text import age, clean
from tui.app.widgets.vtable import Column, Palette, VirtualTable
from tui.core.compare.diff import Finding, Kind, RepoComparison

__all__ = ["CompareRepoTable", "FindingTable", "class_summary", "SEVERITY_SYMBOL"]

SEVERITY_SYMBOL = {"error": "✖", "warning": "▲", "info": "ℹ"}  # same symbols as the host list


def class_summary(repo: RepoComparison, limit: int = 3) -> str:
    """``replica-stale-loose 2 · missing-on-replica 1 · +2 more``, worst first."""
    counts = list(repo.counts().items())
    shown = " · ".join(f"{kind} {count}" for kind, count in counts[:limit])
    if len(counts) > limit:
        shown += f" · +{len(counts) - limit} more"
    return shown


def _severity_counts(repo: RepoComparison) -> tuple[int, int, int]:
    errors = warnings = infos = 0
    for finding in repo.findings:
        severity = finding.kind.severity.value
        if severity == "error":
            errors += 1
        elif severity == "warning":
            warnings += 1
        else:
            infos += 1
    return errors, warnings, infos


def _refs_state(repo: RepoComparison) -> str:
    if repo.source_path is None:
        return "replica only"
    if repo.replica_path is None:
        return "source only"
    if repo.same_refs:
        return "same"
    return "differ"


class CompareRepoTable(VirtualTable):
    """One row per repository name found on either side; worst first."""

    DEFAULT_CSS = "CompareRepoTable { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        self.all_rows: list[RepoComparison] = []
        self.differences_only = False
        columns = [
            Column("name", "repository", min_width=12, max_width=48, overflow="middle"),
            Column("worst", "worst", min_width=5),
            Column("errors", "✖", justify="right", min_width=2),
            Column("warnings", "▲", justify="right", min_width=2),
            Column("infos", "ℹ", justify="right", min_width=2),
            Column("refs", "refs", min_width=6),
            Column("classes", "classes (worst first)", flex=True, min_width=10),
        ]
        super().__init__(columns, self._render, empty_text="comparing…", gap=1, filter_fields=("class",), id=id)

    def set_comparisons(self, repos: Sequence[RepoComparison]) -> None:
        self.all_rows = list(repos)
        self.rebuild()

    def set_filter(self, row_filter: RowFilter) -> None:
        self.row_filter = row_filter
        self.rebuild()

    def set_differences_only(self, on: bool) -> None:
        self.differences_only = on
        self.rebuild()

    def rebuild(self) -> None:
        last = len(Kind)
        rows = [
            repo for repo in self.all_rows
            if (not self.differences_only or repo.findings)
            and self.row_filter.matches(repo.name, f"{repo.name} {' '.join(repo.counts())}", {"class": tuple(repo.counts())})
        ]
        rows.sort(key=lambda r: (r.worst.rank if r.worst else last, r.name))
        self.set_rows(rows, measure=True)

    def _render(self, repo: RepoComparison, palette: Palette) -> list[Text]:
        worst = repo.worst
        style = palette.severity(worst.severity.value if worst else None)
        errors, warnings, infos = _severity_counts(repo)

        def count(n: int, severity: str) -> Text:
            return Text(str(n) if n else "·", style=palette.severity(severity) if n else palette.dim)

        worst_text = f"{SEVERITY_SYMBOL[worst.severity.value]} {worst.value}" if worst else "✔ same"
        return [
            Text(clean(repo.name)),
            Text(worst_text, style=style),
            count(errors, "error"),
            count(warnings, "warning"),
            count(infos, "info"),
            Text(_refs_state(repo), style=palette.dim if repo.same_refs else palette.bold),
            Text(class_summary(repo), style=palette.dim),
        ]


def _value(value: str | None, storage: str | None) -> str:
    if value is None and storage is None:
        return "—"
    # Object ids are cut to 10 hex digits; paths, config values and hook digests are shown whole.
    is_oid = bool(value) and len(value) >= 40 and all(c in "0123456789abcdef" for c in value)
    short = (value[:10] if is_oid else clean(value)) if value else "—"
    return f"{short} {storage}" if storage else short


class FindingTable(VirtualTable):
    """One repository's findings, side by side: class, subject, source and replica values and ages."""

    DEFAULT_CSS = "FindingTable { height: 1fr; }"

    def __init__(self, *, now: Callable[[], float], id: str | None = None) -> None:
        self._now = now
        self.all_rows: list[Finding] = []
        self.commit_times: dict[str, float] = {}  # oid -> commit time (both sides' stores)
        columns = [
            Column("kind", "class", min_width=8),
            Column("subject", "ref or file", min_width=16, max_width=48, overflow="middle"),
            Column("source", "source (value, storage)", min_width=12),
            Column("source_age", "age", width=14, justify="right"),
            Column("replica", "replica (value, storage)", min_width=12),
            Column("replica_age", "age", width=14, justify="right"),
            Column("detail", "detail", flex=True, min_width=10),
        ]
        super().__init__(
            columns, self._render, empty_text="no differences: this repository matches", gap=1, filter_fields=("class",), id=id
        )

    def set_findings(self, findings: Sequence[Finding]) -> None:
        self.all_rows = sorted(findings, key=lambda f: (f.kind.rank, f.subject))
        self.rebuild()

    def set_filter(self, row_filter: RowFilter) -> None:
        self.row_filter = row_filter
        self.rebuild()

    def set_commit_times(self, times: dict[str, float]) -> None:
        self.commit_times.update(times)
        self.refresh_rows()

    def rebuild(self) -> None:
        rows = [f for f in self.all_rows if self.row_filter.matches(f.subject, f"{f.subject} {f.kind.value}", {"class": f.kind.value})]
        self.set_rows(rows, measure=True)

    def _age(self, value: str | None) -> str:
        when = self.commit_times.get(value or "")
        if when is None or when < 0:
            return ""
        return age(self._now() - when)

    def _render(self, finding: Finding, palette: Palette) -> list[Text]:
        style = palette.severity(finding.kind.severity.value)
        return [
            Text(f"{SEVERITY_SYMBOL[finding.kind.severity.value]} {finding.kind.value}", style=style),
            Text(clean(finding.subject) or "(repository)"),
            Text(_value(finding.source_value, finding.source_storage)),
            Text(self._age(finding.source_value), style=palette.dim),
            Text(_value(finding.replica_value, finding.replica_storage),
                 style=style if finding.kind is Kind.REPLICA_STALE_LOOSE else palette.ok),
            Text(self._age(finding.replica_value), style=palette.dim),
            Text(clean(finding.detail), style=palette.dim),
        ]
